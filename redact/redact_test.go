//go:build cgo

package redact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/media"
)

func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRedactFaces redacts a clip with real faces and checks the whole
// contract: same frames, timestamps and audio; faces gone (an independent,
// stricter detector run finds at most 5% of what it finds in the input);
// a report that accounts for every track; review output.
func TestRedactFaces(t *testing.T) {
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "3")
	out := filepath.Join(dir, "out.mp4")
	review := filepath.Join(dir, "review")
	var last Progress
	calls := 0
	rep, err := Redact(context.Background(), in, out, Options{
		ScanOptions: ScanOptions{Detector: newHaar(t, 3), Progress: func(p Progress) { last = p; calls++ }},
		ReviewDir:   review,
	})
	if err != nil {
		t.Fatal(err)
	}

	inPTS, outPTS := framePTS(t, in), framePTS(t, out)
	if len(inPTS) != 90 || !slices.Equal(inPTS, outPTS) {
		t.Errorf("frames: %d in, %d out; equal timestamps %v", len(inPTS), len(outPTS), slices.Equal(inPTS, outPTS))
	}
	if a, b := audioMD5(t, in), audioMD5(t, out); a != b {
		t.Errorf("audio changed: %s -> %s", a, b)
	}
	if rep.Frames != 90 || rep.Audio != "copied" || rep.Incomplete || math.Abs(rep.Duration-3) > 1e-6 ||
		!strings.HasPrefix(rep.FFmpeg.Version, "ffmpeg version ") {
		t.Errorf("report: %d frames, audio %q, incomplete %v, duration %v, ffmpeg %q", rep.Frames, rep.Audio,
			rep.Incomplete, rep.Duration, rep.FFmpeg.Version)
	}
	if calls != 90 || last.Frames != 90 || last.Total != 90 || last.FPS <= 0 {
		t.Errorf("progress: %d calls, last %+v", calls, last)
	}
	if rep.InputSHA256 != sha256File(t, in) || rep.OutputSHA256 != sha256File(t, out) || rep.Output != out {
		t.Errorf("report hashes or name wrong: %+v", rep)
	}
	if len(rep.Tracks) == 0 || rep.MaskedFrames == 0 {
		t.Fatalf("no faces tracked: %+v", rep.Tracks)
	}
	for _, tr := range rep.Tracks {
		if !tr.Masked || tr.Reason != "detected by test-haar-alt2-n3" || tr.End < tr.Start || tr.Start < 0 || tr.End > 3 {
			t.Errorf("track record %+v", tr)
		}
	}
	if rep.Params.Style != StyleBlur || rep.Params.Shape != ShapeEllipse || rep.Params.Margin != 0.2 ||
		rep.Params.Codec != "libx264" || rep.Params.CRF != media.DefaultCRF || rep.Params.Every != DefaultEvery {
		t.Errorf("params %+v", rep.Params)
	}

	// Leak check, with a stricter detector than the one that redacted.
	strict := newHaar(t, 6)
	before, n1 := countFaces(t, strict, in)
	after, n2 := countFaces(t, strict, out)
	t.Logf("strict detector: %d faces in %d input frames, %d in %d output frames", before, n1, after, n2)
	if before < 90 {
		t.Fatalf("the strict detector finds only %d faces in the input: the leak check proves nothing", before)
	}
	if float64(after) > 0.05*float64(before) {
		t.Errorf("leak: %d faces found after redaction, %d before (more than 5%%)", after, before)
	}

	// Review output.
	var doc ReviewTracks
	b, err := os.ReadFile(filepath.Join(review, "tracks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Tracks) != len(rep.Tracks) || doc.Frames != 90 || doc.Width != 480 {
		t.Errorf("tracks.json: %d tracks (report %d), %d frames, width %d", len(doc.Tracks), len(rep.Tracks), doc.Frames, doc.Width)
	}
	for _, tr := range doc.Tracks {
		if len(tr.Boxes) != tr.Last-tr.First+1 || tr.Thumb < tr.First || tr.Thumb > tr.Last {
			t.Errorf("track %d: %d boxes for frames %d-%d, thumb %d", tr.ID, len(tr.Boxes), tr.First, tr.Last, tr.Thumb)
		}
	}
	f, err := os.Open(filepath.Join(review, "contact.png"))
	if err != nil {
		t.Fatal(err)
	}
	sheet, err := png.Decode(f)
	f.Close()
	if err != nil || sheet.Bounds().Dx() < thumbSide {
		t.Errorf("contact sheet: %v %v", err, sheet)
	}
	previews, _ := filepath.Glob(filepath.Join(review, "preview-*.png"))
	if len(previews) != previewCount {
		t.Errorf("%d previews, want %d", len(previews), previewCount)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestRedactRefuses: outputs are never overwritten, inputs never modified,
// bad options and bad inputs are clear errors.
func TestRedactRefuses(t *testing.T) {
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "0.5")
	det := newHaar(t, 3)
	ctx := context.Background()
	exists := filepath.Join(dir, "exists.mp4")
	if err := os.WriteFile(exists, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mp4")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	audio := makeClip(t, dir, "audio.m4a", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac")
	cases := []struct {
		name, in, out string
		opt           Options
		want          error
	}{
		{"exists", in, exists, Options{ScanOptions: ScanOptions{Detector: det}}, ErrOutputExists},
		{"same file", in, in, Options{ScanOptions: ScanOptions{Detector: det}}, ErrOutputExists},
		{"no detector", in, filepath.Join(dir, "a.mp4"), Options{}, ErrNoDetector},
		{"bad style", in, filepath.Join(dir, "b.mp4"), Options{ScanOptions: ScanOptions{Detector: det}, Style: "smudge"}, ErrOptions},
		{"bad every", in, filepath.Join(dir, "c.mp4"), Options{ScanOptions: ScanOptions{Detector: det, Every: -2}}, ErrOptions},
		{"bleep alone", in, filepath.Join(dir, "d.mp4"), Options{ScanOptions: ScanOptions{Detector: det}, Bleep: true}, ErrOptions},
		{"bad container", in, filepath.Join(dir, "e.avi"), Options{ScanOptions: ScanOptions{Detector: det}}, media.ErrUnsupported},
		{"text input", text, filepath.Join(dir, "f.mp4"), Options{ScanOptions: ScanOptions{Detector: det}}, media.ErrNotMedia},
		{"empty input", empty, filepath.Join(dir, "g.mp4"), Options{ScanOptions: ScanOptions{Detector: det}}, media.ErrNotMedia},
		{"audio only", audio, filepath.Join(dir, "h.mp4"), Options{ScanOptions: ScanOptions{Detector: det}}, ErrNoVideo},
		{"edits for another detector", in, filepath.Join(dir, "i.mp4"),
			Options{ScanOptions: ScanOptions{Detector: det}, Edits: &Edits{Detector: "yunet-2022mar"}}, ErrEdits},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := sha256File(t, tc.in)
			_, err := Redact(ctx, tc.in, tc.out, tc.opt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if sha256File(t, tc.in) != before {
				t.Errorf("input modified")
			}
			if tc.out != exists && tc.out != tc.in {
				if _, err := os.Stat(tc.out); err == nil {
					t.Errorf("output written despite the error")
				}
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
