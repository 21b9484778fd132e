package redact

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/custody-evidence/custody/detect"
)

// Kind says how a masked box on a frame was obtained.
type Kind string

const (
	// KindDetected: a detection on this frame was matched to the track.
	KindDetected Kind = "detected"
	// KindInterpolated: between two detections of the track.
	KindInterpolated Kind = "interpolated"
	// KindHeld: after the track's last detection, extrapolated by motion and
	// widened, while the track may still be in the picture.
	KindHeld Kind = "held"
	// KindLookBack: before the track's first detection, at its first box.
	KindLookBack Kind = "lookback"
	// KindBridged: before the track's first detection, on the path from a
	// track lost where it was found (TrackerOptions.BridgeSpeed), joined
	// with the look-back box where there is one.
	KindBridged Kind = "bridged"
)

// Errors returned by the tracker. They indicate a bug in the caller, not bad
// footage.
var (
	// ErrTrackerOptions reports invalid TrackerOptions.
	ErrTrackerOptions = errors.New("invalid tracker options")
	// ErrFrameOrder reports a frame index that is negative or not after the
	// previously observed one.
	ErrFrameOrder = errors.New("tracker frames out of order")
	// ErrBadBox reports a detection with a non-positive size or a
	// non-finite score.
	ErrBadBox = errors.New("invalid detection box")
	// ErrTrackerClosed reports use of a tracker after Flush.
	ErrTrackerClosed = errors.New("tracker already flushed")
)

// TrackerOptions configures a Tracker. All durations are in frames; use
// DefaultTrackerOptions to derive them from the frame rate.
type TrackerOptions struct {
	// Hold is how many frames a track stays masked after its last
	// detection when it is not detected again. A track not re-detected
	// within Hold frames ends; a later detection starts a new track.
	// A track that has not yet been missed by any observation (with sparse
	// detection, the frames before the next detection run) stays masked
	// regardless. Must be >= 0, and should be at least the detection
	// stride N, or a face missed on one observation loses its track.
	Hold int
	// LookBack is how many frames before its first detection a new track
	// is also masked, at its first box. With sparse detection the look-back
	// reaches at least back to the frame after the previous observation.
	// Must be >= 0.
	LookBack int
	// TextLookBack, when above LookBack, is the look-back of new text
	// tracks (badges, ID cards). When the text detector runs on every
	// few detection passes only, a badge first found on one text pass
	// may have been in view since the frame after the previous one; the
	// redactor sets it to the text stride in frames less one, so that
	// the mask reaches back there. It raises Delay. Must be >= 0.
	TextLookBack int `json:",omitempty"`
	// LookAhead is how many frames the tracker waits for a re-detection
	// before it commits held boxes; gaps up to LookAhead frames are filled
	// by exact linear interpolation. Longer gaps are held first, then
	// interpolated from the last committed box to the re-detection.
	// Must be >= 0.
	LookAhead int

	// HighScore splits detections for the two association stages:
	// detections scoring at least HighScore are matched first, against
	// every live track; the others only against tracks still unmatched.
	HighScore float64
	// MinScore drops detections scoring below it entirely. The default 0
	// keeps everything the detector returned: a detector is tuned for
	// recall and the tracker must not second-guess it.
	MinScore float64
	// MatchIoU is the minimum IoU between a track's predicted box and a
	// high-score detection for them to match (first stage).
	MatchIoU float64
	// LowMatchIoU is the minimum IoU for a low-score detection (second
	// stage); stricter, because low scores are less trustworthy.
	LowMatchIoU float64
	// CenterGate lets a high-score detection that overlaps too little
	// still match a track when the centres are within CenterGate times the
	// predicted box's larger side and the sizes are within a factor of two
	// (fast motion, small faces, sparse detection). 0 disables it.
	CenterGate float64
	// BridgeSpeed joins a new track to a track lost on the same
	// observation when their centres are within (CenterGate + BridgeSpeed
	// × frames since the lost track's last detection) times the larger
	// side: the new track is then also masked along the path between
	// (KindBridged), in addition to the lost track's hold and its own
	// look-back. It covers regions moving faster than the association
	// gates allow between sparse passes. In box sides per frame; 0
	// disables it.
	BridgeSpeed float64 `json:",omitempty"`

	// Growth widens a held box by this fraction of its size per frame since
	// the last detection (and a look-back box per frame before the first),
	// up to MaxGrowth, to cover the growing uncertainty of where the region
	// is.
	Growth    float64
	MaxGrowth float64

	// Width and Height, when positive, clip output boxes to the frame.
	// A clipped box may be empty (W or H 0) when a held track has drifted
	// out of the picture; it is still reported so that each track has one
	// box per frame from First to Last.
	Width, Height int

	// Exclude lists track ids that are tracked as usual (so that ids and
	// associations are identical to a run without exclusions) but are left
	// out of the FrameMasks. Their Track is still reported, with Excluded
	// set. This is how a DPO's "exclude track N" edit is applied on a
	// second run over the same detections.
	Exclude []int
}

