package evalset

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"

	xdraw "golang.org/x/image/draw"
)

// Pure-Go image operations the variants are made of. Images are *image.RGBA,
// opaque except where a function says otherwise.

// readImage decodes a JPEG or PNG file into RGBA.
func readImage(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("evalset: decoding %s: %w", path, err)
	}
	return toRGBA(img), nil
}

func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// writeImage writes img as PNG, or as JPEG at quality q when q > 0, through
// a temporary file renamed into place.
func writeImage(path string, img image.Image, q int) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if q > 0 {
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: q})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(w, img)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// resize scales img to w×h with a Catmull-Rom filter (which widens its
// kernel when shrinking, so small copies do not alias).
func resize(img image.Image, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(out, out.Rect, img, img.Bounds(), xdraw.Src, nil)
	return out
}

// turn rotates img by quarter turns clockwise (1, 2 or 3) and returns the
// map of points with it.
func turn(img *image.RGBA, quarters int) (*image.RGBA, Homography) {
	w, h := float64(img.Rect.Dx()), float64(img.Rect.Dy())
	var hm Homography
	var out *image.RGBA
	switch quarters % 4 {
	case 1: // (x, y) -> (h - y, x)
		hm = Affine(0, -1, h, 1, 0, 0)
		out = image.NewRGBA(image.Rect(0, 0, int(h), int(w)))
	case 2: // (x, y) -> (w - x, h - y)
		hm = Affine(-1, 0, w, 0, -1, h)
		out = image.NewRGBA(image.Rect(0, 0, int(w), int(h)))
	case 3: // (x, y) -> (y, w - x)
		hm = Affine(0, 1, 0, -1, 0, w)
		out = image.NewRGBA(image.Rect(0, 0, int(h), int(w)))
	default:
		return img, Identity
	}
	// Pixel centres map to pixel centres: x+0.5 -> h-(y+0.5) = (h-1-y)+0.5.
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			p := hm.Apply(Pt{float64(x) + 0.5, float64(y) + 0.5})
			out.SetRGBA(int(p.X), int(p.Y), img.RGBAAt(x, y))
		}
	}
	return out, hm
}

// darken simulates a dim ward at night: linear light scaled by gain after a
// gamma, then Gaussian sensor noise (sigma in 8-bit levels, mostly
// luminance), quantised again.
func darken(img *image.RGBA, gamma, gain, sigma float64, rng *rand.Rand) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	var lut [256]float64
	for i := range lut {
		lut[i] = 255 * gain * math.Pow(float64(i)/255, gamma)
	}
	for i := 0; i+3 < len(img.Pix); i += 4 {
		luma := rng.NormFloat64() * sigma
		for c := 0; c < 3; c++ {
			v := lut[img.Pix[i+c]] + luma + rng.NormFloat64()*sigma/3
			out.Pix[i+c] = clamp8(v)
		}
		out.Pix[i+3] = 255
	}
	return out
}

func clamp8(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}

// motionBlur averages each pixel along a line of length n pixels at angle
// a (radians), as a camera or a person moving during the exposure does.
func motionBlur(img *image.RGBA, n int, a float64) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	dx, dy := math.Cos(a), math.Sin(a)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s [3]float64
			for k := 0; k < n; k++ {
				t := float64(k) - float64(n-1)/2
				c := bilinear(img, float64(x)+t*dx, float64(y)+t*dy)
				s[0] += c[0]
				s[1] += c[1]
				s[2] += c[2]
			}
			o := out.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				out.Pix[o+c] = clamp8(s[c] / float64(n))
			}
			out.Pix[o+3] = 255
		}
	}
	return out
}

// bilinear samples img at pixel coordinates (x, y) (pixel centres at
// integers), clamping at the edges; alpha in the fourth value.
func bilinear(img *image.RGBA, x, y float64) [4]float64 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	var out [4]float64
	for _, c := range [4]struct {
		dx, dy int
		wt     float64
	}{{0, 0, (1 - fx) * (1 - fy)}, {1, 0, fx * (1 - fy)}, {0, 1, (1 - fx) * fy}, {1, 1, fx * fy}} {
		if c.wt == 0 {
			continue
		}
		px, py := min(max(ix+c.dx, 0), w-1), min(max(iy+c.dy, 0), h-1)
		o := img.PixOffset(px, py)
		for k := 0; k < 4; k++ {
			out[k] += c.wt * float64(img.Pix[o+k])
		}
	}
	return out
}

