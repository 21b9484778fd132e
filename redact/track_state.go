package redact

import (
	"math"
	"sort"

	"github.com/custody-evidence/custody/detect"
)

// track is the live state of one track.
type track struct {
	id    int
	label detect.Label
	mo    motion

	start   int // first frame to mask (look-back included)
	born    int // first detection
	lastDet int // last detection
	// missObs is the first observed frame after lastDet on which the track
	// was not matched, or -1 while every observation since has matched it.
	missObs int
	hits    int
	maxSc   float64

	first anchor // first detection (for look-back)
	// bridge, when set, is the last detection of a lost track this one
	// may continue (see Tracker.bridge): the frames between are also
	// masked on the straight path from it to first.
	bridge *anchor
	last   anchor   // last detection (for hold)
	ahead  []anchor // detections on frames not yet emitted, in order
	emit   anchor   // last emitted box
	// out holds the boxes emitted so far, one per frame from outFirst, in a
	// compact pointer-free form: an hour-long track is 108,000 of them, and
	// the garbage collector need not scan them.
	outFirst int
	out      []cbox
}

type cbox struct {
	x, y, w, h int32
	score      float32
	kind       uint8
}

// roundScore keeps four decimals: scores are stored as float32 and must
// read the same in tracks.json and in the frame masks, without float32
// noise in the last digits.
func roundScore(s float64) float64 { return math.Round(float64(float32(s))*1e4) / 1e4 }

var kinds = [...]Kind{KindDetected, KindInterpolated, KindHeld, KindLookBack, KindBridged}

func kindIndex(k Kind) uint8 {
	for i, v := range kinds {
		if v == k {
			return uint8(i)
		}
	}
	panic("redact: unknown kind " + string(k))
}

type anchor struct {
	frame int
	box   fbox
	score float64
}

type det struct {
	box   fbox
	label detect.Label
	score float64
}

// canonical orders detections so that association and the ids of new
// tracks do not depend on the order the detector listed them in.
func canonical(boxes []detect.Box, minScore float64) []det {
	ds := make([]det, 0, len(boxes))
	for _, b := range boxes {
		if b.Score < minScore {
			continue
		}
		ds = append(ds, det{fromBox(b), b.Label, b.Score})
	}
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		switch {
		case a.label != b.label:
			return a.label < b.label
		case a.box.x != b.box.x:
			return a.box.x < b.box.x
		case a.box.y != b.box.y:
			return a.box.y < b.box.y
		case a.box.w != b.box.w:
			return a.box.w < b.box.w
		case a.box.h != b.box.h:
			return a.box.h < b.box.h
		}
		return a.score > b.score
	})
	return ds
}

// alive reports whether the track may still be matched on frame: while
// it is masked by its hold, or on the frame right after (so that a face
// found again just as its hold ran out is not a new track), or while no
// observation has missed it yet.
func (tr *track) alive(frame, hold int) bool {
	return tr.missObs < 0 || frame-tr.lastDet <= hold+1
}

