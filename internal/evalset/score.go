package evalset

import (
	"fmt"
	"image"
	"math"
	"sort"
	"time"
)

// Kinds of ground truth.
const (
	KindFace  = "face"
	KindBadge = "badge"
)

// Coverage a ground-truth region needs to count as masked: the share of its
// pixels under the union of the masks. A face at 70% shows too little to
// identify; a badge must be hidden whole (photo, name, role and barcode),
// so at 90%.
const (
	FaceCoverage  = 0.70
	BadgeCoverage = 0.90
)

// TruePositiveOverlap is how much a mask must overlap a ground-truth
// region to count as a true positive: this share of the smaller of the two
// areas. A face mask (the face plus margin) overlaps its face wholly; a
// mask on a neighbour that grazes a face's edge does not count.
const TruePositiveOverlap = 0.25

// Needed is the coverage a region of this kind must reach.
func Needed(kind string) float64 {
	if kind == KindBadge {
		return BadgeCoverage
	}
	return FaceCoverage
}

// Truth is one ground-truth region: a face or a card, as a quadrilateral
// (exact after warps and tilts; coverage counts the pixels whose centre
// lies inside it).
type Truth struct {
	Kind string `json:"kind"`
	Quad Quad   `json:"quad"`
	// Tags name the buckets the region is reported in (e.g. "12-16px",
	// "turned", "lanyard").
	Tags []string `json:"tags,omitempty"`
	// Note says where it came from, for lists of misses.
	Note string `json:"note,omitempty"`
}

// Mask is one region a configuration paints, in image pixels: the whole
// rectangle, or the ellipse inscribed in it (a pixel is inside when its
// centre is, as redact paints).
type Mask struct {
	Rect    image.Rectangle `json:"rect"`
	Ellipse bool            `json:"ellipse,omitempty"`
	Label   string          `json:"label,omitempty"`
}

// PaintedMask is the mask redact paints for a region it reports (a box of
// `custody detect --json`): text as its box, anything else (faces, heads)
// as the ellipse inscribed in it when faces are painted as ellipses (the
// default shape), as its box otherwise. This is redact/regions.go's rule.
func PaintedMask(r image.Rectangle, label string, ellipseFaces bool) Mask {
	return Mask{Rect: r, Ellipse: ellipseFaces && label != "text", Label: label}
}

func (m Mask) inside(x, y int) bool {
	if !(image.Point{x, y}).In(m.Rect) {
		return false
	}
	if !m.Ellipse {
		return true
	}
	rx, ry := float64(m.Rect.Dx())/2, float64(m.Rect.Dy())/2
	dx := float64(x) + 0.5 - (float64(m.Rect.Min.X) + rx)
	dy := float64(y) + 0.5 - (float64(m.Rect.Min.Y) + ry)
	return dx*dx/(rx*rx)+dy*dy/(ry*ry) <= 1
}

// Tally counts regions and those covered enough.
type Tally struct {
	Truth, Covered int
}

// Recall is Covered/Truth (0 for none).
func (t Tally) Recall() float64 { return ratio(t.Covered, t.Truth) }

// Result is one configuration's score over a set of images or frames.
type Result struct {
	Items int // images or frames scored
	// ByKind tallies faces and badges; ByTag the same per kind and tag
	// ("face/12-16px", "badge/turned").
	ByKind map[string]*Tally
	ByTag  map[string]*Tally
	// Masks painted, and those overlapping some ground truth.
	Masks, TruePos int
	// MaskedPx is the number of masked pixels, Px of all pixels, summed
	// over the items; MaskedByLabel the masked pixels of each label's
	// masks alone (face, text, ...).
	MaskedPx, Px  int
	MaskedByLabel map[string]int
	// AreaRatios holds, for each badge masked, the area of the masks on
	// it (those a true positive would count) over the card's area: 1 is
	// the card exactly, 20 a torso.
	AreaRatios []float64
	// Elapsed and CPU are the time the configuration took, as the caller
	// measured it.
	Elapsed, CPU time.Duration
	// Missed names regions not covered enough, with their coverage.
	Missed []string
}

