//go:build cgo

package evalrun

import (
	"context"
	"fmt"
	"image"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/evalset"
	"github.com/custody-evidence/custody/internal/evalset/refyunet"
)

// Benchmark runs rows over the categories of the benchmark and prints one
// table per category.
type Benchmark struct {
	Rows    []Row
	Split   evalset.Split
	Options evalset.Options
	// TruthVersion is the YuNet that labels the clips: "" or "auto" picks
	// the one the first row does not use (see TruthFor);
	// TruthThreshold its score threshold (0 means 0.8).
	TruthVersion   string
	TruthThreshold float64
	// FaceVariants, Badges and Clips select what runs.
	FaceVariants []string
	Badges       bool
	Clips        []evalset.ClipSpec
	// Misses lists up to this many missed regions per row and set.
	Misses int
}

// Results are every score, by category, set and row name, for -eval.json.
type Results struct {
	Split  evalset.Split                  `json:"split"`
	Truth  string                         `json:"truth"`
	Rows   []RowInfo                      `json:"rows"`
	Faces  map[string]map[string]*Summary `json:"faces,omitempty"`
	Badges map[string]*Summary            `json:"badges,omitempty"`
	Clips  map[string]map[string]*Summary `json:"clips,omitempty"`
}

// RowInfo describes a row as it ran.
type RowInfo struct {
	Name     string   `json:"name"`
	Detector string   `json:"detector"`
	Config   string   `json:"config"`
	Every    int      `json:"every"`
	Warnings []string `json:"warnings,omitempty"`
}

// Summary is one row's figures on one set.
type Summary struct {
	Faces, Badges           int
	FaceRecall, BadgeRecall float64
	Precision, Masked       float64
	MaskedFaces, MaskedText float64
	AreaMedian, AreaMax     float64
	MsPerItem, CPUMsPerItem float64
	Items                   int
	ByTag                   map[string]evalset.Tally
	Missed                  []string `json:",omitempty"`
	Detector                string
	FaceModels              []string
}

func summarise(s *Scored, misses int) *Summary {
	m, w := s.AreaRatio()
	sum := &Summary{Faces: s.Count(evalset.KindFace), Badges: s.Count(evalset.KindBadge),
		FaceRecall: s.Recall(evalset.KindFace), BadgeRecall: s.Recall(evalset.KindBadge),
		Precision: s.Precision(), Masked: s.Masked(), MaskedFaces: s.MaskedBy(string(detect.LabelFace)),
		MaskedText: s.MaskedBy(string(detect.LabelText)), AreaMedian: nanZero(m), AreaMax: nanZero(w),
		MsPerItem: s.MsPerItem(), CPUMsPerItem: s.CPUMsPerItem(), Items: s.Items, ByTag: map[string]evalset.Tally{},
		Detector: s.Detector}
	for k, t := range s.ByTag {
		sum.ByTag[k] = *t
	}
	for _, md := range s.Models {
		sum.FaceModels = append(sum.FaceModels, md.Name)
	}
	if len(s.Missed) > misses {
		sum.Missed = append(s.Missed[:misses:misses], fmt.Sprintf("... and %d more", len(s.Missed)-misses))
	} else {
		sum.Missed = s.Missed
	}
	return sum
}

func nanZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// Run scores every row on every selected set and writes the tables to w.
func (b *Benchmark) Run(ctx context.Context, w io.Writer) (*Results, error) {
	o := b.Options
	if o.Shared == "" {
		o.Shared = evalset.DefaultShared()
	}
	if o.Cache == "" {
		o.Cache = evalset.DefaultCache()
	}
	res := &Results{Split: b.Split, Faces: map[string]map[string]*Summary{}, Badges: map[string]*Summary{},
		Clips: map[string]map[string]*Summary{}}
	fmt.Fprintf(w, "custody redaction benchmark: %s split (%s), data generated in %s\n", b.Split, splitNote(b.Split), o.Cache)
	if len(b.FaceVariants) > 0 {
		if err := b.faces(ctx, o, w, res); err != nil {
			return res, err
		}
	}
	if b.Badges {
		if err := b.badges(ctx, o, w, res); err != nil {
			return res, err
		}
	}
	if len(b.Clips) > 0 {
		if err := b.clips(ctx, o, w, res); err != nil {
			return res, err
		}
	}
	b.legend(w, res)
	return res, nil
}

func splitNote(s evalset.Split) string {
	if s == evalset.Reporting {
		return "dlib testing.xml photos, second half of each clip: the reported figures; tune on -eval.split training"
	}
	return "dlib training.xml photos, first half of each clip: for tuning only, never report these"
}

