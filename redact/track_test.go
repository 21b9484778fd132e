package redact

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/custody-evidence/custody/detect"
)

// testOpts are the defaults with short, easily counted durations.
func testOpts() TrackerOptions {
	o := DefaultTrackerOptions(30)
	o.Hold, o.LookBack, o.LookAhead = 10, 3, 5
	return o
}

func TestTrackerBridgesInjectedGap(t *testing.T) {
	obj := linear{x: 40, y: 60, w: 48, h: 56, vx: 3, vy: 1, label: detect.LabelFace, score: 0.9}
	tests := []struct {
		name string
		gaps [][2]int // [from, to) frames without a detection
		// exact: the gaps are short enough (<= LookAhead) to be filled
		// by interpolation only, which on linear motion is the truth.
		exact bool
	}{
		{"one frame", [][2]int{{20, 21}}, true},
		{"three frames", [][2]int{{20, 23}}, true},
		{"LookAhead frames", [][2]int{{20, 25}}, true},
		{"several gaps", [][2]int{{10, 12}, {20, 25}, {30, 31}}, true},
		{"longer than LookAhead", [][2]int{{20, 28}}, false},
		{"Hold frames", [][2]int{{20, 30}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const frames = 50
			inGap := func(f int) bool {
				for _, g := range tc.gaps {
					if f >= g[0] && f < g[1] {
						return true
					}
				}
				return false
			}
			r := runTracker(t, testOpts(), frames, 1, func(f int) []detect.Box {
				if inGap(f) {
					return nil
				}
				return []detect.Box{obj.at(f)}
			})
			if len(r.tracks) != 1 {
				t.Fatalf("got %d tracks, want 1 bridged track: %+v", len(r.tracks), r.tracks)
			}
			for f := 0; f < frames; f++ {
				truth := obj.at(f)
				if len(r.masks[f].Boxes) != 1 {
					t.Fatalf("frame %d: %d masks, want 1", f, len(r.masks[f].Boxes))
				}
				mb := r.masks[f].Boxes[0]
				c := coverage(truth, mb.Box.X, mb.Box.Y, mb.Box.W, mb.Box.H)
				switch {
				case !inGap(f):
					if mb.Kind != KindDetected || mb.Box.X != truth.X || mb.Box.Y != truth.Y {
						t.Errorf("frame %d: %s, want the detection %+v", f, fmtBoxes(r.masks[f].Boxes), truth)
					}
				case tc.exact:
					// Linear interpolation of a linear path is the path.
					if mb.Kind != KindInterpolated || c != 1 || abs(mb.Box.X-truth.X) > 1 || abs(mb.Box.W-truth.W) > 1 {
						t.Errorf("frame %d: %s, want interpolated %+v", f, fmtBoxes(r.masks[f].Boxes), truth)
					}
				default:
					if mb.Kind != KindHeld && mb.Kind != KindInterpolated {
						t.Errorf("frame %d: kind %s in a gap", f, mb.Kind)
					}
					if c < 0.7 {
						t.Errorf("frame %d: the mask covers %.0f%% of the face: %s truth %+v", f, 100*c, fmtBoxes(r.masks[f].Boxes), truth)
					}
				}
			}
		})
	}
}

// A gap longer than LookAhead is committed as held boxes first; when the
// face is found again, the rest of the gap moves smoothly from the last
// committed box to the detection instead of jumping.
func TestTrackerLongGapIsSmooth(t *testing.T) {
	obj := linear{x: 40, y: 60, w: 48, h: 56, vx: 2, label: detect.LabelFace, score: 0.9}
	r := runTracker(t, testOpts(), 45, 1, func(f int) []detect.Box {
		if f >= 20 && f < 29 {
			return nil
		}
		return []detect.Box{obj.at(f)}
	})
	tk := r.tracks[0]
	var kinds []Kind
	for f := 19; f <= 29; f++ {
		b, _ := r.boxOf(tk.ID, f)
		p, _ := r.boxOf(tk.ID, f-1)
		kinds = append(kinds, b.Kind)
		// No jump bigger than the face's own speed plus the widening.
		if abs(b.X-p.X) > 4 || abs((b.X+b.W)-(p.X+p.W)) > 4 {
			t.Errorf("frame %d: box jumps from %+v to %+v", f, p, b)
		}
	}
	want := []Kind{KindDetected, KindHeld, KindHeld, KindHeld, KindHeld,
		KindInterpolated, KindInterpolated, KindInterpolated, KindInterpolated, KindInterpolated, KindDetected}
	// 20..23 are committed (frame 28 observed, LookAhead 5) before the
	// face is seen again at 29.
	if !slices.Equal(kinds, want) {
		t.Errorf("kinds on frames 19..29 = %v, want %v", kinds, want)
	}
}

