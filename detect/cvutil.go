//go:build cgo

package detect

import (
	"fmt"
	"image"
	"image/color"

	"gocv.io/x/gocv"
)

// checkFrame rejects frames the detectors cannot read.
func checkFrame(img gocv.Mat) error {
	if img.Empty() {
		return fmt.Errorf("%w: empty image", ErrFrame)
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		return fmt.Errorf("%w: pixel type %v, want 8-bit BGR (CV_8UC3)", ErrFrame, img.Type())
	}
	return nil
}

// resized returns img resized to sz (area interpolation when shrinking,
// which keeps small faces from aliasing away). The caller closes it.
func resized(img gocv.Mat, sz image.Point) gocv.Mat {
	dst := gocv.NewMat()
	interp := gocv.InterpolationArea
	if sz.X > img.Cols() || sz.Y > img.Rows() {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(img, &dst, sz, 0, 0, interp)
	return dst
}

// padTo copies src into a w×h canvas of the BGR colour fill, src at the
// top left. The caller closes the result.
func padTo(src gocv.Mat, w, h int, fill [3]uint8) gocv.Mat {
	dst := gocv.NewMat()
	gocv.CopyMakeBorder(src, &dst, 0, h-src.Rows(), 0, w-src.Cols(), gocv.BorderConstant,
		color.RGBA{B: fill[0], G: fill[1], R: fill[2]})
	return dst
}

// floats copies a float32 Mat's data into Go memory, so the Mat can be
// closed straight away.
func floats(m gocv.Mat) ([]float32, error) {
	d, err := m.DataPtrFloat32()
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), d...), nil
}

func closeAll(ms []gocv.Mat) {
	for i := range ms {
		ms[i].Close()
	}
}

// loadONNX builds a network from verified model bytes.
func loadONNX(data []byte, m Model) (gocv.Net, error) {
	net, err := gocv.ReadNetFromONNXBytes(data)
	if err != nil || net.Empty() {
		if err == nil {
			err = fmt.Errorf("empty network")
		}
		net.Close()
		return gocv.Net{}, &ModelError{Model: m.Name, Path: m.Path, Err: &detailError{ErrModelLoad, err.Error()}}
	}
	if err := net.SetPreferableBackend(gocv.NetBackendDefault); err != nil {
		net.Close()
		return gocv.Net{}, err
	}
	if err := net.SetPreferableTarget(gocv.NetTargetCPU); err != nil {
		net.Close()
		return gocv.Net{}, err
	}
	return net, nil
}
