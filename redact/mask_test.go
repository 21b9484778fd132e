package redact

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/custody-evidence/custody/detect"
)

func newBGR(w, h int) frameImage { return frameImage{pix: make([]byte, w*h*3), w: w, h: h} }

func newI420(w, h int) frameImage {
	return frameImage{pix: make([]byte, w*h+2*((w+1)/2)*((h+1)/2)), w: w, h: h, yuv: true}
}

func (b frameImage) clone() frameImage {
	b.pix = append([]byte(nil), b.pix...)
	return b
}

// at reads channel c of a BGR24 image.
func (b frameImage) at(x, y, c int) float64 { return float64(b.pix[(y*b.w+x)*3+c]) }

func (p plane) at(x, y, c int) float64 { return float64(p.pix[(y*p.w+x)*p.ch+c]) }

// pattern fills every plane of img with fine detail: a one-pixel
// checkerboard overlaid with noise, the hardest case for a blur to destroy.
func pattern(img frameImage, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, p := range img.planes() {
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				base := 60
				if (x+y)%2 == 0 {
					base = 190
				}
				for c := 0; c < p.ch; c++ {
					p.pix[(y*p.w+x)*p.ch+c] = byte(base + rng.IntN(40) - 20)
				}
			}
		}
	}
}

// shuffleCells permutes the pixels inside every cell of g in plane p: the
// cell averages stay exactly the same, every detail inside changes.
func shuffleCells(p plane, g grid, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	w, h := g.r.Dx(), g.r.Dy()
	for cy := 0; cy < g.rows; cy++ {
		for cx := 0; cx < g.cols; cx++ {
			var px []int
			for y := g.r.Min.Y + edge(cy, g.rows, h); y < g.r.Min.Y+edge(cy+1, g.rows, h); y++ {
				for x := g.r.Min.X + edge(cx, g.cols, w); x < g.r.Min.X+edge(cx+1, g.cols, w); x++ {
					px = append(px, (y*p.w+x)*p.ch)
				}
			}
			vals := make([][]byte, len(px))
			for i, o := range px {
				vals[i] = append([]byte(nil), p.pix[o:o+p.ch]...)
			}
			rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
			for i, o := range px {
				copy(p.pix[o:o+p.ch], vals[i])
			}
		}
	}
}

