//go:build cgo

package evalrun

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/evalset"
	"github.com/custody-evidence/custody/internal/evalset/refyunet"
	"github.com/custody-evidence/custody/redact"
)

// Scored is a row's result on one set or clip, with what the detector
// said about itself.
type Scored struct {
	evalset.Result
	// Detector is the detector's name (models and text mode).
	Detector string
	// Models are the face model files that ran.
	Models   []detect.Model
	Warnings []string
}

// ScoreStills runs the row on every image of a set as `custody detect
// IMAGE --json` does and scores the regions it reports. Elapsed is the
// wall time of the detection calls (reading the image included); CPU the
// process's CPU time over them.
func (r Row) ScoreStills(ctx context.Context, set *evalset.Set) (*Scored, error) {
	det, warn, err := r.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	defer det.Close()
	s := &Scored{Detector: det.Name(), Models: det.Models(), Warnings: warn}
	opt := r.scanOptions(det)
	for _, it := range set.Items {
		t0, c0 := time.Now(), cpuTime()
		rec, err := redact.DetectImage(ctx, it.Path, opt)
		s.Elapsed += time.Since(t0)
		s.CPU += cpuTime() - c0
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", r.Name, it.Path, err)
		}
		s.Add(filepath.Base(it.Path), it.Width, it.Height, it.Truth, r.masks(rec.Boxes))
	}
	return s, nil
}

// ScoreClip runs the row over a whole clip as `custody detect CLIP --json`
// does, and scores the frames of a split against the ground truth: the
// faces that truth (the reference's faces on the source, per frame) gives
// and the clip's cards. Elapsed and CPU cover the whole clip (CPU includes
// the ffmpeg decoder), and Items the frames scored.
func (r Row) ScoreClip(ctx context.Context, clip *evalset.Clip, truth [][]image.Rectangle, split evalset.Split) (*Scored, error) {
	det, warn, err := r.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	defer det.Close()
	s := &Scored{Detector: det.Name(), Models: det.Models(), Warnings: warn}
	masks := map[int][]evalset.Mask{}
	t0, c0 := time.Now(), cpuTime()
	_, err = redact.DetectVideo(ctx, clip.Path, r.scanOptions(det), func(rec redact.Record) error {
		masks[rec.Frame] = r.masks(rec.Boxes)
		return nil
	})
	elapsed, cpu := time.Since(t0), cpuTime()-c0
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", r.Name, clip.Spec.Name(), err)
	}
	if len(truth) != clip.Frames {
		return nil, fmt.Errorf("%s: truth for %d frames, the clip has %d", clip.Spec.Name(), len(truth), clip.Frames)
	}
	for i := 0; i < clip.Frames; i++ {
		if clip.InSplit(i, split) {
			s.Add(fmt.Sprintf("%s#%d", clip.Spec.Name(), i), clip.Width, clip.Height, clip.Truth(i, truth[i]), masks[i])
		}
	}
	// Time per frame of the whole run, over the frames scored.
	s.Elapsed = time.Duration(float64(elapsed) * float64(s.Items) / float64(clip.Frames))
	s.CPU = time.Duration(float64(cpu) * float64(s.Items) / float64(clip.Frames))
	return s, nil
}

// cpuTime is the CPU time used so far by this process and its reaped
// children (ffmpeg), user plus system.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// TruthFor picks the model the row under test does not use: 2023mar when
// its face model is YuNet 2022mar, else 2022mar. version forces one
// ("" or "auto" picks).
func TruthFor(models []detect.Model, version string) string {
	if version != "" && version != "auto" {
		return version
	}
	if usesModel(models, refyunet.V2022) {
		return refyunet.V2023
	}
	return refyunet.V2022
}

// usesModel reports whether a YuNet of this version is among the models.
func usesModel(models []detect.Model, version string) bool {
	for _, m := range models {
		if strings.Contains(m.Name, version) {
			return true
		}
	}
	return false
}