// DefaultBridgeSpeed is TrackerOptions.BridgeSpeed's default: half a box
// side a frame, faster than people walk across CCTV (a third of a small
// face's width a frame in the benchmark's walking scene).
const DefaultBridgeSpeed = 0.5

// DefaultTrackerOptions returns options for footage at fps frames per second:
// a 1 s hold, a 0.2 s look-back and a 0.5 s look-ahead. fps <= 0 or NaN is
// treated as 30.
func DefaultTrackerOptions(fps float64) TrackerOptions {
	if !(fps > 0) || math.IsInf(fps, 0) {
		fps = 30
	}
	frames := func(sec float64, min int) int {
		n := int(math.Round(fps * sec))
		if n < min {
			n = min
		}
		return n
	}
	return TrackerOptions{
		Hold:        frames(1, 1),
		LookBack:    frames(0.2, 2),
		LookAhead:   frames(0.5, 2),
		HighScore:   0.5,
		MinScore:    0,
		MatchIoU:    0.2,
		LowMatchIoU: 0.4,
		CenterGate:  1.0,
		BridgeSpeed: DefaultBridgeSpeed,
		Growth:      0.02,
		MaxGrowth:   0.5,
	}
}

func (o TrackerOptions) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrTrackerOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Hold < 0 || o.LookBack < 0 || o.LookAhead < 0 || o.TextLookBack < 0:
		return bad("Hold, LookBack, TextLookBack and LookAhead must be >= 0 (got %d, %d, %d, %d)", o.Hold, o.LookBack, o.TextLookBack, o.LookAhead)
	case !finite(o.HighScore) || !finite(o.MinScore):
		return bad("scores must be finite")
	case !(o.MatchIoU > 0 && o.MatchIoU <= 1) || !(o.LowMatchIoU > 0 && o.LowMatchIoU <= 1):
		return bad("MatchIoU and LowMatchIoU must be in (0, 1] (got %g, %g)", o.MatchIoU, o.LowMatchIoU)
	case !(o.CenterGate >= 0) || math.IsInf(o.CenterGate, 0):
		return bad("CenterGate must be >= 0 (got %g)", o.CenterGate)
	case !(o.BridgeSpeed >= 0) || math.IsInf(o.BridgeSpeed, 0):
		return bad("BridgeSpeed must be >= 0 (got %g)", o.BridgeSpeed)
	case !(o.Growth >= 0) || !(o.MaxGrowth >= 0) || math.IsInf(o.Growth, 0) || math.IsInf(o.MaxGrowth, 0):
		return bad("Growth and MaxGrowth must be >= 0 (got %g, %g)", o.Growth, o.MaxGrowth)
	case o.Width < 0 || o.Height < 0:
		return bad("Width and Height must be >= 0 (got %d, %d)", o.Width, o.Height)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// MaskBox is one region to mask on one frame.
type MaskBox struct {
	TrackID int `json:"track"`
	// Box is in frame pixels; Label is the track's label. Score is the
	// matched detection's score on detected frames, interpolated between
	// detections, and the nearest detection's score on held and look-back
	// frames.
	Box  detect.Box `json:"box"`
	Kind Kind       `json:"kind"`
}

// FrameMasks is the final set of regions to mask on one frame, ordered by
// track id. Boxes is empty when nothing is to be masked.
type FrameMasks struct {
	Frame int       `json:"frame"`
	Boxes []MaskBox `json:"boxes"`
}

