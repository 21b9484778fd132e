//go:build cgo

package refyunet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gocv.io/x/gocv"
)

// Model versions.
const (
	V2022 = "2022mar"
	V2023 = "2023mar"
)

// Face is one detection in image pixels.
type Face struct {
	Rect  image.Rectangle
	Score float64
}

// Detector runs one YuNet model over fixed scales of each image.
type Detector struct {
	version   string
	threshold float64
	scales    []float64
	path      string
	sha       string
	data      []byte
	nets      map[image.Point]gocv.Net // one per input size (OpenCV 4.6)
	order     []image.Point
}

// Standard settings.
var (
	// PlainScales are the reference row's two passes: the image as it is
	// and at half size (for faces too large for the model at full size).
	PlainScales = []float64{1, 0.5}
)

// File is the model's file name.
func File(version string) string { return "face_detection_yunet_" + version + ".onnx" }

// Open loads YuNet of a version from modelsDir (its yunet/ folder or the
// directory itself) to run at the given scales and score threshold.
func Open(modelsDir, version string, threshold float64, scales []float64) (*Detector, error) {
	if version != V2022 && version != V2023 {
		return nil, fmt.Errorf("refyunet: unknown YuNet version %q (want %s or %s)", version, V2022, V2023)
	}
	if threshold <= 0 || threshold >= 1 || len(scales) == 0 {
		return nil, fmt.Errorf("refyunet: threshold %v or scales %v out of range", threshold, scales)
	}
	var path string
	var data []byte
	var err error
	for _, p := range []string{filepath.Join(modelsDir, "yunet", File(version)), filepath.Join(modelsDir, File(version))} {
		if data, err = os.ReadFile(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return nil, fmt.Errorf("refyunet: %s not in %s: %w", File(version), modelsDir, err)
	}
	sum := sha256.Sum256(data)
	return &Detector{version: version, threshold: threshold, scales: scales, path: path,
		sha: hex.EncodeToString(sum[:]), data: data, nets: map[image.Point]gocv.Net{}}, nil
}

// Name says what runs, e.g. "yunet-2022mar@0.3 x1,0.5".
func (d *Detector) Name() string {
	s := make([]string, len(d.scales))
	for i, v := range d.scales {
		s[i] = fmt.Sprint(v)
	}
	return fmt.Sprintf("yunet-%s@%g x%s", d.version, d.threshold, strings.Join(s, ","))
}

// Version is the model version; Path and SHA256 identify the file.
func (d *Detector) Version() string { return d.version }
func (d *Detector) Path() string    { return d.path }
func (d *Detector) SHA256() string  { return d.sha }

// Close releases the networks.
func (d *Detector) Close() error {
	for _, n := range d.nets {
		n.Close()
	}
	d.nets, d.order = map[image.Point]gocv.Net{}, nil
	return nil
}

// net returns the network for one input size, keeping at most 12.
func (d *Detector) net(sz image.Point) (gocv.Net, error) {
	if n, ok := d.nets[sz]; ok {
		return n, nil
	}
	if len(d.order) >= 12 {
		old := d.order[0]
		d.order = d.order[1:]
		n := d.nets[old]
		n.Close()
		delete(d.nets, old)
	}
	n, err := gocv.ReadNetFromONNXBytes(d.data)
	if err != nil || n.Empty() {
		n.Close()
		return gocv.Net{}, fmt.Errorf("refyunet: loading %s: %v", d.path, err)
	}
	d.nets[sz] = n
	d.order = append(d.order, sz)
	return n, nil
}

// Detect finds faces in a BGR image: each scale in one pass, boxes mapped
// back and merged by non-maximum suppression at IoU 0.3 (OpenCV's
// FaceDetectorYN default).
func (d *Detector) Detect(img gocv.Mat) ([]Face, error) {
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("refyunet: want a non-empty 8-bit BGR image")
	}
	w, h := img.Cols(), img.Rows()
	var all []Face
	for _, s := range d.scales {
		sw, sh := max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
		in := img
		if sw != w || sh != h {
			in = gocv.NewMat()
			interp := gocv.InterpolationArea
			if s > 1 {
				interp = gocv.InterpolationLinear
			}
			gocv.Resize(img, &in, image.Pt(sw, sh), 0, 0, interp)
		}
		faces, err := d.pass(in)
		if in.Ptr() != img.Ptr() {
			in.Close()
		}
		if err != nil {
			return nil, err
		}
		fx, fy := float64(w)/float64(sw), float64(h)/float64(sh)
		for _, f := range faces {
			r := f.Rect
			f.Rect = image.Rect(int(math.Floor(float64(r.Min.X)*fx)), int(math.Floor(float64(r.Min.Y)*fy)),
				int(math.Ceil(float64(r.Max.X)*fx)), int(math.Ceil(float64(r.Max.Y)*fy)))
			all = append(all, f)
		}
	}
	return nms(all, 0.3), nil
}

