package detect

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Face != FaceAuto || c.Text != "" || c.HaarDir != DefaultHaarDir || c.MinFace != 12 || c.ViewMinFace != 20 || c.ViewThreshold != 0.5 ||
		c.NMSThreshold != 0.4 || c.TextThreshold != 0.3 || c.TextBoxThreshold != 0.5 ||
		c.TextUnclip != 2 || c.TextMaxSide != 640 || c.TextEvery != 1 ||
		c.RotatedFaces != PassAuto || c.QuarterTurnsOnly || c.Contrast != PassAuto || c.DarkLuma != 50 ||
		c.Fisheye != PassAuto || c.FisheyeFOV != 200 {
		t.Errorf("defaults: %+v", c)
	}
	for kind, want := range DefaultFaceThreshold {
		if got := c.faceThreshold(kind); got != want {
			t.Errorf("%s threshold %v, want %v", kind, got, want)
		}
	}
	c.FaceThreshold = 0.77
	if got := c.faceThreshold(FaceYuNet); got != 0.77 {
		t.Errorf("explicit threshold ignored: %v", got)
	}
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"face", Config{Face: "retinaface"}, `unknown face detector "retinaface"`},
		{"text", Config{Text: "some"}, `unknown text mode "some"`},
		{"threshold", Config{FaceThreshold: 1.5}, "face threshold 1.5 out of range"},
		{"negative", Config{TextThreshold: -0.1}, "text threshold -0.1 out of range"},
		{"min face", Config{MinFace: 2}, "minimum face size 2 px"},
		{"unclip", Config{TextUnclip: 9}, "text unclip ratio 9"},
		{"text size", Config{TextMaxSide: 10}, "text pass size 10"},
		{"text cadence", Config{TextEvery: -2}, "text pass every -2 calls"},
		{"rotated faces", Config{RotatedFaces: "true"}, `unknown rotated-faces mode "true"`},
		{"contrast", Config{Contrast: "max"}, `unknown contrast mode "max"`},
		{"fisheye", Config{Fisheye: "yes"}, `unknown fisheye mode "yes"`},
		{"fisheye fov", Config{FisheyeFOV: 45}, "fisheye field of view 45° out of range"},
		{"dark luma", Config{DarkLuma: 300}, "dark luma 300 out of range"},
		{"view min face", Config{ViewMinFace: 3}, "minimum face size for turned and fisheye views 3 px"},
		{"view threshold", Config{ViewThreshold: 1.5}, "score threshold for extra views 1.5 out of range"},
	}
	for _, tc := range tests {
		_, err := tc.c.withDefaults()
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not say %q", tc.name, err, tc.want)
		}
	}
}

// Every face search parameter is in the audit record's string.
func TestConfigStringRecordsFaceSearch(t *testing.T) {
	c, err := Config{Face: FaceYuNet2023, MinFace: 16, RotatedFaces: PassOn, QuarterTurnsOnly: true,
		Contrast: PassOff, Fisheye: PassOn, FisheyeFOV: 190, DarkLuma: 40, ViewThreshold: 0.6}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, want := range []string{"face=yunet2023 ", "min_face=16 ", "view_min_face=20 ", "view_threshold=0.6 ", "rotated_faces=on ",
		"quarter_turns_only=true ", "contrast=off ", "dark_luma=40 ", "fisheye=on ", "fisheye_fov=190 "} {
		if !strings.Contains(s, want) {
			t.Errorf("%q does not record %q", s, want)
		}
	}
}
