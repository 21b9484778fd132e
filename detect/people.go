//go:build cgo

package detect

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// peopleDetector finds people with YOLOX-Nano (COCO class 0), letterboxed
// into its fixed 416×416 input; frames much wider or taller than square
// are also run in square tiles, where small people are found that the
// whole-frame pass, shrunk, loses.
type peopleDetector struct {
	net    gocv.Net
	model  Model
	thresh float64
	tiles  bool
}

// newPeople loads YOLOX-Nano.
func newPeople(dir string, cfg Config) (*peopleDetector, error) {
	data, m, err := LoadModel(dir, ModelYOLOXNano)
	if err != nil {
		return nil, err
	}
	net, err := loadONNX(data, m)
	if err != nil {
		return nil, err
	}
	return &peopleDetector{net: net, model: m, thresh: cfg.PersonThreshold, tiles: !cfg.PersonWholeOnly}, nil
}

func (p *peopleDetector) Close() error { return p.net.Close() }

// detect returns person boxes in frame pixels (they may cross the frame
// edge), merged across passes.
func (p *peopleDetector) detect(img gocv.Mat) ([]Box, error) {
	if err := checkFrame(img); err != nil {
		return nil, err
	}
	w, h := img.Cols(), img.Rows()
	views := []image.Rectangle{image.Rect(0, 0, w, h)}
	if p.tiles {
		views = append(views, personTiles(w, h)...)
	}
	var all []Box
	for _, v := range views {
		view := img
		if v != image.Rect(0, 0, w, h) {
			view = img.Region(v)
		}
		boxes, err := p.run(view)
		if v != image.Rect(0, 0, w, h) {
			view.Close()
		}
		if err != nil {
			return nil, err
		}
		for _, b := range boxes {
			b.X += v.Min.X
			b.Y += v.Min.Y
			if cutByTile(b.Rect(), v, w, h) {
				continue
			}
			all = append(all, b)
		}
	}
	return inFrame(personNMS(all, personNMSIoU), w, h), nil
}

// run letterboxes one view into the network input and decodes its output.
func (p *peopleDetector) run(view gocv.Mat) ([]Box, error) {
	r := math.Min(float64(yoloxSide)/float64(view.Cols()), float64(yoloxSide)/float64(view.Rows()))
	sz := image.Pt(min(yoloxSide, max(1, int(math.Round(float64(view.Cols())*r)))),
		min(yoloxSide, max(1, int(math.Round(float64(view.Rows())*r)))))
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(view, &small, sz, 0, 0, gocv.InterpolationLinear)
	in := padTo(small, yoloxSide, yoloxSide, [3]uint8{yoloxFill, yoloxFill, yoloxFill})
	defer in.Close()
	blob := gocv.BlobFromImage(in, 1, image.Pt(yoloxSide, yoloxSide), gocv.NewScalar(0, 0, 0, 0), false, false)
	defer blob.Close()
	p.net.SetInput(blob, "")
	out := p.net.Forward("")
	defer out.Close()
	vals, err := out.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("yolox: unexpected output type")
	}
	boxes, err := yoloxDecode(vals, yoloxSide, yoloxPerson, p.thresh)
	if err != nil {
		return nil, err
	}
	sx, sy := float64(sz.X)/float64(view.Cols()), float64(sz.Y)/float64(view.Rows())
	for i, b := range boxes {
		boxes[i] = scaleBox(b, image.Point{}, sx, sy)
	}
	return boxes, nil
}
