//go:build cgo

package redact

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/media"
)

// TestRedactDamaged: a damaged recording is redacted as far as it decodes.
// An MP4 whose moov was never written decodes not at all: the run stops
// as incomplete (not "not a recording") before ffmpeg starts and writes
// nothing, whether it is probed here or its import record says so. A
// faststart MP4 cut just after its moov has video that does not decode
// either: incomplete, with nothing written, before ffmpeg starts when the
// record says nothing decodes, or when ffmpeg gives no frame.
func TestRedactDamaged(t *testing.T) {
	dir := t.TempDir()
	plain := facesClip(t, dir, "plain.mp4", "2")
	fast := facesClip(t, dir, "fast.mp4", "2", "-movflags", "+faststart")
	pb, _ := os.ReadFile(plain)
	fb, _ := os.ReadFile(fast)
	nomoov := filepath.Join(dir, "nomoov.mp4")
	os.WriteFile(nomoov, pb[:bytes.LastIndex(pb, []byte("moov"))-4], 0o644)
	mdat := bytes.Index(fb, []byte("mdat"))
	headOnly := filepath.Join(dir, "head.mp4")
	os.WriteFile(headOnly, fb[:mdat+200], 0o644)
	opt := func(info *media.Info) Options {
		return Options{ScanOptions: ScanOptions{Detector: newHaar(t, 3), Info: info}}
	}

	examined, err := media.Examine(context.Background(), nomoov)
	if err != nil || !examined.Damaged {
		t.Fatalf("examine: %v %+v", err, examined)
	}
	headInfo, err := media.Examine(context.Background(), headOnly)
	if err != nil || !headInfo.Damaged || headInfo.Video == nil {
		t.Fatalf("examine: %v %+v", err, headInfo)
	}
	// An import record by which something (the audio, say) decodes: the
	// decoder is started, and gives no frame.
	audioOnly := *headInfo
	dmg := *headInfo.Damage
	dmg.DecodableDuration = 0.5
	audioOnly.Damage = &dmg
	for _, tc := range []struct {
		name, in string
		info     *media.Info
		want     string
	}{
		{"no moov, probed", nomoov, nil, "damaged and nothing in it decodes: no moov box"},
		{"no moov, import record", nomoov, examined, "no video in it decodes (no moov box"},
		{"cut after the moov", headOnly, headInfo, "no video in it decodes (truncated at byte"},
		{"cut after the moov, audio said to decode", headOnly, &audioOnly, "damaged and no frame decodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mp4")
			rep, err := Redact(context.Background(), tc.in, out, opt(tc.info))
			var inc *IncompleteError
			if !errors.As(err, &inc) || inc.Frames != 0 || !strings.Contains(err.Error(), tc.want) || errors.Is(err, media.ErrNotMedia) {
				t.Fatalf("got %v, want an IncompleteError saying %q", err, tc.want)
			}
			if rep != nil {
				t.Fatalf("report %+v for a run that decoded nothing", rep)
			}
			if left, _ := filepath.Glob(filepath.Dir(out) + "/*"); len(left) != 0 {
				t.Fatalf("left %v", left)
			}
		})
	}
	// A text file is still not a recording.
	text := filepath.Join(dir, "notes.mp4")
	os.WriteFile(text, []byte("not a video\n"), 0o644)
	if _, err := ProbeInput(context.Background(), text); !errors.Is(err, media.ErrNotMedia) {
		t.Fatalf("text: %v", err)
	}
}
