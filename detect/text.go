//go:build cgo

package detect

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// maxTextNets bounds the per-size network cache; a video has one frame
// size, a folder of photos a handful.
const maxTextNets = 6

// textNets runs PP-OCRv3 det. OpenCV 4.6 returns wrong probability maps
// when one Net instance for this model sees a second input size (the
// allocated blobs of the first shape are reused), so it keeps one Net per
// input size (see netsBySize).
type textNets struct {
	*netsBySize
}

func newTextNets(dir string) (*textNets, error) {
	data, m, err := LoadModel(dir, ModelPPOCRDet)
	if err != nil {
		return nil, err
	}
	n, err := newNetsBySize(data, m, maxTextNets)
	if err != nil {
		return nil, err
	}
	return &textNets{n}, nil
}

// PP-OCR normalisation, applied per channel to the BGR image as PaddleOCR
// does (its mean/std lists are in the order of the array it is given).
var (
	ppocrMean = [3]float64{0.485, 0.456, 0.406}
	ppocrStd  = [3]float32{0.229, 0.224, 0.225}
)

// probMap runs the network on img resized to sz (sides multiples of 32)
// and returns the text probability map, sz.X×sz.Y, row-major.
func (t *textNets) probMap(img gocv.Mat, sz image.Point) ([]float32, error) {
	net, err := t.net(sz)
	if err != nil {
		return nil, err
	}
	return ppocrForward(net, img, sz)
}

// ppocrForward runs one PP-OCR det network on img resized to sz.
func ppocrForward(net *gocv.Net, img gocv.Mat, sz image.Point) ([]float32, error) {
	src, own := img, img.Cols() != sz.X || img.Rows() != sz.Y
	if own {
		src = resized(img, sz)
		defer src.Close()
	}
	blob := gocv.BlobFromImage(src, 1.0/255, sz,
		gocv.NewScalar(ppocrMean[0]*255, ppocrMean[1]*255, ppocrMean[2]*255, 0), false, false)
	defer blob.Close()
	data, err := blob.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("ppocr: blob: %w", err)
	}
	plane := sz.X * sz.Y
	if len(data) != 3*plane {
		return nil, fmt.Errorf("ppocr: blob has %d values, want %d", len(data), 3*plane)
	}
	for c := 0; c < 3; c++ { // blob is (x/255 − mean); finish with ÷ std
		inv := 1 / ppocrStd[c]
		p := data[c*plane : (c+1)*plane]
		for i := range p {
			p[i] *= inv
		}
	}
	net.SetInput(blob, "")
	out := net.Forward("")
	defer out.Close()
	if s := out.Size(); len(s) != 4 || s[2] != sz.Y || s[3] != sz.X {
		return nil, fmt.Errorf("ppocr: output shape %v, want [1 1 %d %d]", s, sz.Y, sz.X)
	}
	return floats(out)
}

// dbBoxes is DB post-processing: threshold the map, take the contours,
// keep those whose minimum-area rectangle scores at least boxThresh, and
// grow each by the unclip distance. Rectangles are in map pixels.
func dbBoxes(prob []float32, w, h int, thresh, boxThresh, unclip float64) ([]Box, error) {
	bits := dbBitmap(prob, float32(thresh))
	mask, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, bits)
	if err != nil {
		return nil, err
	}
	defer mask.Close()
	contours := gocv.FindContours(mask, gocv.RetrievalList, gocv.ChainApproxSimple)
	defer contours.Close()
	const maxCandidates = 1000
	var out []Box
	for i := 0; i < contours.Size() && i < maxCandidates; i++ {
		c := contours.At(i)
		if c.Size() < 3 {
			continue
		}
		rr := gocv.MinAreaRect(c)
		rw, rh := float64(rr.Width), float64(rr.Height)
		if min(rw, rh) < 3 {
			continue
		}
		score := polygonMean(prob, w, h, rr.Points)
		if score < boxThresh {
			continue
		}
		bounds := image.Rectangle{Min: rr.Points[0], Max: rr.Points[0]}
		for _, p := range rr.Points[1:] {
			bounds.Min.X, bounds.Min.Y = min(bounds.Min.X, p.X), min(bounds.Min.Y, p.Y)
			bounds.Max.X, bounds.Max.Y = max(bounds.Max.X, p.X), max(bounds.Max.Y, p.Y)
		}
		r := unclipRect(bounds, rw, rh, unclip)
		if min(r.Dx(), r.Dy()) < 5 {
			continue
		}
		out = append(out, boxFromRect(r, score, LabelText))
	}
	return out, nil
}

// textRegions runs the text model over the whole frame and returns the
// text boxes in frame pixels.
func (t *textNets) textRegions(img gocv.Mat, cfg Config) ([]Box, error) {
	w, h := img.Cols(), img.Rows()
	sz := textInputSize(w, h, cfg.TextMaxSide)
	prob, err := t.probMap(img, sz)
	if err != nil {
		return nil, err
	}
	boxes, err := dbBoxes(prob, sz.X, sz.Y, cfg.TextThreshold, cfg.TextBoxThreshold, cfg.TextUnclip)
	if err != nil {
		return nil, err
	}
	for i, b := range boxes {
		r := mapToFrame(b.Rect(), sz.X, sz.Y, w, h).Intersect(image.Rect(0, 0, w, h))
		boxes[i] = boxFromRect(r, b.Score, LabelText)
	}
	return boxes, nil
}

// Badge zone text pass: the chest and lanyard zone under a face, cut out
// and scaled so that the face is zoneTextUnit pixels wide, padded to the
// one input size zoneTextSize (OpenCV 4.6 needs one Net per input size),
// so that the name on a card 25 px wide in the frame is as large to the
// model as on a card 70 px wide.
const zoneTextUnit = 80

// zoneTextMax bounds the zone text passes of one frame, the largest
// faces first: a crowd of small faces would otherwise cost a text pass
// each (about 46 ms of CPU). Every zone's outline is still searched.
const zoneTextMax = 12

var zoneTextSize = image.Pt(288, 320) // a whole zone (3.6 × 3.9 face widths) at zoneTextUnit

// zoneText runs the text model on the badge zone of a and returns the
// text boxes in frame pixels.
func (t *textNets) zoneText(img gocv.Mat, a anchor, cfg Config) ([]Box, error) {
	frame := image.Rect(0, 0, img.Cols(), img.Rows())
	zone := a.zone().Intersect(frame)
	s := zoneTextUnit / a.unit
	sz := image.Pt(min(int(math.Round(float64(zone.Dx())*s)), zoneTextSize.X), min(int(math.Round(float64(zone.Dy())*s)), zoneTextSize.Y))
	if sz.X < 16 || sz.Y < 16 {
		return nil, nil
	}
	roi := img.Region(zone)
	defer roi.Close()
	z := resized(roi, sz)
	defer z.Close()
	in := padTo(z, zoneTextSize.X, zoneTextSize.Y, [3]uint8{})
	defer in.Close()
	prob, err := t.probMap(in, zoneTextSize)
	if err != nil {
		return nil, err
	}
	boxes, err := dbBoxes(prob, zoneTextSize.X, zoneTextSize.Y, cfg.TextThreshold, cfg.TextBoxThreshold, cfg.TextUnclip)
	if err != nil {
		return nil, err
	}
	out := boxes[:0]
	for _, b := range boxes {
		r := mapToFrame(b.Rect().Intersect(image.Rectangle{Max: sz}), sz.X, sz.Y, zone.Dx(), zone.Dy())
		if r.Empty() {
			continue
		}
		out = append(out, boxFromRect(r.Add(zone.Min), b.Score, LabelText))
	}
	return out, nil
}
