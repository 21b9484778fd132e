package redact

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/custody-evidence/custody/detect"
)

func newBGR(w, h int) bgrImage { return bgrImage{pix: make([]byte, w*h*3), w: w, h: h} }

func (b bgrImage) clone() bgrImage {
	return bgrImage{pix: append([]byte(nil), b.pix...), w: b.w, h: b.h}
}

func (b bgrImage) at(x, y, c int) float64 { return float64(b.pix[(y*b.w+x)*3+c]) }

// pattern fills img with fine detail: a one-pixel checkerboard overlaid
// with noise, the hardest case for a blur to destroy.
func pattern(img bgrImage, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for y := 0; y < img.h; y++ {
		for x := 0; x < img.w; x++ {
			base := 60
			if (x+y)%2 == 0 {
				base = 190
			}
			for c := 0; c < 3; c++ {
				img.pix[(y*img.w+x)*3+c] = byte(base + rng.IntN(40) - 20)
			}
		}
	}
}

// shuffleCells permutes the pixels inside every cell of g: the cell
// averages stay exactly the same, every detail inside changes.
func shuffleCells(img bgrImage, g grid, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	w, h := g.r.Dx(), g.r.Dy()
	for cy := 0; cy < g.rows; cy++ {
		for cx := 0; cx < g.cols; cx++ {
			var px []int
			for y := g.r.Min.Y + edge(cy, g.rows, h); y < g.r.Min.Y+edge(cy+1, g.rows, h); y++ {
				for x := g.r.Min.X + edge(cx, g.cols, w); x < g.r.Min.X+edge(cx+1, g.cols, w); x++ {
					px = append(px, (y*img.w+x)*3)
				}
			}
			vals := make([][3]byte, len(px))
			for i, o := range px {
				copy(vals[i][:], img.pix[o:o+3])
			}
			rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
			for i, o := range px {
				copy(img.pix[o:o+3], vals[i][:])
			}
		}
	}
}

// correlation is Pearson's r between two images over rectangle r, all
// channels.
func correlation(a, b bgrImage, r image.Rectangle) float64 {
	var sa, sb, saa, sbb, sab, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			for c := 0; c < 3; c++ {
				p, q := a.at(x, y, c), b.at(x, y, c)
				sa += p
				sb += q
				saa += p * p
				sbb += q * q
				sab += p * q
				n++
			}
		}
	}
	cov := sab/n - sa/n*sb/n
	va, vb := saa/n-sa/n*sa/n, sbb/n-sb/n*sb/n
	if va <= 0 || vb <= 0 {
		return 0
	}
	return cov / math.Sqrt(va*vb)
}

// TestBlurIrreversible proves that the blur destroys detail rather than
// smoothing it: (1) two regions that differ in every detail but share their
// cell averages blur to identical pixels, so no algorithm can tell from the
// output which one was there; (2) the output does not correlate with the
// original fine pattern; (3) the output carries no more than BlurCells² × 3
// values of information.
func TestBlurIrreversible(t *testing.T) {
	for _, size := range []image.Point{{120, 160}, {37, 41}, {400, 90}, {5, 3}} {
		img := newBGR(size.X+20, size.Y+20)
		pattern(img, 7)
		r := image.Rect(10, 10, 10+size.X, 10+size.Y)
		g := newGrid(r, BlurCells)
		if g.cols > BlurCells || g.rows > BlurCells {
			t.Fatalf("%v: grid %dx%d exceeds %d cells", size, g.cols, g.rows, BlurCells)
		}

		other := img.clone()
		shuffleCells(other, g, 11)
		if correlation(img, other, r) > 0.5 {
			t.Fatalf("%v: shuffled image still correlates with the original; the test proves nothing", size)
		}

		a, b := img.clone(), other.clone()
		paint(a, r, StyleBlur, false)
		paint(b, r, StyleBlur, false)
		for i := range a.pix {
			if a.pix[i] != b.pix[i] {
				t.Fatalf("%v: regions with equal cell averages blur differently at byte %d: detail survives", size, i)
			}
		}

		// The fine pattern is gone: the blurred region does not correlate
		// with the detail of the original (its deviation from cell means).
		detail := img.clone()
		means := g.means(img)
		w, h := r.Dx(), r.Dy()
		for y := r.Min.Y; y < r.Max.Y; y++ {
			cy := cellOf(y-r.Min.Y, g.rows, h)
			for x := r.Min.X; x < r.Max.X; x++ {
				cx := cellOf(x-r.Min.X, g.cols, w)
				for c := 0; c < 3; c++ {
					v := img.at(x, y, c) - means[(cy*g.cols+cx)*3+c] + 128
					detail.pix[(y*img.w+x)*3+c] = byte(math.Max(0, math.Min(255, v)))
				}
			}
		}
		if size.X*size.Y > 100 {
			if rr := correlation(a, detail, r); math.Abs(rr) > 0.1 {
				t.Errorf("%v: blurred region correlates with the original detail: r=%.3f", size, rr)
			}
		}

		// Pixels outside the region are untouched.
		for y := 0; y < img.h; y++ {
			for x := 0; x < img.w; x++ {
				if image.Pt(x, y).In(r) {
					continue
				}
				for c := 0; c < 3; c++ {
					if a.at(x, y, c) != img.at(x, y, c) {
						t.Fatalf("%v: pixel (%d,%d) outside the region changed", size, x, y)
					}
				}
			}
		}
	}
}

