package redact

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/custody-evidence/custody/media"
)

// ParseTimeRange reads a --mute value START-END, each a number of seconds
// (12.5) or a clock time (1:02.5, 00:01:02.5).
func ParseTimeRange(s string) (media.TimeRange, error) {
	bad := func(why string) (media.TimeRange, error) {
		return media.TimeRange{}, fmt.Errorf("%w: time range %q: %s (write START-END, e.g. 12.5-14 or 1:02-1:05.5)", ErrOptions, s, why)
	}
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return bad("no '-' between start and end")
	}
	start, err := parseClock(a)
	if err != nil {
		return bad(err.Error())
	}
	end, err := parseClock(b)
	if err != nil {
		return bad(err.Error())
	}
	if !(end > start) {
		return bad("the end must be after the start")
	}
	return media.TimeRange{Start: start, End: end}, nil
}

// parseClock reads seconds, M:SS(.frac) or H:MM:SS(.frac).
func parseClock(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("%q has too many ':'", s)
	}
	var t float64
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("%q is not a time", s)
		}
		if i > 0 && v >= 60 {
			return 0, fmt.Errorf("%q: minutes and seconds must be below 60", s)
		}
		if i < len(parts)-1 && v != math.Trunc(v) {
			return 0, fmt.Errorf("%q: only the seconds may have a fraction", s)
		}
		t = t*60 + v
	}
	return t, nil
}
