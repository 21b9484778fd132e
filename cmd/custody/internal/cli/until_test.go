package cli

import (
	"testing"
	"time"
)

// TestUntil: the countdowns status prints, to the minute, with every digit.
func TestUntil(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "in 0s"},
		{20 * time.Second, "in 0s"},
		{40 * time.Second, "in 1m"},
		{10 * time.Minute, "in 10m"},
		{30 * time.Minute, "in 30m"},
		{time.Hour + 50*time.Minute, "in 1h50m"},
		{20 * time.Hour, "in 20h"},
		{day + 21*time.Hour, "in 1d21h"},
		{2*day + 10*time.Minute, "in 2d10m"},
		{2*day + 10*time.Minute + 29*time.Second, "in 2d10m"},
		{30 * day, "in 30d"},
		{-30 * time.Minute, "30m ago"},
		{-(2*day + 10*time.Minute), "2d10m ago"},
		{-(3*day + 20*time.Hour), "3d20h ago"},
	} {
		if got := until(now.Add(tc.d), now); got != tc.want {
			t.Errorf("until(now%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
