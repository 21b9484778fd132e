package redact

import "math"

// motion is a constant-velocity Kalman filter over the box centre and size,
// one independent position/velocity filter per coordinate (cx, cy, w, h).
// Decoupling the coordinates is what SORT's filter amounts to with diagonal
// noise, and it keeps the per-frame cost to a few multiplications. Noise
// scales with the box size (as in DeepSORT), so a 20 px face and a
// frame-filling one behave alike. The filter is only advanced when a
// detection is matched; predictions for other frames are computed from the
// last update without changing it.
type motion struct {
	at  int        // frame of the last update
	dim [4]kalman1 // cx, cy, w, h
}

type kalman1 struct {
	p, v       float64 // position, velocity per frame
	pp, pv, vv float64 // covariance
}

const (
	posNoise  = 1.0 / 20  // position std, as a fraction of box size
	velNoise  = 1.0 / 160 // velocity std per frame, fraction of box size
	measNoise = 1.0 / 20  // measurement std, fraction of box size
)

func newMotion(frame int, b fbox) motion {
	m := motion{at: frame}
	s := boxScale(b)
	for i, z := range [4]float64{b.cx(), b.cy(), b.w, b.h} {
		// The velocity prior is wide (an eighth of the box size per
		// frame) so that two or three detections give a usable estimate:
		// a held or look-back mask depends on it.
		m.dim[i] = kalman1{p: z, pp: sq(2 * posNoise * s), vv: sq(s / 8)}
	}
	return m
}

func boxScale(b fbox) float64 { return math.Max(1, math.Sqrt(b.w*b.h)) }

func sq(x float64) float64 { return x * x }

// update advances the filter to frame and corrects it with a detection.
func (m *motion) update(frame int, b fbox) {
	dt := float64(frame - m.at)
	s := boxScale(m.box())
	for i, z := range [4]float64{b.cx(), b.cy(), b.w, b.h} {
		k := &m.dim[i]
		k.predict(dt, s)
		r := sq(measNoise * s)
		den := k.pp + r
		gp, gv := k.pp/den, k.pv/den
		y := z - k.p
		k.p += gp * y
		k.v += gv * y
		// P = (I - K H) P
		pp, pv, vv := k.pp, k.pv, k.vv
		k.pp = pp - gp*pp
		k.pv = pv - gp*pv
		k.vv = vv - gv*pv
	}
	m.at = frame
}

func (k *kalman1) predict(dt, s float64) {
	if dt <= 0 {
		return
	}
	k.p += k.v * dt
	k.pp += 2*dt*k.pv + dt*dt*k.vv + dt*sq(posNoise*s)
	k.pv += dt * k.vv
	k.vv += dt * sq(velNoise*s)
}

// box is the filtered box at the last update.
func (m *motion) box() fbox {
	return centred(m.dim[0].p, m.dim[1].p, m.dim[2].p, m.dim[3].p)
}

// predict is the constant-velocity prediction at frame, used to associate
// detections. Sizes are kept positive.
func (m *motion) predict(frame int) fbox {
	dt := float64(frame - m.at)
	var c [4]float64
	for i := range c {
		c[i] = m.dim[i].p + m.dim[i].v*dt
	}
	cur := m.box()
	return centred(c[0], c[1], math.Max(c[2], cur.w/2), math.Max(c[3], cur.h/2))
}

// drift is how far the centre moves k frames after the last update when
// the track is no longer seen: the velocity decays geometrically, so a
// held mask follows a region that keeps moving for a moment but does not
// run off on a noisy velocity estimate. The speed is capped at half the box
// size per frame.
func (m *motion) drift(k int) (dx, dy float64) {
	const decay = 0.9
	b := m.box()
	limit := 0.5 * math.Max(b.w, b.h)
	vx, vy := m.dim[0].v, m.dim[1].v
	if sp := math.Hypot(vx, vy); sp > limit {
		vx, vy = vx*limit/sp, vy*limit/sp
	}
	// sum_{j=1..k} decay^j
	f := decay * (1 - math.Pow(decay, float64(k))) / (1 - decay)
	return vx * f, vy * f
}

func centred(cx, cy, w, h float64) fbox {
	return fbox{cx - w/2, cy - h/2, w, h}
}
