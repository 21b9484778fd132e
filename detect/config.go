package detect

import "fmt"

// Face detector choices for Config.Face.
const (
	FaceAuto      = "auto"  // the default face model (built in); never a fallback
	FaceYuNet     = "yunet" // YuNet 2022mar
	FaceYuNet2023 = "yunet2023"
	FaceUltraFace = "ultraface"
	FaceSSD       = "ssd"
	FaceHaar      = "haar"
)

// Modes for Config.Contrast (and other automatic face passes).
const (
	PassAuto = "auto"
	PassOn   = "on"
	PassOff  = "off"
)

// Text modes for Config.Text.
const (
	// TextBadges masks whole badges and ID cards worn or held by people,
	// and text on or near people. The default.
	TextBadges = "badges"
	// TextAll masks every text region: screens, whiteboards, paper too.
	TextAll = "all"
	// TextNone masks no text.
	TextNone = "none"
	// TextBadgeZone is TextBadges with the whole badge zone of every face
	// and head masked (chest and lanyard area: see anchor.zone) instead
	// of the card found in it: for a DPO who would rather lose the shirt
	// than risk a name.
	TextBadgeZone = "badge-zone"
)

// DefaultHaarDir is where Debian's opencv-data installs the cascades.
const DefaultHaarDir = "/usr/share/opencv4/haarcascades"