func TestTrackerLookBack(t *testing.T) {
	tests := []struct {
		name      string
		every     int
		born      int // first frame with the face in the picture
		wantFirst int // first masked frame
	}{
		{"every frame", 1, 20, 17},
		{"near the start", 1, 1, 0},
		{"at the start", 1, 0, 0},
		// Sparse: the face may have been there since the frame after the
		// previous observation.
		{"every 4", 4, 17, 17}, // observed at 20, previous 16: LookBack 3 reaches 17
		{"every 6", 6, 19, 19}, // observed at 24, previous 18: back to 19, beyond LookBack
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := linear{x: 100, y: 50, w: 30, h: 30, vx: 1, label: detect.LabelFace, score: 0.8}
			r := runTracker(t, testOpts(), 40, tc.every, func(f int) []detect.Box {
				if f < tc.born {
					return nil
				}
				return []detect.Box{obj.at(f)}
			})
			if len(r.tracks) != 1 {
				t.Fatalf("%d tracks, want 1", len(r.tracks))
			}
			tk := r.tracks[0]
			if tk.First != tc.wantFirst {
				t.Errorf("track masked from frame %d, want %d", tk.First, tc.wantFirst)
			}
			for f := 0; f < tk.FirstDetected; f++ {
				got := r.masks[f].Boxes
				if f < tc.wantFirst {
					if len(got) != 0 {
						t.Errorf("frame %d: masked before the look-back: %s", f, fmtBoxes(got))
					}
					continue
				}
				// At least the first box; wider further back, and
				// stretched back along the motion once it is known.
				first := obj.at(tk.FirstDetected)
				if len(got) != 1 || got[0].Kind != KindLookBack {
					t.Fatalf("frame %d: %s, want a look-back box", f, fmtBoxes(got))
				}
				b := got[0].Box
				if c := coverage(first, b.X, b.Y, b.W, b.H); c != 1 || b.W > first.W*3/2+1 {
					t.Errorf("frame %d: %s, want the first box %+v, widened by at most half", f, fmtBoxes(got), first)
				}
			}
		})
	}
}

// TextLookBack: with the text detector running on every few detection
// passes only, a badge first found on a text pass is masked back to the
// frame after the previous text pass, while a face keeps the ordinary
// look-back.
func TestTrackerTextLookBack(t *testing.T) {
	o := testOpts()
	o.TextLookBack = 15 // text on every 4th pass of every 4 frames: back to the frame after the previous text pass
	const born, every = 18, 4
	face := linear{x: 100, y: 50, w: 30, h: 30, vx: 1, label: detect.LabelFace, score: 0.8}
	badge := linear{x: 100, y: 120, w: 30, h: 20, vx: 1, label: detect.LabelText, score: 0.8}
	// Text passes at 0, 16, 32: the badge, in view from frame 18, is
	// first found at 32; the face at 20.
	r := runTracker(t, o, 48, every, func(f int) []detect.Box {
		var out []detect.Box
		if f >= born {
			out = append(out, face.at(f))
		}
		if f >= 32 {
			out = append(out, badge.at(f))
		}
		return out
	})
	first := map[detect.Label]int{}
	for _, tk := range r.tracks {
		first[tk.Label] = tk.First
	}
	if first[detect.LabelFace] != 17 || first[detect.LabelText] != 17 {
		t.Errorf("face masked from %d (want 17: back to the previous pass), badge from %d (want 17: back to the previous text pass)",
			first[detect.LabelFace], first[detect.LabelText])
	}
	if d := mustTracker(t, o).Delay(); d != 15 {
		t.Errorf("delay %d, want TextLookBack 15", d)
	}
}