// noteRow records what a row ran as, once.
func (res *Results) noteRow(r Row, s *Scored) {
	for _, ri := range res.Rows {
		if ri.Name == r.Name {
			return
		}
	}
	cfg := ""
	if r.Plain == nil {
		if c, err := r.Config.Normalize(); err == nil {
			cfg = c.String()
		}
	}
	every := r.Every
	if every == 0 {
		every = 6
	}
	res.Rows = append(res.Rows, RowInfo{Name: r.Name, Detector: s.Detector, Config: cfg, Every: every, Warnings: s.Warnings})
}

func (b *Benchmark) faces(ctx context.Context, o evalset.Options, w io.Writer, res *Results) error {
	fmt.Fprintf(w, "\nFACES: the labelled dlib photos and hard variants of them; a face is masked when >= 70%% of its box lies under the masks\n")
	fmt.Fprintf(w, "%-14s %6s  %-26s %8s %10s %8s %8s %9s\n", "variant", "faces", "row", "recall", "precision", "masked", "(faces)", "ms/image")
	bySize := map[string]*Summary{}
	for _, v := range b.FaceVariants {
		set, err := evalset.Faces(o, b.Split, v)
		if err != nil {
			return err
		}
		res.Faces[v] = map[string]*Summary{}
		for i, r := range b.Rows {
			s, err := r.ScoreStills(ctx, set)
			if err != nil {
				return err
			}
			res.noteRow(r, s)
			sum := summarise(s, b.Misses)
			res.Faces[v][r.Name] = sum
			if v == evalset.VariantSmall {
				bySize[r.Name] = sum
			}
			label, n := "", ""
			if i == 0 {
				label, n = v, fmt.Sprint(sum.Faces)
			}
			fmt.Fprintf(w, "%-14s %6s  %-26s %7.1f%% %9.1f%% %7.1f%% %7.1f%% %9.0f\n", label, n, trunc(r.Name, 26),
				100*sum.FaceRecall, 100*sum.Precision, 100*sum.Masked, 100*sum.MaskedFaces, sum.MsPerItem)
			b.printMisses(w, sum)
		}
	}
	if len(bySize) > 0 {
		fmt.Fprintf(w, "small faces by size (masked/faces):\n")
		b.tagTable(w, bySize, "face/", evalset.SizeTags)
	}
	return nil
}

func (b *Benchmark) badges(ctx context.Context, o evalset.Options, w io.Writer, res *Results) error {
	set, err := evalset.Badges(o, b.Split)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nBADGES: %d staff ID cards worn on lanyards and clips, on %d pictures (dlib photos, gen1 and gen2 frames); "+
		"a card is masked when >= 90%% of it lies under the masks\n", set.Count(evalset.KindBadge), len(set.Items))
	fmt.Fprintf(w, "%-26s %6s %8s %10s %8s %8s %13s %9s %8s\n", "row", "cards", "recall", "precision", "masked", "(text)", "mask/card", "ms/image", "faces")
	sums := map[string]*Summary{}
	for _, r := range b.Rows {
		s, err := r.ScoreStills(ctx, set)
		if err != nil {
			return err
		}
		res.noteRow(r, s)
		sum := summarise(s, b.Misses)
		sums[r.Name], res.Badges[r.Name] = sum, sum
		fmt.Fprintf(w, "%-26s %6d %7.1f%% %9.1f%% %7.1f%% %7.1f%% %13s %9.0f %7.1f%%\n", trunc(r.Name, 26), sum.Badges,
			100*sum.BadgeRecall, 100*sum.Precision, 100*sum.Masked, 100*sum.MaskedText, areaText(sum), sum.MsPerItem, 100*sum.FaceRecall)
		b.printMisses(w, sum)
	}
	fmt.Fprintf(w, "cards by width, pose and mount (masked/cards):\n")
	b.tagTable(w, sums, "badge/", append(append(append([]string{}, evalset.BadgeSizeTags...), evalset.BadgePoseTags...), "lanyard", "clip"))
	return nil
}

func areaText(s *Summary) string {
	if s.AreaMax == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx/%.1fx", s.AreaMedian, s.AreaMax)
}

