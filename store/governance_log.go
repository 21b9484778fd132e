package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/custody-evidence/custody/manifest"
)

// Anomaly is a ledger entry that breaks a governance rule or looks like
// misuse. custody itself never writes most of them (an open outside an
// approved request is impossible by construction); they show up if the
// ledger was written by something else, or in patterns of legitimate
// actions (bursts of requests, releases without a reason).
type Anomaly struct {
	Seq   uint64 `json:"seq"`
	Time  string `json:"time"`
	Actor string `json:"actor"`
	Clip  string `json:"clip,omitempty"`
	Code  string `json:"code"`
	Msg   string `json:"message"`
}

func (st *State) flag(rec *manifest.Record, code, format string, a ...any) {
	st.Anomalies = append(st.Anomalies, Anomaly{Seq: rec.Entry.Seq, Time: rec.Entry.Time, Actor: rec.Entry.Actor.Name,
		Clip: rec.Entry.Clip, Code: code, Msg: fmt.Sprintf(format, a...)})
}

// checkBurst flags a request that makes more than the policy's
// BurstRequests requests by one person within BurstWindow.
func (st *State) checkBurst(rec *manifest.Record) {
	at := rec.Entry.When()
	from := at.Add(-st.Policy.BurstWindow.D())
	n := 0
	for _, r := range st.Requests {
		t, err := time.Parse(time.RFC3339Nano, r.At)
		if err == nil && r.RequesterKey == rec.Entry.Actor.Key && t.After(from) && !t.After(at) {
			n++
		}
	}
	if n > st.Policy.BurstRequests {
		st.flag(rec, "request-burst", "%s made %d requests within %s (more than %d)", rec.Entry.Actor.Name, n, st.Policy.BurstWindow, st.Policy.BurstRequests)
	}
}

// LogFilter selects log lines; zero fields match everything.
type LogFilter struct {
	Clip  string    // a clip id: its entries, its derivatives', its requests'
	Actor string    // a person's name or key fingerprint
	Since time.Time // entries at or after
	// AnomaliesOnly keeps only flagged entries.
	AnomaliesOnly bool
}

// LogLine is one ledger entry with any anomaly flags.
type LogLine struct {
	Event
	Flags []Anomaly `json:"flags,omitempty"`
}

// Log answers "who did what, when, why" from the replayed ledger.
func (st *State) Log(f LogFilter) ([]LogLine, error) {
	var clip *Clip
	if f.Clip != "" {
		c, err := st.Find(f.Clip)
		if err != nil {
			return nil, err
		}
		clip = c
	}
	flags := map[uint64][]Anomaly{}
	for _, a := range st.Anomalies {
		flags[a.Seq] = append(flags[a.Seq], a)
	}
	var out []LogLine
	for _, ev := range st.Events {
		if clip != nil {
			c := st.Clips[ev.Clip]
			if c == nil || (c.ID != clip.ID && st.Root(c) != clip && st.Root(clip) != c) {
				continue
			}
		}
		if f.Actor != "" && !strings.EqualFold(ev.Actor, f.Actor) && ev.Key != f.Actor {
			continue
		}
		if !f.Since.IsZero() {
			if t, err := time.Parse(time.RFC3339Nano, ev.Time); err == nil && t.Before(f.Since) {
				continue
			}
		}
		fl := flags[ev.Seq]
		if f.AnomaliesOnly && len(fl) == 0 {
			continue
		}
		out = append(out, LogLine{Event: ev, Flags: fl})
	}
	return out, nil
}
