package detect

import (
	"image"
	"testing"
)

func TestPersonZone(t *testing.T) {
	face := Box{X: 100, Y: 50, W: 40, H: 50, Label: LabelFace}
	tests := []struct {
		name string
		p    image.Point
		want bool
	}{
		{"chest", image.Pt(120, 180), true},
		{"lanyard at the belly", image.Pt(120, 330), true},
		{"shoulder pocket", image.Pt(50, 150), true},
		{"far to the side", image.Pt(300, 150), false},
		{"below the belt", image.Pt(120, 420), false},
		{"above the head", image.Pt(120, 10), false},
	}
	for _, tc := range tests {
		r := image.Rectangle{Min: tc.p, Max: tc.p.Add(image.Pt(1, 1))}
		if got := onPerson(r, []Box{face}); got != tc.want {
			t.Errorf("%s %v: onPerson = %v, want %v (zone %v)", tc.name, tc.p, got, tc.want, personZone(face))
		}
	}
	if onPerson(image.Rect(120, 180, 121, 181), []Box{{X: 100, Y: 50, W: 40, H: 50, Label: LabelText}}) {
		t.Error("a text box counted as a person")
	}
}

func TestClusterText(t *testing.T) {
	tb := func(x, y, w, h int) Box { return Box{X: x, Y: y, W: w, H: h, Score: 0.8, Label: LabelText} }
	boxes := []Box{
		tb(100, 100, 80, 12), // badge line 1
		tb(100, 118, 60, 12), // badge line 2, 6 px below
		tb(400, 100, 80, 12), // another sign, far away
		tb(100, 180, 50, 12), // 50 px below line 2: too far
	}
	cl := clusterText(boxes)
	if len(cl) != 3 {
		t.Fatalf("%d clusters, want 3: %+v", len(cl), cl)
	}
	if got := cl[0].bounds; got != image.Rect(100, 100, 180, 130) || len(cl[0].boxes) != 2 || cl[0].lineH != 12 {
		t.Errorf("badge cluster %+v", cl[0])
	}
}

// A portrait hospital badge (54×86 units, photo above the name) and a
// landscape ID card (86×54, photo at the left): the guessed card extent of
// the name line alone must cover the whole card, photo included.
func TestGuessCardCoversCommonLayouts(t *testing.T) {
	const u = 4 // pixels per mm
	tests := []struct {
		name string
		card image.Rectangle
		text image.Rectangle // the name line as DB finds it (unclipped)
	}{
		{"portrait badge", image.Rect(0, 0, 54*u, 86*u), image.Rect(5*u, 58*u, 49*u, 66*u)},
		{"portrait badge, short name", image.Rect(0, 0, 54*u, 86*u), image.Rect(17*u, 58*u, 37*u, 66*u)},
		{"landscape ID card", image.Rect(0, 0, 86*u, 54*u), image.Rect(36*u, 18*u, 82*u, 25*u)},
		{"landscape, name at the top", image.Rect(0, 0, 86*u, 54*u), image.Rect(30*u, 5*u, 80*u, 12*u)},
	}
	for _, tc := range tests {
		c := textCluster{boxes: []Box{boxFromRect(tc.text, 1, LabelText)}, bounds: tc.text, lineH: tc.text.Dy()}
		g := guessCard(c, Box{})
		// The wearer's face is larger than the card: no clamping.
		if gf := guessCard(c, Box{W: 150 * u, H: 200 * u}); gf != g {
			t.Errorf("%s: clamped by a large face: %v, want %v", tc.name, gf, g)
		}
		if cov := Coverage(tc.card, []image.Rectangle{g}); cov < 1 {
			t.Errorf("%s: guessed card %v covers %.0f%% of the card %v", tc.name, g, 100*cov, tc.card)
		}
		if a, ca := g.Dx()*g.Dy(), tc.card.Dx()*tc.card.Dy(); a > 8*ca {
			t.Errorf("%s: guessed card %v is %.1f× the card area", tc.name, g, float64(a)/float64(ca))
		}
	}
}

