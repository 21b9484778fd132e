package redact

import (
	"testing"

	"github.com/custody-evidence/custody/detect"
)

// covered is the share of truth's area under the union of boxes (pixel
// count), as the benchmark scores a face-frame.
func covered(truth detect.Box, boxes []MaskBox) float64 {
	n, in := 0, 0
	for y := truth.Y; y < truth.Y+truth.H; y++ {
		for x := truth.X; x < truth.X+truth.W; x++ {
			n++
			for _, b := range boxes {
				if x >= b.Box.X && x < b.Box.X+b.Box.W && y >= b.Box.Y && y < b.Box.Y+b.Box.H {
					in++
					break
				}
			}
		}
	}
	return float64(in) / float64(n)
}

// A small face walking across CCTV, 18x14 px at 6 px a frame, found only
// every 12th frame (the finest face pass at --every 6): two of its widths
// apart from one find to the next, too far for the centre gate, so every
// find starts a new track. Bridging covers the frames in between; without
// it the middle frames are left partly bare (the benchmark's gen1 cctv
// misses).
func TestBridgeCoversFastSmallFace(t *testing.T) {
	face := func(f int) detect.Box {
		return detect.Box{X: 100 + 6*f, Y: 474, W: 18, H: 14, Score: 0.9, Label: detect.LabelFace}
	}
	const frames, every = 121, 12
	run := func(speed float64) (worst float64, bridged int) {
		opt := DefaultTrackerOptions(30)
		opt.BridgeSpeed = speed
		opt.Hold, opt.LookBack = 12, 11
		r := runTracker(t, opt, frames, every, func(f int) []detect.Box { return []detect.Box{face(f)} })
		worst = 1
		for f, fm := range r.masks {
			worst = min(worst, covered(face(f), fm.Boxes))
			for _, b := range fm.Boxes {
				if b.Kind == KindBridged {
					bridged++
				}
			}
		}
		return worst, bridged
	}
	if worst, n := run(DefaultBridgeSpeed); worst < 0.99 || n == 0 {
		t.Errorf("bridged: worst frame %.0f%% covered (%d bridged boxes), want every frame covered", 100*worst, n)
	}
	if worst, _ := run(0); worst >= 0.7 {
		t.Errorf("without bridging the worst frame is %.0f%% covered: the test no longer shows the gap", 100*worst)
	}
}

// Two faces far apart, each found once and then lost: no join (too far
// for the gate), so no bridged boxes.
func TestBridgeNeedsProximity(t *testing.T) {
	opt := DefaultTrackerOptions(30)
	r := runTracker(t, opt, 30, 6, func(f int) []detect.Box {
		switch f {
		case 0:
			return []detect.Box{{X: 10, Y: 10, W: 20, H: 20, Score: 0.9, Label: detect.LabelFace}}
		case 6:
			return []detect.Box{{X: 600, Y: 400, W: 20, H: 20, Score: 0.9, Label: detect.LabelFace}}
		}
		return nil
	})
	for _, fm := range r.masks {
		for _, b := range fm.Boxes {
			if b.Kind == KindBridged {
				t.Fatalf("frame %d: bridged box %+v between faces 700 px apart", fm.Frame, b)
			}
		}
	}
}