// pass runs the network once on img, padded as the layout needs: 2022mar
// takes any size of at least 64 (its stride-64 map must not be empty),
// 2023mar multiples of 32.
func (d *Detector) pass(img gocv.Mat) ([]Face, error) {
	w, h := img.Cols(), img.Rows()
	pw, ph := max(w, 64), max(h, 64)
	if d.version == V2023 {
		pw, ph = (w+31)/32*32, (h+31)/32*32
	}
	in := img
	if pw != w || ph != h {
		in = gocv.NewMat()
		defer in.Close()
		gocv.CopyMakeBorder(img, &in, 0, ph-h, 0, pw-w, gocv.BorderConstant, color.RGBA{})
	}
	sz := image.Pt(pw, ph)
	net, err := d.net(sz)
	if err != nil {
		return nil, err
	}
	blob := gocv.BlobFromImage(in, 1, sz, gocv.NewScalar(0, 0, 0, 0), false, false)
	defer blob.Close()
	net.SetInput(blob, "")
	names := []string{"loc", "conf", "iou"}
	if d.version == V2023 {
		names = []string{"cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32"}
	}
	outs := net.ForwardLayers(names)
	defer func() {
		for i := range outs {
			outs[i].Close()
		}
	}()
	if len(outs) != len(names) {
		return nil, fmt.Errorf("refyunet: %d outputs, want %d", len(outs), len(names))
	}
	data := make([][]float32, len(outs))
	for i := range outs {
		if data[i], err = outs[i].DataPtrFloat32(); err != nil {
			return nil, fmt.Errorf("refyunet: output %s: %w", names[i], err)
		}
	}
	var faces []Face
	if d.version == V2023 {
		faces, err = decode2023(data, pw, ph, d.threshold)
	} else {
		faces, err = decode2022(data[0], data[1], data[2], pw, ph, d.threshold)
	}
	// Boxes in the padding are clipped to the image.
	out := faces[:0]
	for _, f := range faces {
		if f.Rect = f.Rect.Intersect(image.Rect(0, 0, w, h)); !f.Rect.Empty() {
			out = append(out, f)
		}
	}
	return out, err
}

// decode2022 follows OpenCV 4.6's FaceDetectorYN: anchors of sides
// {10,16,24}, {32,48}, {64,96}, {128,192,256} at strides 8 to 64 over
// feature maps of the network's own rounding; loc holds 14 values per
// anchor (box deltas, then landmarks), conf 2 (background, face), iou 1;
// score sqrt(face × clamp(iou)); variances 0.1 (centre, width) and 0.2
// (height), as OpenCV has them.
func decode2022(loc, conf, iou []float32, w, h int, thresh float64) ([]Face, error) {
	minSizes := [][]float64{{10, 16, 24}, {32, 48}, {64, 96}, {128, 192, 256}}
	fw, fh := ((w+1)/2)/2, ((h+1)/2)/2
	var faces []Face
	i := 0
	for k, step := range []int{8, 16, 32, 64} {
		fw, fh = fw/2, fh/2
		for y := 0; y < fh; y++ {
			for x := 0; x < fw; x++ {
				for _, ms := range minSizes[k] {
					if 14*i+13 >= len(loc) || 2*i+1 >= len(conf) || i >= len(iou) {
						return nil, fmt.Errorf("refyunet: 2022mar outputs %d/%d/%d too short for a %dx%d input", len(loc), len(conf), len(iou), w, h)
					}
					io := math.Min(1, math.Max(0, float64(iou[i])))
					score := math.Sqrt(float64(conf[2*i+1]) * io)
					if score >= thresh {
						pcx, pcy := (float64(x)+0.5)*float64(step), (float64(y)+0.5)*float64(step)
						l := loc[14*i : 14*i+4]
						cx := pcx + float64(l[0])*0.1*ms
						cy := pcy + float64(l[1])*0.1*ms
						bw := ms * math.Exp(float64(l[2])*0.1)
						bh := ms * math.Exp(float64(l[3])*0.2)
						faces = append(faces, face(cx, cy, bw, bh, score))
					}
					i++
				}
			}
		}
	}
	if i != len(iou) {
		return nil, fmt.Errorf("refyunet: %d anchors for a %dx%d input, the network gave %d", i, w, h, len(iou))
	}
	return faces, nil
}

// decode2023 follows OpenCV 4.8's FaceDetectorYN for the 2023mar layout:
// one anchor per cell of the stride-8, 16 and 32 maps; score
// sqrt(clamp(cls) × clamp(obj)); centre (col + dx, row + dy) × stride,
// size exp(dw, dh) × stride. data holds cls, obj and bbox per stride.
func decode2023(data [][]float32, w, h int, thresh float64) ([]Face, error) {
	var faces []Face
	for k, stride := range []int{8, 16, 32} {
		cols, rows := w/stride, h/stride
		cls, obj, bbox := data[k], data[3+k], data[6+k]
		if len(cls) != cols*rows || len(obj) != cols*rows || len(bbox) != 4*cols*rows {
			return nil, fmt.Errorf("refyunet: 2023mar stride %d outputs %d/%d/%d for %dx%d cells", stride, len(cls), len(obj), len(bbox), cols, rows)
		}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				i := r*cols + c
				score := math.Sqrt(clamp01(cls[i]) * clamp01(obj[i]))
				if score < thresh {
					continue
				}
				s := float64(stride)
				cx, cy := (float64(c)+float64(bbox[4*i]))*s, (float64(r)+float64(bbox[4*i+1]))*s
				bw, bh := math.Exp(float64(bbox[4*i+2]))*s, math.Exp(float64(bbox[4*i+3]))*s
				faces = append(faces, face(cx, cy, bw, bh, score))
			}
		}
	}
	return faces, nil
}

func clamp01(v float32) float64 { return math.Min(1, math.Max(0, float64(v))) }

func face(cx, cy, w, h, score float64) Face {
	return Face{Rect: image.Rect(int(math.Floor(cx-w/2)), int(math.Floor(cy-h/2)), int(math.Ceil(cx+w/2)), int(math.Ceil(cy+h/2))), Score: score}
}

// nms keeps the best-scoring face of every group overlapping by more than
// iou.
func nms(faces []Face, iou float64) []Face {
	sort.SliceStable(faces, func(i, j int) bool { return faces[i].Score > faces[j].Score })
	var out []Face
	for _, f := range faces {
		keep := true
		for _, o := range out {
			if overlap(f.Rect, o.Rect) > iou {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, f)
		}
	}
	return out
}

func overlap(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}
