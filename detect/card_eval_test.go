//go:build cgo

package detect

import (
	"flag"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/evalset"
	"gocv.io/x/gocv"
)

var cardSplit = flag.String("card.split", string(evalset.Tuning), "split for TestEvalCardFinder: training (tuning) or testing")
var cardText = flag.String("card.text", "", "text mode for TestEvalBadgesDetector")

// TestEvalCardFinder scores the card finder alone on the benchmark's worn
// cards, anchored on the labelled faces (so that a face the face model
// misses does not count against it): recall, precision of the card masks,
// mask/card area, by width, pose and mount. For tuning on the training
// split (-card.split training, the default); make eval reports the whole
// path on testing.
func TestEvalCardFinder(t *testing.T) {
	if !*evalFlag {
		t.Skip("run with -eval")
	}
	set := benchSet(t, evalset.Split(*cardSplit), "badges")
	var r evalset.Result
	var cardMasks, cardTP int
	var cpu time.Duration
	for _, it := range set.Items {
		img := gocv.IMRead(it.Path, gocv.IMReadColor)
		if img.Empty() {
			t.Fatalf("cannot read %s", it.Path)
		}
		var faces []Box
		var badges []evalset.Truth
		for _, tr := range it.Truth {
			if tr.Kind == evalset.KindFace {
				faces = append(faces, boxFromRect(tr.Quad.Bounds(), 1, LabelFace))
			} else {
				badges = append(badges, tr)
			}
		}
		t0 := time.Now()
		boxes := wornCards(img, faces)
		cpu += time.Since(t0)
		img.Close()
		bounds := image.Rect(0, 0, it.Width, it.Height)
		var masks []evalset.Mask
		for _, b := range boxes {
			m := evalset.Mask{Rect: Expand(b, TextMargin, bounds).Rect(), Label: "text"}
			masks = append(masks, m)
			cardMasks++
			for _, tr := range badges {
				if tr.Quad.Bounds().Overlaps(m.Rect) {
					cardTP++
					break
				}
			}
		}
		r.Add(filepath.Base(it.Path), it.Width, it.Height, badges, masks)
		for _, tr := range badges {
			var one evalset.Result
			one.Add("", it.Width, it.Height, []evalset.Truth{tr}, masks)
			if _, w := one.AreaRatio(); w > 2.5 {
				t.Logf("ratio %.1fx %s %v %s", w, filepath.Base(it.Path), tr.Quad.Bounds(), strings.Join(tr.Tags, " "))
			}
		}
	}
	med, worst := r.AreaRatio()
	t.Logf("cards %d: recall %.1f%%, card masks %d (%.1f%% on a card), mask/card %.2fx median, %.2fx worst, %.1f ms/image",
		set.Count(evalset.KindBadge), 100*r.Recall(evalset.KindBadge), cardMasks, 100*float64(cardTP)/float64(max(1, cardMasks)),
		med, worst, float64(cpu.Microseconds())/1000/float64(len(set.Items)))
	var tags []string
	for k, v := range r.ByTag {
		tags = append(tags, fmt.Sprintf("%s %d/%d", strings.TrimPrefix(k, "badge/"), v.Covered, v.Truth))
	}
	sort.Strings(tags)
	t.Logf("by tag: %s", strings.Join(tags, ", "))
	ratios := append([]float64(nil), r.AreaRatios...)
	sort.Float64s(ratios)
	t.Logf("area ratios: %.2f", ratios)
	for _, m := range r.Missed {
		t.Logf("missed %s", m)
	}
}

// TestEvalBadgesDetector scores the whole detector at its defaults (and
// with -card.text another text mode) on the worn cards of -card.split.
func TestEvalBadgesDetector(t *testing.T) {
	if !*evalFlag {
		t.Skip("run with -eval")
	}
	d, _, err := Open(Config{Text: *cardText})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	set := benchSet(t, evalset.Split(*cardSplit), "badges")
	r := benchScore(t, d, set)
	med, worst := r.AreaRatio()
	t.Logf("%s: cards %d: recall %.1f%%, precision %.1f%%, mask/card %.2fx median, %.2fx worst, faces %.1f%%, %.0f ms/image",
		d.Name(), set.Count(evalset.KindBadge), 100*r.Recall(evalset.KindBadge), 100*r.Precision(), med, worst,
		100*r.Recall(evalset.KindFace), float64(r.Elapsed.Milliseconds())/float64(len(set.Items)))
	var tags []string
	for k, v := range r.ByTag {
		if strings.HasPrefix(k, "badge/") {
			tags = append(tags, fmt.Sprintf("%s %d/%d", strings.TrimPrefix(k, "badge/"), v.Covered, v.Truth))
		}
	}
	sort.Strings(tags)
	t.Logf("by tag: %s", strings.Join(tags, ", "))
	for _, m := range r.Missed {
		t.Logf("missed %s", m)
	}
}

// TestEvalBadgesWorst lists the pictures whose card masks are largest.
func TestEvalBadgesWorst(t *testing.T) {
	if !*evalFlag {
		t.Skip("run with -eval")
	}
	d, _, err := Open(Config{Text: *cardText})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	set := benchSet(t, evalset.Split(*cardSplit), "badges")
	for _, it := range set.Items {
		one := &evalset.Set{Items: []evalset.Still{it}}
		r := benchScore(t, d, one)
		_, worst := r.AreaRatio()
		if worst > 3 {
			img := gocv.IMRead(it.Path, gocv.IMReadColor)
			d.(*Composite).ResetCadence()
			boxes, _ := d.Detect(img)
			img.Close()
			var bs []string
			for _, b := range boxes {
				bs = append(bs, fmt.Sprintf("%s%v", b.Label, b.Rect()))
			}
			t.Logf("%s worst %.1fx: %s", filepath.Base(it.Path), worst, strings.Join(bs, " "))
		}
	}
}

// TestEvalBadgesFalse lists the masks that overlap no labelled face or
// card (by TruePositiveOverlap), by label.
func TestEvalBadgesFalse(t *testing.T) {
	if !*evalFlag {
		t.Skip("run with -eval")
	}
	d, _, err := Open(Config{Text: *cardText})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	set := benchSet(t, evalset.Split(*cardSplit), "badges")
	n := map[Label]int{}
	all := map[Label]int{}
	for _, it := range set.Items {
		img := gocv.IMRead(it.Path, gocv.IMReadColor)
		d.(*Composite).ResetCadence()
		boxes, _ := d.Detect(img)
		img.Close()
		for _, b := range boxes {
			all[b.Label]++
			hit := false
			for _, tr := range it.Truth {
				tb := tr.Quad.Bounds()
				in := area(tb.Intersect(b.Rect()))
				if in >= evalset.TruePositiveOverlap*math.Min(area(tb), area(b.Rect())) {
					hit = true
				}
			}
			if !hit {
				n[b.Label]++
				t.Logf("false %s %s %v", filepath.Base(it.Path), b.Label, b.Rect())
			}
		}
	}
	t.Logf("false masks %v of %v", n, all)
}
