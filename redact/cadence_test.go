//go:build cgo

package redact

import (
	"errors"
	"math"
	"testing"
)

// The detection stride follows the frame rate: a pass per interval of
// video, whatever the frame rate (10 fps CCTV got a pass every 0.6 s from
// the fixed stride of 6).
func TestEveryFor(t *testing.T) {
	for _, c := range []struct {
		fps, interval float64
		want          int
	}{
		{30, 0, DefaultEvery}, {30, DefaultInterval, 6}, {29.97, 0, 6}, {25, 0, 5}, {15, 0, 3}, {10, 0, 2},
		{5, 0, 1}, {1, 0, 1}, {60, 0, 12}, {30, FastInterval, 12}, {10, FastInterval, 4},
		{0, 0, 6}, {math.NaN(), 0, 6}, {math.Inf(1), 0, 6}, {100000, 10, 1000},
	} {
		if got := EveryFor(c.fps, c.interval); got != c.want {
			t.Errorf("EveryFor(%g, %g) = %d, want %d", c.fps, c.interval, got, c.want)
		}
	}
}

func TestScanOptionsInterval(t *testing.T) {
	o := ScanOptions{Detector: noDetector{}}
	if err := o.normalize(); err != nil {
		t.Fatal(err)
	}
	o.resolveEvery(10)
	if o.Every != 2 || o.Interval != DefaultInterval {
		t.Errorf("default at 10 fps: every %d interval %g, want 2 and %g", o.Every, o.Interval, DefaultInterval)
	}
	o = ScanOptions{Detector: noDetector{}, Every: 3, Interval: FastInterval}
	o.resolveEvery(10)
	if o.Every != 3 {
		t.Errorf("a given stride is kept: got %d", o.Every)
	}
	for _, bad := range []ScanOptions{{Every: -1}, {Every: 1001}, {Interval: -0.1}, {Interval: 11}, {Interval: math.NaN()}} {
		bad.Detector = noDetector{}
		if err := bad.normalize(); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: got %v, want ErrOptions", bad, err)
		}
	}
}
