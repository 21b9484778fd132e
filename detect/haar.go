//go:build cgo

package detect

import (
	"fmt"
	"image"
	"math"
	"path/filepath"

	"gocv.io/x/gocv"
)

// HaarName is the audit name of the Haar cascade fallback.
const HaarName = "haar-cascades"

// haarCascades are the cascades the fallback runs: two frontal cascades
// (alt2 is precise, default finds more), and the profile cascade on the
// frame and on its mirror image, since it only knows faces turned one way.
var haarCascades = []struct {
	file   string
	mirror bool
}{
	{"haarcascade_frontalface_alt2.xml", false},
	{"haarcascade_frontalface_default.xml", false},
	{"haarcascade_profileface.xml", false},
	{"haarcascade_profileface.xml", true},
}

// Haar parameters: haarWindow is the cascades' smallest detection window;
// haarReliable the annotated face side (larger than the window's inner
// face) from which they find faces reliably, so frames are rescaled to bring
// the smallest wanted face to it; haarNeighbors the neighbour count a
// detection needs, 2 rather than OpenCV's usual 3 for recall (measured on
// faces_dlib with 20 px faces: 95% against 91%, at some precision).
const (
	haarWindow    = 20
	haarReliable  = 24
	haarNeighbors = 2
)

type haar struct {
	cascades  []gocv.CascadeClassifier
	mirror    []bool
	models    []Model
	minFace   int
	neighbors int
	nms       float64
}

// newHaar loads the cascades from dir. Their hashes are recorded for the
// audit but not checked against a list: they come from the distribution's
// opencv-data package, whose version the package manager vouches for.
func newHaar(dir string, cfg Config) (*haar, error) {
	h := &haar{minFace: cfg.MinFace, neighbors: haarNeighbors, nms: cfg.NMSThreshold}
	loaded := map[string]Model{}
	for _, c := range haarCascades {
		p := filepath.Join(dir, c.file)
		m, ok := loaded[c.file]
		if !ok {
			sum, err := sha256File(p)
			if err != nil {
				h.Close()
				return nil, &ModelError{Model: modelHaarPrefix + c.file, Path: p, Err: fmt.Errorf(
					"%w (install Debian's opencv-data or set the Haar directory)", err)}
			}
			m = Model{Name: modelHaarPrefix + trimExt(c.file), Path: p, SHA256: sum}
			loaded[c.file] = m
			h.models = append(h.models, m)
		}
		cc := gocv.NewCascadeClassifier()
		if !cc.Load(p) {
			cc.Close()
			h.Close()
			return nil, &ModelError{Model: m.Name, Path: p, Err: &detailError{ErrModelLoad, "not a valid cascade"}}
		}
		h.cascades = append(h.cascades, cc)
		h.mirror = append(h.mirror, c.mirror)
	}
	return h, nil
}

func trimExt(f string) string { return f[:len(f)-len(filepath.Ext(f))] }

func (h *haar) Name() string    { return HaarName }
func (h *haar) Models() []Model { return append([]Model(nil), h.models...) }

func (h *haar) Close() error {
	for i := range h.cascades {
		h.cascades[i].Close()
	}
	h.cascades = nil
	return nil
}

// Detect runs every cascade over the equalised grey frame, rescaled so
// that the smallest wanted face is haarReliable pixels.
func (h *haar) Detect(img gocv.Mat) ([]Box, error) {
	if err := checkFrame(img); err != nil {
		return nil, err
	}
	w, ht := img.Cols(), img.Rows()
	s := math.Min(maxUpscale, float64(haarReliable)/float64(h.minFace))
	sz := scaledSize(w, ht, s)
	sx, sy := float64(sz.X)/float64(w), float64(sz.Y)/float64(ht)

	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(img, &gray, gocv.ColorBGRToGray)
	if sz.X != w || sz.Y != ht {
		scaled := resized(gray, sz)
		gray.Close()
		gray = scaled
	}
	gocv.EqualizeHist(gray, &gray)
	flipped := gocv.NewMat()
	defer flipped.Close()
	gocv.Flip(gray, &flipped, 1)

	minSize := image.Pt(haarWindow, haarWindow)
	var all []Box
	for i := range h.cascades {
		src := gray
		if h.mirror[i] {
			src = flipped
		}
		rects := h.cascades[i].DetectMultiScaleWithParams(src, 1.1, h.neighbors, 0, minSize, image.Point{})
		for _, r := range rects {
			if h.mirror[i] {
				r = image.Rect(sz.X-r.Max.X, r.Min.Y, sz.X-r.Min.X, r.Max.Y)
			}
			b := boxFromRect(r, 1, LabelFace)
			all = append(all, scaleBox(b, image.Point{}, sx, sy))
		}
	}
	return inFrame(NMS(all, h.nms), w, ht), nil
}