// Recall of one kind of region.
func (r *Result) Recall(kind string) float64 {
	if t := r.ByKind[kind]; t != nil {
		return t.Recall()
	}
	return 0
}

// Count is the number of regions of a kind.
func (r *Result) Count(kind string) int {
	if t := r.ByKind[kind]; t != nil {
		return t.Truth
	}
	return 0
}

// Precision is the share of masks that overlap some ground-truth region
// (see TruePositiveOverlap); 1 when nothing was masked.
func (r *Result) Precision() float64 {
	if r.Masks == 0 {
		return 1
	}
	return float64(r.TruePos) / float64(r.Masks)
}

// Masked is the share of all pixels masked.
func (r *Result) Masked() float64 { return ratio(r.MaskedPx, r.Px) }

// MaskedBy is the share of all pixels under the masks of one label.
func (r *Result) MaskedBy(label string) float64 { return ratio(r.MaskedByLabel[label], r.Px) }

// MsPerItem is the elapsed time per image or frame in milliseconds.
func (r *Result) MsPerItem() float64 {
	return float64(r.Elapsed.Microseconds()) / 1000 / float64(max(1, r.Items))
}

// CPUMsPerItem is the CPU time per image or frame in milliseconds.
func (r *Result) CPUMsPerItem() float64 {
	return float64(r.CPU.Microseconds()) / 1000 / float64(max(1, r.Items))
}

// AreaRatio returns the median and the largest mask-to-card area ratio
// of the badges masked (NaN when none was).
func (r *Result) AreaRatio() (median, worst float64) {
	if len(r.AreaRatios) == 0 {
		return math.NaN(), math.NaN()
	}
	s := append([]float64(nil), r.AreaRatios...)
	sort.Float64s(s)
	return s[len(s)/2], s[len(s)-1]
}

// Merge adds o's counts to r.
func (r *Result) Merge(o *Result) {
	r.Items += o.Items
	for k, t := range o.ByKind {
		r.tally(r.byKind(), k).add(t)
	}
	for k, t := range o.ByTag {
		r.tally(r.byTag(), k).add(t)
	}
	r.Masks += o.Masks
	r.TruePos += o.TruePos
	r.MaskedPx += o.MaskedPx
	for l, n := range o.MaskedByLabel {
		if r.MaskedByLabel == nil {
			r.MaskedByLabel = map[string]int{}
		}
		r.MaskedByLabel[l] += n
	}
	r.Px += o.Px
	r.AreaRatios = append(r.AreaRatios, o.AreaRatios...)
	r.Elapsed += o.Elapsed
	r.CPU += o.CPU
	r.Missed = append(r.Missed, o.Missed...)
}

func (t *Tally) add(o *Tally) { t.Truth += o.Truth; t.Covered += o.Covered }

func (r *Result) byKind() map[string]*Tally {
	if r.ByKind == nil {
		r.ByKind = map[string]*Tally{}
	}
	return r.ByKind
}

func (r *Result) byTag() map[string]*Tally {
	if r.ByTag == nil {
		r.ByTag = map[string]*Tally{}
	}
	return r.ByTag
}

func (r *Result) tally(m map[string]*Tally, k string) *Tally {
	t := m[k]
	if t == nil {
		t = &Tally{}
		m[k] = t
	}
	return t
}

