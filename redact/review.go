package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/custody-evidence/custody/detect"
)

// Review output, for the data protection officer: tracks.json (every
// track with its boxes and times), contact.png (one thumbnail per track,
// taken unmasked at the track's best detection, so that the officer can
// decide to exclude it) and preview-N.png (frames spread over the video
// with the masks applied and outlined). The thumbnails show the faces
// custody hides: review output is as sensitive as the original footage.

const (
	thumbSide    = 96
	previewSide  = 640
	previewCount = 4
)

// ReviewTracks is the content of tracks.json.
type ReviewTracks struct {
	Input    string `json:"input"`
	Detector string `json:"detector"`
	Every    int    `json:"every"`
	// Detection is the detector's parameters (cadences included), which
	// track ids depend on; an --edits file may repeat it to be checked.
	Detection string        `json:"detection,omitempty"`
	Width     int           `json:"width"`
	Height    int           `json:"height"`
	Frames    int           `json:"frames"`
	Tracks    []ReviewTrack `json:"tracks"`
}

// ReviewTrack is one track in tracks.json. Boxes are the masked regions
// (margin included), display pixels.
type ReviewTrack struct {
	ID       int          `json:"id"`
	Label    detect.Label `json:"label"`
	First    int          `json:"first"`
	Last     int          `json:"last"`
	Start    float64      `json:"start"`
	End      float64      `json:"end"`
	Hits     int          `json:"hits"`
	MaxScore float64      `json:"max_score"`
	Excluded bool         `json:"excluded,omitempty"`
	// Thumb is the frame the contact-sheet thumbnail was taken from.
	Thumb int         `json:"thumb_frame"`
	Boxes []ReviewBox `json:"boxes"`
}

// ReviewBox is a track's masked box on one frame.
type ReviewBox struct {
	Frame int     `json:"frame"`
	Time  float64 `json:"time"`
	X     int     `json:"x"`
	Y     int     `json:"y"`
	W     int     `json:"w"`
	H     int     `json:"h"`
	Score float64 `json:"score"`
	Kind  Kind    `json:"kind"`
}

type thumb struct {
	score float64
	frame int
	img   *image.RGBA
}

type preview struct {
	masks int
	frame int
	img   *image.RGBA
}

// reviewer collects thumbnails and previews as frames go by.
type reviewer struct {
	orient   orientation
	dw, dh   int
	thumbs   map[int]*thumb
	previews [previewCount]*preview
	bucket   int // frames per preview slot
}

func newReviewer(orient orientation, expected int) *reviewer {
	dw, dh := orient.displaySize()
	b := 300
	if expected > 0 {
		b = max(1, (expected+previewCount-1)/previewCount)
	}
	return &reviewer{orient: orient, dw: dw, dh: dh, thumbs: map[int]*thumb{}, bucket: b}
}

// storedPixel maps a display pixel to the stored frame.
func (o orientation) storedPixel(x, y int) (int, int) {
	switch o.cw {
	case 90:
		return y, o.sh - 1 - x
	case 180:
		return o.sw - 1 - x, o.sh - 1 - y
	case 270:
		return o.sw - 1 - y, x
	}
	return x, y
}

// crop copies display rectangle r of the stored frame, scaled so that its
// longer side is at most side (nearest neighbour: thumbnails only).
func (rv *reviewer) crop(img frameImage, r image.Rectangle, side int) *image.RGBA {
	r = r.Intersect(image.Rect(0, 0, rv.dw, rv.dh))
	if r.Empty() {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	scale := math.Min(1, float64(side)/float64(max(r.Dx(), r.Dy())))
	w, h := max(1, int(float64(r.Dx())*scale)), max(1, int(float64(r.Dy())*scale))
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		dy := r.Min.Y + min(r.Dy()-1, int((float64(y)+0.5)/scale))
		for x := range w {
			dx := r.Min.X + min(r.Dx()-1, int((float64(x)+0.5)/scale))
			sx, sy := rv.orient.storedPixel(dx, dy)
			i := out.PixOffset(x, y)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = img.rgb(sx, sy)
			out.Pix[i+3] = 255
		}
	}
	return out
}

// before sees the frame unmasked: keep each track's best detection.
func (rv *reviewer) before(frame int, img frameImage, regs []region) {
	for _, r := range regs {
		if r.track == 0 || r.kind != KindDetected {
			continue
		}
		t := rv.thumbs[r.track]
		if t != nil && t.score >= r.score {
			continue
		}
		rv.thumbs[r.track] = &thumb{score: r.score, frame: frame, img: rv.crop(img, r.rect, thumbSide)}
	}
}

// after sees the frame masked: keep, per slot of the video, the frame with
// the most masks, outlined.
func (rv *reviewer) after(frame int, img frameImage, regs []region) {
	slot := min(previewCount-1, frame/rv.bucket)
	p := rv.previews[slot]
	if p != nil && p.masks >= len(regs) {
		return
	}
	full := image.Rect(0, 0, rv.dw, rv.dh)
	pic := rv.crop(img, full, previewSide)
	s := float64(pic.Rect.Dx()) / float64(rv.dw)
	for _, r := range regs {
		c := color.RGBA{0, 220, 0, 255}
		switch {
		case r.track == 0:
			c = color.RGBA{230, 0, 0, 255}
		case r.label == detect.LabelText:
			c = color.RGBA{0, 120, 255, 255}
		}
		sr := image.Rect(int(float64(r.rect.Min.X)*s), int(float64(r.rect.Min.Y)*s),
			int(math.Ceil(float64(r.rect.Max.X)*s)), int(math.Ceil(float64(r.rect.Max.Y)*s)))
		outline(pic, sr, c)
		if r.track > 0 {
			drawNumber(pic, sr.Min.X+2, sr.Min.Y+2, r.track, c)
		}
	}
	rv.previews[slot] = &preview{masks: len(regs), frame: frame, img: pic}
}

