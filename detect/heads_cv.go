//go:build cgo

package detect

import (
	"image"
	"math"

	"gocv.io/x/gocv"
)

// The still-camera cue behind --heads auto. CCTV is a fixed camera: between
// two detection calls most of the picture stays the same, and only the
// people in it move. A body-worn or hand-held camera moves, and nearly
// every pixel changes. Each call shrinks the frame to a 64×36 grey
// thumbnail (about a millisecond) and counts the share of its pixels that
// changed by more than stillDiff grey levels since the previous call.
const (
	thumbW, thumbH = 64, 36
	stillDiff      = 16
	// stillShare: a pair of calls with at most this share of the thumbnail
	// changed is still. A crowd walking through a CCTV picture changes a
	// third of it at most; a body camera turning changes over 80%.
	stillShare = 0.5
	// movingRuns: auto stops the person pass only after this many
	// consecutive moving pairs (recall first: a camera that stops is still
	// again at the next call).
	movingRuns = 3
)

// headState is Composite's person pass: the detector, its cadence and,
// for auto, the still-camera cue.
type headState struct {
	people *peopleDetector
	mode   string
	every  int

	calls  int         // since the last person pass
	size   image.Point // frame size of the last person pass
	thumb  gocv.Mat    // previous call's thumbnail (auto only)
	moving int         // consecutive moving pairs
	// passes run and passes skipped for a moving camera, since Open.
	passes, skipped int
	// heads of the last person pass, followed on the calls in between.
	follow []followed
}

// followed is a head found by the last person pass, with its picture.
type followed struct {
	box   Box
	tmpl  gocv.Mat // grey, scaled by scale
	scale float64
}

// followSide: head pictures are matched at most this many pixels across
// (larger heads are shrunk, keeping the search cheap).
const followSide = 48

func newHeadState(p *peopleDetector, cfg Config) *headState {
	return &headState{people: p, mode: cfg.Heads, every: cfg.HeadsEvery, thumb: gocv.NewMat()}
}

func (s *headState) Close() error {
	s.thumb.Close()
	s.forget()
	return s.people.Close()
}

func (s *headState) forget() {
	for _, f := range s.follow {
		f.tmpl.Close()
	}
	s.follow = nil
}

// reset forgets the cadence and the previous thumbnail: a new video starts
// with a person pass and an undecided camera.
func (s *headState) reset() {
	s.calls, s.size, s.moving = 0, image.Point{}, 0
	s.forget()
	s.thumb.Close()
	s.thumb = gocv.NewMat()
}

// due observes img and reports whether this call runs the person pass:
// on every every-th call (and when the frame size changes), unless in auto
// mode the camera has been moving for the last movingRuns calls.
func (s *headState) due(img gocv.Mat) bool {
	if s.mode == HeadsAuto {
		s.observe(img)
	}
	size := image.Pt(img.Cols(), img.Rows())
	cadence := s.calls == 0 || s.calls >= s.every || size != s.size
	if !cadence {
		s.calls++
		return false
	}
	if s.mode == HeadsAuto && s.moving >= movingRuns {
		// Keep the cadence: the call that finds the camera still again
		// runs the pass at once.
		s.skipped++
		s.forget()
		return false
	}
	s.calls, s.size = 1, size
	s.passes++
	return true
}

// observe updates the still-camera cue with img.
func (s *headState) observe(img gocv.Mat) {
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return
	}
	small := gocv.NewMat()
	gocv.Resize(img, &small, image.Pt(thumbW, thumbH), 0, 0, gocv.InterpolationArea)
	gray := gocv.NewMat()
	gocv.CvtColor(small, &gray, gocv.ColorBGRToGray)
	small.Close()
	if s.thumb.Empty() {
		s.thumb.Close()
		s.thumb = gray
		return
	}
	diff := gocv.NewMat()
	gocv.AbsDiff(gray, s.thumb, &diff)
	mask := gocv.NewMat()
	gocv.Threshold(diff, &mask, stillDiff, 255, gocv.ThresholdBinary)
	changed := float64(gocv.CountNonZero(mask)) / float64(thumbW*thumbH)
	diff.Close()
	mask.Close()
	s.thumb.Close()
	s.thumb = gray
	if changed > stillShare {
		s.moving++
	} else {
		s.moving = 0
	}
}

// detect runs the person pass and returns the heads of the people with
// no face among faces.
func (s *headState) detect(img gocv.Mat, faces []Box) ([]Box, error) {
	people, err := s.people.detect(img)
	if err != nil {
		return nil, err
	}
	heads := headsWithoutFaces(people, faces)
	s.remember(img, heads)
	return heads, nil
}