// Config selects and tunes the detectors. The zero value is valid: it runs
// the default face model and masks badges, with the models built into the
// binary (or those of $CUSTODY_MODELS), and the recall-tuned defaults
// below.
type Config struct {
	// Face is one of FaceAuto (or ""), FaceYuNet, FaceUltraFace, FaceSSD,
	// FaceHaar. A missing model is an error, for "auto" too: nothing falls
	// back to a weaker detector (see Composite.Weaker).
	Face string
	// Text is one of TextBadges (or "", the same), TextBadgeZone,
	// TextAll, TextNone. A missing text model is an error.
	Text string
	// ModelsDir is the --models flag value; "" resolves through ModelsDir
	// ($CUSTODY_MODELS, then the models built into the binary).
	ModelsDir string
	// HaarDir holds the Haar cascades; "" means DefaultHaarDir.
	HaarDir string

	// FaceThreshold is the minimum face score; 0 means the per-model
	// default (see DefaultFaceThreshold), chosen for recall.
	FaceThreshold float64
	// NMSThreshold is the IoU above which overlapping faces merge; 0 means 0.4.
	NMSThreshold float64
	// MinFace is the smallest face side, in frame pixels, the passes on
	// the upright frame are planned to find; 0 means 12 (faces of 10 px
	// are mostly found too). Smaller values cost time (larger passes).
	MinFace int
	// ViewMinFace is the smallest face side the passes on extra views
	// (turned frames, fisheye edge views) are planned to find, when larger
	// than MinFace; 0 means 20.
	ViewMinFace int
	// ViewThreshold is the score a face found on an extra view (turned,
	// contrast-normalised, fisheye) must reach, above FaceThreshold: the
	// models see more false faces there (a shoulder turned on its side,
	// sensor noise made texture). 0 means defaultViewThreshold.
	ViewThreshold float64
	// RotatedFaces also searches the frame turned a quarter turn each way
	// and half a turn, for faces far from upright (patients lying in bed,
	// a camera on its side): PassAuto (or "") on the calls that run every
	// face pass (every call on stills and with SmallFaceEvery 1, every
	// SmallFaceEvery-th call on video), PassOn on every call, PassOff
	// never. Each call it runs on costs four face searches instead of one.
	RotatedFaces string
	// QuarterTurnsOnly leaves out the half turn (three searches instead of
	// four): faces upside down are rarer than faces lying on their side.
	QuarterTurnsOnly bool
	// Contrast also searches a copy of the frame with its luma contrast
	// normalised (CLAHE), for detection only: PassAuto (or "") on frames
	// whose mean luma is below DarkLuma, PassOn on every frame, PassOff
	// never. It costs a second face search on the frames it runs on.
	Contrast string
	// Fisheye also searches perspective (undistorted) views of the edge
	// of a fisheye lens's image circle, where faces are squashed and
	// turned, on the calls that run every face pass: PassAuto (or "") on
	// frames that show an image circle (black beyond a radius), PassOn on
	// every frame (a frame with no circle is taken as a full-frame
	// fisheye's), PassOff never. Eight views, each costing about a
	// quarter of a face search of the frame.
	Fisheye string
	// FisheyeFOV is the field of view, in degrees, across the lens's
	// image circle (equidistant lens model); 0 means 200 (chosen on lenses
	// of 160° to 240°: assuming too wide a lens costs less than too
	// narrow).
	FisheyeFOV float64
	// DarkLuma is the mean luma (0 to 255) below which Contrast auto
	// treats a frame as dark; 0 means defaultDarkLuma.
	DarkLuma float64

	// TextThreshold is the DB binarisation threshold on the text
	// probability map; 0 means 0.3.
	TextThreshold float64
	// TextBoxThreshold is the minimum mean probability inside a text box;
	// 0 means 0.5 (PaddleOCR uses 0.6; lower finds more).
	TextBoxThreshold float64
	// TextUnclip is the DB unclip ratio (how far boxes grow beyond the
	// shrunk text kernel); 0 means 2.0.
	TextUnclip float64
	// TextMaxSide caps the long side of the text pass input; 0 means 640
	// (badge names legible in 1080p footage stay above the model's
	// smallest text; larger costs time in proportion to pixels).
	TextMaxSide int
	// TextEvery runs the text model on every TextEvery-th call of Detect
	// or DetectText only; in between, the last text boxes are returned
	// again, those worn by a person moved and scaled with their wearer's
	// face. 0 or 1 means every call. The text pass costs several times the
	// face pass, and badges move with faces.
	TextEvery int
	// SmallFaceEvery runs the finest face pass, the only one that finds
	// the smallest faces (below what the next pass finds reliably: about
	// 43 px with YuNet), on every SmallFaceEvery-th call of Detect or
	// DetectFaces only; the other passes run on every call. 0 or 1 means
	// every call. The finest pass is most of a DNN model's cost, and small
	// faces are distant ones, which move slowly across the picture.
	SmallFaceEvery int

	// Heads masks the head of every person (found by YOLOX-Nano) whose
	// face is not found: HeadsAuto (or ""), HeadsOn or HeadsOff. Auto
	// runs the person pass while the camera is still (CCTV: see
	// stillCamera), and not on footage from a moving camera.
	Heads string
	// HeadsEvery runs the person detector on every HeadsEvery-th call of
	// Detect only (the tracker interpolates between, and holds); 0 means
	// DefaultHeadsEvery; 1 every call.
	HeadsEvery int
	// PersonThreshold is the minimum person score (objectness × class);
	// 0 means DefaultPersonThreshold.
	PersonThreshold float64
	// PersonWholeOnly runs the person detector on the whole frame only.
	// By default frames wider (or taller) than 5:4 are also searched in
	// square tiles (two for 16:9), which find people small in the picture
	// that the whole frame, shrunk to 416 px, loses (heads found on the
	// 720p CCTV view of faces_dlib: 50% whole frame, 92% with tiles), at
	// one pass per tile.
	PersonWholeOnly bool
}

// Heads modes for Config.Heads.
const (
	HeadsAuto = "auto"
	HeadsOn   = "on"
	HeadsOff  = "off"
)

// DefaultHeadsEvery and DefaultPersonThreshold are the person pass's
// defaults. The person pass runs on every detection pass: on the
// synthetic CCTV clip of redact's TestEvalHeads (people seen from above
// walking across a 720p picture) every 2nd pass left 14% of the labelled
// face-frames uncovered, every pass 4%, for about 18 ms more CPU a frame
// (at 15 fps, --every 6).
const (
	DefaultHeadsEvery      = 1
	DefaultPersonThreshold = 0.25
)

// DefaultFaceThreshold is the recall-tuned score threshold per face model.
// For YuNet it is the lowest whose precision, with every other default in
// place, is at least 0.7 on faces_dlib's training split and its hard
// variants (TestEvalFacesTuneThreshold; a margin over the 0.6 the reported
// split must keep). The others were measured on faces_dlib and the
// body-camera clip (see eval_test.go).
// Haar has no score; its knob is the neighbour count.
var DefaultFaceThreshold = map[string]float64{
	FaceYuNet:     0.4,
	FaceYuNet2023: 0.35,
	FaceUltraFace: 0.6,
	FaceSSD:       0.3,
	FaceHaar:      0,
}

