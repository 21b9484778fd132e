//go:build cgo

package detect

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// Reliable face sizes in network-input pixels, and the largest ratio
// between consecutive pass scales, per model. Measured on faces_dlib
// rescaled (see TestFaceSizeSweep): each model finds faces well inside its
// range, so passes overlap rather than just touch.
var (
	yunetRange     = faceRange{min: 12, max: 300}
	yunet2023Range = faceRange{min: 12, max: 300}
	ultraRange     = faceRange{min: 14, max: 160}
	ssdRange       = faceRange{min: 28, max: 256}
)

const (
	yunetMinInput  = 64
	yunetRatio     = 3.0
	yunet2023Ratio = 3.0
	ultraRatio     = 2.5
	ssdRatio       = 2.5
	maxUpscale     = 2.0
)

// scaledDetector runs one network over a multi-scale pass plan.
type scaledDetector struct {
	name    string
	net     gocv.Net
	models  []Model
	thresh  float64
	nms     float64
	minFace int
	rng     faceRange
	ratio   float64
	// fixed network input (0 for networks taking any size, which get the
	// whole resized frame in one pass instead of tiles)
	inW, inH int
	fill     [3]uint8
	run      func(in gocv.Mat) ([]Box, error) // boxes in input pixels
	// sized, when set, holds one network per input size for any-size
	// networks (net is then unused and empty).
	sized *netsBySize
}

func (d *scaledDetector) Name() string    { return d.name }
func (d *scaledDetector) Models() []Model { return append([]Model(nil), d.models...) }
func (d *scaledDetector) Close() error {
	if d.sized != nil {
		return d.sized.Close()
	}
	return d.net.Close()
}

// Detect runs every planned pass, maps the boxes back to the frame and
// merges duplicates. Boxes may cross the frame edge (see inFrame).
func (d *scaledDetector) Detect(img gocv.Mat) ([]Box, error) { return d.detectMin(img, true, 0) }

// detectCoarse runs every planned pass but the finest, when there are
// several: it finds the faces the next pass is responsible for and larger
// ones (see Config.SmallFaceEvery).
func (d *scaledDetector) detectCoarse(img gocv.Mat) ([]Box, error) { return d.detectMin(img, false, 0) }

// detectMin plans the passes for faces down to minFace px (0: the
// configured MinFace) and runs them, all or (fine false) all but the
// finest.
func (d *scaledDetector) detectMin(img gocv.Mat, fine bool, minFace int) ([]Box, error) {
	if err := checkFrame(img); err != nil {
		return nil, err
	}
	if minFace <= 0 {
		minFace = d.minFace
	}
	w, h := img.Cols(), img.Rows()
	scales := planScales(w, h, minFace, d.rng, d.ratio, maxUpscale)
	var all []Box
	for i, s := range scales {
		if i == 0 && !fine && len(scales) > 1 {
			continue
		}
		sz := scaledSize(w, h, s)
		sx, sy := float64(sz.X)/float64(w), float64(sz.Y)/float64(h)
		level, own := img, sz.X != w || sz.Y != h
		if own {
			level = resized(img, sz)
		}
		coarsest := i == len(scales)-1
		boxes, err := d.level(level, coarsest)
		if own {
			level.Close()
		}
		if err != nil {
			return nil, err
		}
		band := math.Inf(1)
		if !coarsest {
			band = bandMax(d.rng, scales[i]/scales[i+1])
		}
		for _, b := range boxes {
			if float64(max(b.W, b.H)) > band {
				continue
			}
			all = append(all, scaleBox(b, image.Point{}, sx, sy))
		}
	}
	return inFrame(NMS(dropWeakGiants(all, w, h, d.thresh), d.nms), w, h), nil
}

// Boxes wider or taller than giantShare of the frame's shorter side need
// at least giantThreshold: the models' largest anchors fire on dark corners
// and blank walls with middling scores (0.6 on the fisheye clip), while a
// face that close is seen sharply and scores above 0.99 (and no face of
// faces_dlib, at any scale, needed more than 0.79 to be found).
const (
	giantShare     = 0.5
	giantThreshold = 0.8
)