// TrackBox is a track's box on one frame.
type TrackBox struct {
	Frame int     `json:"frame"`
	X     int     `json:"x"`
	Y     int     `json:"y"`
	W     int     `json:"w"`
	H     int     `json:"h"`
	Score float64 `json:"score"`
	Kind  Kind    `json:"kind"`
}

// Track is a finished track: everything tracks.json and the audit entry
// need. Boxes holds exactly one box per frame from First to Last inclusive.
// Frame indices are converted to times by the caller, which knows the
// (possibly variable) timestamps.
type Track struct {
	ID    int          `json:"id"`
	Label detect.Label `json:"label"`
	// First and Last are the first and last masked frames, look-back and
	// hold included.
	First int `json:"first"`
	Last  int `json:"last"`
	// FirstDetected and LastDetected are the first and last frames with a
	// matched detection.
	FirstDetected int `json:"first_detected"`
	LastDetected  int `json:"last_detected"`
	// Hits counts frames with a matched detection.
	Hits     int     `json:"hits"`
	MaxScore float64 `json:"max_score"`
	// Excluded is set when the track was listed in TrackerOptions.Exclude:
	// it was not masked.
	Excluded bool       `json:"excluded,omitempty"`
	Boxes    []TrackBox `json:"boxes"`
}

// Tracker follows detections over the frames of one video and decides the
// final boxes to mask on every frame. Use NewTracker, call Observe for each
// frame the detector ran on (in increasing order, with an empty slice when
// it found nothing), then Flush with the total frame count. A Tracker is not
// safe for concurrent use.
//
// It is built for a redactor, where a missed frame is a privacy breach, so
// it errs on the side of masking:
//
//   - detections are associated to tracks ByteTrack-style (high-score
//     detections first against every live track, then low-score ones against
//     the tracks still unmatched) with optimal (Hungarian) assignment on IoU
//     against a constant-velocity Kalman prediction, and a centre-distance
//     gate for small or fast regions that no longer overlap;
//   - every detection is masked: one that matches no track starts a track;
//   - frames between two detections of a track are linearly interpolated, so
//     a detector miss or `--every N` sparse detection leaves no hole;
//   - a lost track keeps its mask for Hold frames, covering both where it
//     was last seen and where its motion was taking it, widened over time;
//   - a new track is also masked on the frames just before it was first
//     detected (look-back, and with sparse detection back to the frame after
//     the previous observation), so a face entering the picture is covered
//     from its first frame.
//
// Interpolation and look-back need the future, so output is delayed: after
// Observe(f) every frame up to f-Delay() is final and has been returned,
// exactly once and in order (including frames never observed). The
// redactor therefore holds at most Delay()+N decoded frames when it detects
// on every Nth frame.
//
// Memory is bounded by the number of live tracks, not the length of the
// video: finished tracks are handed over through Finished and forgotten.
// Each Track carries its full per-frame box list (for tracks.json and the
// audit); while a track is live that list is kept compactly (24 bytes a
// frame, 2.6 MB for a track on screen for an hour at 30 fps).
//
// The tracker is deterministic: the same detections and options give the
// same tracks, ids and boxes, whatever the order of boxes within a frame.
// That is what makes excluding a track by id (a DPO edit) reproducible on a
// second run over the same detections.
type Tracker struct {
	opt     TrackerOptions
	exclude map[int]bool
	delay   int

	nextID   int
	lastObs  int // last observed frame, -1 before the first
	done     int // frames < done have been returned
	flushed  bool
	live     []*track // ordered by id
	finished []Track
}

// NewTracker returns a tracker, or an error wrapping ErrTrackerOptions.
func NewTracker(opt TrackerOptions) (*Tracker, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	t := &Tracker{opt: opt, nextID: 1, lastObs: -1, exclude: map[int]bool{}}
	for _, id := range opt.Exclude {
		t.exclude[id] = true
	}
	t.delay = max(opt.LookBack, opt.LookAhead, opt.TextLookBack)
	return t, nil
}

// Delay is how many frames behind the last observed frame the output runs:
// after Observe(f), every frame up to f-Delay() has been returned.
func (t *Tracker) Delay() int { return t.delay }