// associate matches the detections on frame to live tracks and starts new
// tracks for the rest.
func (t *Tracker) associate(frame int, boxes []detect.Box) {
	ds := canonical(boxes, t.opt.MinScore)
	var cand []*track
	for _, tr := range t.live {
		if tr.alive(frame, t.opt.Hold) {
			cand = append(cand, tr)
		}
	}
	pred := make([]fbox, len(cand))
	for i, tr := range cand {
		pred[i] = tr.mo.predict(frame)
	}
	trUsed := make([]bool, len(cand))
	dUsed := make([]bool, len(ds))

	// affinity is the IoU of a detection with where the track should be.
	// A track missed on its last observation may have stopped behind an
	// occluder as easily as kept moving: it also gets its last box.
	affinity := func(i int, d det) float64 {
		v := iou(pred[i], d.box)
		if cand[i].missObs >= 0 {
			v = math.Max(v, iou(cand[i].last.box, d.box))
		}
		return v
	}
	stage := func(useDet func(det) bool, cost func(i int, d det) float64) {
		var ri []int
		for i := range cand {
			if !trUsed[i] {
				ri = append(ri, i)
			}
		}
		var ci []int
		for j, d := range ds {
			if !dUsed[j] && useDet(d) {
				ci = append(ci, j)
			}
		}
		if len(ri) == 0 || len(ci) == 0 {
			return
		}
		m := make([][]float64, len(ri))
		for a, i := range ri {
			m[a] = make([]float64, len(ci))
			for b, j := range ci {
				m[a][b] = forbidden
				if ds[j].label == cand[i].label {
					m[a][b] = cost(i, ds[j])
				}
			}
		}
		for _, p := range assign(m) {
			i, j := ri[p[0]], ci[p[1]]
			trUsed[i], dUsed[j] = true, true
			cand[i].match(frame, ds[j])
		}
	}
	high := func(d det) bool { return d.score >= t.opt.HighScore }
	low := func(d det) bool { return d.score < t.opt.HighScore }
	byIoU := func(min float64) func(int, det) float64 {
		return func(i int, d det) float64 {
			if v := affinity(i, d); v >= min {
				return 1 - v
			}
			return forbidden
		}
	}
	// Stage 1: confident detections by overlap with the prediction.
	stage(high, byIoU(t.opt.MatchIoU))
	// Centre distance, for detections that moved too far for any overlap
	// (fast motion, small faces, sparse detection). A lost track is gated
	// around its last box as well as its prediction.
	byCentre := func(lostToo bool) func(int, det) float64 {
		return func(i int, d det) float64 {
			tr := cand[i]
			if tr.missObs >= 0 && !lostToo {
				return forbidden
			}
			best := forbidden
			for k, p := range [2]fbox{pred[i], tr.last.box} {
				if k == 1 && tr.missObs < 0 {
					break
				}
				side := math.Max(p.w, p.h)
				dist := math.Hypot(d.box.cx()-p.cx(), d.box.cy()-p.cy())
				ratio := math.Sqrt(d.box.area() / math.Max(p.area(), 1))
				if dist <= t.opt.CenterGate*side && ratio >= 0.5 && ratio <= 2 {
					best = math.Min(best, dist/side)
				}
			}
			return best
		}
	}
	// Stage 1b: confident detections by centre distance.
	if t.opt.CenterGate > 0 {
		stage(high, byCentre(true))
	}
	// Stage 2: low-score detections, which keep an occluded or blurred
	// track going, but only on clear overlap, or near a track that is
	// being followed; a lost track is not taken over by a doubtful
	// detection, which would move its held mask away.
	stage(low, byIoU(t.opt.LowMatchIoU))
	if t.opt.CenterGate > 0 {
		stage(low, byCentre(false))
	}

	for i, tr := range cand {
		if !trUsed[i] && tr.missObs < 0 {
			tr.missObs = frame
		}
	}
	// Every detection left over starts a track: the detector is tuned for
	// recall, and a detection not masked is a breach.
	var born []*track
	for j, d := range ds {
		if dUsed[j] {
			continue
		}
		back := t.opt.LookBack
		if d.label == detect.LabelText {
			back = max(back, t.opt.TextLookBack)
		}
		start := min(frame-back, t.lastObs+1)
		start = max(start, t.done, 0)
		a := anchor{frame, d.box, d.score}
		tr := &track{
			id: t.nextID, label: d.label, mo: newMotion(frame, d.box),
			start: start, born: frame, lastDet: frame, missObs: -1,
			hits: 1, maxSc: d.score,
			first: a, last: a, ahead: []anchor{a},
		}
		t.nextID++
		t.live = append(t.live, tr)
		born = append(born, tr)
	}
	t.bridge(frame, cand, born)
}

// bridge joins new tracks to lost tracks (missed on this observation or
// an earlier one, still held) that could have been the same region moved
// too far for the association gates: a small face walking across CCTV moves two of its widths between
// two passes of the finest face pass. The lost track keeps its hold and
// the new one its look-back; the new one is also masked on the straight
// path from the lost track's last detection, so the frames in between are
// covered wherever the region went. A wrong join costs a masked strip,
// never a mask removed. Candidates: same label, sizes within a factor of
// two, centres within (CenterGate + BridgeSpeed × frames apart) times the
// larger side, the lost track's last detection no further back than the
// new one's look-back reaches; nearest first.
func (t *Tracker) bridge(frame int, cand, born []*track) {
	if t.opt.BridgeSpeed <= 0 || len(born) == 0 {
		return
	}
	type pair struct {
		lost, nu *track
		cost     float64
	}
	var ps []pair
	for _, l := range cand {
		if l.missObs < 0 { // matched on this frame
			continue
		}
		for _, n := range born {
			// Within the look-back only: the bridge re-shapes masks the
			// new track has anyway, it never reaches further back.
			if n.label != l.label || frame-l.lastDet > n.born-n.start+1 {
				continue
			}
			a, b := l.last.box, n.first.box
			side := math.Max(math.Max(a.w, a.h), math.Max(b.w, b.h))
			dist := math.Hypot(b.cx()-a.cx(), b.cy()-a.cy())
			ratio := math.Sqrt(b.area() / math.Max(a.area(), 1))
			gate := t.opt.CenterGate + t.opt.BridgeSpeed*float64(frame-l.lastDet)
			if ratio >= 0.5 && ratio <= 2 && dist <= gate*side {
				ps = append(ps, pair{l, n, dist / side})
			}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].cost != ps[j].cost {
			return ps[i].cost < ps[j].cost
		}
		if ps[i].lost.id != ps[j].lost.id {
			return ps[i].lost.id < ps[j].lost.id
		}
		return ps[i].nu.id < ps[j].nu.id
	})
	used := map[*track]bool{}
	for _, p := range ps {
		if used[p.lost] || used[p.nu] {
			continue
		}
		used[p.lost], used[p.nu] = true, true
		a := p.lost.last
		p.nu.bridge = &a
	}
}

func (tr *track) match(frame int, d det) {
	tr.mo.update(frame, d.box)
	a := anchor{frame, d.box, d.score}
	tr.last = a
	tr.ahead = append(tr.ahead, a)
	tr.lastDet = frame
	tr.missObs = -1
	tr.hits++
	tr.maxSc = math.Max(tr.maxSc, d.score)
}

