package redact

import (
	"fmt"
	"math"
	"testing"

	"github.com/custody-evidence/custody/detect"
)

// trackRun is the complete output of one tracker run.
type trackRun struct {
	masks  []FrameMasks // index = frame
	tracks []Track      // by id
	byID   map[int]*Track
}

// runTracker feeds the detections of every observed frame (every `every`
// frames, starting at 0) and checks the invariants any run must satisfy:
// every frame returned exactly once and in order, never later than Delay
// frames after the last observation, every track with exactly one box per
// frame from First to Last, and the frame masks agreeing with the tracks.
func runTracker(t testing.TB, opt TrackerOptions, frames, every int, detsAt func(f int) []detect.Box) *trackRun {
	t.Helper()
	tr, err := NewTracker(opt)
	if err != nil {
		t.Fatal(err)
	}
	r := &trackRun{byID: map[int]*Track{}}
	accept := func(obs int, out []FrameMasks) {
		t.Helper()
		for _, fm := range out {
			if fm.Frame != len(r.masks) {
				t.Fatalf("got frame %d, want frame %d next", fm.Frame, len(r.masks))
			}
			r.masks = append(r.masks, fm)
		}
		if obs >= 0 && len(r.masks) != max(0, obs-tr.Delay()+1) {
			t.Fatalf("after observing frame %d, %d frames were returned; want %d (delay %d)",
				obs, len(r.masks), max(0, obs-tr.Delay()+1), tr.Delay())
		}
	}
	for f := 0; f < frames; f += every {
		out, err := tr.Observe(f, detsAt(f))
		if err != nil {
			t.Fatal(err)
		}
		accept(f, out)
		r.tracks = append(r.tracks, tr.Finished()...)
	}
	out, err := tr.Flush(frames)
	if err != nil {
		t.Fatal(err)
	}
	accept(-1, out)
	r.tracks = append(r.tracks, tr.Finished()...)
	if len(r.masks) != frames {
		t.Fatalf("returned %d frames, want %d", len(r.masks), frames)
	}
	// Finished drains in id order within a call; across calls a track
	// finishing later may have a smaller id.
	sortTracks(r.tracks)
	for i := range r.tracks {
		tk := &r.tracks[i]
		if r.byID[tk.ID] != nil {
			t.Fatalf("track %d reported twice", tk.ID)
		}
		r.byID[tk.ID] = tk
		if len(tk.Boxes) != tk.Last-tk.First+1 {
			t.Fatalf("track %d: %d boxes for frames %d..%d", tk.ID, len(tk.Boxes), tk.First, tk.Last)
		}
		for k, b := range tk.Boxes {
			if b.Frame != tk.First+k {
				t.Fatalf("track %d: box %d is for frame %d, want %d (blink)", tk.ID, k, b.Frame, tk.First+k)
			}
			if b.Kind == KindDetected && (b.Frame < tk.FirstDetected || b.Frame > tk.LastDetected) {
				t.Fatalf("track %d: detected box on frame %d outside %d..%d", tk.ID, b.Frame, tk.FirstDetected, tk.LastDetected)
			}
		}
		if tk.First > tk.FirstDetected || tk.Last < tk.LastDetected {
			t.Fatalf("track %d: masked %d..%d does not cover detections %d..%d",
				tk.ID, tk.First, tk.Last, tk.FirstDetected, tk.LastDetected)
		}
	}
	// The frame masks are exactly the non-excluded tracks' boxes.
	want := make([]int, frames)
	for _, tk := range r.tracks {
		if tk.Excluded {
			continue
		}
		for _, b := range tk.Boxes {
			want[b.Frame]++
			found := false
			for _, mb := range r.masks[b.Frame].Boxes {
				if mb.TrackID == tk.ID {
					found = mb.Box.X == b.X && mb.Box.Y == b.Y && mb.Box.W == b.W && mb.Box.H == b.H && mb.Kind == b.Kind
				}
			}
			if !found {
				t.Fatalf("frame %d: track %d box %+v missing from frame masks %+v", b.Frame, tk.ID, b, r.masks[b.Frame])
			}
		}
	}
	for f, fm := range r.masks {
		if len(fm.Boxes) != want[f] {
			t.Fatalf("frame %d: %d mask boxes, tracks account for %d", f, len(fm.Boxes), want[f])
		}
		for k := 1; k < len(fm.Boxes); k++ {
			if fm.Boxes[k].TrackID <= fm.Boxes[k-1].TrackID {
				t.Fatalf("frame %d: boxes not ordered by track id", f)
			}
		}
	}
	return r
}

func sortTracks(ts []Track) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].ID < ts[j-1].ID; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// boxOf returns track id's box on frame f.
func (r *trackRun) boxOf(id, f int) (TrackBox, bool) {
	tk := r.byID[id]
	if tk == nil || f < tk.First || f > tk.Last {
		return TrackBox{}, false
	}
	return tk.Boxes[f-tk.First], true
}

// coverage is the share of truth's area lying under mask.
func coverage(truth detect.Box, x, y, w, h int) float64 {
	iw := min(truth.X+truth.W, x+w) - max(truth.X, x)
	ih := min(truth.Y+truth.H, y+h) - max(truth.Y, y)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	return float64(iw*ih) / float64(truth.W*truth.H)
}

// bestCover is the largest coverage of truth by any mask on the frame, and
// the id of that mask's track.
func (r *trackRun) bestCover(f int, truth detect.Box) (float64, int) {
	best, id := 0.0, 0
	for _, mb := range r.masks[f].Boxes {
		if mb.Box.Label != truth.Label {
			continue
		}
		if c := coverage(truth, mb.Box.X, mb.Box.Y, mb.Box.W, mb.Box.H); c > best {
			best, id = c, mb.TrackID
		}
	}
	return best, id
}

// linear is a box moving at constant velocity: position at frame f.
type linear struct {
	x, y, w, h, vx, vy float64
	label              detect.Label
	score              float64
}

func (l linear) at(f int) detect.Box {
	return detect.Box{
		X: int(math.Round(l.x + l.vx*float64(f))), Y: int(math.Round(l.y + l.vy*float64(f))),
		W: int(l.w), H: int(l.h), Score: l.score, Label: l.label,
	}
}

func face(x, y, w, h int) detect.Box {
	return detect.Box{X: x, Y: y, W: w, H: h, Score: 0.9, Label: detect.LabelFace}
}

func fmtBoxes(bs []MaskBox) string {
	s := ""
	for _, b := range bs {
		s += fmt.Sprintf("[#%d %s %d,%d %dx%d] ", b.TrackID, b.Kind, b.Box.X, b.Box.Y, b.Box.W, b.Box.H)
	}
	return s
}