// Following heads between person passes: each head of the last pass is
// looked for, by its grey picture, within one head size around where it
// was (template matching, normalised correlation), and reported where it
// matches at least followMatch. The tracker then sees a walking person's
// head on every detection call, not only on every HeadsEvery-th, and
// masks it where it is rather than where it was (a person crossing a 720p
// picture moves more than a head's width between two person passes).
const followMatch = 0.6

// remember keeps the pictures of heads for the calls in between.
func (s *headState) remember(img gocv.Mat, heads []Box) {
	s.forget()
	if s.every <= 1 || len(heads) == 0 {
		return
	}
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(img, &gray, gocv.ColorBGRToGray)
	frame := image.Rect(0, 0, img.Cols(), img.Rows())
	for _, h := range heads {
		r := h.Rect().Intersect(frame)
		if r.Dx() < 8 || r.Dy() < 8 {
			continue
		}
		roi := gray.Region(r)
		f := math.Min(1, followSide/float64(max(r.Dx(), r.Dy())))
		s.follow = append(s.follow, followed{box: boxFromRect(r, h.Score, LabelHead), tmpl: scaledGray(roi, f), scale: f})
		roi.Close()
	}
}

// followHeads finds the remembered heads in img.
func (s *headState) followHeads(img gocv.Mat) []Box {
	if len(s.follow) == 0 {
		return nil
	}
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(img, &gray, gocv.ColorBGRToGray)
	frame := image.Rect(0, 0, img.Cols(), img.Rows())
	var out []Box
	for i, f := range s.follow {
		b := f.box
		win := b.Rect().Inset(-max(b.W, b.H)).Intersect(frame)
		if win.Dx() < b.W || win.Dy() < b.H {
			continue
		}
		roi := gray.Region(win)
		small := scaledGray(roi, f.scale)
		roi.Close()
		if small.Cols() < f.tmpl.Cols() || small.Rows() < f.tmpl.Rows() {
			small.Close()
			continue
		}
		res, mask := gocv.NewMat(), gocv.NewMat()
		gocv.MatchTemplate(small, f.tmpl, &res, gocv.TmCcoeffNormed, mask)
		_, score, _, at := gocv.MinMaxLoc(res)
		res.Close()
		mask.Close()
		small.Close()
		if !(score >= followMatch) {
			continue
		}
		b.X = win.Min.X + int(math.Round(float64(at.X)/f.scale))
		b.Y = win.Min.Y + int(math.Round(float64(at.Y)/f.scale))
		s.follow[i].box = b
		out = append(out, b)
	}
	return out
}

// HeadsMode is the heads mode in effect: auto, on or off.
func (c *Composite) HeadsMode() string { return c.cfg.Heads }

// HeadsEvery is how many calls of Detect one person pass serves (see
// Config.HeadsEvery); 0 when heads are off.
func (c *Composite) HeadsEvery() int {
	if c.heads == nil {
		return 0
	}
	return c.heads.every
}

// PersonPasses counts the person passes run since Open, and those that
// --heads auto skipped because the camera was moving.
func (c *Composite) PersonPasses() (run, skipped int) {
	if c.heads == nil {
		return 0, 0
	}
	return c.heads.passes, c.heads.skipped
}

// openHeads opens the person detector unless heads are off. With heads
// auto a missing model is a warning and heads are off (recorded so); with
// heads on it is an error.
func (c *Composite) openHeads(dir string) error {
	if c.cfg.Heads == HeadsOff {
		return nil
	}
	// The person model is built in like the others: a missing one is an
	// error, never a quiet "heads off".
	p, err := newPeople(dir, c.cfg)
	if err != nil {
		return err
	}
	c.heads = newHeadState(p, c.cfg)
	return nil
}

// detectHeads returns the heads of people whose face is not among faces,
// on the calls that run the person pass (run, from headsDue).
func (c *Composite) detectHeads(img gocv.Mat, faces []Box, run bool) ([]Box, error) {
	if c.heads == nil {
		return nil, nil
	}
	if !run {
		return c.heads.followHeads(img), nil
	}
	return c.heads.detect(img, faces)
}

// headsDue observes img and reports whether this Detect call runs the
// person pass.
func (c *Composite) headsDue(img gocv.Mat) bool {
	return c.heads != nil && c.heads.due(img)
}

// scaledGray is a copy of m resized by f (a plain copy for f = 1).
func scaledGray(m gocv.Mat, f float64) gocv.Mat {
	if f >= 1 {
		return m.Clone()
	}
	return resized(m, scaledSize(m.Cols(), m.Rows(), f))
}
