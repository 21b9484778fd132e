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

// netsBySize keeps one network per input size, built from the same
// verified bytes, evicting the least recently used beyond max. Giving a
// Net a new input shape makes OpenCV reallocate and re-initialise every
// layer on the next forward pass (and for some models, with 4.6, reuse
// stale blobs); a detector that alternates between a few sizes (YuNet's
// passes at two scales, PP-OCR on frames of a video) pays that on every
// call with a single Net.
type netsBySize struct {
	data  []byte
	model Model
	max   int
	nets  map[image.Point]*gocv.Net
	lru   []image.Point // most recent last
}

// newNetsBySize builds one network at once so that a model OpenCV cannot
// load fails at Open rather than on the first frame.
func newNetsBySize(data []byte, m Model, max int) (*netsBySize, error) {
	n, err := loadONNX(data, m)
	if err != nil {
		return nil, err
	}
	n.Close()
	return &netsBySize{data: data, model: m, max: max, nets: map[image.Point]*gocv.Net{}}, nil
}

// net returns the network for one input size.
func (t *netsBySize) net(sz image.Point) (*gocv.Net, error) {
	for i, p := range t.lru {
		if p == sz {
			t.lru = append(append(t.lru[:i:i], t.lru[i+1:]...), sz)
			return t.nets[sz], nil
		}
	}
	n, err := loadONNX(t.data, t.model)
	if err != nil {
		return nil, err
	}
	if len(t.lru) >= t.max {
		old := t.lru[0]
		t.nets[old].Close()
		delete(t.nets, old)
		t.lru = t.lru[1:]
	}
	t.nets[sz] = &n
	t.lru = append(t.lru, sz)
	return &n, nil
}

func (t *netsBySize) Close() error {
	for _, n := range t.nets {
		n.Close()
	}
	t.nets, t.lru = map[image.Point]*gocv.Net{}, nil
	return nil
}
