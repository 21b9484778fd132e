package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/store"
)

// logState is a replayed state with n entries (nina's on even seqs, the
// station's on odd ones) and an anomaly on each seq in flagged.
func logState(n int, flagged ...uint64) *store.State {
	st := &store.State{Clips: map[string]*store.Clip{}}
	for i := 1; i <= n; i++ {
		actor := "station"
		if i%2 == 0 {
			actor = "nina"
		}
		st.Events = append(st.Events, store.Event{Seq: uint64(i), Time: fmt.Sprintf("2026-11-22T10:%02d:00Z", i), Actor: actor, Action: "hold", Summary: "s"})
	}
	for _, seq := range flagged {
		st.Anomalies = append(st.Anomalies, store.Anomaly{Seq: seq, Code: "release-without-reason", Msg: "a hold lifted with no reason"})
	}
	return st
}

// TestLogAnomaliesClean: --anomalies on a clean log says so and how many
// entries it looked at (it once printed nothing at all); on a log with
// anomalies it prints them and no such line.
func TestLogAnomaliesClean(t *testing.T) {
	for _, tc := range []struct {
		name      string
		st        *store.State
		filter    store.LogFilter
		anomalies bool
		pending   []store.Attempt
		want      []string // lines, in order
		wantNot   string
	}{
		{"clean", logState(12), store.LogFilter{}, true, nil, []string{"no anomalies found in 12 entries"}, ""},
		{"clean one", logState(1), store.LogFilter{}, true, nil, []string{"no anomalies found in 1 entry"}, ""},
		{"clean by actor", logState(12), store.LogFilter{Actor: "nina"}, true, nil, []string{"no anomalies found in 6 entries"}, ""},
		{"flagged", logState(12, 5), store.LogFilter{}, true, nil,
			[]string{"#5 ", "!! RELEASE-WITHOUT-REASON: a hold lifted with no reason", "1 entr(ies) flagged"}, "no anomalies"},
		{"flagged elsewhere", logState(12, 5), store.LogFilter{Actor: "nina"}, true, nil, []string{"no anomalies found in 6 entries"}, "#5"},
		{"pending attempt", logState(3), store.LogFilter{}, true, []store.Attempt{{Time: "t", User: "u", Kind: "passphrase"}},
			[]string{"!! FAILED-ATTEMPT"}, "no anomalies"},
		{"whole log", logState(3), store.LogFilter{}, false, nil, []string{"#1 ", "#2 ", "#3 "}, "no anomalies"},
	} {
		r, err := buildLogReport(tc.st, tc.filter, tc.anomalies)
		if err != nil {
			t.Fatal(err)
		}
		r.Pending = tc.pending
		var buf bytes.Buffer
		writeLogText(&buf, r)
		out := buf.String()
		rest := out
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: no %q (in order) in\n%s", tc.name, w, out)
				break
			}
			rest = rest[i+len(w):]
		}
		if tc.wantNot != "" && strings.Contains(out, tc.wantNot) {
			t.Errorf("%s: %q in\n%s", tc.name, tc.wantNot, out)
		}
	}
}

// TestLogAnomaliesJSON: --json --anomalies on a clean log is an empty
// list with the count of entries looked at.
func TestLogAnomaliesJSON(t *testing.T) {
	for _, tc := range []struct {
		st                *store.State
		entries, examined int
		flagged           int
	}{
		{logState(7), 0, 7, 0},
		{logState(7, 2, 3), 2, 7, 2},
	} {
		r, err := buildLogReport(tc.st, store.LogFilter{}, true)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := writeJSON(&buf, r.jsonOut()); err != nil {
			t.Fatal(err)
		}
		var out struct {
			Entries  []store.LogLine  `json:"entries"`
			Examined int              `json:"examined"`
			Flagged  int              `json:"flagged"`
			Pending  *[]store.Attempt `json:"pending_attempts"`
		}
		if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		if out.Entries == nil || len(out.Entries) != tc.entries || out.Examined != tc.examined || out.Flagged != tc.flagged || out.Pending == nil {
			t.Errorf("got %s", buf.String())
		}
	}
}