// Add scores one w×h image or frame: its ground truth against the masks a
// configuration paints on it. name identifies it in the list of misses.
func (r *Result) Add(name string, w, h int, truth []Truth, masks []Mask) {
	bounds := image.Rect(0, 0, w, h)
	clipped := make([]Mask, 0, len(masks))
	for _, m := range masks {
		m.Rect = m.Rect.Intersect(bounds)
		if !m.Rect.Empty() {
			clipped = append(clipped, m)
		}
	}
	r.Items++
	r.Px += w * h
	r.MaskedPx += unionArea(clipped, bounds)
	byLabel := map[string][]Mask{}
	for _, m := range clipped {
		byLabel[m.Label] = append(byLabel[m.Label], m)
	}
	for l, ms := range byLabel {
		if r.MaskedByLabel == nil {
			r.MaskedByLabel = map[string]int{}
		}
		r.MaskedByLabel[l] += unionArea(ms, bounds)
	}
	for _, t := range truth {
		c := coverage(t.Quad, clipped, bounds)
		ok := c >= Needed(t.Kind)-1e-9
		r.count(t, ok)
		if !ok {
			r.Missed = append(r.Missed, fmt.Sprintf("%s:%s%s(%.0f%%)", name, t.Kind, shortQuad(t.Quad), 100*c))
		}
		if t.Kind == KindBadge && ok {
			if on := masksOn(t.Quad, clipped, bounds); len(on) > 0 {
				r.AreaRatios = append(r.AreaRatios, float64(unionArea(on, bounds))/math.Max(1, t.Quad.Area()))
			}
		}
	}
	for _, m := range clipped {
		r.Masks++
		for _, t := range truth {
			if truePositive(m, t.Quad, bounds) {
				r.TruePos++
				break
			}
		}
	}
}

func (r *Result) count(t Truth, ok bool) {
	inc := func(tl *Tally) {
		tl.Truth++
		if ok {
			tl.Covered++
		}
	}
	inc(r.tally(r.byKind(), t.Kind))
	for _, tag := range t.Tags {
		inc(r.tally(r.byTag(), t.Kind+"/"+tag))
	}
}

func shortQuad(q Quad) string {
	b := q.Bounds()
	return fmt.Sprintf("[%d,%d %dx%d]", b.Min.X, b.Min.Y, b.Dx(), b.Dy())
}

// coverage is the share of q's pixels (centres inside q, within bounds)
// that some mask covers.
func coverage(q Quad, masks []Mask, bounds image.Rectangle) float64 {
	b := q.Bounds().Intersect(bounds)
	var in, covered int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !q.contains(Pt{float64(x) + 0.5, float64(y) + 0.5}) {
				continue
			}
			in++
			for _, m := range masks {
				if m.inside(x, y) {
					covered++
					break
				}
			}
		}
	}
	if in == 0 {
		return 0
	}
	return float64(covered) / float64(in)
}

// unionArea counts the pixels inside at least one mask.
func unionArea(masks []Mask, bounds image.Rectangle) int {
	if len(masks) == 0 {
		return 0
	}
	var u image.Rectangle
	for _, m := range masks {
		u = u.Union(m.Rect)
	}
	u = u.Intersect(bounds)
	n := 0
	for y := u.Min.Y; y < u.Max.Y; y++ {
		for x := u.Min.X; x < u.Max.X; x++ {
			for _, m := range masks {
				if m.inside(x, y) {
					n++
					break
				}
			}
		}
	}
	return n
}

// overlap counts the pixels inside both m and q, and those inside m and q
// alone.
func overlap(m Mask, q Quad, bounds image.Rectangle) (both, inM, inQ int) {
	qb := q.Bounds().Intersect(bounds)
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			if !m.inside(x, y) {
				continue
			}
			inM++
			if (image.Point{x, y}).In(qb) && q.contains(Pt{float64(x) + 0.5, float64(y) + 0.5}) {
				both++
			}
		}
	}
	for y := qb.Min.Y; y < qb.Max.Y; y++ {
		for x := qb.Min.X; x < qb.Max.X; x++ {
			if q.contains(Pt{float64(x) + 0.5, float64(y) + 0.5}) {
				inQ++
			}
		}
	}
	return both, inM, inQ
}

func truePositive(m Mask, q Quad, bounds image.Rectangle) bool {
	if !m.Rect.Overlaps(q.Bounds()) {
		return false
	}
	both, inM, inQ := overlap(m, q, bounds)
	return both > 0 && float64(both) >= TruePositiveOverlap*float64(min(inM, inQ))
}

// masksOn are the masks overlapping q as a true positive would.
func masksOn(q Quad, masks []Mask, bounds image.Rectangle) []Mask {
	var out []Mask
	for _, m := range masks {
		if truePositive(m, q, bounds) {
			out = append(out, m)
		}
	}
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
