package detect

// Faces far from upright (a patient lying in bed, a camera on its side)
// are outside what the face models were trained on: on faces_dlib turned
// 90° YuNet finds under half of them. Config.RotatedFaces adds passes on
// the frame turned a quarter turn each way.

// quarterTurn is a rotation of the frame by 90° clockwise (cw) or
// counter-clockwise.
type quarterTurn struct{ cw bool }

// back maps a box found in the frame turned by q (whose original is w×h)
// to the original frame.
func (q quarterTurn) back(b Box, w, h int) Box {
	out := b
	out.W, out.H = b.H, b.W
	if q.cw {
		// original (x, y) lands at (h-1-y, x)
		out.X = b.Y
		out.Y = h - (b.X + b.W)
	} else {
		// original (x, y) lands at (y, w-1-x)
		out.X = w - (b.Y + b.H)
		out.Y = b.X
	}
	return out
}

func (q quarterTurn) suffix() string {
	if q.cw {
		return "cw"
	}
	return "ccw"
}
