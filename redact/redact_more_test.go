//go:build cgo

package redact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/media"
)

// decoded is a whole video decoded by custody's own decoder (tests only:
// it holds every frame).
type decoded struct {
	w, h   int
	frames [][]byte
	times  []float64
}

func decodeAll(t testing.TB, path string) decoded {
	t.Helper()
	d, err := media.NewDecoder(context.Background(), path, media.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v := decoded{w: d.Width, h: d.Height}
	for {
		var f media.Frame
		err := d.ReadFrame(&f)
		if errors.Is(err, io.EOF) {
			return v
		}
		if err != nil {
			t.Fatal(err)
		}
		v.frames = append(v.frames, f.Data)
		v.times = append(v.times, f.Time)
	}
}

// detail is the mean absolute horizontal second difference inside r: high
// for a face, text or a test pattern, near zero for a region whose detail
// was destroyed (a smooth blob has gradients but no curvature).
func (v decoded) detail(frame int, r image.Rectangle) float64 {
	r = r.Intersect(image.Rect(0, 0, v.w, v.h))
	p := v.frames[frame]
	var sum float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X + 1; x < r.Max.X-1; x++ {
			for c := 0; c < 3; c++ {
				l, m, q := float64(p[(y*v.w+x-1)*3+c]), float64(p[(y*v.w+x)*3+c]), float64(p[(y*v.w+x+1)*3+c])
				sum += math.Abs(l - 2*m + q)
				n++
			}
		}
	}
	return sum / float64(n)
}

// diff is the mean absolute difference between two videos' frames in r.
func diff(a, b decoded, frame int, r image.Rectangle) float64 {
	r = r.Intersect(image.Rect(0, 0, a.w, a.h))
	pa, pb := a.frames[frame], b.frames[frame]
	var sum float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			for c := 0; c < 3; c++ {
				sum += math.Abs(float64(pa[(y*a.w+x)*3+c]) - float64(pb[(y*a.w+x)*3+c]))
				n++
			}
		}
	}
	return sum / float64(n)
}

