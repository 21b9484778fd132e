package evalset

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Card rendering: an NHS-style staff ID card, CR80 proportions (85.6 ×
// 54 mm) at 4 px/mm, with a photo, a name, a role, the trust's logo, a
// role band and a barcode. Everything on it identifies its wearer.

// NHS identity colours.
var (
	nhsBlue     = color.RGBA{0, 94, 184, 255}
	nhsDarkBlue = color.RGBA{0, 48, 135, 255}
	nhsWhite    = color.RGBA{255, 255, 255, 255}
	nhsText     = color.RGBA{33, 43, 50, 255}
	nhsGrey     = color.RGBA{174, 183, 189, 255}
)

const (
	cardLong  = 344 // px, 85.6 mm
	cardShort = 216 // px, 54 mm
)

// cardSpec is what a card shows.
type cardSpec struct {
	portrait    bool
	name, role  string
	band        string
	bandColor   color.RGBA
	trust       [2]string
	logo        int // 0: NHS lozenge, 1: a round emblem with a cross
	photo       image.Image
	barcodeSeed uint64
}

var (
	firstNames = []string{"Sarah", "Amara", "Tomasz", "Priya", "James", "Aisha", "Oluwaseun", "Grace", "Mohammed",
		"Siobhan", "Chen", "Eleanor", "Kwame", "Fatima", "Rhys", "Ana", "David", "Niamh", "Ravi", "Joanna"}
	lastNames = []string{"Okafor", "Williams", "Kowalski", "Patel", "O'Brien", "Hussain", "Adeyemi", "Thompson",
		"Rahman", "McAllister", "Li", "Fitzgerald", "Mensah", "Ali", "Evans", "Silva", "Jones", "Murphy", "Sharma", "Nowak"}
	roles = []struct {
		role, band string
		c          color.RGBA
	}{
		{"Staff Nurse", "NURSE", nhsDarkBlue},
		{"Senior Sister", "NURSE", color.RGBA{0, 32, 91, 255}},
		{"Healthcare Assistant", "HEALTHCARE ASSISTANT", color.RGBA{0, 150, 57, 255}},
		{"Consultant Physician", "DOCTOR", color.RGBA{125, 40, 135, 255}},
		{"Foundation Doctor", "DOCTOR", color.RGBA{125, 40, 135, 255}},
		{"Porter", "SUPPORT STAFF", color.RGBA{65, 75, 86, 255}},
		{"Physiotherapist", "ALLIED HEALTH", color.RGBA{0, 164, 153, 255}},
		{"Paramedic", "AMBULANCE", color.RGBA{0, 114, 84, 255}},
		{"Midwife", "MIDWIFE", color.RGBA{174, 37, 115, 255}},
		{"Radiographer", "ALLIED HEALTH", color.RGBA{0, 164, 153, 255}},
		{"Ward Clerk", "ADMINISTRATION", color.RGBA{237, 139, 0, 255}},
	}
	trusts = [][2]string{
		{"Northgate Hospitals", "NHS Foundation Trust"},
		{"St Elsewhere", "NHS Trust"},
		{"Riverside University", "Health Board"},
		{"Kingsbridge & District", "NHS Foundation Trust"},
	}
)

// randomCard draws a card's text and style from rng; the photo is the
// caller's.
func randomCard(rng *rand.Rand, photo image.Image, portrait bool) cardSpec {
	r := roles[rng.IntN(len(roles))]
	return cardSpec{
		portrait: portrait,
		name:     firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))],
		role:     r.role, band: r.band, bandColor: r.c,
		trust:       trusts[rng.IntN(len(trusts))],
		logo:        rng.IntN(2),
		photo:       photo,
		barcodeSeed: rng.Uint64(),
	}
}

var (
	fontsOnce sync.Once
	fonts     map[string]*opentype.Font
	fontsErr  error
	facesMu   sync.Mutex
	faces     = map[string]font.Face{}
)