// TestPixelateCells: a pixelated region holds at most PixelateCells² flat
// colours, and the same cell-average argument makes it irreversible.
func TestPixelateCells(t *testing.T) {
	img := newBGR(200, 150)
	pattern(img, 3)
	r := image.Rect(20, 30, 180, 130)
	a := img.clone()
	paint(a, r, StylePixelate, false)
	colours := map[[3]byte]bool{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := (y*a.w + x) * 3
			colours[[3]byte{a.pix[o], a.pix[o+1], a.pix[o+2]}] = true
		}
	}
	if len(colours) > PixelateCells*PixelateCells {
		t.Errorf("pixelated region has %d colours, want at most %d", len(colours), PixelateCells*PixelateCells)
	}
	b := img.clone()
	shuffleCells(b, newGrid(r, PixelateCells), 5)
	paint(b, r, StylePixelate, false)
	for i := range a.pix {
		if a.pix[i] != b.pix[i] {
			t.Fatalf("pixelate depends on more than the cell averages (byte %d)", i)
		}
	}
}

// TestShapes: solid fills black; an ellipse leaves the corners alone and
// covers the centre; a region reaching outside the frame is clipped.
func TestShapes(t *testing.T) {
	img := newBGR(100, 80)
	pattern(img, 9)
	r := image.Rect(10, 10, 70, 60)
	for _, tc := range []struct {
		style   Style
		ellipse bool
	}{{StyleSolid, false}, {StyleSolid, true}, {StyleBlur, true}, {StylePixelate, true}} {
		a := img.clone()
		paint(a, r, tc.style, tc.ellipse)
		corner := a.at(r.Min.X, r.Min.Y, 0) == img.at(r.Min.X, r.Min.Y, 0) &&
			a.at(r.Max.X-1, r.Max.Y-1, 1) == img.at(r.Max.X-1, r.Max.Y-1, 1)
		if tc.ellipse != corner {
			t.Errorf("%s ellipse=%v: corner untouched = %v", tc.style, tc.ellipse, corner)
		}
		if tc.style == StyleSolid {
			cx, cy := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2
			if a.at(cx, cy, 0) != 0 || a.at(cx, cy, 1) != 0 || a.at(cx, cy, 2) != 0 {
				t.Errorf("solid: centre not black")
			}
		}
	}
	// Clipping: no panic, only the inside part changes.
	a := img.clone()
	paint(a, image.Rect(-30, -30, 20, 20), StyleSolid, false)
	if a.at(0, 0, 0) != 0 || a.at(19, 19, 2) != 0 || a.at(20, 20, 0) != img.at(20, 20, 0) {
		t.Errorf("clipped region painted wrongly")
	}
}

// TestEllipseCoversBox: with the effective margin, the ellipse painted for
// a face contains every pixel of the detected box.
func TestEllipseCoversBox(t *testing.T) {
	for _, m := range []float64{0, 0.05, 0.2, 0.3} {
		for _, sz := range []image.Point{{40, 40}, {37, 55}, {120, 80}} {
			img := newBGR(400, 400)
			for i := range img.pix {
				img.pix[i] = 255
			}
			box := MaskBox{TrackID: 1, Box: boxAt(150, 160, sz.X, sz.Y), Kind: KindDetected}
			regs := expandMasks([]MaskBox{box}, m, ShapeEllipse, img.w, img.h)
			for _, rg := range regs {
				paint(img, rg.rect, StyleSolid, rg.shape == ShapeEllipse)
			}
			for y := 160; y < 160+sz.Y; y++ {
				for x := 150; x < 150+sz.X; x++ {
					if img.at(x, y, 0) != 0 {
						t.Fatalf("margin %g, box %v: pixel (%d,%d) of the detected box is not masked", m, sz, x, y)
					}
				}
			}
		}
	}
}

func boxAt(x, y, w, h int) detect.Box {
	return detect.Box{X: x, Y: y, W: w, H: h, Score: 0.9, Label: detect.LabelFace}
}