func mustTracker(t *testing.T, o TrackerOptions) *Tracker {
	t.Helper()
	tr, err := NewTracker(o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTrackerHoldAfterLoss(t *testing.T) {
	tests := []struct {
		name   string
		vx     float64
		follow int // frames after loss on which the mask must still cover the moving face
	}{
		{"stationary", 0, 10},
		{"moving", 3, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOpts()
			obj := linear{x: 200, y: 100, w: 40, h: 40, vx: tc.vx, label: detect.LabelFace, score: 0.9}
			const lastSeen = 30
			r := runTracker(t, o, 60, 1, func(f int) []detect.Box {
				if f > lastSeen {
					return nil
				}
				return []detect.Box{obj.at(f)}
			})
			if len(r.tracks) != 1 {
				t.Fatalf("%d tracks, want 1", len(r.tracks))
			}
			tk := r.tracks[0]
			if tk.Last != lastSeen+o.Hold {
				t.Errorf("masked until frame %d, want %d (Hold %d after %d)", tk.Last, lastSeen+o.Hold, o.Hold, lastSeen)
			}
			last := obj.at(lastSeen)
			prevArea := 0
			for f := lastSeen + 1; f <= lastSeen+o.Hold; f++ {
				b, ok := r.boxOf(tk.ID, f)
				if !ok || b.Kind != KindHeld {
					t.Fatalf("frame %d: %+v, want a held box", f, b)
				}
				// The held mask still covers where the face was last
				// seen, in case it stopped behind something...
				if c := coverage(last, b.X, b.Y, b.W, b.H); c < 1 {
					t.Errorf("frame %d: held box %+v covers %.0f%% of the last detection", f, b, 100*c)
				}
				// ...and where it would be had it kept moving.
				if f-lastSeen <= tc.follow {
					if c := coverage(obj.at(f), b.X, b.Y, b.W, b.H); c < 0.9 {
						t.Errorf("frame %d: held box %+v covers %.0f%% of the moving face %+v", f, b, 100*c, obj.at(f))
					}
				}
				if b.W*b.H < prevArea {
					t.Errorf("frame %d: held box shrank", f)
				}
				prevArea = b.W * b.H
			}
			for f := lastSeen + o.Hold + 1; f < 60; f++ {
				if len(r.masks[f].Boxes) != 0 {
					t.Errorf("frame %d still masked after the hold: %s", f, fmtBoxes(r.masks[f].Boxes))
				}
			}
		})
	}
}

// A face lost for longer than Hold is a new track; the old one's mask ends
// Hold frames after its last detection.
func TestTrackerGapLongerThanHoldStartsNewTrack(t *testing.T) {
	o := testOpts()
	obj := linear{x: 50, y: 50, w: 40, h: 40, label: detect.LabelFace, score: 0.9}
	r := runTracker(t, o, 60, 1, func(f int) []detect.Box {
		if f > 10 && f < 30 {
			return nil
		}
		return []detect.Box{obj.at(f)}
	})
	if len(r.tracks) != 2 {
		t.Fatalf("%d tracks, want 2", len(r.tracks))
	}
	if a, b := r.tracks[0], r.tracks[1]; a.Last != 10+o.Hold || b.First != 30-o.LookBack || b.FirstDetected != 30 {
		t.Errorf("tracks cover %d..%d and %d..%d (first detected %d), want %d..%d and %d.. (30)",
			a.First, a.Last, b.First, b.Last, b.FirstDetected, 0, 10+o.Hold, 30-o.LookBack)
	}
}

func TestTrackerCrossingFacesKeepIDs(t *testing.T) {
	tests := []struct {
		name     string
		a, b     linear
		every    int
		occluded bool // b is not detected while it overlaps a
	}{
		{"horizontal", linear{x: 40, y: 100, w: 50, h: 50, vx: 4}, linear{x: 440, y: 100, w: 50, h: 50, vx: -4}, 1, false},
		{"horizontal occluded", linear{x: 40, y: 100, w: 50, h: 50, vx: 4}, linear{x: 440, y: 100, w: 50, h: 50, vx: -4}, 1, true},
		{"diagonal occluded", linear{x: 40, y: 40, w: 60, h: 60, vx: 4, vy: 3}, linear{x: 440, y: 340, w: 60, h: 60, vx: -4, vy: -3}, 1, true},
		{"every 3", linear{x: 40, y: 100, w: 50, h: 50, vx: 4}, linear{x: 440, y: 100, w: 50, h: 50, vx: -4}, 3, false},
		{"every 3 occluded", linear{x: 40, y: 100, w: 50, h: 50, vx: 4}, linear{x: 440, y: 100, w: 50, h: 50, vx: -4}, 3, true},
		{"different sizes", linear{x: 40, y: 100, w: 40, h: 40, vx: 5}, linear{x: 440, y: 90, w: 70, h: 70, vx: -3}, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.a, tc.b
			a.label, b.label = detect.LabelFace, detect.LabelFace
			a.score, b.score = 0.9, 0.85
			const frames = 100
			r := runTracker(t, DefaultTrackerOptions(30), frames, tc.every, func(f int) []detect.Box {
				ba, bb := a.at(f), b.at(f)
				if tc.occluded && iou(fromBox(ba), fromBox(bb)) > 0 {
					return []detect.Box{ba}
				}
				return []detect.Box{bb, ba}
			})
			if len(r.tracks) != 2 {
				t.Fatalf("%d tracks, want 2 (an id switch or a lost face makes more): %+v", len(r.tracks), summary(r.tracks))
			}
			// a starts on the left, so it is track 1.
			for f := 0; f < frames; f++ {
				for _, obj := range []struct {
					l  linear
					id int
				}{{a, 1}, {b, 2}} {
					box, ok := r.boxOf(obj.id, f)
					if !ok {
						t.Fatalf("frame %d: track %d has no box", f, obj.id)
					}
					if c := coverage(obj.l.at(f), box.X, box.Y, box.W, box.H); c < 0.7 {
						t.Errorf("frame %d: track %d box %+v covers %.0f%% of its face %+v (ids swapped?)", f, obj.id, box, 100*c, obj.l.at(f))
					}
				}
			}
		})
	}
}