func dropWeakGiants(boxes []Box, w, h int, thresh float64) []Box {
	if thresh >= giantThreshold {
		return boxes
	}
	limit := giantShare * float64(min(w, h))
	out := boxes[:0]
	for _, b := range boxes {
		if float64(max(b.W, b.H)) > limit && b.Score < giantThreshold {
			continue
		}
		out = append(out, b)
	}
	return out
}

// level runs the network over one resized frame: in one pass for
// any-size networks, else in overlapping tiles of the network's input size.
// Tiles overlap by more than the largest face this level is responsible
// for (larger ones are found whole by the next coarser level).
func (d *scaledDetector) level(img gocv.Mat, coarsest bool) ([]Box, error) {
	if d.inW == 0 {
		return d.run(img)
	}
	overlap := min(min(d.inW, d.inH)/2, int(math.Ceil(1.3*d.rng.min*d.ratio)))
	if coarsest {
		overlap = min(d.inW, d.inH) / 2
	}
	var out []Box
	for _, t := range tileGrid(img.Cols(), img.Rows(), d.inW, d.inH, overlap) {
		tile := img.Region(t)
		in, padded := tile, t.Dx() != d.inW || t.Dy() != d.inH
		if padded {
			in = padTo(tile, d.inW, d.inH, d.fill)
		}
		boxes, err := d.run(in)
		if padded {
			in.Close()
		}
		tile.Close()
		if err != nil {
			return nil, err
		}
		for _, b := range boxes {
			b.X += t.Min.X
			b.Y += t.Min.Y
			out = append(out, b)
		}
	}
	return out, nil
}

// newYuNet loads YuNet 2022mar. It takes any input size, so each pass is
// the whole frame resized; anchors are generated per input size.
func newYuNet(dir string, cfg Config) (*scaledDetector, error) {
	data, m, err := LoadModel(dir, ModelYuNet)
	if err != nil {
		return nil, err
	}
	// One network per pass size: each frame runs two or three passes
	// of different sizes, and a Net given a new shape re-allocates and
	// re-initialises every layer on its next forward pass.
	sized, err := newNetsBySize(data, m, 8)
	if err != nil {
		return nil, err
	}
	d := &scaledDetector{
		name: ModelYuNet, models: []Model{m}, sized: sized,
		thresh: cfg.faceThreshold(FaceYuNet), nms: cfg.NMSThreshold, minFace: cfg.MinFace,
		rng: yunetRange, ratio: yunetRatio,
	}
	priors := map[image.Point][]prior{}
	outNames := []string{"loc", "conf", "iou"}
	d.run = func(in gocv.Mat) ([]Box, error) {
		if in.Cols() < yunetMinInput || in.Rows() < yunetMinInput {
			// Smaller inputs leave the stride-64 feature map empty, which
			// OpenCV answers with an exception that aborts the process.
			padded := padTo(in, max(in.Cols(), yunetMinInput), max(in.Rows(), yunetMinInput), [3]uint8{})
			defer padded.Close()
			in = padded
		}
		sz := image.Pt(in.Cols(), in.Rows())
		p, ok := priors[sz]
		if !ok {
			p = yunetPriors(sz.X, sz.Y)
			if len(priors) > 16 { // frames of many sizes: keep memory bounded
				clear(priors)
			}
			priors[sz] = p
		}
		net, err := d.sized.net(sz)
		if err != nil {
			return nil, err
		}
		blob := gocv.BlobFromImage(in, 1, sz, gocv.NewScalar(0, 0, 0, 0), false, false)
		defer blob.Close()
		net.SetInput(blob, "")
		outs := net.ForwardLayers(outNames)
		defer closeAll(outs)
		if len(outs) != 3 {
			return nil, fmt.Errorf("yunet: %d outputs, want 3", len(outs))
		}
		loc, err1 := outs[0].DataPtrFloat32()
		conf, err2 := outs[1].DataPtrFloat32()
		iou, err3 := outs[2].DataPtrFloat32()
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("yunet: unexpected output type")
		}
		return yunetDecode(loc, conf, iou, p, sz.X, sz.Y, d.thresh)
	}
	return d, nil
}

