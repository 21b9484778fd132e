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
	if c.Face != FaceAuto || c.Text != "" || c.HaarDir != DefaultHaarDir || c.MinFace != 20 ||
		c.NMSThreshold != 0.4 || c.TextThreshold != 0.3 || c.TextBoxThreshold != 0.5 ||
		c.TextUnclip != 2 || c.TextMaxSide != 640 || c.TextEvery != 1 {
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