// TestRedactEvery: with sparse detection the detector runs on every Nth
// frame and the last, and the tracker still covers every frame.
func TestRedactEvery(t *testing.T) {
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "2")
	out := filepath.Join(dir, "out.mp4")
	det := newHaar(t, 3)
	rep, err := Redact(context.Background(), in, out, Options{ScanOptions: ScanOptions{Detector: det, Every: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if calls := det.calls.Load(); calls != 13 { // frames 0, 5, ..., 55 and 59
		t.Errorf("detector ran %d times on 60 frames with every=5, want 13", calls)
	}
	if rep.MaskedFrames != 60 {
		t.Errorf("%d of 60 frames masked", rep.MaskedFrames)
	}
	strict := newHaar(t, 6)
	before, _ := countFaces(t, strict, in)
	after, _ := countFaces(t, strict, out)
	if before < 60 || float64(after) > 0.05*float64(before) {
		t.Errorf("leak with every=5: %d faces before, %d after", before, after)
	}
}

// TestRedactEdits applies a DPO's edits on a second run: an excluded track
// is left visible, a manual region is masked between its keyframes, a time
// range of whole frames is masked; every edit is in the report.
func TestRedactEdits(t *testing.T) {
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "2")
	det := newHaar(t, 3)
	ctx := context.Background()
	files := map[string][]byte{}
	first, err := Redact(ctx, in, filepath.Join(dir, "first.mp4"), Options{ScanOptions: ScanOptions{Detector: det},
		ReviewFiles: func(name string, data []byte) error { files[name] = data; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	var doc ReviewTracks
	if err := json.Unmarshal(files["tracks.json"], &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Tracks) == 0 {
		t.Fatal("no tracks to exclude")
	}
	// Exclude the longest track.
	tr := doc.Tracks[0]
	for _, x := range doc.Tracks {
		if x.Last-x.First > tr.Last-tr.First {
			tr = x
		}
	}
	mid := tr.Boxes[len(tr.Boxes)/2]
	t0, t1 := 0.5, 1.0
	edits := &Edits{
		Detector: det.Name(), Every: DefaultEvery,
		Exclude: []ExcludeEdit{{Track: tr.ID, First: &tr.First, Reason: "consenting witness"}},
		Regions: []RegionEdit{{Label: "name tag", Reason: "name tag missed by the detector", Keyframes: []Keyframe{
			{Time: &t0, X: 10, Y: 300, W: 60, H: 40}, {Time: &t1, X: 90, Y: 300, W: 60, H: 40}}}},
		Frames: []FramesEdit{{Start: 1.5, End: 1.6, Reason: "patient record on screen"}},
	}
	out := filepath.Join(dir, "second.mp4")
	rep, err := Redact(ctx, in, out, Options{ScanOptions: ScanOptions{Detector: det}, Edits: edits, EditsSHA256: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	src, a, b := decodeAll(t, in), decodeAll(t, filepath.Join(dir, "first.mp4")), decodeAll(t, out)

	// The excluded face: masked on the first run, as in the input now.
	face := image.Rect(mid.X, mid.Y, mid.X+mid.W, mid.Y+mid.H)
	if d := diff(src, a, mid.Frame, face); d < 10 {
		t.Errorf("first run: the face of track %d is not masked (diff %.1f)", tr.ID, d)
	}
	if d := diff(src, b, mid.Frame, face.Inset(mid.W/4)); d > 4 {
		t.Errorf("second run: excluded track %d is still masked (diff %.1f)", tr.ID, d)
	}
	// The manual region, interpolated: at t=0.75 it is at x=50.
	for i, tm := range src.times {
		r := image.Rect(52, 302, 108, 338)
		if math.Abs(tm-0.75) < 0.017 {
			if src.detail(i, r) < 3*b.detail(i, r) {
				t.Errorf("frame %d (t=%.3f): manual region keeps detail: %.2f in, %.2f out", i, tm, src.detail(i, r), b.detail(i, r))
			}
		}
		if (tm < t0-0.05 || tm > t1+0.05) && !(tm >= 1.5-0.02 && tm <= 1.6+0.02) {
			if d := diff(src, b, i, image.Rect(0, 290, 160, 350)); d > 4 {
				t.Errorf("frame %d (t=%.3f): manual region masked outside its keyframes (diff %.1f)", i, tm, d)
			}
		}
	}
	// Whole frames 1.5-1.6 s.
	full := image.Rect(0, 0, b.w, b.h)
	n := 0
	for i, tm := range src.times {
		if tm >= 1.5 && tm <= 1.6 {
			n++
			if b.detail(i, full) > 0.25*src.detail(i, full) {
				t.Errorf("frame %d (t=%.3f) not masked whole: detail %.2f of %.2f", i, tm, b.detail(i, full), src.detail(i, full))
			}
		}
	}
	// The report accounts for each edit.
	kinds := map[string]EditRecord{}
	for _, e := range rep.Edits {
		kinds[e.Kind] = e
	}
	if e := kinds["exclude"]; e.Track != tr.ID || e.Reason != "consenting witness" || e.First != tr.First {
		t.Errorf("exclude record %+v", e)
	}
	if e := kinds["region"]; e.Frames != 16 || e.Reason == "" || math.Abs(e.Start-t0) > 0.02 || math.Abs(e.End-t1) > 0.02 {
		t.Errorf("region record %+v, want 16 frames from %.2f to %.2f", e, t0, t1)
	}
	if e := kinds["frames"]; e.Frames != n || n == 0 {
		t.Errorf("frames record %+v, want %d frames", e, n)
	}
	for _, x := range rep.Tracks {
		if x.ID == tr.ID && (x.Masked || !strings.HasPrefix(x.Reason, "excluded: ")) {
			t.Errorf("excluded track recorded as %+v", x)
		}
	}
	if rep.Params.EditsSHA256 != "abc" || len(first.Tracks) != len(rep.Tracks) {
		t.Errorf("edits hash %q; %d tracks on the second run, %d on the first", rep.Params.EditsSHA256, len(rep.Tracks), len(first.Tracks))
	}

	// An exclusion made for a different track (wrong first frame) is not
	// applied: the face stays masked and a warning says why.
	wrong := tr.First + 7
	edits2 := &Edits{Exclude: []ExcludeEdit{{Track: tr.ID, First: &wrong, Reason: "x"}}}
	rep2, err := Redact(ctx, in, filepath.Join(dir, "third.mp4"), Options{ScanOptions: ScanOptions{Detector: det}, Edits: edits2})
	if err != nil {
		t.Fatal(err)
	}
	c := decodeAll(t, filepath.Join(dir, "third.mp4"))
	if d := diff(src, c, mid.Frame, face); d < 10 {
		t.Errorf("mismatched exclusion was applied (diff %.1f)", d)
	}
	if len(rep2.Warnings) == 0 || !strings.Contains(strings.Join(rep2.Warnings, " "), "not applied") {
		t.Errorf("no warning for the mismatched exclusion: %v", rep2.Warnings)
	}

	// Edits from a run with other detection parameters are refused before
	// any output is made.
	edits3 := &Edits{Detection: "face=yunet text=none", Exclude: []ExcludeEdit{{Track: tr.ID, Reason: "x"}}}
	fourth := filepath.Join(dir, "fourth.mp4")
	if _, err := Redact(ctx, in, fourth, Options{ScanOptions: ScanOptions{Detector: det}, Edits: edits3}); !errors.Is(err, ErrEdits) ||
		!strings.Contains(err.Error(), "track ids would not match") {
		t.Errorf("edits from other detection parameters: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*fourth*")); len(left) != 0 {
		t.Errorf("a refused run left %v", left)
	}
}

// TestRedactIncomplete: a truncated input is redacted as far as it
// decodes, written under an ".incomplete" name, and reported with where it
// stopped; the requested name is never created.
func TestRedactIncomplete(t *testing.T) {
	dir := t.TempDir()
	full := facesClip(t, dir, "full.mp4", "3", "-movflags", "+faststart")
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mp4")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	rep, err := Redact(context.Background(), cut, out, Options{ScanOptions: ScanOptions{Detector: newHaar(t, 3)}})
	var inc *IncompleteError
	if !errors.As(err, &inc) || !errors.Is(err, ErrIncomplete) {
		t.Fatalf("error %v, want an IncompleteError", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s exists: an incomplete output must not take the requested name", out)
	}
	want := filepath.Join(dir, "out.incomplete.mp4")
	if inc.Output != want || rep == nil || !rep.Incomplete || rep.Output != want {
		t.Fatalf("incomplete output %q, report %+v", inc.Output, rep)
	}
	if inc.Frames <= 0 || inc.Frames >= 90 || inc.Expected != 90 || inc.LastTime <= 0 {
		t.Errorf("stopped at %+v", inc)
	}
	if !strings.Contains(err.Error(), "out.incomplete.mp4") || strings.Contains(err.Error(), "\n") {
		t.Errorf("message %q", err)
	}
	if got := len(framePTS(t, want)); got != inc.Frames {
		t.Errorf("incomplete output has %d frames, report says %d", got, inc.Frames)
	}
	if rep.OutputSHA256 != sha256File(t, want) {
		t.Errorf("report hash does not match the incomplete output")
	}
	// detect --json says the same.
	n := 0
	_, err = DetectVideo(context.Background(), cut, ScanOptions{Detector: newHaar(t, 3), Every: 5}, func(Record) error { n++; return nil })
	if !errors.As(err, &inc) || inc.Frames != rep.Frames || n == 0 {
		t.Errorf("DetectVideo on the cut file: %d records, error %v", n, err)
	}
}

// TestRedactCancel: cancelling mid-run leaves no output and no temporary
// file.
func TestRedactCancel(t *testing.T) {
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "2")
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Redact(ctx, in, out, Options{ScanOptions: ScanOptions{Detector: newHaar(t, 3),
		Progress: func(p Progress) {
			if p.Frames == 20 {
				cancel()
			}
		}}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	left, _ := os.ReadDir(outDir)
	if len(left) != 0 {
		t.Errorf("files left after cancel: %v", left)
	}
}

// TestDetectMatchesRedact: detect --json reports, frame by frame, exactly
// the boxes redact masks (tracks.json of the same run).
func TestDetectMatchesRedact(t *testing.T) {
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "1.5")
	det := newHaar(t, 3)
	ctx := context.Background()
	files := map[string][]byte{}
	opt := ScanOptions{Detector: det, Every: 3, Shape: ShapeBox, Margin: 0.25}
	if _, err := Redact(ctx, in, filepath.Join(dir, "out.mp4"), Options{ScanOptions: opt,
		ReviewFiles: func(n string, b []byte) error { files[n] = b; return nil }}); err != nil {
		t.Fatal(err)
	}
	var doc ReviewTracks
	if err := json.Unmarshal(files["tracks.json"], &doc); err != nil {
		t.Fatal(err)
	}
	masked := map[int][]image.Rectangle{}
	for _, tr := range doc.Tracks {
		for _, b := range tr.Boxes {
			masked[b.Frame] = append(masked[b.Frame], image.Rect(b.X, b.Y, b.X+b.W, b.Y+b.H))
		}
	}
	reported := map[int][]image.Rectangle{}
	var recs []Record
	if _, err := DetectVideo(ctx, in, opt, func(r Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.File != in || r.Width != 480 || r.Height != 360 || len(r.Boxes) == 0 {
			t.Fatalf("record %+v", r)
		}
		for _, b := range r.Boxes {
			if b.Label != detect.LabelFace || b.Score <= 0 {
				t.Errorf("box %+v", b)
			}
			reported[r.Frame] = append(reported[r.Frame], b.Rect())
		}
	}
	if len(masked) == 0 || len(masked) != len(reported) {
		t.Fatalf("%d frames masked, %d reported", len(masked), len(reported))
	}
	for f, m := range masked {
		a, b := sortRects(m), sortRects(reported[f])
		if !slices.Equal(a, b) {
			t.Errorf("frame %d: masked %v, reported %v", f, a, b)
		}
	}
	// JSON field names are the ones the issue specifies.
	js, _ := json.Marshal(recs[0])
	for _, k := range []string{`"file"`, `"frame"`, `"time"`, `"width"`, `"height"`, `"boxes"`, `"x"`, `"y"`, `"w"`, `"h"`, `"score"`, `"label"`} {
		if !bytes.Contains(js, []byte(k)) {
			t.Errorf("record JSON lacks %s: %s", k, js)
		}
	}
}

func sortRects(rs []image.Rectangle) []image.Rectangle {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b image.Rectangle) int {
		if a.Min.X != b.Min.X {
			return a.Min.X - b.Min.X
		}
		return a.Min.Y - b.Min.Y
	})
	return out
}

// TestDetectImage: a still image gives one record whose boxes cover the
// annotated faces the detector finds.
func TestDetectImage(t *testing.T) {
	img := testenv.Shared(t, "data/faces_dlib/2008_002506.jpg")
	rec, err := DetectImage(context.Background(), img, ScanOptions{Detector: newHaar(t, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Width != 500 || rec.Height != 375 || rec.Frame != 0 || len(rec.Boxes) == 0 {
		t.Fatalf("record %+v", rec)
	}
	truth := []image.Rectangle{image.Rect(329, 78, 438, 187), image.Rect(224, 95, 315, 186), image.Rect(125, 65, 215, 156)}
	covered := 0
	for _, f := range truth {
		if detect.Coverage(f, detect.Rects(rec.Boxes)) >= 0.7 {
			covered++
		}
	}
	if covered < 2 {
		t.Errorf("only %d of 3 annotated faces covered: %+v", covered, rec.Boxes)
	}
	if _, err := DetectImage(context.Background(), filepath.Join(t.TempDir(), "none.jpg"), ScanOptions{Detector: newHaar(t, 3)}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing image: %v, want a not-exist error", err)
	}
}

// TestRedactRotated: a phone video stored sideways with a rotation flag is
// detected upright, masked in the right place, and keeps its rotation.
func TestRedactRotated(t *testing.T) {
	dir := t.TempDir()
	upright := facesClip(t, dir, "upright.mp4", "1")
	sideways := makeClip(t, dir, "sideways.mp4", "-i", upright, "-vf", "transpose=clock", "-c:v", "libx264",
		"-preset", "ultrafast", "-c:a", "copy")
	in := makeClip(t, dir, "rotated.mp4", "-i", sideways, "-c", "copy", "-metadata:s:v:0", "rotate=90")
	// ffmpeg, as a player would, shows it upright.
	shown := makeClip(t, dir, "shown.mp4", "-i", in, "-c:v", "libx264", "-preset", "ultrafast", "-an")
	if v := decodeAll(t, shown); v.w != 480 || v.h != 360 {
		t.Fatalf("test clip displays as %dx%d, want 480x360 upright", v.w, v.h)
	}
	strict := newHaar(t, 6)
	if n, _ := countFaces(t, strict, sideways); n > 5 {
		t.Logf("note: %d faces found sideways", n)
	}
	before, _ := countFaces(t, strict, shown)
	out := filepath.Join(dir, "out.mp4")
	rep, err := Redact(context.Background(), in, out, Options{ScanOptions: ScanOptions{Detector: newHaar(t, 3)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tracks) == 0 {
		t.Fatal("no faces found in the rotated video")
	}
	info, err := media.Probe(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	inInfo, _ := media.Probe(context.Background(), in)
	if info.Video.Rotation != inInfo.Video.Rotation || info.Video.Width != 360 || info.Video.Height != 480 {
		t.Errorf("output %dx%d rotation %d, want 360x480 rotation %d", info.Video.Width, info.Video.Height,
			info.Video.Rotation, inInfo.Video.Rotation)
	}
	outShown := makeClip(t, dir, "out-shown.mp4", "-i", out, "-c:v", "libx264", "-preset", "ultrafast", "-an")
	after, _ := countFaces(t, strict, outShown)
	if before < 30 || float64(after) > 0.05*float64(before) {
		t.Errorf("rotated: %d faces before, %d after", before, after)
	}
}

// TestRedactURL: the input may be a URL that ffmpeg reads (store mode serves
// sealed clips over loopback); the caller's hash is recorded as given.
func TestRedactURL(t *testing.T) {
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "1", "-movflags", "+faststart")
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	url := srv.URL + "/in.mp4"
	out := filepath.Join(t.TempDir(), "out.mp4")
	rep, err := Redact(context.Background(), url, out, Options{ScanOptions: ScanOptions{Detector: newHaar(t, 3)},
		InputSHA256: "sha256-from-the-store"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Input != url || rep.InputSHA256 != "sha256-from-the-store" || rep.Frames != 30 || len(rep.Tracks) == 0 {
		t.Errorf("report %+v", rep)
	}
	if a, b := framePTS(t, in), framePTS(t, out); !slices.Equal(a, b) {
		t.Errorf("timestamps differ")
	}
}

// TestRedactWithDetect runs the redactor with the real detectors of
// package detect (YuNet and the PP-OCR badge pass, picked by auto from the
// shared models): the audit names them with their sha256.
func TestRedactWithDetect(t *testing.T) {
	det, _, err := detect.Open(detect.Config{ModelsDir: filepath.Join(testenv.SharedDir(), "models")})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	dir := t.TempDir()
	in := facesClip(t, dir, "in.mp4", "1")
	rep, err := Redact(context.Background(), in, filepath.Join(dir, "out.mp4"), Options{ScanOptions: ScanOptions{Detector: det, Every: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tracks) < 3 || !strings.HasPrefix(rep.Detector, "yunet") {
		t.Errorf("detector %s found %d tracks, want the 3 faces", rep.Detector, len(rep.Tracks))
	}
	if len(rep.Models) == 0 {
		t.Fatal("no models in the report")
	}
	for _, m := range rep.Models {
		if len(m.SHA256) != 64 || m.Name == "" {
			t.Errorf("model record %+v", m)
		}
	}
}

// TestSmallFacesBetweenFinePasses: with the finest face pass on every
// other detection pass (frames 0, 12, 24...), a face only that pass finds
// (about 25 px) is masked on every frame it is in, in a panning clip:
//   - appearing at frame 14, it is masked back to the frame after the
//     previous fine pass and held between fine passes;
//   - appearing at frame 50 of 55, after the last fine pass (48), it is
//     found on the last frame, which gets every pass (54 is on the
//     detection stride, but would be a coarse pass).
func TestSmallFacesBetweenFinePasses(t *testing.T) {
	dir := t.TempDir()
	still := filepath.Join(dir, "frame.png")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", testenv.Shared(t, "data/video/gen1_demo_assets_test_video.mp4"),
		"-vf", `select=eq(n\,150),scale=iw*0.08:-2:flags=area`, "-frames:v", "1", still).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	det, _, err := detect.Open(detect.Config{Face: detect.FaceYuNet, Text: detect.TextNone, SmallFaceEvery: 2,
		ModelsDir: filepath.Join(testenv.SharedDir(), "models")})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	for _, tc := range []struct{ frames, appear int }{{60, 14}, {55, 50}} {
		// Panning 30 px a second across a grey scene; the small picture
		// is pasted in from frame tc.appear.
		in := filepath.Join(dir, fmt.Sprintf("pan-%d-%d.mp4", tc.frames, tc.appear))
		if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=1280x1080:r=30:d=3",
			"-loop", "1", "-framerate", "30", "-i", still, "-filter_complex",
			fmt.Sprintf(`[0][1]overlay=x=300:y=300:enable='gte(n\,%d)':shortest=1,crop=1080:1080:x='200-30*t':y=0`, tc.appear),
			"-frames:v", fmt.Sprint(tc.frames), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", in).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, out)
		}
		var recs []Record
		if _, err := DetectVideo(context.Background(), in, ScanOptions{Detector: det, Every: DefaultEvery}, func(r Record) error {
			recs = append(recs, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The last frame gets every pass: the face found there is on each
		// earlier frame from tc.appear, 1 px further left a frame (30 px/s
		// at 30 fps).
		lastFrame := tc.frames - 1
		if len(recs) == 0 || recs[len(recs)-1].Frame != lastFrame || len(recs[len(recs)-1].Boxes) != 1 {
			t.Fatalf("%+v: no single face on the last frame: %+v", tc, recs)
		}
		last := recs[len(recs)-1].Boxes[0]
		xl, y := float64(last.X)+float64(last.W)/2, float64(last.Y)+float64(last.H)/2
		covered := map[int]bool{}
		for _, r := range recs {
			x := xl - float64(lastFrame-r.Frame)
			for _, b := range r.Boxes {
				if float64(b.X) <= x && x <= float64(b.X+b.W) && float64(b.Y) <= y && y <= float64(b.Y+b.H) {
					covered[r.Frame] = true
				}
			}
		}
		var missed []int
		for f := tc.appear; f < tc.frames; f++ {
			if !covered[f] {
				missed = append(missed, f)
			}
		}
		if len(missed) > 0 {
			t.Errorf("%+v: small face not masked on frames %v", tc, missed)
		}
	}
}

func TestFramePixelFormat(t *testing.T) {
	for _, tc := range []struct {
		v    *media.VideoInfo
		want string
	}{
		{&media.VideoInfo{PixFmt: "yuv420p", Width: 608, Height: 1080}, media.PixYUV420P},
		{&media.VideoInfo{PixFmt: "yuv420p", ColorRange: "tv", Width: 1920, Height: 1080}, media.PixYUV420P},
		{&media.VideoInfo{PixFmt: "yuv420p", ColorRange: "pc", Width: 1920, Height: 1080}, media.PixBGR24},
		{&media.VideoInfo{PixFmt: "yuvj420p", Width: 1920, Height: 1080}, media.PixBGR24},
		{&media.VideoInfo{PixFmt: "yuv420p", Width: 321, Height: 240}, media.PixBGR24},
		{&media.VideoInfo{PixFmt: "yuv420p", Width: 320, Height: 239}, media.PixBGR24},
		{&media.VideoInfo{PixFmt: "yuv422p", Width: 1920, Height: 1080}, media.PixBGR24},
		{&media.VideoInfo{PixFmt: "yuv420p10le", Width: 1920, Height: 1080}, media.PixBGR24},
		{nil, media.PixBGR24},
	} {
		if got := framePixelFormat(tc.v); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.v, got, tc.want)
		}
	}
}

// TestColourDescription: frames passed through in the input's own yuv420p
// keep its colour description on the output; full-range yuv420p goes
// through BGR24 (the pipe carries no range) and comes out in limited
// range, which is what an untagged output means.
func TestColourDescription(t *testing.T) {
	dir := t.TempDir()
	tagged := facesClip(t, dir, "bt709.mp4", "0.5", "-color_primaries", "bt709", "-color_trc", "bt709",
		"-colorspace", "bt709", "-color_range", "tv")
	full := facesClip(t, dir, "pc.mp4", "0.5", "-color_range", "pc")
	ctx := context.Background()
	for _, tc := range []struct {
		in      string
		pixfmt  string
		want    media.VideoInfo
		decoder string
	}{
		{tagged, "yuv420p", media.VideoInfo{ColorRange: "tv", ColorSpace: "bt709", ColorPrimaries: "bt709", ColorTransfer: "bt709"}, media.PixYUV420P},
		{full, "yuv420p", media.VideoInfo{}, media.PixBGR24},
	} {
		info, err := media.Probe(ctx, tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := framePixelFormat(info.Video); got != tc.decoder {
			t.Errorf("%s (%s, range %q): decoded as %s, want %s", filepath.Base(tc.in), info.Video.PixFmt, info.Video.ColorRange, got, tc.decoder)
		}
		out := filepath.Join(dir, "out-"+filepath.Base(tc.in))
		if _, err := Redact(ctx, tc.in, out, Options{ScanOptions: ScanOptions{Detector: noDetector{}}}); err != nil {
			t.Fatal(err)
		}
		o, err := media.Probe(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		v := o.Video
		if v.PixFmt != tc.pixfmt || v.ColorRange != tc.want.ColorRange || v.ColorSpace != tc.want.ColorSpace ||
			v.ColorPrimaries != tc.want.ColorPrimaries || v.ColorTransfer != tc.want.ColorTransfer {
			t.Errorf("%s: output %s range %q space %q primaries %q transfer %q, want %s %+v", filepath.Base(tc.in),
				v.PixFmt, v.ColorRange, v.ColorSpace, v.ColorPrimaries, v.ColorTransfer, tc.pixfmt, tc.want)
		}
	}
}
