//go:build cgo

package evalrun

import (
	"context"
	"testing"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/evalset"
	"github.com/custody-evidence/custody/redact"
)

func TestParseRow(t *testing.T) {
	r, err := ParseRow("thorough yunet: face=yunet every=1, textevery=1 SmallFaceEvery=1 rotatedfaces=on facethreshold=0.4 shape=box")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Name = "thorough yunet"
	want.Config.Face, want.Config.TextEvery, want.Config.SmallFaceEvery = detect.FaceYuNet, 1, 1
	want.Config.RotatedFaces, want.Config.FaceThreshold = detect.PassOn, 0.4
	want.Every, want.Shape = 1, redact.ShapeBox
	if r.Name != want.Name || r.Config != want.Config || r.Every != want.Every || r.Shape != want.Shape || r.Plain != nil {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	p, err := ParseRow("p: plain=2023mar@0.5")
	if err != nil || p.Plain == nil || p.Plain.Version != "2023mar" || p.Plain.Threshold != 0.5 {
		t.Errorf("plain row: %+v %v", p, err)
	}
	for _, bad := range []string{"no colon", ": every=1", "x: every", "x: nosuchfield=1", "x: every=two",
		"x: minface=big", "x: plain=2022mar", "x: shape=star"} {
		if _, err := ParseRow(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The API other tests use: a floor on the tuning split, never on the
// reported one. The defaults and the plain reference mask every face of
// the tuning photos as they are (18 of 18, measured); the defaults at
// precision >= 0.6 (the floor), the reference at 0.40 (measured).
func TestScoreStillsTuningFloor(t *testing.T) {
	o := evalset.Options{Cache: t.TempDir()}
	set, err := evalset.Faces(o, evalset.Tuning, evalset.VariantOriginal)
	if err != nil {
		t.Fatal(err)
	}
	floors := map[string]float64{Defaults().Name: 0.6, Reference().Name: 0.4}
	for _, r := range []Row{Defaults(), Reference()} {
		s, err := r.ScoreStills(context.Background(), set)
		if err != nil {
			t.Fatal(err)
		}
		if s.Count(evalset.KindFace) != 18 || s.Recall(evalset.KindFace) < 1 {
			t.Errorf("%s: %.3f of %d faces; missed %v", r.Name, s.Recall(evalset.KindFace), s.Count(evalset.KindFace), s.Missed)
		}
		if s.Precision() < floors[r.Name]-1e-9 || s.Masked() <= 0 || s.Masked() > 0.5 {
			t.Errorf("%s: precision %.3f, masked %.3f", r.Name, s.Precision(), s.Masked())
		}
	}
}

func TestTruthFor(t *testing.T) {
	m22 := []detect.Model{{Name: "yunet-2022mar"}, {Name: "ppocrv3-det-en-opencv46"}}
	m23 := []detect.Model{{Name: "yunet-2023mar"}}
	if TruthFor(m22, "auto") != "2023mar" || TruthFor(m23, "") != "2022mar" || TruthFor(nil, "") != "2022mar" || TruthFor(m22, "2022mar") != "2022mar" {
		t.Error("TruthFor picks the wrong model")
	}
}