func outline(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	if r.Empty() {
		return
	}
	for t := 0; t < 2; t++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, r.Min.Y+t, c)
			img.SetRGBA(x, r.Max.Y-1-t, c)
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			img.SetRGBA(r.Min.X+t, y, c)
			img.SetRGBA(r.Max.X-1-t, y, c)
		}
	}
}

// digits is a 3x5 bitmap font for track numbers.
var digits = [10][5]string{
	{"###", "#.#", "#.#", "#.#", "###"},
	{".#.", "##.", ".#.", ".#.", "###"},
	{"###", "..#", "###", "#..", "###"},
	{"###", "..#", "###", "..#", "###"},
	{"#.#", "#.#", "###", "..#", "..#"},
	{"###", "#..", "###", "..#", "###"},
	{"###", "#..", "###", "#.#", "###"},
	{"###", "..#", "..#", "..#", "..#"},
	{"###", "#.#", "###", "#.#", "###"},
	{"###", "#.#", "###", "..#", "###"},
}

// drawNumber writes n at (x, y) in 2x-scaled digits on a dark backing.
func drawNumber(img *image.RGBA, x, y, n int, c color.RGBA) {
	s := fmt.Sprint(n)
	const k = 2
	back := image.Rect(x, y, x+len(s)*4*k+k, y+7*k).Intersect(img.Rect)
	draw.Draw(img, back, image.NewUniform(color.RGBA{0, 0, 0, 255}), image.Point{}, draw.Src)
	for i, ch := range s {
		g := digits[ch-'0']
		for row := range 5 {
			for col := range 3 {
				if g[row][col] != '#' {
					continue
				}
				for dy := range k {
					for dx := range k {
						px, py := x+k+(i*4+col)*k+dx, y+k+row*k+dy
						if image.Pt(px, py).In(img.Rect) {
							img.SetRGBA(px, py, c)
						}
					}
				}
			}
		}
	}
}

// contactSheet lays out one thumbnail per track with its number.
func (rv *reviewer) contactSheet(tracks []ReviewTrack) *image.RGBA {
	const cell, pad, label = thumbSide + 8, 4, 18
	cols := min(8, max(1, len(tracks)))
	rows := (len(tracks) + cols - 1) / cols
	sheet := image.NewRGBA(image.Rect(0, 0, cols*cell, rows*(cell+label)))
	draw.Draw(sheet, sheet.Rect, image.NewUniform(color.RGBA{40, 40, 40, 255}), image.Point{}, draw.Src)
	for i, t := range tracks {
		x0, y0 := (i%cols)*cell, (i/cols)*(cell+label)
		c := color.RGBA{0, 220, 0, 255}
		if t.Label == detect.LabelText {
			c = color.RGBA{0, 120, 255, 255}
		}
		if t.Excluded {
			c = color.RGBA{160, 160, 160, 255}
		}
		if th := rv.thumbs[t.ID]; th != nil {
			b := th.img.Rect
			at := image.Pt(x0+pad+(thumbSide-b.Dx())/2, y0+pad+(thumbSide-b.Dy())/2)
			draw.Draw(sheet, image.Rectangle{Min: at, Max: at.Add(b.Size())}, th.img, b.Min, draw.Src)
		}
		drawNumber(sheet, x0+pad, y0+cell, t.ID, c)
	}
	return sheet
}

// reviewFiles renders the review output.
func (rv *reviewer) files(doc ReviewTracks) (map[string][]byte, error) {
	for i := range doc.Tracks {
		if th := rv.thumbs[doc.Tracks[i].ID]; th != nil {
			doc.Tracks[i].Thumb = th.frame
		} else {
			doc.Tracks[i].Thumb = -1
		}
	}
	out := map[string][]byte{}
	js, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, err
	}
	out["tracks.json"] = append(js, '\n')
	if len(doc.Tracks) > 0 {
		var buf bytes.Buffer
		if err := png.Encode(&buf, rv.contactSheet(doc.Tracks)); err != nil {
			return nil, err
		}
		out["contact.png"] = buf.Bytes()
	}
	n := 0
	for _, p := range rv.previews {
		if p == nil {
			continue
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, p.img); err != nil {
			return nil, err
		}
		n++
		out[fmt.Sprintf("preview-%d-frame%06d.png", n, p.frame)] = buf.Bytes()
	}
	return out, nil
}

// writeReviewDir writes the files atomically into dir (created if needed),
// in a stable order.
func writeReviewDir(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("review directory: %w", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := atomicfile.WriteFile(filepath.Join(dir, n), files[n], 0o600); err != nil {
			return fmt.Errorf("review output: %w", err)
		}
	}
	return nil
}