// face returns a font face (regular, bold, bolditalic, mono) at size px.
func face(name string, size float64) (font.Face, error) {
	fontsOnce.Do(func() {
		fonts = map[string]*opentype.Font{}
		for n, ttf := range map[string][]byte{"regular": goregular.TTF, "bold": gobold.TTF,
			"bolditalic": gobolditalic.TTF, "mono": gomono.TTF} {
			f, err := opentype.Parse(ttf)
			if err != nil {
				fontsErr = err
				return
			}
			fonts[n] = f
		}
	})
	if fontsErr != nil {
		return nil, fontsErr
	}
	key := fmt.Sprintf("%s/%.1f", name, size)
	facesMu.Lock()
	defer facesMu.Unlock()
	if f, ok := faces[key]; ok {
		return f, nil
	}
	f, err := opentype.NewFace(fonts[name], &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	faces[key] = f
	return f, nil
}

// text draws s with its baseline at y, starting at x, or centred on x when
// centre; the size shrinks until it fits in maxW.
func text(img *image.RGBA, s, fontName string, size float64, x, y, maxW int, centre bool, c color.Color) error {
	for ; size > 6; size *= 0.92 {
		f, err := face(fontName, size)
		if err != nil {
			return err
		}
		w := font.MeasureString(f, s).Round()
		if w > maxW && size*0.92 > 6 {
			continue
		}
		if centre {
			x -= w / 2
		}
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: f, Dot: fixed.P(x, y)}
		d.DrawString(s)
		return nil
	}
	return nil
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Over)
}

// renderCard draws the card on a transparent canvas with rounded corners.
func renderCard(s cardSpec) (*image.RGBA, error) {
	w, h := cardLong, cardShort
	if s.portrait {
		w, h = cardShort, cardLong
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Rect, nhsWhite)
	header := 50
	if s.portrait {
		header = 66
	}
	fill(img, image.Rect(0, 0, w, header), nhsBlue)
	if err := drawLogo(img, s, header); err != nil {
		return nil, err
	}
	band := image.Rect(0, h-30, w, h)
	fill(img, band, s.bandColor)
	if err := text(img, s.band, "bold", 17, w/2, h-9, w-16, true, nhsWhite); err != nil {
		return nil, err
	}
	// Photo, name, role, barcode.
	var photo, barcode image.Rectangle
	var nameX, nameY, textW int
	centre := s.portrait
	if s.portrait {
		photo = image.Rect(w/2-50, header+10, w/2+50, header+132)
		nameX, nameY, textW = w/2, photo.Max.Y+26, w-16
		barcode = image.Rect(24, nameY+34, w-24, h-42)
	} else {
		photo = image.Rect(12, header+10, 100, header+120)
		nameX, nameY, textW = photo.Max.X+12, header+34, w-photo.Max.X-20
		barcode = image.Rect(nameX, nameY+40, w-14, h-40)
	}
	if s.photo != nil {
		draw.Draw(img, photo, resize(s.photo, photo.Dx(), photo.Dy()), image.Point{}, draw.Src)
	}
	outline(img, photo, nhsGrey)
	if err := text(img, s.name, "bold", 24, nameX, nameY, textW, centre, nhsText); err != nil {
		return nil, err
	}
	if err := text(img, s.role, "regular", 17, nameX, nameY+22, textW, centre, nhsText); err != nil {
		return nil, err
	}
	if err := drawBarcode(img, barcode, s.barcodeSeed); err != nil {
		return nil, err
	}
	roundCorners(img, 14)
	return img, nil
}

