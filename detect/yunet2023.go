//go:build cgo

package detect

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// newYuNet2023 loads YuNet 2023mar (ReadNetFromONNX; OpenCV 4.6's
// FaceDetectorYN cannot run it). It takes any input padded to multiples
// of 32, so each pass is the whole frame resized, padded at the bottom
// and right with black as the reference implementation does.
func newYuNet2023(dir string, cfg Config) (*scaledDetector, error) {
	data, m, err := LoadModel(dir, ModelYuNet2023)
	if err != nil {
		return nil, err
	}
	// One network per padded input size (see netsBySize).
	sized, err := newNetsBySize(data, m, 8)
	if err != nil {
		return nil, err
	}
	d := &scaledDetector{
		name: ModelYuNet2023, models: []Model{m}, sized: sized,
		thresh: cfg.faceThreshold(FaceYuNet2023), nms: cfg.NMSThreshold, minFace: cfg.MinFace,
		rng: yunet2023Range, ratio: yunet2023Ratio,
	}
	d.run = func(in gocv.Mat) ([]Box, error) { return runYuNet2023(d.sized, in, d.thresh) }
	return d, nil
}

// runYuNet2023 runs one forward pass on in and decodes it; boxes are in
// in's pixels.
func runYuNet2023(nets *netsBySize, in gocv.Mat, thresh float64) ([]Box, error) {
	pw, ph := yunet2023Pad(in.Cols(), in.Rows())
	if pw != in.Cols() || ph != in.Rows() {
		padded := padTo(in, pw, ph, [3]uint8{})
		defer padded.Close()
		in = padded
	}
	sz := image.Pt(pw, ph)
	net, err := nets.net(sz)
	if err != nil {
		return nil, err
	}
	blob := gocv.BlobFromImage(in, 1, sz, gocv.NewScalar(0, 0, 0, 0), false, false)
	defer blob.Close()
	net.SetInput(blob, "")
	outs := net.ForwardLayers(yunet2023Outputs)
	defer closeAll(outs)
	if len(outs) != len(yunet2023Outputs) {
		return nil, fmt.Errorf("yunet 2023mar: %d outputs, want %d", len(outs), len(yunet2023Outputs))
	}
	var levels [3]yunet2023Level
	for i := range levels {
		cls, err1 := outs[i].DataPtrFloat32()
		obj, err2 := outs[3+i].DataPtrFloat32()
		bbox, err3 := outs[6+i].DataPtrFloat32()
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("yunet 2023mar: unexpected output type")
		}
		levels[i] = yunet2023Level{cls: cls, obj: obj, bbox: bbox}
	}
	return yunet2023Decode(levels, pw, ph, thresh)
}
