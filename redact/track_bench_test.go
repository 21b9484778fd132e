package redact

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/custody-evidence/custody/detect"
)

// benchScene is n faces circling in a 1920x1080 frame, each missed on 10%
// of frames, with periodic motion so that the scene can loop forever.
func benchScene(n, period int) [][]detect.Box {
	rng := rand.New(rand.NewPCG(5, 5))
	type circ struct{ cx, cy, r, w, phase, dir float64 }
	cs := make([]circ, n)
	for i := range cs {
		cs[i] = circ{
			cx: 200 + float64(i%5)*380, cy: 150 + float64(i/5)*250,
			r: 40 + rng.Float64()*60, w: 24 + rng.Float64()*100,
			phase: rng.Float64() * 2 * math.Pi, dir: float64(1 - 2*rng.IntN(2)),
		}
	}
	frames := make([][]detect.Box, period)
	for f := range frames {
		for _, c := range cs {
			if rng.IntN(10) == 0 {
				continue
			}
			a := c.phase + c.dir*2*math.Pi*float64(f)/float64(period)
			frames[f] = append(frames[f], detect.Box{
				X: int(c.cx + c.r*math.Cos(a)), Y: int(c.cy + c.r*math.Sin(a)),
				W: int(c.w), H: int(c.w * 1.2), Score: 0.3 + 0.7*rng.Float64(), Label: detect.LabelFace,
			})
		}
	}
	return frames
}

// BenchmarkTracker measures the tracker's cost per video frame (Observe and
// the frames it releases), with 20 faces on screen, next to a single face
// in the same run. At 30 fps the budget is 33 ms a frame, shared with
// decoding, detection, masking and encoding.
func BenchmarkTracker(b *testing.B) {
	for _, tc := range []struct {
		faces, every int
	}{{1, 1}, {20, 1}, {20, 3}, {200, 1}} {
		b.Run(strconv.Itoa(tc.faces)+"faces/every"+strconv.Itoa(tc.every), func(b *testing.B) {
			scene := benchScene(tc.faces, 3000)
			tr, err := NewTracker(DefaultTrackerOptions(30))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			masked, f := 0, 0
			for ; f < b.N; f++ {
				if f%tc.every != 0 {
					continue
				}
				out, err := tr.Observe(f, scene[f%len(scene)])
				if err != nil {
					b.Fatal(err)
				}
				for _, fm := range out {
					masked += len(fm.Boxes)
				}
				tr.Finished()
			}
			out, _ := tr.Flush(f)
			for _, fm := range out {
				masked += len(fm.Boxes)
			}
			b.StopTimer()
			b.ReportMetric(float64(masked)/float64(b.N), "masks/frame")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
