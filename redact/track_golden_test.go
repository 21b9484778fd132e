package redact

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/custody-evidence/custody/detect"
)

var updateTracks = flag.Bool("update-tracks", false, "rewrite redact/testdata/track_*.golden from the tracker's output")

// TestTrackerGolden pins the complete output of a scripted scene (two faces
// crossing with one hidden behind the other, a badge worn by one of them, a
// face entering late and one leaving, detection on every second frame) so
// that any change in tracking behaviour shows up as a reviewed diff.
// Regenerate with: go test ./redact -run TrackerGolden -update-tracks
func TestTrackerGolden(t *testing.T) {
	a := linear{x: 40, y: 100, w: 60, h: 70, vx: 6, label: detect.LabelFace, score: 0.92}
	b := linear{x: 560, y: 110, w: 56, h: 64, vx: -5, label: detect.LabelFace, score: 0.81}
	badge := linear{x: 50, y: 220, w: 40, h: 24, vx: 6, label: detect.LabelText, score: 0.6}
	late := linear{x: 700, y: 20, w: 30, h: 36, vx: -2, vy: 1, label: detect.LabelFace, score: 0.55}
	o := DefaultTrackerOptions(25)
	o.Width, o.Height = 720, 400
	const frames = 90
	r := runTracker(t, o, frames, 2, func(f int) []detect.Box {
		var bs []detect.Box
		ba, bb := a.at(f), b.at(f)
		bs = append(bs, ba)
		if iou(fromBox(ba), fromBox(bb)) == 0 {
			bs = append(bs, bb)
		} else if f%4 == 0 {
			// Mostly hidden: a doubtful detection now and then.
			bb.Score = 0.2
			bs = append(bs, bb)
		}
		if f < 60 {
			bs = append(bs, badge.at(f))
		}
		if f >= 30 && f != 50 && f != 52 {
			bs = append(bs, late.at(f))
		}
		return bs
	})
	var buf bytes.Buffer
	for _, tk := range r.tracks {
		head := tk
		head.Boxes = nil
		line, err := json.Marshal(head)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(bytes.Replace(line, []byte(`,"boxes":null`), nil, 1))
		buf.WriteByte('\n')
		for _, b := range tk.Boxes {
			line, _ := json.Marshal(b)
			buf.WriteString("  ")
			buf.Write(line)
			buf.WriteByte('\n')
		}
	}
	path := filepath.Join("testdata", "track_scene.golden")
	if *updateTracks {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-tracks to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		gotLines, wantLines := bytes.Split(buf.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
			var g, w []byte
			if i < len(gotLines) {
				g = gotLines[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if !bytes.Equal(g, w) {
				t.Fatalf("tracks differ from %s at line %d:\n got: %s\nwant: %s\n(review, then -update-tracks)", path, i+1, g, w)
			}
		}
	}
	// The scene's facts, independent of the golden file.
	if len(r.tracks) != 4 {
		t.Fatalf("%d tracks, want 4 (two crossing faces, a badge, a late face): %v", len(r.tracks), summary(r.tracks))
	}
}
