//go:build cgo

package detect

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/evalset"
)

// wornCardScene paints a shirt of colour shirt below a face box of width
// fw (the person's face: skin-toned), hangs a benchmark card (evalset's
// renderer) of width k·fw from the neck with the given tilt and yaw, and
// returns the picture, the face box and the card's quadrilateral.
func wornCardScene(t *testing.T, fw int, k, tilt, yaw float64, shirt color.RGBA, stripes bool, seed string) (gocv.Mat, Box, evalset.Quad) {
	t.Helper()
	w, h := 5*fw, 6*fw
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{200, 190, 170, 255}), image.Point{}, draw.Src)
	face := image.Rect(2*fw, fw/2, 3*fw, fw/2+fw*6/5)
	draw.Draw(img, face, image.NewUniform(color.RGBA{205, 160, 130, 255}), image.Point{}, draw.Src)
	body := image.Rect(fw, face.Max.Y+fw/5, 4*fw, h)
	draw.Draw(img, body, image.NewUniform(shirt), image.Point{}, draw.Src)
	if stripes {
		for y := body.Min.Y; y < body.Max.Y; y += fw / 4 {
			draw.Draw(img, image.Rect(body.Min.X, y, body.Max.X, y+fw/8), image.NewUniform(color.RGBA{245, 245, 245, 255}), image.Point{}, draw.Src)
		}
	}
	pivot := evalset.Pt{X: float64(face.Min.X+face.Max.X) / 2, Y: float64(face.Max.Y) + 0.9*float64(face.Dy())}
	q, err := evalset.WearCard(img, pivot, k*float64(fw), tilt, yaw, true, portrait(), seed)
	if err != nil {
		t.Fatal(err)
	}
	mat, err := gocv.ImageToMatRGB(img)
	if err != nil {
		t.Fatal(err)
	}
	return mat, boxFromRect(face, 0.9, LabelFace), q
}

// The card finder masks a worn card whole, and within about twice its
// area, at every size the benchmark has (25 to 150 px), flat, tilted and
// turned, on dark and mid-toned shirts on its own; on a white coat and a
// striped shirt, where the outline is found in part or not at all, the
// text found in the badge zone completes it (DetectText), but for
// knownCardMisses. A shirt with no card gets no mask (TestWornCardsNoCard).
func TestWornCardsFindsRenderedCards(t *testing.T) {
	shirts := []struct {
		name       string
		c          color.RGBA
		stripes    bool
		finderOnly bool // the outline alone finds the card
	}{
		{"navy", color.RGBA{25, 35, 70, 255}, false, true},
		{"scrubs", color.RGBA{60, 110, 160, 255}, false, true},
		{"grey", color.RGBA{120, 120, 120, 255}, false, true},
		{"dark red", color.RGBA{120, 20, 30, 255}, false, true},
		{"white coat", color.RGBA{238, 238, 235, 255}, false, false},
		{"navy stripes", color.RGBA{25, 35, 70, 255}, true, false},
	}
	poses := []struct {
		name      string
		tilt, yaw float64
	}{{"flat", 0, 0}, {"tilted", 20, 0}, {"turned", 5, 45}}
	c := openT(t, Config{Face: FaceYuNet, Text: TextBadges})
	for _, fw := range []int{45, 90, 200} {
		for _, sh := range shirts {
			for _, p := range poses {
				name := fmt.Sprintf("face %dpx %s %s", fw, sh.name, p.name)
				t.Run(name, func(t *testing.T) {
					img, face, q := wornCardScene(t, fw, 0.7, p.tilt, p.yaw, sh.c, sh.stripes, name)
					defer img.Close()
					if sh.finderOnly {
						checkCardMasked(t, img, q, wornCards(img, []Box{face}))
					}
					if why, ok := knownCardMisses[name]; ok {
						t.Skip("known miss: " + why)
					}
					c.ResetCadence()
					if testing.Verbose() {
						cardDebug = func(s string) {
							if strings.HasPrefix(s, "text") || strings.HasPrefix(s, "pick") {
								t.Log(s)
							}
						}
						defer func() { cardDebug = nil }()
					}
					boxes, err := c.DetectText(img, []Box{face})
					if err != nil {
						t.Fatal(err)
					}
					checkCardMasked(t, img, q, boxes)
				})
			}
		}
	}
}