func summary(ts []Track) [][4]int {
	var s [][4]int
	for _, t := range ts {
		s = append(s, [4]int{t.ID, t.First, t.Last, t.Hits})
	}
	return s
}

func TestTrackerSparseDetection(t *testing.T) {
	walk := linear{x: 30, y: 40, w: 40, h: 44, vx: 2, vy: 1, label: detect.LabelFace, score: 0.9}
	// A distant face moving fast for its size: no overlap between
	// observations until the motion is known.
	fast := linear{x: 30, y: 40, w: 20, h: 20, vx: 8, label: detect.LabelFace, score: 0.9}
	tests := []struct {
		name  string
		obj   linear
		every int
	}{
		{"every 2", walk, 2},
		{"every 3", walk, 3},
		{"every 5", walk, 5},
		{"every 8", walk, 8},
		{"small and fast, every 2", fast, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, every := tc.obj, tc.every
			const frames = 81
			r := runTracker(t, testOpts(), frames, every, func(f int) []detect.Box {
				return []detect.Box{obj.at(f)}
			})
			if len(r.tracks) != 1 {
				t.Fatalf("%d tracks, want 1", len(r.tracks))
			}
			lastObs := (frames - 1) / every * every
			for f := 0; f < frames; f++ {
				if len(r.masks[f].Boxes) != 1 {
					t.Fatalf("frame %d: %d masks, want 1", f, len(r.masks[f].Boxes))
				}
				mb := r.masks[f].Boxes[0]
				want := KindInterpolated
				switch {
				case f%every == 0:
					want = KindDetected
				case f > lastObs:
					want = KindHeld
				}
				if mb.Kind != want {
					t.Errorf("frame %d: kind %s, want %s", f, mb.Kind, want)
				}
				c := coverage(obj.at(f), mb.Box.X, mb.Box.Y, mb.Box.W, mb.Box.H)
				if want != KindHeld && c < 0.99 || c < 0.9 {
					t.Errorf("frame %d: %s covers %.1f%% of %+v", f, fmtBoxes(r.masks[f].Boxes), 100*c, obj.at(f))
				}
			}
		})
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestTrackerTwoStageAssociation(t *testing.T) {
	o := testOpts()
	o.HighScore = 0.5
	obj := linear{x: 100, y: 100, w: 40, h: 40, vx: 1, label: detect.LabelFace, score: 0.9}
	r := runTracker(t, o, 40, 1, func(f int) []detect.Box {
		b := obj.at(f)
		var bs []detect.Box
		if f >= 15 && f < 25 {
			// Partly occluded: the detector is unsure, and a second,
			// doubtful detection appears elsewhere.
			b.Score = 0.2
			bs = append(bs, face(400, 300, 30, 30))
			bs[0].Score = 0.15
		}
		return append(bs, b)
	})
	if len(r.tracks) != 2 {
		t.Fatalf("%d tracks, want the face and the doubtful box: %+v", len(r.tracks), summary(r.tracks))
	}
	// The low-score detections kept the face's track (one track, every
	// frame detected), and the doubtful box got a track of its own: a
	// detector tuned for recall is not second-guessed.
	fc, other := r.byID[1], r.byID[2]
	if fc.Hits != 40 || fc.FirstDetected != 0 || fc.LastDetected != 39 {
		t.Errorf("face track hits %d detected %d..%d, want 40 hits 0..39", fc.Hits, fc.FirstDetected, fc.LastDetected)
	}
	if other.FirstDetected != 15 || other.LastDetected != 24 || other.Hits != 10 {
		t.Errorf("doubtful track detected %d..%d hits %d, want 15..24, 10", other.FirstDetected, other.LastDetected, other.Hits)
	}
	// MinScore drops detections outright.
	o.MinScore = 0.18
	r = runTracker(t, o, 40, 1, func(f int) []detect.Box {
		if f >= 15 && f < 25 {
			return []detect.Box{{X: 400, Y: 300, W: 30, H: 30, Score: 0.15, Label: detect.LabelFace}, obj.at(f)}
		}
		return []detect.Box{obj.at(f)}
	})
	if len(r.tracks) != 1 {
		t.Errorf("MinScore 0.18: %d tracks, want 1", len(r.tracks))
	}
}

func TestTrackerLabelsDoNotMix(t *testing.T) {
	r := runTracker(t, testOpts(), 20, 1, func(f int) []detect.Box {
		fc := face(100+f, 100, 40, 40)
		tx := fc
		tx.Label = detect.LabelText
		if f%2 == 0 {
			return []detect.Box{fc, tx}
		}
		return []detect.Box{tx} // the face is missed on odd frames
	})
	if len(r.tracks) != 2 {
		t.Fatalf("%d tracks, want a face and a text track", len(r.tracks))
	}
	for _, tk := range r.tracks {
		want := 20
		if tk.Label == detect.LabelFace {
			want = 10
		}
		if tk.Hits != want {
			t.Errorf("%s track: %d hits, want %d (a detection of the other label was taken)", tk.Label, tk.Hits, want)
		}
	}
}

// randomScene is a few faces and badges wandering about, with missed
// detections: enough for association to have choices to make.
func randomScene(seed uint64, frames int) func(f int) []detect.Box {
	rng := rand.New(rand.NewPCG(seed, 99))
	type obj struct {
		l        linear
		from, to int
	}
	var objs []obj
	for i := 0; i < 8; i++ {
		// Half start together on the first frame, so that the ids of
		// new tracks have to be given in a reproducible order.
		from := 0
		if i%2 == 1 {
			from = rng.IntN(frames)
		}
		label := detect.LabelFace
		if i%3 == 2 {
			label = detect.LabelText
		}
		objs = append(objs, obj{
			l: linear{x: rng.Float64() * 600, y: rng.Float64() * 400, w: 20 + rng.Float64()*80, h: 20 + rng.Float64()*80,
				vx: rng.Float64()*8 - 4, vy: rng.Float64()*6 - 3, label: label},
			from: from, to: from + rng.IntN(frames-from),
		})
	}
	dets := make([][]detect.Box, frames)
	for f := range dets {
		for _, o := range objs {
			if f < o.from || f > o.to || rng.Float64() < 0.2 {
				continue
			}
			b := o.l.at(f)
			b.X += rng.IntN(5) - 2
			b.Score = 0.1 + 0.9*rng.Float64()
			dets[f] = append(dets[f], b)
		}
	}
	return func(f int) []detect.Box { return slices.Clone(dets[f]) }
}

func TestTrackerDeterministic(t *testing.T) {
	const frames = 300
	for seed := uint64(1); seed <= 5; seed++ {
		scene := randomScene(seed, frames)
		ref := runTracker(t, testOpts(), frames, 1, scene)
		again := runTracker(t, testOpts(), frames, 1, scene)
		rng := rand.New(rand.NewPCG(seed, 7))
		shuffled := runTracker(t, testOpts(), frames, 1, func(f int) []detect.Box {
			bs := scene(f)
			rng.Shuffle(len(bs), func(i, j int) { bs[i], bs[j] = bs[j], bs[i] })
			return bs
		})
		if !reflect.DeepEqual(ref.masks, again.masks) || !reflect.DeepEqual(ref.tracks, again.tracks) {
			t.Errorf("seed %d: two runs differ", seed)
		}
		if !reflect.DeepEqual(ref.masks, shuffled.masks) || !reflect.DeepEqual(ref.tracks, shuffled.tracks) {
			t.Errorf("seed %d: the order of boxes within a frame changed the result", seed)
		}
	}
}

// Excluding a track (a DPO edit) on a second run leaves every other track
// and id exactly as in the first run.
func TestTrackerExclude(t *testing.T) {
	const frames = 300
	scene := randomScene(3, frames)
	ref := runTracker(t, testOpts(), frames, 2, scene)
	if len(ref.tracks) < 4 {
		t.Fatalf("scene has only %d tracks", len(ref.tracks))
	}
	excl := []int{ref.tracks[1].ID, ref.tracks[3].ID}
	o := testOpts()
	o.Exclude = excl
	got := runTracker(t, o, frames, 2, scene)
	if len(got.tracks) != len(ref.tracks) {
		t.Fatalf("%d tracks with exclusions, %d without", len(got.tracks), len(ref.tracks))
	}
	for i, tk := range got.tracks {
		want := ref.tracks[i]
		want.Excluded = slices.Contains(excl, want.ID)
		if !reflect.DeepEqual(tk, want) {
			t.Errorf("track %d differs from the run without exclusions", tk.ID)
		}
	}
	masked := 0
	for f := range got.masks {
		var want []MaskBox
		for _, mb := range ref.masks[f].Boxes {
			if !slices.Contains(excl, mb.TrackID) {
				want = append(want, mb)
			} else {
				masked++
			}
		}
		if !reflect.DeepEqual(got.masks[f].Boxes, want) {
			t.Errorf("frame %d: %s, want %s", f, fmtBoxes(got.masks[f].Boxes), fmtBoxes(want))
		}
	}
	if masked == 0 {
		t.Error("the excluded tracks had no boxes to begin with")
	}
}

func TestReplayMatchesTracker(t *testing.T) {
	const frames = 300
	ref := runTracker(t, testOpts(), frames, 1, randomScene(4, frames))
	rp := NewReplay(ref.tracks, nil)
	for f := 0; f < frames; f++ {
		if got := rp.At(f); !reflect.DeepEqual(got, ref.masks[f].Boxes) {
			t.Fatalf("frame %d: replay %s, tracker %s", f, fmtBoxes(got), fmtBoxes(ref.masks[f].Boxes))
		}
	}
	// Going back restarts; skipping a track leaves it out.
	skip := ref.tracks[0].ID
	rp = NewReplay(ref.tracks, func(tk Track) bool { return tk.ID == skip })
	for _, f := range []int{150, 10, 11, 200} {
		var want []MaskBox
		for _, mb := range ref.masks[f].Boxes {
			if mb.TrackID != skip {
				want = append(want, mb)
			}
		}
		if got := rp.At(f); !reflect.DeepEqual(got, want) {
			t.Errorf("frame %d: replay %s, want %s", f, fmtBoxes(got), fmtBoxes(want))
		}
	}
}

func TestTrackerClipsToFrame(t *testing.T) {
	o := testOpts()
	o.Width, o.Height = 320, 240
	// A face leaving through the right edge, then lost: the held box
	// drifts on but stays clipped.
	obj := linear{x: 250, y: 200, w: 40, h: 60, vx: 6, label: detect.LabelFace, score: 0.9}
	r := runTracker(t, o, 30, 1, func(f int) []detect.Box {
		if f > 12 {
			return nil
		}
		return []detect.Box{obj.at(f)}
	})
	for f, fm := range r.masks {
		for _, mb := range fm.Boxes {
			b := mb.Box
			if b.X < 0 || b.Y < 0 || b.W < 0 || b.H < 0 || b.X+b.W > o.Width || b.Y+b.H > o.Height {
				t.Errorf("frame %d: box %+v outside %dx%d", f, b, o.Width, o.Height)
			}
		}
	}
	if b, _ := r.boxOf(1, 5); b.X+b.W != 320 || b.Y+b.H != 240 {
		t.Errorf("frame 5: %+v, want clipped to the bottom-right corner", b)
	}
}

func TestTrackerErrors(t *testing.T) {
	bad := []struct {
		name string
		mod  func(*TrackerOptions)
	}{
		{"negative hold", func(o *TrackerOptions) { o.Hold = -1 }},
		{"negative look-back", func(o *TrackerOptions) { o.LookBack = -1 }},
		{"zero IoU", func(o *TrackerOptions) { o.MatchIoU = 0 }},
		{"IoU above one", func(o *TrackerOptions) { o.LowMatchIoU = 1.5 }},
		{"NaN score", func(o *TrackerOptions) { o.HighScore = math.NaN() }},
		{"negative gate", func(o *TrackerOptions) { o.CenterGate = -1 }},
		{"negative growth", func(o *TrackerOptions) { o.Growth = -0.1 }},
		{"negative width", func(o *TrackerOptions) { o.Width = -1 }},
	}
	for _, tc := range bad {
		o := testOpts()
		tc.mod(&o)
		if _, err := NewTracker(o); !errors.Is(err, ErrTrackerOptions) {
			t.Errorf("%s: err = %v, want ErrTrackerOptions", tc.name, err)
		}
	}

	tr, err := NewTracker(testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Observe(-1, nil); !errors.Is(err, ErrFrameOrder) {
		t.Errorf("negative frame: %v", err)
	}
	if _, err := tr.Observe(5, []detect.Box{face(1, 1, 10, 10)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Observe(5, nil); !errors.Is(err, ErrFrameOrder) {
		t.Errorf("repeated frame: %v", err)
	}
	if _, err := tr.Observe(4, nil); !errors.Is(err, ErrFrameOrder) {
		t.Errorf("earlier frame: %v", err)
	}
	for _, b := range []detect.Box{face(1, 1, 0, 10), face(1, 1, 10, -1), {W: 5, H: 5, Score: math.Inf(1)}} {
		if _, err := tr.Observe(6, []detect.Box{face(1, 1, 10, 10), b}); !errors.Is(err, ErrBadBox) {
			t.Errorf("box %+v: %v", b, err)
		}
	}
	// A rejected call changed nothing: frame 6 is still acceptable.
	if _, err := tr.Observe(6, nil); err != nil {
		t.Errorf("frame 6 after rejected boxes: %v", err)
	}
	if _, err := tr.Flush(6); !errors.Is(err, ErrFrameOrder) {
		t.Errorf("flush before the last observed frame: %v", err)
	}
	// Frames 0 and 1 were returned by the observations (delay 5).
	out, err := tr.Flush(8)
	if err != nil || len(out) != 6 || out[0].Frame != 2 || out[5].Frame != 7 {
		t.Fatalf("Flush(8) = %+v, %v; want frames 2..7", out, err)
	}
	if _, err := tr.Observe(9, nil); !errors.Is(err, ErrTrackerClosed) {
		t.Errorf("observe after flush: %v", err)
	}
	if _, err := tr.Flush(9); !errors.Is(err, ErrTrackerClosed) {
		t.Errorf("second flush: %v", err)
	}
	// Frames 0..4 were never observed, so the look-back reaches frame 0.
	if fin := tr.Finished(); len(fin) != 1 || fin[0].First != 0 || fin[0].Last != 7 {
		t.Errorf("finished %+v, want one track 0..7", summary(fin))
	}
}

// An hour of 30 fps footage with people coming and going: the tracker's own
// state stays the size of what is on screen.
func TestTrackerBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("an hour of frames")
	}
	const frames = 30 * 3600
	tr, err := NewTracker(DefaultTrackerOptions(30))
	if err != nil {
		t.Fatal(err)
	}
	maxLive, nTracks, nFrames, people := 0, 0, 0, 0
	for f := 0; f < frames; f++ {
		var bs []detect.Box
		// Three people at a time, each on screen for 300 frames, then
		// replaced by someone else 100 frames later.
		for p := 0; p < 3; p++ {
			phase := (f + p*100) % 400
			if phase < 300 {
				bs = append(bs, face(100+200*p+phase/3, 100+phase/5, 50, 50))
				if f == 0 || phase == 0 {
					people++
				}
			}
		}
		out, err := tr.Observe(f, bs)
		if err != nil {
			t.Fatal(err)
		}
		nFrames += len(out)
		nTracks += len(tr.Finished())
		maxLive = max(maxLive, len(tr.live))
	}
	out, _ := tr.Flush(frames)
	nFrames += len(out)
	nTracks += len(tr.Finished())
	if nFrames != frames {
		t.Errorf("%d frames returned, want %d", nFrames, frames)
	}
	if nTracks != people {
		t.Errorf("%d tracks for %d people", nTracks, people)
	}
	if maxLive > 6 {
		t.Errorf("up to %d live tracks for 3 people on screen", maxLive)
	}
}
