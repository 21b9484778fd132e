//go:build cgo

package refyunet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/evalset"
)

// Labeller labels the faces of the shared clips: an independent YuNet on
// every frame, decoded by ffmpeg (not by custody's pipeline), at a strict
// threshold. What it finds in a source clip is the ground truth of every
// variant made from it. Results are cached by clip hash and detector.
type Labeller struct {
	Version   string  // V2022 or V2023
	Threshold float64 // 0.8 by default
	Scales    []float64
	ModelsDir string
	Cache     string
}

// Name says which detector labels the clips.
func (t Labeller) Name() string {
	return fmt.Sprintf("yunet-%s@%g", t.Version, t.Threshold)
}

// Faces returns the truth's faces on every frame of a clip.
func (t Labeller) Faces(ctx context.Context, clipPath string) ([][]image.Rectangle, error) {
	sum, err := fileHash(clipPath)
	if err != nil {
		return nil, err
	}
	cache := filepath.Join(t.Cache, fmt.Sprintf("v%d", evalset.Version), "truth",
		fmt.Sprintf("%s-%s-%s.json", strings.TrimSuffix(filepath.Base(clipPath), filepath.Ext(clipPath)), sum[:12], t.Name()))
	var faces [][]image.Rectangle
	if data, err := os.ReadFile(cache); err == nil && json.Unmarshal(data, &faces) == nil {
		return faces, nil
	}
	scales := t.Scales
	if scales == nil {
		scales = PlainScales
	}
	d, err := Open(t.ModelsDir, t.Version, t.Threshold, scales)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	err = evalset.DecodeFrames(ctx, clipPath, func(i int, img *image.RGBA) error {
		rgba, err := gocv.NewMatFromBytes(img.Rect.Dy(), img.Rect.Dx(), gocv.MatTypeCV8UC4, img.Pix)
		if err != nil {
			return err
		}
		bgr := gocv.NewMat()
		gocv.CvtColor(rgba, &bgr, gocv.ColorRGBAToBGR)
		rgba.Close()
		found, err := d.Detect(bgr)
		bgr.Close()
		if err != nil {
			return err
		}
		var rs []image.Rectangle
		for _, f := range found {
			rs = append(rs, f.Rect)
		}
		faces = append(faces, rs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return nil, err
	}
	data, _ := json.Marshal(faces)
	if err := os.WriteFile(cache+".tmp", data, 0o644); err != nil {
		return nil, err
	}
	return faces, os.Rename(cache+".tmp", cache)
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
