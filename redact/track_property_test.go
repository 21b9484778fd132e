package redact

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/custody-evidence/custody/detect"
)

// walker is a ground-truth region moving smoothly (bounded acceleration) in
// its own horizontal lane, so that the right answer is unambiguous: one
// track per walker, covering it on every frame it is in the picture.
type walker struct {
	from, to int // frames in the picture, inclusive
	boxes    []detect.Box
	detected []bool    // per frame from `from`: the detector found it
	speed    []float64 // per frame from `from`, px/frame
}

func (w *walker) truth(f int) detect.Box { return w.boxes[f-w.from] }

func newWalker(rng *rand.Rand, lane, frames int, label detect.Label) *walker {
	from := rng.IntN(frames * 2 / 3)
	to := from + 10 + rng.IntN(frames-from-10)
	w := &walker{from: from, to: to}
	bw, bh := 30+rng.Float64()*60, 30+rng.Float64()*60
	// Up to 6% of the box size per frame: a walker crossing a CCTV
	// frame, a body camera turning slowly.
	vmax := 0.06 * math.Min(bw, bh)
	top := float64(lane * 250)
	x, y := 50+rng.Float64()*800, top+20
	vx, vy := (rng.Float64()*2-1)*vmax, rng.Float64()*0.4-0.2
	for f := from; f <= to; f++ {
		w.boxes = append(w.boxes, detect.Box{
			X: int(math.Round(x)), Y: int(math.Round(y)), W: int(bw), H: int(bh),
			Label: label,
		})
		w.speed = append(w.speed, math.Hypot(vx, vy))
		// Bounded acceleration: velocity drifts by at most 0.05 px/frame².
		vx = math.Max(-vmax, math.Min(vmax, vx+rng.Float64()*0.1-0.05))
		x += vx
		y += vy
		if y < top || y > top+60 {
			vy = -vy
		}
	}
	return w
}

// TestTrackerNoBlinkProperty runs random scenes of walkers whose detections
// have random gaps (missed detections, sparse detection) and checks that
// each walker is masked on every frame it is in the picture, by a single
// track, and that no track is masked much beyond its detections.
func TestTrackerNoBlinkProperty(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 50
	}
	var interpolated, held, lookback, gaps int
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 2024))
		o := DefaultTrackerOptions(30)
		o.Hold = 10 + rng.IntN(40)
		o.LookBack = rng.IntN(10)
		o.LookAhead = rng.IntN(25)
		every := []int{1, 1, 2, 3, 5}[rng.IntN(5)]
		const frames = 300
		var ws []*walker
		for lane := 0; lane < 1+rng.IntN(5); lane++ {
			label := detect.LabelFace
			if rng.IntN(4) == 0 {
				label = detect.LabelText
			}
			w := newWalker(rng, lane, frames, label)
			// Observed frames in the picture; the first and last are
			// detected (otherwise the walker's extent would be
			// unknowable), in between runs of misses are injected, each
			// short enough to be bridged: a re-detection within Hold+1
			// frames of the previous one, and no further than 80% of the
			// box size away (beyond that nothing says it is the same
			// face).
			var obs []int
			for f := w.from; f <= w.to; f++ {
				if f%every == 0 {
					obs = append(obs, f)
				}
			}
			if len(obs) == 0 {
				continue // never observed: nothing could be known
			}
			w.detected = make([]bool, w.to-w.from+1)
			maxMiss := (o.Hold+1)/every - 1
			for i := 0; i < len(obs); i++ {
				w.detected[obs[i]-w.from] = true
				if i > 0 && i < len(obs)-2 && maxMiss > 0 && rng.IntN(6) == 0 {
					miss := 1 + rng.IntN(maxMiss)
					miss = min(miss, len(obs)-2-i)
					b := w.truth(obs[i])
					reach := 0.8 * float64(min(b.W, b.H)) / (w.speed[obs[i]-w.from] + 0.05)
					miss = min(miss, int(reach)/every-1)
					i += miss
					if miss > 0 {
						gaps++
					}
				}
			}
			ws = append(ws, w)
		}
		name := fmt.Sprintf("seed %d (hold %d, look-back %d, look-ahead %d, every %d, %d walkers)",
			seed, o.Hold, o.LookBack, o.LookAhead, every, len(ws))
		r := runTracker(t, o, frames, every, func(f int) []detect.Box {
			var bs []detect.Box
			for _, w := range ws {
				if f >= w.from && f <= w.to && w.detected[f-w.from] {
					b := w.truth(f)
					// Mostly confident, sometimes doubtful.
					b.Score = 0.5 + 0.5*rng.Float64()
					if rng.IntN(5) == 0 {
						b.Score = 0.1 + 0.4*rng.Float64()
					}
					bs = append(bs, b)
				}
			}
			return bs
		})
		if len(r.tracks) != len(ws) {
			t.Errorf("%s: %d tracks for %d walkers: %v", name, len(r.tracks), len(ws), summary(r.tracks))
			continue
		}
		for wi, w := range ws {
			id := 0
			for f := w.from; f <= w.to; f++ {
				c, got := r.bestCover(f, w.truth(f))
				if c < 0.7 {
					t.Errorf("%s: walker %d frame %d: best mask covers %.0f%% of %+v: %s",
						name, wi, f, 100*c, w.truth(f), fmtBoxes(r.masks[f].Boxes))
					break
				}
				if id == 0 {
					id = got
				} else if got != id {
					t.Errorf("%s: walker %d frame %d: covered by track %d, earlier by %d", name, wi, f, got, id)
					break
				}
			}
			tk := r.byID[id]
			if tk == nil {
				continue
			}
			// Bounded over-masking: no earlier than the look-back (or the
			// frame after the previous observation) and no later than the
			// hold (or the next observation).
			reachBack, reachOn := max(o.LookBack, every-1), max(o.Hold, every-1)
			if tk.First < tk.FirstDetected-reachBack || tk.Last > tk.LastDetected+reachOn {
				t.Errorf("%s: walker %d: track masked %d..%d for detections %d..%d", name, wi, tk.First, tk.Last, tk.FirstDetected, tk.LastDetected)
			}
			for _, b := range tk.Boxes {
				switch b.Kind {
				case KindInterpolated:
					interpolated++
				case KindHeld:
					held++
				case KindLookBack:
					lookback++
				}
			}
		}
	}
	// The scenes must actually exercise the gap filling.
	if interpolated == 0 || held == 0 || lookback == 0 || gaps < seeds/2 {
		t.Errorf("scenes too easy: %d gaps, %d interpolated, %d held, %d look-back boxes", gaps, interpolated, held, lookback)
	}
	t.Logf("%d scenes, %d injected gaps; %d interpolated, %d held, %d look-back boxes checked", seeds, gaps, interpolated, held, lookback)
}

// TestTrackerMasksEveryDetection: in messy scenes (crossing paths, labels
// mixed, scores all over the place, sparse detection) every detection is
// masked on its own frame, and every track is continuous (runTracker
// checks one box per frame from First to Last).
func TestTrackerMasksEveryDetection(t *testing.T) {
	const frames = 300
	for seed := uint64(1); seed <= 40; seed++ {
		scene := randomScene(seed, frames)
		every := 1 + int(seed%4)
		r := runTracker(t, DefaultTrackerOptions(30), frames, every, scene)
		for f := 0; f < frames; f += every {
			for _, d := range scene(f) {
				if c, _ := r.bestCover(f, d); c < 1 {
					t.Errorf("seed %d frame %d: detection %+v covered %.0f%%: %s", seed, f, d, 100*c, fmtBoxes(r.masks[f].Boxes))
				}
			}
		}
	}
}
