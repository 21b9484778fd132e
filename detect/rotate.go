package detect

// Faces far from upright (a patient lying in bed, a camera on its side or
// looking down on a bed from its foot) are outside what the face models
// were trained on: on faces_dlib turned a quarter turn YuNet finds under
// half of them. Config.RotatedFaces adds passes on the frame turned a
// quarter turn each way and half a turn.

// turn is a rotation of the frame by quarters clockwise: 1 (90° cw),
// 2 (180°) or 3 (90° counter-clockwise).
type turn int

const (
	turnCW   turn = 1
	turnHalf turn = 2
	turnCCW  turn = 3
)

// back maps a box found in the frame turned by q (whose original is w×h)
// to the original frame.
func (q turn) back(b Box, w, h int) Box {
	out := b
	switch q {
	case turnCW:
		// original (x, y) lands at (h-1-y, x)
		out.W, out.H = b.H, b.W
		out.X = b.Y
		out.Y = h - (b.X + b.W)
	case turnCCW:
		// original (x, y) lands at (y, w-1-x)
		out.W, out.H = b.H, b.W
		out.X = w - (b.Y + b.H)
		out.Y = b.X
	case turnHalf:
		// original (x, y) lands at (w-1-x, h-1-y)
		out.X = w - (b.X + b.W)
		out.Y = h - (b.Y + b.H)
	}
	return out
}

func (q turn) String() string {
	switch q {
	case turnCW:
		return "cw"
	case turnCCW:
		return "ccw"
	case turnHalf:
		return "half"
	}
	return "none"
}