// checkCardMasked fails unless the masks redact paints for boxes cover
// the card q (evalset's 90%) within 4 times its area.
func checkCardMasked(t *testing.T, img gocv.Mat, q evalset.Quad, boxes []Box) {
	t.Helper()
	var r evalset.Result
	var masks []evalset.Mask
	for _, b := range boxes {
		masks = append(masks, evalset.Mask{Rect: Expand(b, TextMargin, image.Rect(0, 0, img.Cols(), img.Rows())).Rect(), Label: "text"})
	}
	r.Add("", img.Cols(), img.Rows(), []evalset.Truth{{Kind: evalset.KindBadge, Quad: q}}, masks)
	if r.Recall(evalset.KindBadge) < 1 {
		t.Fatalf("card %v not masked: masks %v (%v)", q.Bounds(), boxes, r.Missed)
	}
	if _, worst := r.AreaRatio(); worst > 4 {
		t.Errorf("card %v masked by %v: %.1fx its area, want at most 4x", q.Bounds(), boxes, worst)
	}
}

// No card, no card mask: a plain shirt under a face.
func TestWornCardsNoCard(t *testing.T) {
	for _, c := range []color.RGBA{{25, 35, 70, 255}, {240, 240, 240, 255}} {
		img, face, _ := wornCardScene(t, 90, 0.7, 0, 0, c, false, "none")
		// Paint over the card: the same scene without it.
		body := image.Rect(face.X-face.W, face.Y+face.H+face.W/5, face.X+2*face.W, img.Rows())
		gocv.Rectangle(&img, body, color.RGBA{c.B, c.G, c.R, 255}, -1)
		if boxes := wornCards(img, []Box{face}); len(boxes) > 0 {
			t.Errorf("shirt %v: masked %v, want nothing", c, boxes)
		}
		img.Close()
	}
}

// The badge zone of a face reaches from below the chin to the belly, a
// little wider than the shoulders; a head's is that of the face it holds.
func TestBadgeZone(t *testing.T) {
	as := anchors([]Box{{X: 100, Y: 50, W: 40, H: 48, Label: LabelFace}, {X: 300, Y: 40, W: 100, H: 80, Label: LabelHead}, {X: 0, Y: 0, W: 10, H: 10, Label: LabelText}})
	if len(as) != 2 {
		t.Fatalf("%d anchors, want a face's and a head's", len(as))
	}
	if z, want := as[0].zone(), image.Rect(48, 102, 192, 258); z != want {
		t.Errorf("face zone %v, want %v", z, want)
	}
	if f := as[1].faceBox(); f.W < 44 || f.W > 46 || f.Label != LabelFace || f.Y+f.H > 120 {
		t.Errorf("head's face %v, want 45 px wide, inside the head region", f)
	}
}

// portrait is a card photo: dark hair over a skin-toned face on a pale
// backdrop.
func portrait() image.Image {
	p := image.NewRGBA(image.Rect(0, 0, 90, 110))
	draw.Draw(p, p.Rect, image.NewUniform(color.RGBA{190, 200, 215, 255}), image.Point{}, draw.Src)
	draw.Draw(p, image.Rect(20, 10, 70, 50), image.NewUniform(color.RGBA{50, 35, 25, 255}), image.Point{}, draw.Src)
	draw.Draw(p, image.Rect(25, 30, 65, 85), image.NewUniform(color.RGBA{200, 150, 120, 255}), image.Point{}, draw.Src)
	draw.Draw(p, image.Rect(10, 85, 80, 110), image.NewUniform(color.RGBA{40, 60, 110, 255}), image.Point{}, draw.Src)
	return p
}

// BenchmarkFindCards is the card finder's cost per face (a 90 px face;
// the zone is scaled to the face, so the cost hardly depends on it).
func BenchmarkFindCards(b *testing.B) {
	img, face, _ := wornCardScene(&testing.T{}, 90, 0.7, 20, 0, color.RGBA{60, 110, 160, 255}, false, "bench")
	defer img.Close()
	a := anchors([]Box{face})[0]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pickCard(findCards(img, a), a.unit)
	}
}

// BenchmarkZoneText is the cost of the PP-OCR pass on one badge zone.
func BenchmarkZoneText(b *testing.B) {
	img, face, _ := wornCardScene(&testing.T{}, 90, 0.7, 20, 0, color.RGBA{60, 110, 160, 255}, false, "bench")
	defer img.Close()
	c, _, err := OpenComposite(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cfg := c.Config()
	a := anchors([]Box{face})[0]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.text.zoneText(img, a, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// knownCardMisses are the cases not masked whole yet (see the report of
// issue 12): on white and navy stripes an eighth of a face wide the card's
// white merges with the stripes at every opening and the text model reads
// stripes as lines; a small tilted white card on a white coat shows only
// its header, tilted too far to be taken for one.
var knownCardMisses = map[string]string{
	"face 45px white coat tilted":   "only the tilted header stands out",
	"face 45px navy stripes flat":   "stripes read as text beside the card",
	"face 45px navy stripes tilted": "card merges with the stripes",
	"face 45px navy stripes turned": "stripes read as text beside the card",
	"face 90px navy stripes tilted": "card merges with the stripes",
	"face 90px navy stripes turned": "stripes read as text beside the card",
}
