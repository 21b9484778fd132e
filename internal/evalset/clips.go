package evalset

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Clip variants: the shared clips as they are, and gen1 made into the
// footage hospitals record. Each frame of a variant shows the same frame
// of its source, so the faces a reference detector finds in the source
// give the variant's ground truth, carried through the transformation.
const (
	ClipOriginal    = "original"
	ClipDark        = "dark"         // gamma 2.2, 30% of the light, sensor noise
	ClipCCTV        = "cctv"         // two people walking in a 1280×720 room seen from the ceiling, faces 25 and 40 px wide
	ClipTopDown     = "top-down"     // the ceiling-camera warp of the face variant
	ClipQuarterTurn = "quarter-turn" // turned clockwise: the person lying down
	ClipBadge       = "badge"        // a staff card on a lanyard on the person, swinging and turning
)

// ClipSpec names one clip of the benchmark: a shared clip and a variant.
type ClipSpec struct {
	Source  string // ClipGen1 or ClipGen2
	Variant string
}

// Name is e.g. "gen1 dark".
func (s ClipSpec) Name() string {
	src := strings.SplitN(s.Source, "_", 2)[0]
	if s.Variant == ClipOriginal {
		return src
	}
	return src + " " + s.Variant
}

// ClipSpecs lists the clips of the benchmark in report order.
var ClipSpecs = []ClipSpec{
	{ClipGen1, ClipOriginal}, {ClipGen2, ClipOriginal},
	{ClipGen1, ClipDark}, {ClipGen1, ClipCCTV}, {ClipGen1, ClipTopDown}, {ClipGen1, ClipQuarterTurn},
	{ClipGen2, ClipDark}, {ClipGen1, ClipBadge},
}

