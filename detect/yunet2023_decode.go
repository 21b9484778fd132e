package detect

import (
	"fmt"
	"math"
)

// YuNet 2023mar has no priors: each output level is a grid of one anchor
// per cell at strides 8, 16 and 32 over an input padded to multiples of
// 32, with four outputs per level (as in OpenCV 4.8's FaceDetectorYN):
// cls and obj (one value per cell), bbox (dx, dy, log w, log h) and kps
// (five landmarks, unused here).
var yunet2023Strides = [3]int{8, 16, 32}

// yunet2023Align is the multiple the input sides are padded to.
const yunet2023Align = 32

// yunet2023Outputs names the network outputs, in the order the decoder
// takes them: cls, obj, bbox per stride.
var yunet2023Outputs = []string{
	"cls_8", "cls_16", "cls_32",
	"obj_8", "obj_16", "obj_32",
	"bbox_8", "bbox_16", "bbox_32",
}

// yunet2023Pad is the padded input size for a w×h image: each side rounded
// up to a multiple of 32.
func yunet2023Pad(w, h int) (int, int) {
	up := func(v int) int { return (max(v, 1) + yunet2023Align - 1) / yunet2023Align * yunet2023Align }
	return up(w), up(h)
}

// yunet2023Level is one stride's outputs: cls and obj hold one value per
// grid cell (row-major over a (padW/stride)×(padH/stride) grid), bbox four.
type yunet2023Level struct {
	cls, obj, bbox []float32
}

// yunet2023Decode turns the outputs for a padW×padH input into face boxes
// in input pixels. The score is sqrt(cls·obj), each clamped to [0, 1]; a
// cell at (col, row) with bbox (dx, dy, dw, dh) is a box centred on
// ((col+dx)·stride, (row+dy)·stride) of size (exp(dw)·stride,
// exp(dh)·stride).
func yunet2023Decode(levels [3]yunet2023Level, padW, padH int, thresh float64) ([]Box, error) {
	var out []Box
	for i, s := range yunet2023Strides {
		cols, rows := padW/s, padH/s
		n := cols * rows
		l := levels[i]
		if len(l.cls) != n || len(l.obj) != n || len(l.bbox) != 4*n {
			return nil, fmt.Errorf("yunet 2023mar: stride %d output sizes %d/%d/%d do not match a %dx%d grid for a %dx%d input",
				s, len(l.cls), len(l.obj), len(l.bbox), cols, rows, padW, padH)
		}
		st := float32(s)
		for idx := 0; idx < n; idx++ {
			score := math.Sqrt(float64(clamp01(l.cls[idx]) * clamp01(l.obj[idx])))
			if score < thresh || math.IsNaN(score) {
				continue
			}
			b := l.bbox[4*idx : 4*idx+4]
			col, row := float32(idx%cols), float32(idx/cols)
			cx := (col + b[0]) * st
			cy := (row + b[1]) * st
			bw := float32(math.Exp(float64(b[2]))) * st
			bh := float32(math.Exp(float64(b[3]))) * st
			if math.IsNaN(float64(cx+cy+bw+bh)) || math.IsInf(float64(bw+bh), 0) {
				continue
			}
			out = append(out, floatBox(cx-bw/2, cy-bh/2, bw, bh, score, LabelFace))
		}
	}
	return out, nil
}