// correlation is Pearson's r between two planes over rectangle r, all
// channels.
func correlation(a, b plane, r image.Rectangle) float64 {
	var sa, sb, saa, sbb, sab, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			for c := 0; c < a.ch; c++ {
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
// smoothing it, in each plane of BGR24 and yuv420p frames: (1) two regions
// that differ in every detail but share their cell averages blur to
// identical pixels, so no algorithm can tell from the output which one was
// there; (2) the output does not correlate with the original fine pattern;
// (3) the output carries no more than BlurCells² values per channel of
// information.
func TestBlurIrreversible(t *testing.T) {
	for _, format := range []string{"bgr24", "yuv420p"} {
		for _, size := range []image.Point{{120, 160}, {37, 41}, {400, 90}, {5, 3}} {
			name := fmt.Sprintf("%s %v", format, size)
			img := newBGR(size.X+20, size.Y+20)
			if format == "yuv420p" {
				img = newI420(size.X+20, size.Y+20)
			}
			pattern(img, 7)
			r := image.Rect(10, 10, 10+size.X, 10+size.Y)
			other := img.clone()
			for i, p := range other.planes() {
				pr := p.rect(r)
				g := newGrid(pr, BlurCells)
				if g.cols > BlurCells || g.rows > BlurCells {
					t.Fatalf("%s: grid %dx%d exceeds %d cells", name, g.cols, g.rows, BlurCells)
				}
				shuffleCells(p, g, 11+uint64(i))
				if pr.Dx()*pr.Dy() > 100 && correlation(img.planes()[i], p, pr) > 0.5 {
					t.Fatalf("%s plane %d: shuffled image still correlates with the original; the test proves nothing", name, i)
				}
			}

			a, b := img.clone(), other.clone()
			paint(a, r, StyleBlur, false)
			paint(b, r, StyleBlur, false)
			for i := range a.pix {
				if a.pix[i] != b.pix[i] {
					t.Fatalf("%s: regions with equal cell averages blur differently at byte %d: detail survives", name, i)
				}
			}

			for i, p := range img.planes() {
				pr := p.rect(r)
				g := newGrid(pr, BlurCells)
				// The fine pattern is gone: the blurred region does not
				// correlate with the detail of the original (its deviation
				// from cell means).
				detail := p
				detail.pix = append([]byte(nil), p.pix...)
				means := g.means(p)
				w, h := pr.Dx(), pr.Dy()
				for y := pr.Min.Y; y < pr.Max.Y; y++ {
					cy := cellOf(y-pr.Min.Y, g.rows, h)
					for x := pr.Min.X; x < pr.Max.X; x++ {
						cx := cellOf(x-pr.Min.X, g.cols, w)
						for c := 0; c < p.ch; c++ {
							v := p.at(x, y, c) - means[(cy*g.cols+cx)*p.ch+c] + 128
							detail.pix[(y*p.w+x)*p.ch+c] = byte(math.Max(0, math.Min(255, v)))
						}
					}
				}
				ap := a.planes()[i]
				if w*h > 100 {
					if rr := correlation(ap, detail, pr); math.Abs(rr) > 0.1 {
						t.Errorf("%s plane %d: blurred region correlates with the original detail: r=%.3f", name, i, rr)
					}
				}
				// Pixels outside the region are untouched.
				for y := 0; y < p.h; y++ {
					for x := 0; x < p.w; x++ {
						if image.Pt(x, y).In(pr) {
							continue
						}
						for c := 0; c < p.ch; c++ {
							if ap.at(x, y, c) != p.at(x, y, c) {
								t.Fatalf("%s plane %d: pixel (%d,%d) outside the region changed", name, i, x, y)
							}
						}
					}
				}
			}
		}
	}
}

// TestI420Planes: a mask on a yuv420p frame covers the region in Y and every
// chroma sample touching it, solid is limited-range black, and the colour
// read back for review previews matches BT.601.
func TestI420Planes(t *testing.T) {
	img := newI420(64, 48)
	pattern(img, 5)
	a := img.clone()
	r := image.Rect(9, 7, 31, 27) // odd edges: chroma rounds outwards
	paint(a, r, StyleSolid, false)
	pl := a.planes()
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			in := image.Pt(x, y).In(r)
			if got := pl[0].at(x, y, 0); in && got != 16 {
				t.Fatalf("Y (%d,%d) = %v inside the mask, want 16", x, y, got)
			}
			if !in && pl[0].at(x, y, 0) != img.planes()[0].at(x, y, 0) {
				t.Fatalf("Y (%d,%d) outside the mask changed", x, y)
			}
		}
	}
	cr := image.Rect(4, 3, 16, 14)
	for _, i := range []int{1, 2} {
		for y := 0; y < 24; y++ {
			for x := 0; x < 32; x++ {
				got, orig := pl[i].at(x, y, 0), img.planes()[i].at(x, y, 0)
				if image.Pt(x, y).In(cr) {
					if got != 128 {
						t.Fatalf("plane %d (%d,%d) = %v inside the mask, want 128", i, x, y, got)
					}
				} else if got != orig {
					t.Fatalf("plane %d (%d,%d) outside the mask changed", i, x, y)
				}
			}
		}
	}
	// An ellipse: every pixel masked in Y has its chroma sample masked
	// too (no masked pixel keeps its own colour), and a chroma sample is
	// masked only if its 2x2 block meets the ellipse.
	for _, er := range []image.Rectangle{image.Rect(9, 7, 31, 27), image.Rect(10, 10, 50, 40), image.Rect(3, 4, 60, 47)} {
		e := img.clone()
		paint(e, er, StyleSolid, true)
		el := newEllipse(er)
		ep, op := e.planes(), img.planes()
		meets := map[image.Point]bool{}
		for y := er.Min.Y; y < er.Max.Y; y++ {
			for x := er.Min.X; x < er.Max.X; x++ {
				if !el.inside(x, y) {
					continue
				}
				meets[image.Pt(x/2, y/2)] = true
				if ep[0].at(x, y, 0) != 16 {
					t.Fatalf("%v: Y (%d,%d) inside the ellipse not masked", er, x, y)
				}
			}
		}
		for _, i := range []int{1, 2} {
			for y := 0; y < 24; y++ {
				for x := 0; x < 32; x++ {
					got, orig := ep[i].at(x, y, 0), op[i].at(x, y, 0)
					switch {
					case meets[image.Pt(x, y)] && got != 128:
						t.Fatalf("%v: plane %d (%d,%d) under a masked pixel keeps %v", er, i, x, y, got)
					case !meets[image.Pt(x, y)] && got != orig:
						t.Fatalf("%v: plane %d (%d,%d) changed outside the ellipse", er, i, x, y)
					}
				}
			}
		}
	}
	if r, g, b := a.rgb(15, 15); r != 0 || g != 0 || b != 0 {
		t.Errorf("solid mask reads back as rgb(%d,%d,%d), want black", r, g, b)
	}
	// BT.601 limited range: white, and a saturated red.
	w := newI420(2, 2)
	copy(w.pix, []byte{235, 235, 235, 235, 128, 128})
	if r, g, b := w.rgb(1, 1); r != 255 || g != 255 || b != 255 {
		t.Errorf("Y 235 reads as rgb(%d,%d,%d), want white", r, g, b)
	}
	copy(w.pix, []byte{81, 81, 81, 81, 90, 240})
	if r, g, b := w.rgb(0, 0); r < 250 || g > 5 || b > 5 {
		t.Errorf("BT.601 red reads as rgb(%d,%d,%d)", r, g, b)
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
	shuffleCells(b.planes()[0], newGrid(r, PixelateCells), 5)
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

// TestEllipseSpan: the row spans painted are exactly the pixels the
// ellipse test accepts, for boxes of every parity and shape.
func TestEllipseSpan(t *testing.T) {
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, 1, 1), image.Rect(3, 5, 4, 9), image.Rect(10, 10, 57, 83), image.Rect(-20, 7, 33, 8),
		image.Rect(100, 200, 404, 640), image.Rect(1, 2, 302, 3), image.Rect(5, 5, 6, 400),
	} {
		el := newEllipse(r)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			x0, x1 := el.span(r, y)
			for x := r.Min.X; x < r.Max.X; x++ {
				if in := x >= x0 && x < x1; in != el.inside(x, y) {
					t.Fatalf("%v row %d: span [%d,%d) disagrees with the test at x=%d", r, y, x0, x1, x)
				}
			}
		}
	}
}