// warp maps img through hm (image to output coordinates) onto dst, blending
// by the source alpha: for every output pixel inside the mapped image, the
// source is sampled bilinearly at the inverse-mapped centre. Pixels that
// map outside the source are left alone.
func warp(dst, src *image.RGBA, hm Homography) error {
	inv, err := hm.Inverse()
	if err != nil {
		return err
	}
	sw, sh := float64(src.Rect.Dx()), float64(src.Rect.Dy())
	q := RectQuad(src.Rect).Map(hm.Apply)
	b := q.Bounds().Inset(-1).Intersect(dst.Rect)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := inv.Apply(Pt{float64(x) + 0.5, float64(y) + 0.5})
			if p.X < 0 || p.Y < 0 || p.X >= sw || p.Y >= sh {
				continue
			}
			c := bilinear(src, p.X-0.5, p.Y-0.5)
			a := c[3] / 255
			if a <= 0 {
				continue
			}
			o := dst.PixOffset(x, y)
			for k := 0; k < 3; k++ {
				// src is premultiplied (image.RGBA): out = src + (1-a) dst.
				dst.Pix[o+k] = clamp8(c[k] + (1-a)*float64(dst.Pix[o+k]))
			}
			dst.Pix[o+3] = 255
		}
	}
	return nil
}

// warpImage is warp onto a new w×h canvas filled with fill.
func warpImage(src *image.RGBA, hm Homography, w, h int, fill color.RGBA) (*image.RGBA, error) {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Rect, image.NewUniform(fill), image.Point{}, draw.Src)
	return out, warp(out, src, hm)
}

// addNoise adds mild Gaussian noise (what any camera adds), in place.
func addNoise(img *image.RGBA, sigma float64, rng *rand.Rand) {
	for i := 0; i+3 < len(img.Pix); i += 4 {
		n := rng.NormFloat64() * sigma
		for c := 0; c < 3; c++ {
			img.Pix[i+c] = clamp8(float64(img.Pix[i+c]) + n)
		}
	}
}

// background paints a plain hospital room: a wall with a gradient, a
// floor, doors, a window and a bed frame, all flat colours with noise. It
// has no faces and no text.
func background(w, h int, rng *rand.Rand) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	wall := [3]float64{200 + 30*rng.Float64(), 210 + 20*rng.Float64(), 190 + 30*rng.Float64()}
	floorY := int(float64(h) * (0.6 + 0.1*rng.Float64()))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(x, y)
			f := 0.75 + 0.25*float64(x)/float64(w)
			c := wall
			if y >= floorY {
				c = [3]float64{120, 130, 140}
				f = 0.7 + 0.3*float64(y-floorY)/float64(h-floorY)
			}
			for k := 0; k < 3; k++ {
				img.Pix[o+k] = clamp8(c[k] * f)
			}
			img.Pix[o+3] = 255
		}
	}
	rect := func(r image.Rectangle, c color.RGBA) {
		draw.Draw(img, r.Intersect(img.Rect), image.NewUniform(c), image.Point{}, draw.Src)
	}
	for i := 0; i < 3; i++ { // doors and cupboards
		x := rng.IntN(w)
		dw, dh := w/12+rng.IntN(w/12), floorY*2/3
		rect(image.Rect(x, floorY-dh, x+dw, floorY), color.RGBA{uint8(120 + rng.IntN(100)), uint8(100 + rng.IntN(80)), uint8(80 + rng.IntN(60)), 255})
	}
	x := rng.IntN(w * 3 / 4) // a window
	rect(image.Rect(x, floorY/8, x+w/6, floorY/2), color.RGBA{170, 200, 230, 255})
	bx := rng.IntN(w * 2 / 3) // a bed: frame and mattress
	rect(image.Rect(bx, floorY-h/10, bx+w/4, floorY+h/12), color.RGBA{230, 230, 235, 255})
	rect(image.Rect(bx, floorY+h/12, bx+w/4, floorY+h/12+6), color.RGBA{90, 90, 100, 255})
	addNoise(img, 3, rng)
	return img
}