// boxAt computes the track's final box on frame i, which must be the frame
// after the one last emitted for it (or its first). ended is set when the
// track's coverage is over for good.
func (tr *track) boxAt(i int, o *TrackerOptions) (b fbox, score float64, kind Kind, ok, ended bool) {
	if i < tr.start {
		return fbox{}, 0, "", false, false
	}
	if i < tr.born {
		if br := tr.bridge; br != nil && i > br.frame {
			f := float64(i-br.frame) / float64(tr.born-br.frame)
			b := union(lerpBox(br.box, tr.first.box, f), tr.lookBack(tr.born-i, o))
			return b, lerp(br.score, tr.first.score, f), KindBridged, true, false
		}
		return tr.lookBack(tr.born-i, o), tr.first.score, KindLookBack, true, false
	}
	for len(tr.ahead) > 0 && tr.ahead[0].frame < i {
		tr.ahead = tr.ahead[1:]
	}
	if len(tr.ahead) > 0 {
		next := tr.ahead[0]
		if next.frame == i {
			return next.box, next.score, KindDetected, true, false
		}
		// Interpolate from what was last shown, not from the last
		// detection: after a long gap, held boxes were already committed
		// and the mask must move on smoothly from them.
		e := tr.emit
		f := float64(i-e.frame) / float64(next.frame-e.frame)
		return lerpBox(e.box, next.box, f), lerp(e.score, next.score, f), KindInterpolated, true, false
	}
	k := i - tr.lastDet
	if k > o.Hold && tr.missObs >= 0 && i >= tr.missObs {
		return fbox{}, 0, "", false, true
	}
	// Where it was last seen, in case it stopped behind something, and
	// where it is heading, in case it did not.
	dx, dy := tr.mo.drift(k)
	l := tr.last.box
	moved := fbox{l.x + dx, l.y + dy, l.w, l.h}
	held := union(l, moved).grow(math.Min(float64(k)*o.Growth, o.MaxGrowth))
	return held, tr.last.score, KindHeld, true, false
}

// lookBack is the box k frames before the track's first detection: the
// first box, widened like a held box, and stretched back along the track's
// motion when later detections have already given it one.
func (tr *track) lookBack(k int, o *TrackerOptions) fbox {
	b := tr.first.box
	if tr.hits > 1 {
		dx, dy := tr.mo.drift(k)
		b = union(b, fbox{b.x - dx, b.y - dy, b.w, b.h})
	}
	return b.grow(math.Min(float64(k)*o.Growth, o.MaxGrowth))
}

// emitUpTo finalises every frame not yet returned up to and including last.
func (t *Tracker) emitUpTo(last int) []FrameMasks {
	if last < t.done {
		return nil
	}
	out := make([]FrameMasks, 0, last-t.done+1)
	for i := t.done; i <= last; i++ {
		fm := FrameMasks{Frame: i}
		keep := t.live[:0]
		for _, tr := range t.live {
			b, sc, kind, ok, ended := tr.boxAt(i, &t.opt)
			if ended {
				t.finish(tr)
				continue
			}
			keep = append(keep, tr)
			if !ok {
				continue
			}
			tr.emit = anchor{i, b, sc}
			x, y, w, h := b.pixels(t.opt.Width, t.opt.Height)
			sc = roundScore(sc)
			if len(tr.out) == 0 {
				tr.outFirst = i
			}
			tr.out = append(tr.out, cbox{int32(x), int32(y), int32(w), int32(h), float32(sc), kindIndex(kind)})
			if !t.exclude[tr.id] {
				fm.Boxes = append(fm.Boxes, MaskBox{
					TrackID: tr.id,
					Box:     detect.Box{X: x, Y: y, W: w, H: h, Score: sc, Label: tr.label},
					Kind:    kind,
				})
			}
		}
		// Clear the tail so finished tracks can be collected.
		for j := len(keep); j < len(t.live); j++ {
			t.live[j] = nil
		}
		t.live = keep
		out = append(out, fm)
	}
	t.done = last + 1
	return out
}

func (t *Tracker) finish(tr *track) {
	if len(tr.out) == 0 {
		// Never shown: only possible when flushed before its look-back
		// began, which Flush rules out; nothing to report.
		return
	}
	boxes := make([]TrackBox, len(tr.out))
	for k, c := range tr.out {
		boxes[k] = TrackBox{
			Frame: tr.outFirst + k, X: int(c.x), Y: int(c.y), W: int(c.w), H: int(c.h),
			Score: roundScore(float64(c.score)), Kind: kinds[c.kind],
		}
	}
	t.finished = append(t.finished, Track{
		ID:            tr.id,
		Label:         tr.label,
		First:         tr.outFirst,
		Last:          tr.outFirst + len(tr.out) - 1,
		FirstDetected: tr.born,
		LastDetected:  tr.lastDet,
		Hits:          tr.hits,
		MaxScore:      tr.maxSc,
		Excluded:      t.exclude[tr.id],
		Boxes:         boxes,
	})
}