// drawLogo draws the trust's logo and name in the header band.
func drawLogo(img *image.RGBA, s cardSpec, header int) error {
	w := img.Rect.Dx()
	lx, ly := 10, 10
	if s.portrait {
		lx = w/2 - 34
	}
	if s.logo == 0 {
		// The lozenge: white box, blue bold italic NHS.
		fill(img, image.Rect(lx, ly, lx+68, ly+30), nhsWhite)
		if err := text(img, "NHS", "bolditalic", 27, lx+34, ly+25, 64, true, nhsBlue); err != nil {
			return err
		}
	} else {
		// A round emblem with a cross.
		cx, cy, r := lx+15, ly+15, 15
		for y := cy - r; y <= cy+r; y++ {
			for x := cx - r; x <= cx+r; x++ {
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
					img.SetRGBA(x, y, nhsWhite)
				}
			}
		}
		fill(img, image.Rect(cx-3, cy-10, cx+4, cy+11), nhsBlue)
		fill(img, image.Rect(cx-10, cy-3, cx+11, cy+4), nhsBlue)
	}
	if s.portrait {
		if err := text(img, s.trust[0]+" "+s.trust[1], "bold", 12, w/2, header-8, w-12, true, nhsWhite); err != nil {
			return err
		}
		return nil
	}
	tx := lx + 80
	if s.logo == 1 {
		tx = lx + 40
	}
	if err := text(img, s.trust[0], "bold", 15, tx, ly+13, w-tx-8, false, nhsWhite); err != nil {
		return err
	}
	return text(img, s.trust[1], "regular", 13, tx, ly+30, w-tx-8, false, nhsWhite)
}

func outline(img *image.RGBA, r image.Rectangle, c color.Color) {
	fill(img, image.Rect(r.Min.X-2, r.Min.Y-2, r.Max.X+2, r.Min.Y), c)
	fill(img, image.Rect(r.Min.X-2, r.Max.Y, r.Max.X+2, r.Max.Y+2), c)
	fill(img, image.Rect(r.Min.X-2, r.Min.Y, r.Min.X, r.Max.Y), c)
	fill(img, image.Rect(r.Max.X, r.Min.Y, r.Max.X+2, r.Max.Y), c)
}

// drawBarcode draws bars of one to four modules (as Code 128 does) with
// the staff number under them.
func drawBarcode(img *image.RGBA, r image.Rectangle, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 7))
	digits := fmt.Sprintf("%08d", rng.IntN(100000000))
	barsH := r.Dy() - 14
	x, bar := r.Min.X+4, true
	for x < r.Max.X-4 {
		wd := 2 * (1 + rng.IntN(4))
		if bar {
			fill(img, image.Rect(x, r.Min.Y, min(x+wd, r.Max.X-4), r.Min.Y+barsH), nhsText)
		}
		x += wd
		bar = !bar
	}
	return text(img, digits, "mono", 12, (r.Min.X+r.Max.X)/2, r.Max.Y, r.Dx(), true, nhsText)
}

// roundCorners makes the corners outside a radius transparent, with
// anti-aliased edges (4×4 samples per pixel).
func roundCorners(img *image.RGBA, rad int) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for _, c := range [4]image.Point{{rad, rad}, {w - rad, rad}, {rad, h - rad}, {w - rad, h - rad}} {
		for y := c.Y - rad; y < c.Y+rad; y++ {
			for x := c.X - rad; x < c.X+rad; x++ {
				if x < 0 || y < 0 || x >= w || y >= h {
					continue
				}
				// Only the quarter outside the inner rectangle.
				if (x >= rad && x < w-rad) || (y >= rad && y < h-rad) {
					continue
				}
				in := 0
				for sy := 0; sy < 4; sy++ {
					for sx := 0; sx < 4; sx++ {
						dx := float64(x) + (float64(sx)+0.5)/4 - float64(c.X)
						dy := float64(y) + (float64(sy)+0.5)/4 - float64(c.Y)
						if math.Hypot(dx, dy) <= float64(rad) {
							in++
						}
					}
				}
				a := float64(in) / 16
				o := img.PixOffset(x, y)
				for k := 0; k < 4; k++ {
					img.Pix[o+k] = uint8(math.Round(float64(img.Pix[o+k]) * a))
				}
			}
		}
	}
}
