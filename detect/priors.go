package detect

import (
	"fmt"
	"math"
)

// prior is an anchor box in coordinates normalised to the network input.
type prior struct{ cx, cy, w, h float32 }

// YuNet 2022mar anchors: four feature maps at strides 8, 16, 32 and 64
// with these anchor sides in input pixels (as in OpenCV 4.6's
// FaceDetectorYN and opencv_zoo's reference implementation).
var (
	yunetMinSizes = [][]float32{{10, 16, 24}, {32, 48}, {64, 96}, {128, 192, 256}}
	yunetSteps    = []int{8, 16, 32, 64}
)

// yunetPriors generates the anchors for a w×h input. The feature map sizes
// follow the network's own downsampling (two stride-2 stages rounding up,
// then halving with truncation), which is what makes the anchor count match
// the output rows for any input size.
func yunetPriors(w, h int) []prior {
	fw, fh := ((w+1)/2)/2, ((h+1)/2)/2 // stride 4
	var out []prior
	for i, step := range yunetSteps {
		fw, fh = fw/2, fh/2
		for y := 0; y < fh; y++ {
			for x := 0; x < fw; x++ {
				for _, ms := range yunetMinSizes[i] {
					out = append(out, prior{
						cx: (float32(x) + 0.5) * float32(step) / float32(w),
						cy: (float32(y) + 0.5) * float32(step) / float32(h),
						w:  ms / float32(w),
						h:  ms / float32(h),
					})
				}
			}
		}
	}
	return out
}

// yunetDecode turns the network outputs for a w×h input into face boxes in
// input pixels: loc has 14 values per anchor (box deltas then 5 landmarks),
// conf 2 (background, face), iou 1. The score is sqrt(face × clamp(iou)).
// The width uses variance 0.1 and the height 0.2, as the reference decoder
// does (an artefact of training that the weights expect).
func yunetDecode(loc, conf, iou []float32, priors []prior, w, h int, thresh float64) ([]Box, error) {
	n := len(priors)
	if len(loc) != n*14 || len(conf) != n*2 || len(iou) != n {
		return nil, fmt.Errorf("yunet: output sizes %d/%d/%d do not match %d anchors for a %dx%d input",
			len(loc), len(conf), len(iou), n, w, h)
	}
	const v0, v1 = 0.1, 0.2
	var out []Box
	for i, p := range priors {
		cls := conf[2*i+1]
		io := iou[i]
		if io < 0 {
			io = 0
		} else if io > 1 {
			io = 1
		}
		score := math.Sqrt(float64(cls * io))
		if score < thresh || math.IsNaN(score) {
			continue
		}
		l := loc[14*i : 14*i+4]
		cx := (p.cx + l[0]*v0*p.w) * float32(w)
		cy := (p.cy + l[1]*v0*p.h) * float32(h)
		bw := p.w * float32(math.Exp(float64(l[2]*v0))) * float32(w)
		bh := p.h * float32(math.Exp(float64(l[3]*v1))) * float32(h)
		out = append(out, floatBox(cx-bw/2, cy-bh/2, bw, bh, score, LabelFace))
	}
	return out, nil
}

// UltraFace RFB-320 anchors, for its fixed 320×240 input.
var (
	ultraMinBoxes = [][]float32{{10, 16, 24}, {32, 48}, {64, 96}, {128, 192, 256}}
	ultraStrides  = []float32{8, 16, 32, 64}
)

const ultraW, ultraH = 320, 240

// ultraPriors generates UltraFace anchors for a w×h input: feature maps of
// ceil(side/stride) cells, centres at (i+0.5)·stride/side, all values
// clamped to [0,1] as the reference implementation does.
func ultraPriors(w, h int) []prior {
	var out []prior
	for i, s := range ultraStrides {
		fw := int(math.Ceil(float64(w) / float64(s)))
		fh := int(math.Ceil(float64(h) / float64(s)))
		scaleW, scaleH := float32(w)/s, float32(h)/s
		for y := 0; y < fh; y++ {
			for x := 0; x < fw; x++ {
				for _, mb := range ultraMinBoxes[i] {
					out = append(out, prior{
						cx: clamp01((float32(x) + 0.5) / scaleW),
						cy: clamp01((float32(y) + 0.5) / scaleH),
						w:  clamp01(mb / float32(w)),
						h:  clamp01(mb / float32(h)),
					})
				}
			}
		}
	}
	return out
}

// ultraDecode turns UltraFace's scores (2 per anchor) and prior-encoded
// boxes (4 per anchor: centre deltas with variance 0.1, log-size deltas with
// variance 0.2) into face boxes in input pixels.
func ultraDecode(scores, boxes []float32, priors []prior, w, h int, thresh float64) ([]Box, error) {
	n := len(priors)
	if len(scores) != 2*n || len(boxes) != 4*n {
		return nil, fmt.Errorf("ultraface: output sizes %d/%d do not match %d anchors", len(scores), len(boxes), n)
	}
	const cv, sv = 0.1, 0.2
	var out []Box
	for i, p := range priors {
		s := float64(scores[2*i+1])
		if s < thresh || math.IsNaN(s) {
			continue
		}
		b := boxes[4*i : 4*i+4]
		cx := (b[0]*cv*p.w + p.cx) * float32(w)
		cy := (b[1]*cv*p.h + p.cy) * float32(h)
		bw := float32(math.Exp(float64(b[2]*sv))) * p.w * float32(w)
		bh := float32(math.Exp(float64(b[3]*sv))) * p.h * float32(h)
		out = append(out, floatBox(cx-bw/2, cy-bh/2, bw, bh, s, LabelFace))
	}
	return out, nil
}

// ssdDecode reads OpenCV SSD detections (7 values each: image id, class,
// score, then x1, y1, x2, y2 normalised to the input) into boxes in w×h
// input pixels.
func ssdDecode(det []float32, w, h int, thresh float64) ([]Box, error) {
	if len(det)%7 != 0 {
		return nil, fmt.Errorf("ssd: output size %d is not a multiple of 7", len(det))
	}
	var out []Box
	for i := 0; i+7 <= len(det); i += 7 {
		s := float64(det[i+2])
		if s < thresh || math.IsNaN(s) {
			continue
		}
		x1, y1 := det[i+3]*float32(w), det[i+4]*float32(h)
		x2, y2 := det[i+5]*float32(w), det[i+6]*float32(h)
		if x2 <= x1 || y2 <= y1 {
			continue
		}
		out = append(out, floatBox(x1, y1, x2-x1, y2-y1, s, LabelFace))
	}
	return out, nil
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// floatBox rounds a float box outwards to whole pixels, ignoring float
// noise of less than a thousandth of a pixel.
func floatBox(x, y, w, h float32, score float64, label Label) Box {
	const eps = 1e-3
	x0 := int(math.Floor(float64(x) + eps))
	y0 := int(math.Floor(float64(y) + eps))
	x1 := int(math.Ceil(float64(x+w) - eps))
	y1 := int(math.Ceil(float64(y+h) - eps))
	return Box{X: x0, Y: y0, W: x1 - x0, H: y1 - y0, Score: score, Label: label}
}