// newUltraFace loads UltraFace RFB-320 (fixed 320×240 RGB input,
// normalised (x−127)/128), run in tiles.
func newUltraFace(dir string, cfg Config) (*scaledDetector, error) {
	data, m, err := LoadModel(dir, ModelUltraFace)
	if err != nil {
		return nil, err
	}
	net, err := loadONNX(data, m)
	if err != nil {
		return nil, err
	}
	d := &scaledDetector{
		name: ModelUltraFace, net: net, models: []Model{m},
		thresh: cfg.faceThreshold(FaceUltraFace), nms: cfg.NMSThreshold, minFace: cfg.MinFace,
		rng: ultraRange, ratio: ultraRatio, inW: ultraW, inH: ultraH, fill: [3]uint8{127, 127, 127},
	}
	priors := ultraPriors(ultraW, ultraH)
	outNames := []string{"scores", "boxes"}
	d.run = func(in gocv.Mat) ([]Box, error) {
		blob := gocv.BlobFromImage(in, 1.0/128, image.Pt(ultraW, ultraH), gocv.NewScalar(127, 127, 127, 0), true, false)
		defer blob.Close()
		d.net.SetInput(blob, "")
		outs := d.net.ForwardLayers(outNames)
		defer closeAll(outs)
		if len(outs) != 2 {
			return nil, fmt.Errorf("ultraface: %d outputs, want 2", len(outs))
		}
		scores, err1 := outs[0].DataPtrFloat32()
		boxes, err2 := outs[1].DataPtrFloat32()
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ultraface: unexpected output type")
		}
		return ultraDecode(scores, boxes, priors, ultraW, ultraH, d.thresh)
	}
	return d, nil
}

const ssdSide = 300

// newSSD loads OpenCV's res10 SSD (TensorFlow uint8 weights plus graph
// text, 300×300 BGR input minus mean (104,177,123)), run in tiles.
func newSSD(dir string, cfg Config) (*scaledDetector, error) {
	pb, mpb, err := LoadModel(dir, ModelSSD)
	if err != nil {
		return nil, err
	}
	txt, mtxt, err := LoadModel(dir, ModelSSDConfig)
	if err != nil {
		return nil, err
	}
	net, err := gocv.ReadNetBytes("tensorflow", pb, txt)
	if err != nil || net.Empty() {
		if err == nil {
			err = fmt.Errorf("empty network")
		}
		net.Close()
		return nil, &ModelError{Model: mpb.Name, Path: mpb.Path, Err: &detailError{ErrModelLoad, err.Error()}}
	}
	d := &scaledDetector{
		name: ModelSSD, net: net, models: []Model{mpb, mtxt},
		thresh: cfg.faceThreshold(FaceSSD), nms: cfg.NMSThreshold, minFace: cfg.MinFace,
		rng: ssdRange, ratio: ssdRatio, inW: ssdSide, inH: ssdSide, fill: [3]uint8{104, 177, 123},
	}
	d.run = func(in gocv.Mat) ([]Box, error) {
		blob := gocv.BlobFromImage(in, 1, image.Pt(ssdSide, ssdSide), gocv.NewScalar(104, 177, 123, 0), false, false)
		defer blob.Close()
		d.net.SetInput(blob, "")
		out := d.net.Forward("detection_out")
		defer out.Close()
		det, err := out.DataPtrFloat32()
		if err != nil {
			return nil, fmt.Errorf("ssd: unexpected output type")
		}
		return ssdDecode(det, ssdSide, ssdSide, d.thresh)
	}
	return d, nil
}
