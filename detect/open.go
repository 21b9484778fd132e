//go:build cgo

package detect

import (
	"errors"
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// Open builds the detector cfg asks for: a face detector plus, unless the
// text mode is none, the PP-OCR text detector with badge logic.
//
// Models come from cfg.ModelsDir, else $CUSTODY_MODELS, else the set built
// into the binary (see ModelsDir). Nothing falls back: with Face "auto"
// (the default) it opens the default face model, and a model that is
// missing is an error, as is a model file that is present but not the
// known one: the audit must name the weights that ran, and a redaction
// must never quietly run on a weaker detector because a directory was not
// configured. A weaker detector (Haar cascades, a face model the defaults
// do not use, text none) is only ever chosen by name; the warnings
// returned say how it is weaker (Composite.Weaker), for the caller to
// show: the library never prints.
//
// The returned Detector is a *Composite; Name and Models say what was
// chosen, and Config the parameters in effect.
//
// Errors wrap ErrConfig, ErrModelMissing (with the directory searched and
// the file to put there, or how to build custody with its models),
// ErrUnknownModel or ErrModelLoad, as a *ModelError where a file is
// concerned.
func Open(cfg Config) (Detector, []string, error) {
	c, warnings, err := OpenComposite(cfg)
	if err != nil {
		return nil, warnings, err
	}
	return c, warnings, nil
}

// OpenComposite is Open returning the concrete type, for callers that run
// faces and text at different cadences.
func OpenComposite(cfg Config) (*Composite, []string, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	dir, searched := ModelsDir(cfg.ModelsDir)
	withSearched := func(err error) error {
		var me *ModelError
		if errors.As(err, &me) && me.Searched == nil {
			me.Dir, me.Searched = dir, searched
		}
		return err
	}
	c := &Composite{cfg: cfg, modelsDir: dir}

	switch cfg.Face {
	case FaceYuNet:
		c.face, err = newYuNet(dir, cfg)
	case FaceYuNet2023:
		c.face, err = newYuNet2023(dir, cfg)
	case FaceUltraFace:
		c.face, err = newUltraFace(dir, cfg)
	case FaceSSD:
		c.face, err = newSSD(dir, cfg)
	case FaceHaar:
		c.face, err = newHaar(cfg.HaarDir, cfg)
	case FaceAuto:
		c.face, err = openAutoFace(dir, cfg)
	}
	if err != nil {
		return nil, nil, withSearched(err)
	}
	if cfg.RotatedFaces != PassOff {
		turns := []turn{turnCW, turnCCW, turnHalf}
		if cfg.QuarterTurnsOnly {
			turns = turns[:2]
		}
		c.face = newRotating(c.face, cfg.NMSThreshold, turns, cfg.RotatedFaces == PassOn, cfg.ViewMinFace, cfg.ViewThreshold)
	}
	if cfg.Contrast != PassOff {
		c.face = newContrasting(c.face, cfg.NMSThreshold, cfg.Contrast == PassOn, cfg.DarkLuma, cfg.ViewThreshold)
	}
	if cfg.Fisheye != PassOff {
		c.face = newFisheyeViewing(c.face, cfg.NMSThreshold, cfg.Fisheye == PassOn, cfg.FisheyeFOV, cfg.ViewMinFace, cfg.ViewThreshold)
	}
	// A detector with one pass has nothing to skip: the record says so.
	c.cfg.SmallFaceEvery = c.SmallFaceEvery()
	// The record names the score threshold in effect (0 for Haar, which
	// has none), not 0 for "the model's default".
	if sd, ok := innermost(c.face).(*scaledDetector); ok {
		c.cfg.FaceThreshold = sd.thresh
	}

	// The default text mode is badges, exactly as if given: a missing
	// text model is an error either way.
	c.textMode = cfg.Text
	if c.textMode == "" {
		c.textMode = TextBadges
	}
	if c.textMode != TextNone {
		if c.text, err = newTextNets(dir); err != nil {
			c.face.Close()
			return nil, nil, withSearched(err)
		}
	}
	c.cfg.Text = c.textMode
	if err := c.openHeads(dir); err != nil {
		c.Close()
		return nil, nil, withSearched(err)
	}
	var warnings []string
	for _, w := range c.Weaker() {
		warnings = append(warnings, "weaker than the defaults: "+w)
	}
	return c, warnings, nil
}

// openAutoFace opens the default face detector, that of Face "auto". It
// falls back to nothing: a missing model is an error.
func openAutoFace(dir string, cfg Config) (Detector, error) {
	if DefaultFaceModel == ModelYuNet {
		return newYuNet(dir, cfg)
	}
	return newYuNet2023(dir, cfg)
}

// Weaker lists how this detector falls short of the defaults: faces found
// with a model the defaults do not use (KnownModels not marked Embed: the
// other DNN models, and Haar cascades, which are not in the table at all),
// or badges not masked (text none). It is empty for the defaults, and for
// anything that only adds to them (text all, rotated faces). A store
// redaction refuses a weaker detector; elsewhere it is a warning.
func (c *Composite) Weaker() []string {
	var out []string
	for _, m := range c.face.Models() {
		if k, ok := knownModel(m.Name); !ok || !k.Embed {
			out = append(out, weakFace(c.cfg.Face, c.face.Name()))
			break
		}
	}
	if c.text == nil {
		out = append(out, "name badges and ID cards are not masked (--text none)")
	}
	return out
}

func weakFace(kind, name string) string {
	if kind == FaceHaar {
		return "faces are found with Haar cascades (--detector haar), which miss many faces (turned, small, dark, partly hidden)"
	}
	return fmt.Sprintf("faces are found with %s (--detector %s), which the defaults do not use: it finds fewer", name, kind)
}

// Composite runs a face detector and, unless the text mode is none, the
// text detector, and returns both kinds of boxes.
type Composite struct {
	face      Detector
	text      *textNets
	textMode  string
	cfg       Config
	modelsDir string

	// Text pass cadence (Config.TextEvery): calls since the last pass and
	// what it found, for the calls in between.
	textCalls int
	carry     []carriedText
	carrySize image.Point
	// Finest face pass cadence (Config.SmallFaceEvery): calls since the
	// last one, and the frame size it ran on.
	faceCalls int
	faceSize  image.Point
	// Person pass for heads (Config.Heads); nil when off.
	heads *headState
}

// Name is the face detector's name, plus the text model and mode when text
// is masked, e.g. "yunet-2022mar+ppocrv3-det-en-opencv46:badges".
func (c *Composite) Name() string {
	name := c.face.Name()
	if c.text != nil {
		name += "+" + ModelPPOCRDet + ":" + c.textMode
	}
	if c.heads != nil {
		name += "+" + ModelYOLOXNano + ":heads-" + c.cfg.Heads
	}
	return name
}

// FaceName is the name of the face detector alone.
func (c *Composite) FaceName() string { return c.face.Name() }

// TextMode is the text mode in effect.
func (c *Composite) TextMode() string { return c.textMode }

// TextEvery is how many calls of Detect one text pass serves (see
// Config.TextEvery); 0 when no text is masked.
func (c *Composite) TextEvery() int {
	if c.text == nil {
		return 0
	}
	return c.cfg.TextEvery
}

// SmallFaceEvery is how many calls of Detect one finest face pass serves
// (see Config.SmallFaceEvery); 1 when every call runs it, and for
// detectors that have a single pass (Haar).
func (c *Composite) SmallFaceEvery() int {
	if c.cfg.SmallFaceEvery <= 1 {
		return 1
	}
	if _, ok := innermost(c.face).(coarseDetector); !ok {
		return 1
	}
	return c.cfg.SmallFaceEvery
}

// ResetCadence forgets the last text pass and the last finest face pass,
// so that the next call of Detect runs every model and every pass whatever
// the cadence: a new video or image must not inherit the previous one's
// text boxes, and starts with a full search.
func (c *Composite) ResetCadence() {
	c.textCalls, c.carry, c.carrySize = 0, nil, image.Point{}
	c.faceCalls, c.faceSize = 0, image.Point{}
	if c.heads != nil {
		c.heads.reset()
	}
}

// Config is the configuration in effect, defaults filled in, for the audit
// record.
func (c *Composite) Config() Config { return c.cfg }

// Models lists every model file in use with its sha256.
func (c *Composite) Models() []Model {
	ms := c.face.Models()
	if c.text != nil {
		ms = append(ms, c.text.model)
	}
	if c.heads != nil {
		ms = append(ms, c.heads.people.model)
	}
	return ms
}

// Detect returns the faces, the heads of people whose face it did not
// find, then the text regions, in frame pixels. A call that runs the text
// pass or the person pass also runs the finest face pass, so that a badge
// is seen with every face that could be its wearer's, and a small face
// excuses its person's head.
func (c *Composite) Detect(img gocv.Mat) ([]Box, error) {
	people := c.headsDue(img)
	faces, err := c.detectFaces(img, c.textDue(img) || people)
	if err != nil {
		return nil, err
	}
	heads, err := c.detectHeads(img, faces, people)
	if err != nil {
		return nil, err
	}
	text, err := c.DetectText(img, append(append([]Box(nil), faces...), heads...))
	if err != nil {
		return nil, err
	}
	return append(append(faces, heads...), text...), nil
}

// DetectFaces runs the face detector alone. With Config.SmallFaceEvery
// above 1 its finest pass runs on every SmallFaceEvery-th call only (and
// whenever the frame size changes).
func (c *Composite) DetectFaces(img gocv.Mat) ([]Box, error) { return c.detectFaces(img, false) }

// textDue reports whether the next DetectText call on img runs the model.
func (c *Composite) textDue(img gocv.Mat) bool {
	if c.text == nil {
		return false
	}
	size := image.Pt(img.Cols(), img.Rows())
	return !(c.textCalls > 0 && c.textCalls < c.cfg.TextEvery && size == c.carrySize)
}

// detectFaces is DetectFaces; full forces the finest pass.
func (c *Composite) detectFaces(img gocv.Mat, full bool) ([]Box, error) {
	coarse, ok := c.face.(coarseDetector)
	n := c.cfg.SmallFaceEvery
	if !ok || n <= 1 {
		return c.face.Detect(img)
	}
	size := image.Pt(img.Cols(), img.Rows())
	if !full && c.faceCalls > 0 && c.faceCalls < n && size == c.faceSize {
		c.faceCalls++
		return coarse.detectCoarse(img)
	}
	c.faceCalls, c.faceSize = 1, size
	return c.face.Detect(img)
}

// DetectText finds the badges and ID cards worn by the people whose faces
// (and heads, LabelHead) are given, and the text the mode masks: see
// detectBadges. The returned boxes are labelled text. With
// Config.TextEvery above 1 it runs on every TextEvery-th call only; the
// calls in between return the last pass's boxes, worn ones moved with
// their wearer's face.
func (c *Composite) DetectText(img gocv.Mat, faces []Box) ([]Box, error) {
	return c.detectBadges(img, faces)
}

// Close releases every network.
func (c *Composite) Close() error {
	var err error
	if c.face != nil {
		err = c.face.Close()
	}
	if c.text != nil {
		if e := c.text.Close(); err == nil {
			err = e
		}
	}
	if c.heads != nil {
		if e := c.heads.Close(); err == nil {
			err = e
		}
	}
	return err
}
