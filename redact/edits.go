package redact

import (
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"sort"
	"strings"
)

// Edits are a data protection officer's decisions after reviewing a first
// run (tracks.json and the contact sheet), applied on a second run. Every
// item carries a reason, which goes into the audit record. Coordinates are
// display pixels, as in tracks.json.
//
//	{
//	  "detector": "yunet-2022mar", "every": 1,
//	  "exclude": [{"track": 3, "first": 120, "reason": "the officer, not a member of the public"}],
//	  "regions": [{"label": "tattoo", "reason": "identifying tattoo",
//	               "keyframes": [{"time": 1.5, "x": 10, "y": 20, "w": 40, "h": 40},
//	                             {"time": 3.0, "x": 60, "y": 20, "w": 40, "h": 40}]}],
//	  "frames": [{"start": 12.0, "end": 14.5, "reason": "patient record on screen"}]
//	}
type Edits struct {
	// Detector, Every and Detection (the detection parameters, as
	// tracks.json gives them), when set, must match the run: track ids
	// are only reproducible with the same detections.
	Detector  string `json:"detector,omitempty"`
	Every     int    `json:"every,omitempty"`
	Detection string `json:"detection,omitempty"`

	Exclude []ExcludeEdit `json:"exclude,omitempty"`
	Regions []RegionEdit  `json:"regions,omitempty"`
	Frames  []FramesEdit  `json:"frames,omitempty"`
}

// ExcludeEdit leaves one detected track unmasked.
type ExcludeEdit struct {
	Track int `json:"track"`
	// First, when set, is the track's first frame as tracks.json gave it:
	// if the track found on this run starts elsewhere, it is not the one
	// reviewed, and it stays masked (with a warning).
	First  *int   `json:"first,omitempty"`
	Reason string `json:"reason"`
}

// RegionEdit masks a region the detector missed, moving linearly between
// keyframes; it is active from its first keyframe to its last, inclusive.
// Keyframes give either all times (seconds, as in tracks.json) or all frame
// numbers.
type RegionEdit struct {
	Label     string     `json:"label,omitempty"`
	Shape     Shape      `json:"shape,omitempty"` // default box
	Keyframes []Keyframe `json:"keyframes"`
	Reason    string     `json:"reason"`
}

// Keyframe is a region's box at one time or frame.
type Keyframe struct {
	Time  *float64 `json:"time,omitempty"`
	Frame *int     `json:"frame,omitempty"`
	X     int      `json:"x"`
	Y     int      `json:"y"`
	W     int      `json:"w"`
	H     int      `json:"h"`
}

// FramesEdit masks whole frames from Start to End seconds, inclusive.
type FramesEdit struct {
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Reason string  `json:"reason"`
}

// timeEps is how close a frame's time must be to a keyframe time to count
// as that instant (times in tracks.json are printed to the microsecond).
const timeEps = 1e-6