const (
	defaultNMS     = 0.4
	defaultMinFace = 12
	defaultViewMin = 20
	// defaultViewThreshold: on the tuning split (make eval
	// -eval.split=training) 0.5, 0.6 and 0.7 keep every face and give the
	// same precision, 0.36 (none) less; the lowest keeps a margin of
	// recall.
	defaultViewThreshold = 0.5
	defaultTextThresh    = 0.3
	defaultTextBox       = 0.5
	defaultTextUnclip    = 2.0
	defaultTextMaxSide   = 640
	defaultDarkLuma      = 50
	defaultFisheyeFOV    = 200
)

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	for _, step := range []func() error{c.modeDefaults, c.viewDefaults, c.thresholdDefaults, c.cadenceDefaults, c.headsDefaults} {
		if err := step(); err != nil {
			return c, err
		}
	}
	return c, nil
}

// fill sets *v to def when it is zero.
func fill[T int | float64](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// modeDefaults fills and checks the detector and pass modes.
func (c *Config) modeDefaults() error {
	if c.Face == "" {
		c.Face = FaceAuto
	}
	switch c.Face {
	case FaceAuto, FaceYuNet, FaceYuNet2023, FaceUltraFace, FaceSSD, FaceHaar:
	default:
		return configError("unknown face detector %q (want auto, yunet2023, yunet, ultraface, ssd or haar)", c.Face)
	}
	switch c.Text {
	case "", TextBadges, TextAll, TextNone, TextBadgeZone:
	default:
		return configError("unknown text mode %q (want badges, badge-zone, all or none)", c.Text)
	}
	for _, p := range []struct {
		mode *string
		name string
	}{{&c.RotatedFaces, "rotated-faces"}, {&c.Contrast, "contrast"}, {&c.Fisheye, "fisheye"}} {
		if err := passMode(p.mode, p.name); err != nil {
			return err
		}
	}
	if c.HaarDir == "" {
		c.HaarDir = DefaultHaarDir
	}
	return nil
}

// viewDefaults fills and checks the extra views' and face sizes' fields.
func (c *Config) viewDefaults() error {
	fill(&c.FisheyeFOV, defaultFisheyeFOV)
	fill(&c.DarkLuma, defaultDarkLuma)
	fill(&c.MinFace, defaultMinFace)
	fill(&c.ViewMinFace, defaultViewMin)
	fill(&c.ViewThreshold, defaultViewThreshold)
	switch {
	case c.FisheyeFOV < 90 || c.FisheyeFOV > 280:
		return configError("fisheye field of view %v° out of range (want 90 to 280)", c.FisheyeFOV)
	case c.DarkLuma < 0 || c.DarkLuma > 255:
		return configError("dark luma %v out of range (want 0 to 255)", c.DarkLuma)
	case c.ViewThreshold < 0 || c.ViewThreshold >= 1:
		return configError("score threshold for extra views %v out of range (want 0 to 1)", c.ViewThreshold)
	case c.MinFace < 6 || c.MinFace > 4096:
		return configError("minimum face size %d px out of range (want 6 to 4096)", c.MinFace)
	case c.ViewMinFace < 6 || c.ViewMinFace > 4096:
		return configError("minimum face size for turned and fisheye views %d px out of range (want 6 to 4096)", c.ViewMinFace)
	}
	return nil
}

// thresholdDefaults fills and checks the score thresholds and the text
// model's geometry.
func (c *Config) thresholdDefaults() error {
	fill(&c.NMSThreshold, defaultNMS)
	fill(&c.TextThreshold, defaultTextThresh)
	fill(&c.TextBoxThreshold, defaultTextBox)
	fill(&c.TextUnclip, defaultTextUnclip)
	fill(&c.TextMaxSide, defaultTextMaxSide)
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"face threshold", c.FaceThreshold},
		{"NMS threshold", c.NMSThreshold},
		{"text threshold", c.TextThreshold},
		{"text box threshold", c.TextBoxThreshold},
	} {
		if f.v < 0 || f.v >= 1 {
			return configError("%s %v out of range (want 0 < t < 1)", f.name, f.v)
		}
	}
	if c.TextUnclip < 1 || c.TextUnclip > 5 {
		return configError("text unclip ratio %v out of range (want 1 to 5)", c.TextUnclip)
	}
	if c.TextMaxSide < 64 || c.TextMaxSide > 4096 {
		return configError("text pass size %d out of range (want 64 to 4096)", c.TextMaxSide)
	}
	return nil
}