// Observe records the detections on frame (every box, whatever its label;
// boxes only associate with tracks of the same label) and returns the masks
// of the frames that became final, in frame order, one FrameMasks for every
// frame including frames that were never observed. Frames must increase; a
// frame skipped by the caller (sparse detection) is tracked by
// interpolation. Boxes with W or H <= 0 or a non-finite score are rejected
// with ErrBadBox, before any state changes.
func (t *Tracker) Observe(frame int, boxes []detect.Box) ([]FrameMasks, error) {
	if t.flushed {
		return nil, ErrTrackerClosed
	}
	if frame < 0 || frame <= t.lastObs {
		return nil, fmt.Errorf("%w: frame %d after frame %d", ErrFrameOrder, frame, t.lastObs)
	}
	for i, b := range boxes {
		if b.W <= 0 || b.H <= 0 || !finite(b.Score) {
			return nil, fmt.Errorf("%w: frame %d box %d is %dx%d score %g", ErrBadBox, frame, i, b.W, b.H, b.Score)
		}
	}
	t.associate(frame, boxes)
	t.lastObs = frame
	return t.emitUpTo(frame - t.delay), nil
}

// Flush ends the video: frames is the total number of frames. It returns the
// masks of every frame not yet returned, up to frames-1, and finishes every
// track (collect them with Finished). frames must be greater than the last
// observed frame.
func (t *Tracker) Flush(frames int) ([]FrameMasks, error) {
	if t.flushed {
		return nil, ErrTrackerClosed
	}
	if frames <= t.lastObs {
		return nil, fmt.Errorf("%w: %d frames but frame %d was observed", ErrFrameOrder, frames, t.lastObs)
	}
	t.flushed = true
	out := t.emitUpTo(frames - 1)
	for _, tr := range t.live {
		t.finish(tr)
	}
	t.live = nil
	t.sortFinished()
	return out, nil
}

// Finished returns the tracks that have ended since the last call, ordered
// by id, and forgets them.
func (t *Tracker) Finished() []Track {
	t.sortFinished()
	f := t.finished
	t.finished = nil
	return f
}

func (t *Tracker) sortFinished() {
	sort.Slice(t.finished, func(i, j int) bool { return t.finished[i].ID < t.finished[j].ID })
}

// Replay serves the boxes of finished tracks frame by frame, for a masking
// pass that works from a stored tracks.json (for instance after the DPO
// excluded some tracks) instead of re-running detection and tracking.
type Replay struct {
	tracks []Track // by First, then ID
	next   int     // tracks[:next] have First <= the last frame asked
	active []int   // indices of started tracks that may still cover a frame
	last   int
}

// NewReplay indexes tracks. Tracks for which skip returns true (nil: none)
// and tracks marked Excluded are left out. Each track's Boxes must hold one
// box per frame from First to Last, as the Tracker produces them.
func NewReplay(tracks []Track, skip func(Track) bool) *Replay {
	var ts []Track
	for _, tr := range tracks {
		if tr.Excluded || (skip != nil && skip(tr)) || len(tr.Boxes) == 0 {
			continue
		}
		ts = append(ts, tr)
	}
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].First != ts[j].First {
			return ts[i].First < ts[j].First
		}
		return ts[i].ID < ts[j].ID
	})
	return &Replay{tracks: ts, last: -1}
}

// At returns the boxes to mask on frame, ordered by track id. Increasing
// frames cost time proportional to the tracks on screen; going back
// restarts the scan.
func (r *Replay) At(frame int) []MaskBox {
	if frame < r.last {
		r.next, r.active = 0, nil
	}
	r.last = frame
	for r.next < len(r.tracks) && r.tracks[r.next].First <= frame {
		r.active = append(r.active, r.next)
		r.next++
	}
	var out []MaskBox
	keep := r.active[:0]
	for _, i := range r.active {
		tr := &r.tracks[i]
		if frame > tr.Last {
			continue
		}
		keep = append(keep, i)
		k := frame - tr.First
		if k < 0 || k >= len(tr.Boxes) {
			continue
		}
		b := tr.Boxes[k]
		out = append(out, MaskBox{
			TrackID: tr.ID,
			Box:     detect.Box{X: b.X, Y: b.Y, W: b.W, H: b.H, Score: b.Score, Label: tr.Label},
			Kind:    b.Kind,
		})
	}
	r.active = keep
	sort.Slice(out, func(i, j int) bool { return out[i].TrackID < out[j].TrackID })
	return out
}
