package store_test

import (
	"testing"
	"time"

	"github.com/custody-evidence/custody/store"
)

// TestFormatDuration: every count keeps all its digits (status once showed
// 30 minutes as "3" and 2 days 10 minutes as "2d1"), zero units are left
// out, and what ParseDuration reads back is the duration, to the second.
func TestFormatDuration(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{400 * time.Millisecond, "0s"},
		{500 * time.Millisecond, "1s"},
		{time.Second, "1s"},
		{10 * time.Second, "10s"},
		{20 * time.Second, "20s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m"},
		{10 * time.Minute, "10m"},
		{30 * time.Minute, "30m"},
		{30*time.Minute + 10*time.Second, "30m10s"},
		{time.Hour, "1h"},
		{time.Hour + 30*time.Minute, "1h30m"},
		{10 * time.Hour, "10h"},
		{20*time.Hour + 20*time.Second, "20h20s"},
		{21 * time.Hour, "21h"},
		{day, "1d"},
		{2 * day, "2d"},
		{2*day + 10*time.Minute, "2d10m"},
		{2*day + 10*time.Hour, "2d10h"},
		{10*day + 10*time.Hour + 10*time.Minute + 10*time.Second, "10d10h10m10s"},
		{day + 21*time.Hour, "1d21h"},
		{100 * day, "100d"},
		{-30 * time.Minute, "-30m"},
		{-(2*day + 10*time.Minute), "-2d10m"},
		{-10 * time.Second, "-10s"},
	} {
		if got := store.FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if tc.d < 0 {
			continue
		}
		back, err := store.ParseDuration(tc.want)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tc.want, err)
		} else if back != tc.d.Round(time.Second) {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v", tc.d, back)
		}
	}
}

// TestDurationString: the policy's durations print the same way.
func TestDurationString(t *testing.T) {
	if got := store.Duration(30 * time.Minute).String(); got != "30m" {
		t.Errorf("Duration(30m).String() = %q", got)
	}
	if got := store.Duration(48 * time.Hour).String(); got != "2d" {
		t.Errorf("Duration(48h).String() = %q", got)
	}
}
