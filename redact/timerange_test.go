package redact

import (
	"errors"
	"testing"
)

func TestParseTimeRange(t *testing.T) {
	cases := []struct {
		in         string
		start, end float64
		ok         bool
	}{
		{"12.5-14", 12.5, 14, true},
		{"0-1", 0, 1, true},
		{"1:02-1:05.5", 62, 65.5, true},
		{"00:01:02.25-01:00:00", 62.25, 3600, true},
		{" 3 - 4 ", 3, 4, true},
		{"5-5", 0, 0, false},
		{"6-5", 0, 0, false},
		{"5", 0, 0, false},
		{"a-b", 0, 0, false},
		{"1:60-2:00", 0, 0, false},
		{"1.5:00-2:00", 0, 0, false},
		{"1:2:3:4-5", 0, 0, false},
		{"-1-2", 0, 0, false},
	}
	for _, c := range cases {
		r, err := ParseTimeRange(c.in)
		if c.ok != (err == nil) {
			t.Errorf("%q: error %v", c.in, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrOptions) {
			t.Errorf("%q: error %v is not ErrOptions", c.in, err)
		}
		if c.ok && (r.Start != c.start || r.End != c.end) {
			t.Errorf("%q: %v, want %g-%g", c.in, r, c.start, c.end)
		}
	}
}
