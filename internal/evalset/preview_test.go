package evalset

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var previewDir = flag.String("evalset.preview", "", "write every generated picture (and every 100th frame of the clips) with its ground truth drawn on, into this folder")

// TestPreview draws the ground truth (faces red, cards green) on the
// generated data, to look at: go test ./internal/evalset -run Preview -evalset.preview /tmp/preview
func TestPreview(t *testing.T) {
	if *previewDir == "" {
		t.Skip("run with -evalset.preview DIR")
	}
	o := Options{}
	if err := os.MkdirAll(*previewDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var sets []*Set
	for _, v := range FaceVariants {
		s, err := Faces(o, Reporting, v)
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, s)
	}
	b, err := Badges(o, Reporting)
	if err != nil {
		t.Fatal(err)
	}
	sets = append(sets, b)
	for _, s := range sets {
		for _, it := range s.Items {
			img, err := readImage(it.Path)
			if err != nil {
				t.Fatal(err)
			}
			drawTruth(img, it.Truth)
			name := fmt.Sprintf("%s-%s-%s.png", s.Category, s.Variant, strings.TrimSuffix(filepath.Base(it.Path), filepath.Ext(it.Path)))
			if err := writeImage(filepath.Join(*previewDir, name), img, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Clips whose truth needs no detector: drawn with their views' frame
	// outline instead of faces.
	ctx := context.Background()
	for _, spec := range ClipSpecs {
		if spec.Variant == ClipBadge {
			continue
		}
		c, err := Clips(ctx, o, spec, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		err = DecodeFrames(ctx, c.Path, func(i int, img *image.RGBA) error {
			if i%100 != 50 {
				return nil
			}
			out := cloneRGBA(img)
			info, _ := ProbeVideo(ctx, c.SourcePath)
			drawTruth(out, c.Truth(i, []image.Rectangle{image.Rect(0, 0, info.Width, info.Height)}))
			return writeImage(filepath.Join(*previewDir, fmt.Sprintf("clip-%s-%d.png", strings.ReplaceAll(spec.Name(), " ", "-"), i)), out, 0)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func drawTruth(img *image.RGBA, truth []Truth) {
	for _, tr := range truth {
		c := color.RGBA{255, 0, 0, 255}
		if tr.Kind == KindBadge {
			c = color.RGBA{0, 255, 0, 255}
		}
		for i := range tr.Quad {
			a, b := tr.Quad[i], tr.Quad[(i+1)%4]
			n := int(math.Max(math.Abs(a.X-b.X), math.Abs(a.Y-b.Y))) + 1
			for k := 0; k <= n; k++ {
				p := image.Pt(int(a.X+float64(k)/float64(n)*(b.X-a.X)), int(a.Y+float64(k)/float64(n)*(b.Y-a.Y)))
				if p.In(img.Rect) {
					img.SetRGBA(p.X, p.Y, c)
				}
			}
		}
	}
}