func TestGuessCardClampedByFace(t *testing.T) {
	c := textCluster{bounds: image.Rect(100, 100, 154, 193), lineH: 54}
	g := guessCard(c, Box{X: 90, Y: 0, W: 60, H: 50, Label: LabelFace})
	if want := image.Rect(55, 55, 199, 238); g != want {
		t.Errorf("guessCard = %v, want %v (0.9 face heights around the text)", g, want)
	}
}

func TestPlausibleCard(t *testing.T) {
	text := image.Rect(100, 100, 180, 112)
	c := textCluster{bounds: text, lineH: 12}
	tests := []struct {
		name string
		r    image.Rectangle
		fill float64
		want bool
	}{
		{"badge around the text", image.Rect(90, 40, 190, 160), 0.95, true},
		{"only the text line", image.Rect(98, 98, 182, 114), 0.95, false},
		{"misses the text", image.Rect(200, 40, 300, 160), 0.95, false},
		{"wall-sized", image.Rect(0, 0, 600, 500), 0.95, false},
		{"sliver", image.Rect(95, 0, 185, 400), 0.95, false},
		{"not closed", image.Rect(90, 40, 190, 160), 0.2, false},
	}
	for _, tc := range tests {
		if got := plausibleCard(tc.r, tc.fill, c); got != tc.want {
			t.Errorf("%s: plausibleCard = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMoveWithWearer(t *testing.T) {
	face := Box{X: 100, Y: 100, W: 40, H: 50, Score: 1, Label: LabelFace}
	badge := Box{X: 110, Y: 200, W: 30, H: 40, Score: 0.8, Label: LabelText}
	card := Box{X: 400, Y: 10, W: 30, H: 20, Score: 0.7, Label: LabelText}
	carry := []carriedText{{box: badge, face: face}, {box: card}}
	tests := []struct {
		name  string
		faces []Box
		want  Box
	}{
		{"face moved", []Box{{X: 130, Y: 110, W: 40, H: 50, Label: LabelFace}},
			Box{X: 140, Y: 210, W: 30, H: 40, Score: 0.8, Label: LabelText}},
		{"moved further than its size", []Box{{X: 150, Y: 120, W: 40, H: 50, Label: LabelFace}},
			Box{X: 160, Y: 220, W: 30, H: 40, Score: 0.8, Label: LabelText}},
		{"a much smaller face nearby is someone else", []Box{{X: 150, Y: 120, W: 10, H: 12, Label: LabelFace}}, badge},
		// Face twice the size, same centre (120,125): the badge centre
		// (125,220) moves to 120+2·5, 125+2·95, and doubles.
		{"face closer", []Box{{X: 80, Y: 75, W: 80, H: 100, Label: LabelFace}},
			Box{X: 100, Y: 275, W: 60, H: 80, Score: 0.8, Label: LabelText}},
		{"no face: stays", nil, badge},
		{"other person far away: stays", []Box{{X: 500, Y: 500, W: 40, H: 50, Label: LabelFace}}, badge},
		{"nearest without overlap", []Box{{X: 500, Y: 500, W: 40, H: 50, Label: LabelFace}, {X: 141, Y: 100, W: 40, H: 50, Label: LabelFace}},
			Box{X: 151, Y: 200, W: 30, H: 40, Score: 0.8, Label: LabelText}},
		{"text boxes are not faces", []Box{{X: 150, Y: 120, W: 40, H: 50, Label: LabelText}}, badge},
	}
	for _, tc := range tests {
		got := moveWithWearer(carry, tc.faces)
		if len(got) != 2 || got[0] != tc.want || got[1] != card {
			t.Errorf("%s: got %+v, want [%+v %+v]", tc.name, got, tc.want, card)
		}
	}
}
