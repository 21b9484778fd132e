//go:build cgo

package detect

import (
	"image"

	"gocv.io/x/gocv"
)

// findCard looks for the outline of a card around text cluster c in the
// grey frame: closed edge contours whose bounding rectangle is plausibly a
// card holding the text (see plausibleCard). It returns the largest such
// rectangle, so that a card is preferred over a coloured band behind the
// name printed on it.
func findCard(gray gocv.Mat, c textCluster) (image.Rectangle, bool) {
	frame := image.Rect(0, 0, gray.Cols(), gray.Rows())
	win := cardSearchWindow(c).Intersect(frame)
	if win.Dx() < 8 || win.Dy() < 8 {
		return image.Rectangle{}, false
	}
	roi := gray.Region(win)
	defer roi.Close()
	edges := gocv.NewMat()
	defer edges.Close()
	gocv.Canny(roi, &edges, 40, 120)
	kernel := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(3, 3))
	defer kernel.Close()
	gocv.Dilate(edges, &edges, kernel)
	contours := gocv.FindContours(edges, gocv.RetrievalList, gocv.ChainApproxSimple)
	defer contours.Close()

	var best image.Rectangle
	for i := 0; i < contours.Size(); i++ {
		pv := contours.At(i)
		br := gocv.BoundingRect(pv)
		if br.Dx() < 8 || br.Dy() < 8 {
			continue
		}
		fill := gocv.ContourArea(pv) / float64(br.Dx()*br.Dy())
		r := br.Add(win.Min)
		if plausibleCard(r, fill, c) && r.Dx()*r.Dy() > best.Dx()*best.Dy() {
			best = r
		}
	}
	return best, !best.Empty()
}