// LoadEdits reads and validates an edits file. Unknown fields are errors:
// a misspelt key must not silently drop a decision.
func LoadEdits(r io.Reader) (*Edits, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var e Edits
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEdits, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrEdits)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// Validate checks every item and sorts region keyframes.
func (e *Edits) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrEdits, fmt.Sprintf(format, args...))
	}
	seen := map[int]bool{}
	for i, x := range e.Exclude {
		if x.Track <= 0 {
			return bad("exclude[%d]: track id %d (ids start at 1)", i, x.Track)
		}
		if seen[x.Track] {
			return bad("exclude[%d]: track %d listed twice", i, x.Track)
		}
		seen[x.Track] = true
		if strings.TrimSpace(x.Reason) == "" {
			return bad("exclude[%d]: a reason is required for the audit", i)
		}
		// A track id alone names whatever track gets that number on this
		// run: another person's, if anything about detection changed.
		if x.First == nil && e.Detection == "" {
			return bad("exclude[%d]: give the track's \"first\" frame, or \"detection\" as tracks.json gives it, so that the exclusion cannot unmask a different track", i)
		}
	}
	for i := range e.Regions {
		r := &e.Regions[i]
		if strings.TrimSpace(r.Reason) == "" {
			return bad("regions[%d]: a reason is required for the audit", i)
		}
		if r.Shape == "" {
			r.Shape = ShapeBox
		}
		if r.Shape != ShapeBox && r.Shape != ShapeEllipse {
			return bad("regions[%d]: shape %q (use box or ellipse)", i, r.Shape)
		}
		if len(r.Keyframes) == 0 {
			return bad("regions[%d]: no keyframes", i)
		}
		byTime := r.Keyframes[0].Time != nil
		for j, k := range r.Keyframes {
			if (k.Time != nil) == (k.Frame != nil) {
				return bad("regions[%d].keyframes[%d]: give exactly one of time or frame", i, j)
			}
			if (k.Time != nil) != byTime {
				return bad("regions[%d]: keyframes mix times and frame numbers", i)
			}
			if k.Time != nil && (math.IsNaN(*k.Time) || math.IsInf(*k.Time, 0)) {
				return bad("regions[%d].keyframes[%d]: time is not a number", i, j)
			}
			if k.Frame != nil && *k.Frame < 0 {
				return bad("regions[%d].keyframes[%d]: negative frame", i, j)
			}
			if k.W <= 0 || k.H <= 0 {
				return bad("regions[%d].keyframes[%d]: size %dx%d", i, j, k.W, k.H)
			}
		}
		sort.SliceStable(r.Keyframes, func(a, b int) bool { return r.Keyframes[a].at() < r.Keyframes[b].at() })
		for j := 1; j < len(r.Keyframes); j++ {
			if r.Keyframes[j].at() == r.Keyframes[j-1].at() {
				return bad("regions[%d]: two keyframes at %g", i, r.Keyframes[j].at())
			}
		}
	}
	for i, f := range e.Frames {
		if strings.TrimSpace(f.Reason) == "" {
			return bad("frames[%d]: a reason is required for the audit", i)
		}
		if math.IsNaN(f.Start) || math.IsNaN(f.End) || f.End < f.Start {
			return bad("frames[%d]: range %g-%g", i, f.Start, f.End)
		}
	}
	if e.Every < 0 {
		return bad("every %d", e.Every)
	}
	return nil
}

func (k Keyframe) at() float64 {
	if k.Time != nil {
		return *k.Time
	}
	return float64(*k.Frame)
}

// boxAt is the region's box on the frame with the given index and time, or
// false when the region is not active there.
func (r *RegionEdit) boxAt(frame int, t float64) (image.Rectangle, bool) {
	ks := r.Keyframes
	x := float64(frame)
	eps := 0.0
	if ks[0].Time != nil {
		x, eps = t, timeEps
	}
	first, last := ks[0].at(), ks[len(ks)-1].at()
	if x < first-eps || x > last+eps {
		return image.Rectangle{}, false
	}
	i := 0
	for i < len(ks)-1 && ks[i+1].at() <= x {
		i++
	}
	a := ks[i]
	if i == len(ks)-1 || x <= a.at() {
		return image.Rect(a.X, a.Y, a.X+a.W, a.Y+a.H), true
	}
	b := ks[i+1]
	f := (x - a.at()) / (b.at() - a.at())
	lerp := func(p, q int) float64 { return float64(p) + (float64(q)-float64(p))*f }
	// Round outwards so that the interpolated box is never smaller than
	// the motion between two keyframes implies.
	x0, y0 := math.Floor(lerp(a.X, b.X)), math.Floor(lerp(a.Y, b.Y))
	x1, y1 := math.Ceil(lerp(a.X+a.W, b.X+b.W)), math.Ceil(lerp(a.Y+a.H, b.Y+b.H))
	return image.Rect(int(x0), int(y0), int(x1), int(y1)), true
}

// covers reports whether a whole-frame edit applies at time t.
func (f FramesEdit) covers(t float64) bool {
	return t >= f.Start-timeEps && t <= f.End+timeEps
}