// Clip is a clip of the benchmark, generated or shared.
type Clip struct {
	Version int      `json:"version"`
	Spec    ClipSpec `json:"spec"`
	// Path is the video file; SourcePath the shared clip it shows.
	Path       string `json:"path"`
	SourcePath string `json:"source_path"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Frames     int    `json:"frames"`
	// Views map the source's frame coordinates into this clip's, one per
	// copy of the source shown; FrameViews, when set, per frame (copies
	// that move).
	Views      []Homography   `json:"views,omitempty"`
	FrameViews [][]Homography `json:"frame_views,omitempty"`
	// Cards holds, per frame, the cards worn (badge variant).
	Cards [][]Quad `json:"cards,omitempty"`
}

// InSplit reports whether frame i is scored in a split: the first half of
// every clip is for tuning, the second half is reported. (Detection runs
// over the whole clip either way, as redaction does.)
func (c *Clip) InSplit(i int, split Split) bool {
	if split == Reporting {
		return i >= c.Frames/2
	}
	return i < c.Frames/2
}

// Truth is the ground truth of frame i, given the faces the reference
// detector found in frame i of the source: each face mapped into every
// view (those more than half outside the picture dropped), and the cards.
func (c *Clip) Truth(i int, faces []image.Rectangle) []Truth {
	var out []Truth
	bounds := image.Rect(0, 0, c.Width, c.Height)
	views := c.Views
	if i < len(c.FrameViews) {
		views = c.FrameViews[i]
	}
	for _, v := range views {
		for _, f := range faces {
			q := RectQuad(f).Map(v.Apply)
			in := q.Bounds().Intersect(bounds)
			if float64(in.Dx()*in.Dy()) < 0.5*float64(q.Bounds().Dx()*q.Bounds().Dy()) {
				continue
			}
			out = append(out, Truth{Kind: KindFace, Quad: q, Tags: []string{SizeTag(q.Side())}, Note: fmt.Sprintf("frame %d", i)})
		}
	}
	if i < len(c.Cards) {
		for _, q := range c.Cards[i] {
			out = append(out, Truth{Kind: KindBadge, Quad: q, Tags: []string{BadgeSizeTag(q.Width())}, Note: fmt.Sprintf("frame %d", i)})
		}
	}
	return out
}

// FaceTrack gives the reference detector's faces on every frame of a
// shared clip; the badge variant hangs its card below them.
type FaceTrack func(source string) ([][]image.Rectangle, error)

// Clips returns a clip of the benchmark, generating it into the cache on
// first use. track is needed for the badge variant only; trackName names
// it in the cache (the card follows what it found).
func Clips(ctx context.Context, o Options, spec ClipSpec, track FaceTrack, trackName string) (*Clip, error) {
	o = o.withDefaults()
	src := filepath.Join(o.Shared, "data", "video", spec.Source)
	info, err := ProbeVideo(ctx, src)
	if err != nil {
		return nil, err
	}
	if spec.Variant == ClipOriginal {
		return &Clip{Version: Version, Spec: spec, Path: src, SourcePath: src, Width: info.Width, Height: info.Height,
			Frames: info.Frames, Views: []Homography{Identity}}, nil
	}
	name := strings.ReplaceAll(spec.Name(), " ", "-")
	if spec.Variant == ClipBadge {
		name += "-" + trackName
	}
	dir := filepath.Join(o.Cache, fmt.Sprintf("v%d", Version), "clips")
	meta := filepath.Join(dir, name+".json")
	if c, err := loadClip(meta, dir); err == nil {
		return c, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &Clip{Version: Version, Spec: spec, Path: name + ".mp4", SourcePath: src, Frames: info.Frames}
	var fn frameFunc
	switch spec.Variant {
	case ClipDark:
		fn, err = c.dark(info)
	case ClipCCTV:
		fn, err = c.cctv(info)
	case ClipTopDown:
		fn, err = c.topDown(info)
	case ClipQuarterTurn:
		fn, err = c.quarterTurn(info)
	case ClipBadge:
		if track == nil {
			return nil, fmt.Errorf("evalset: the badge clip needs the reference faces")
		}
		faces, terr := track(spec.Source)
		if terr != nil {
			return nil, terr
		}
		fn, err = c.badge(info, faces, o.Shared)
	default:
		return nil, fmt.Errorf("evalset: unknown clip variant %q", spec.Variant)
	}
	if err != nil {
		return nil, err
	}
	if err := generateClip(ctx, src, filepath.Join(dir, c.Path), c.Width, c.Height, info.FPSText, fn); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(meta+".tmp", data, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(meta+".tmp", meta); err != nil {
		return nil, err
	}
	return loadClip(meta, dir)
}

func loadClip(meta, dir string) (*Clip, error) {
	data, err := os.ReadFile(meta)
	if err != nil {
		return nil, err
	}
	var c Clip
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if c.Version != Version {
		return nil, fmt.Errorf("evalset: %s is version %d", meta, c.Version)
	}
	c.Path = filepath.Join(dir, c.Path)
	if !fileExists(c.Path) {
		return nil, fmt.Errorf("evalset: %s missing", c.Path)
	}
	return &c, nil
}

// frameFunc makes frame i of a variant from frame i of its source.
type frameFunc func(i int, src *image.RGBA) (*image.RGBA, error)

// generateClip runs fn over every frame of src and encodes the results.
func generateClip(ctx context.Context, src, out string, w, h int, fps string, fn frameFunc) error {
	tmp := strings.TrimSuffix(out, ".mp4") + ".tmp.mp4"
	enc, err := newEncoder(ctx, tmp, w, h, fps)
	if err != nil {
		return err
	}
	err = DecodeFrames(ctx, src, func(i int, img *image.RGBA) error {
		f, err := fn(i, img)
		if err != nil {
			return err
		}
		return enc.write(f)
	})
	if cerr := enc.close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

func (c *Clip) dark(info VideoInfo) (frameFunc, error) {
	c.Width, c.Height, c.Views = info.Width, info.Height, []Homography{Identity}
	return func(i int, src *image.RGBA) (*image.RGBA, error) {
		return darken(src, 2.2, 0.3, 5, seeded("clip", c.Spec.Name(), fmt.Sprint(i))), nil
	}, nil
}

// cctv shows the person twice, walking to and fro across a dim room seen
// by a fixed 720p ceiling camera: each copy of the frame is warped as
// from above (see topDownWarp), shrunk so the face is about 25 or 40 px
// wide (one mirrored), and moved 6 px a frame; light at 70% after a gamma
// of 1.3, sensor noise.
func (c *Clip) cctv(info VideoInfo) (frameFunc, error) {
	c.Width, c.Height = 1280, 720
	room := background(c.Width, c.Height, seeded("cctv room", c.Spec.Name()))
	type walker struct {
		scale  float64
		mirror bool
		x0, y  float64
	}
	walkers := []walker{{0.14, false, 80, 470}, {0.22, true, 900, 380}}
	sw, sh := float64(info.Width), float64(info.Height)
	// Per copy: the source shrunk (prescaled so that the warp does not
	// alias), then seen from above, mirrored, and placed.
	type prepared struct {
		w, h int
		warp Homography // shrunk copy -> room, before the move
	}
	var preps []prepared
	for _, wk := range walkers {
		w, h := int(math.Round(sw*wk.scale)), int(math.Round(sh*wk.scale))
		td, tw, _, err := topDownWarp(float64(w), float64(h))
		if err != nil {
			return nil, err
		}
		hm := td
		if wk.mirror {
			hm = hm.Then(Affine(-1, 0, float64(tw), 0, 1, 0))
		}
		preps = append(preps, prepared{w: w, h: h, warp: hm})
	}
	span := float64(c.Width) - 160
	c.FrameViews = make([][]Homography, info.Frames)
	for i := range c.FrameViews {
		for k, wk := range walkers {
			x := bounce(wk.x0+6*float64(i), span)
			move := Translate(x, wk.y)
			src := Scale(float64(preps[k].w)/sw, float64(preps[k].h)/sh)
			c.FrameViews[i] = append(c.FrameViews[i], src.Then(preps[k].warp).Then(move))
		}
	}
	var lut [256]uint8
	for v := range lut {
		lut[v] = clamp8(255 * 0.7 * math.Pow(float64(v)/255, 1.3))
	}
	return func(i int, src *image.RGBA) (*image.RGBA, error) {
		out := cloneRGBA(room)
		for k := range walkers {
			small := resize(src, preps[k].w, preps[k].h)
			x := bounce(walkers[k].x0+6*float64(i), span)
			if err := warp(out, small, preps[k].warp.Then(Translate(x, walkers[k].y))); err != nil {
				return nil, err
			}
		}
		for p := 0; p+3 < len(out.Pix); p += 4 {
			out.Pix[p], out.Pix[p+1], out.Pix[p+2] = lut[out.Pix[p]], lut[out.Pix[p+1]], lut[out.Pix[p+2]]
		}
		addNoise(out, 4, seeded("clip", c.Spec.Name(), fmt.Sprint(i)))
		return out, nil
	}, nil
}

// bounce is x folded into [0, span]: walking to a wall and back.
func bounce(x, span float64) float64 {
	x = math.Mod(x, 2*span)
	if x > span {
		x = 2*span - x
	}
	return x
}

func (c *Clip) topDown(info VideoInfo) (frameFunc, error) {
	hm, w, h, err := topDownWarp(float64(info.Width), float64(info.Height))
	if err != nil {
		return nil, err
	}
	c.Width, c.Height, c.Views = w&^1, h&^1, []Homography{hm}
	return func(i int, src *image.RGBA) (*image.RGBA, error) {
		return warpImage(src, hm, c.Width, c.Height, color.RGBA{40, 40, 40, 255})
	}, nil
}

func (c *Clip) quarterTurn(info VideoInfo) (frameFunc, error) {
	c.Width, c.Height = info.Height, info.Width
	_, hm := turn(image.NewRGBA(image.Rect(0, 0, info.Width, info.Height)), 1)
	c.Views = []Homography{hm}
	return func(i int, src *image.RGBA) (*image.RGBA, error) {
		out, _ := turn(src, 1)
		return out, nil
	}, nil
}

func cloneRGBA(img *image.RGBA) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	return out
}

func mirror(img *image.RGBA) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	w := img.Rect.Dx()
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < w; x++ {
			copy(out.Pix[out.PixOffset(w-1-x, y):out.PixOffset(w-1-x, y)+4], img.Pix[img.PixOffset(x, y):img.PixOffset(x, y)+4])
		}
	}
	return out
}