// cadenceDefaults fills and checks how often the text and smallest-face
// passes run.
func (c *Config) cadenceDefaults() error {
	fill(&c.TextEvery, 1)
	fill(&c.SmallFaceEvery, 1)
	if c.TextEvery < 1 || c.TextEvery > 1000 {
		return configError("text pass every %d calls out of range (want 1 to 1000)", c.TextEvery)
	}
	if c.SmallFaceEvery < 1 || c.SmallFaceEvery > 1000 {
		return configError("small-face pass every %d calls out of range (want 1 to 1000)", c.SmallFaceEvery)
	}
	return nil
}

func (c Config) faceThreshold(kind string) float64 {
	if c.FaceThreshold > 0 {
		return c.FaceThreshold
	}
	return DefaultFaceThreshold[kind]
}

// String summarises the parameters for audit records.
func (c Config) String() string {
	return fmt.Sprintf("face=%s text=%s face_threshold=%v nms=%v min_face=%d view_min_face=%d view_threshold=%v rotated_faces=%s quarter_turns_only=%v "+
		"contrast=%s dark_luma=%v fisheye=%s fisheye_fov=%v "+
		"text_threshold=%v text_box_threshold=%v text_unclip=%v text_max_side=%d text_every=%d small_face_every=%d",
		c.Face, c.Text, c.FaceThreshold, c.NMSThreshold, c.MinFace, c.ViewMinFace, c.ViewThreshold, c.RotatedFaces, c.QuarterTurnsOnly,
		c.Contrast, c.DarkLuma, c.Fisheye, c.FisheyeFOV,
		c.TextThreshold, c.TextBoxThreshold, c.TextUnclip, c.TextMaxSide, c.TextEvery, c.SmallFaceEvery) +
		c.headsString()
}

// Normalize returns c with the defaults filled in, or an ErrConfig error
// naming the bad value, so that a CLI can reject flags before opening any
// model. Open calls it itself.
func (c Config) Normalize() (Config, error) { return c.withDefaults() }

// headsDefaults fills and checks the heads fields.
func (c *Config) headsDefaults() error {
	switch c.Heads {
	case "":
		c.Heads = HeadsAuto
	case HeadsAuto, HeadsOn, HeadsOff:
	default:
		return configError("unknown heads mode %q (want auto, on or off)", c.Heads)
	}
	if c.HeadsEvery == 0 {
		c.HeadsEvery = DefaultHeadsEvery
	}
	if c.HeadsEvery < 1 || c.HeadsEvery > 1000 {
		return configError("person pass every %d calls out of range (want 1 to 1000)", c.HeadsEvery)
	}
	if c.PersonThreshold == 0 {
		c.PersonThreshold = DefaultPersonThreshold
	}
	if !(c.PersonThreshold > 0 && c.PersonThreshold < 1) {
		return configError("person threshold %v out of range (want 0 < t < 1)", c.PersonThreshold)
	}
	return nil
}

// headsString is the heads part of String; with heads off the person
// pass's parameters do not apply and are left out.
func (c Config) headsString() string {
	if c.Heads == HeadsOff {
		return " heads=off"
	}
	return fmt.Sprintf(" heads=%s heads_every=%d person_threshold=%v person_tiles=%v",
		c.Heads, c.HeadsEvery, c.PersonThreshold, !c.PersonWholeOnly)
}

// passMode fills an extra view's mode (auto when unset) and checks it.
func passMode(mode *string, name string) error {
	if *mode == "" {
		*mode = PassAuto
	}
	switch *mode {
	case PassAuto, PassOn, PassOff:
		return nil
	}
	return configError("unknown %s mode %q (want auto, on or off)", name, *mode)
}