func (b *Benchmark) clips(ctx context.Context, o evalset.Options, w io.Writer, res *Results) error {
	truth, err := b.truth(o)
	if err != nil {
		return err
	}
	res.Truth = truth.Name()
	track := func(src string) ([][]image.Rectangle, error) {
		return truth.Faces(ctx, filepath.Join(o.Shared, "data", "video", src))
	}
	fmt.Fprintf(w, "\nCLIPS: face-frames that an independent %s (over scales 1 and 0.5, every frame, decoded by ffmpeg) finds in the shared clip, "+
		"carried into each variant; missed = not >= 70%% under the masks. Badge-frames: the card >= 90%% under the masks.\n", truth.Name())
	fmt.Fprintf(w, "%-18s %6s  %-26s %8s %8s %10s %8s %8s %8s %9s %9s\n", "clip", "frames", "row", "missed", "(of)", "precision*", "masked", "(faces)", "(text)", "ms/frame", "cpu ms/f")
	for _, spec := range b.Clips {
		clip, err := evalset.Clips(ctx, o, spec, track, truth.Name())
		if err != nil {
			return err
		}
		faces, err := truth.Faces(ctx, clip.SourcePath)
		if err != nil {
			return err
		}
		res.Clips[spec.Name()] = map[string]*Summary{}
		for i, r := range b.Rows {
			s, err := r.ScoreClip(ctx, clip, faces, b.Split)
			if err != nil {
				return err
			}
			res.noteRow(r, s)
			sum := summarise(s, b.Misses)
			res.Clips[spec.Name()][r.Name] = sum
			label, n := "", ""
			if i == 0 {
				label, n = spec.Name(), fmt.Sprint(sum.Items)
			}
			name := r.Name
			if usesModel(s.Models, truth.Version) {
				name += " (!)" // the truth's own model: not independent
			}
			fmt.Fprintf(w, "%-18s %6s  %-26s %7.1f%% %8d %9.1f%% %7.1f%% %7.1f%% %7.1f%% %9.1f %9.1f\n", label, n, trunc(name, 26),
				100*(1-sum.FaceRecall), sum.Faces, 100*sum.Precision, 100*sum.Masked, 100*sum.MaskedFaces, 100*sum.MaskedText,
				sum.MsPerItem, sum.CPUMsPerItem)
			if sum.Badges > 0 {
				fmt.Fprintf(w, "%-18s %6s  %-26s %7.1f%% %8d  mask/card %s\n", "", "", "  badge-frames",
					100*(1-sum.BadgeRecall), sum.Badges, areaText(sum))
			}
			b.printMisses(w, sum)
		}
	}
	return nil
}

// truth picks and describes the clips' labeller.
func (b *Benchmark) truth(o evalset.Options) (refyunet.Labeller, error) {
	version := b.TruthVersion
	if version == "" || version == "auto" {
		d, _, err := b.Rows[0].Open()
		if err != nil {
			return refyunet.Labeller{}, err
		}
		version = TruthFor(d.Models(), "")
		d.Close()
	}
	thr := b.TruthThreshold
	if thr == 0 {
		thr = 0.8
	}
	return refyunet.Labeller{Version: version, Threshold: thr, ModelsDir: filepath.Join(o.Shared, "models"), Cache: o.Cache}, nil
}

func (b *Benchmark) tagTable(w io.Writer, sums map[string]*Summary, prefix string, tags []string) {
	fmt.Fprintf(w, "  %-26s", "row")
	for _, t := range tags {
		fmt.Fprintf(w, " %13s", t)
	}
	fmt.Fprintln(w)
	for _, r := range b.Rows {
		s := sums[r.Name]
		if s == nil {
			continue
		}
		fmt.Fprintf(w, "  %-26s", trunc(r.Name, 26))
		for _, t := range tags {
			tl, ok := s.ByTag[prefix+t]
			if !ok {
				fmt.Fprintf(w, " %13s", "-")
				continue
			}
			fmt.Fprintf(w, " %13s", fmt.Sprintf("%d/%d %3.0f%%", tl.Covered, tl.Truth, 100*tl.Recall()))
		}
		fmt.Fprintln(w)
	}
}

func (b *Benchmark) printMisses(w io.Writer, s *Summary) {
	if b.Misses > 0 && len(s.Missed) > 0 {
		fmt.Fprintf(w, "      missed: %s\n", strings.Join(s.Missed, " "))
	}
}

func (b *Benchmark) legend(w io.Writer, res *Results) {
	fmt.Fprintf(w, "\nrows:\n")
	for _, ri := range res.Rows {
		fmt.Fprintf(w, "  %-26s %s, detection every %d frames", trunc(ri.Name, 26), ri.Detector, ri.Every)
		if ri.Config != "" {
			fmt.Fprintf(w, "; %s", ri.Config)
		}
		fmt.Fprintln(w)
		for _, wn := range ri.Warnings {
			fmt.Fprintf(w, "  %-26s %s\n", "", wn)
		}
	}
	fmt.Fprint(w, `recall: regions masked / regions. precision: masks that overlap a ground-truth region by >= 25% of the smaller
  of the two / all masks (the photos have a few faces nobody labelled; *on clips the truth is the reference's faces only,
  so precision is a lower bound). masked: share of all pixels under some mask; (faces)/(text): under face or text masks
  alone. mask/card: area of the masks on a masked card over the card's, median/worst (1x is the card; the issue wants
  about 2x at most, never the torso). ms: wall clock per image or frame of the whole detect path (image decoding
  included; clips: frames decoded by ffmpeg in parallel), cpu ms/f: CPU of this process and ffmpeg per frame.
  (!) = the row runs the same YuNet as the clip truth, so its clip figures are not independent.
`)
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "~"
}
