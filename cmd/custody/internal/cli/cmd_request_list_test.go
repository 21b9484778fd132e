package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/store"
)

// requestState fixture: one request in every state the ledger records,
// judged at now. The script governance_dual.txtar lists requests made
// through custody itself; this covers every state and filter.
func requestListState(now time.Time) *store.State {
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	st := &store.State{Clips: map[string]*store.Clip{}, Requests: map[string]*store.Request{}}
	for _, id := range []string{"aaaa11112222", "bbbb33334444"} {
		st.Clips[id] = &store.Clip{ID: id}
	}
	add := func(r store.Request) { st.Requests[r.ID] = &r }
	add(store.Request{ID: "r1pending000", Clip: "aaaa11112222", Requester: "nina", Purpose: "open", Reason: "complaint", Incident: "INC-1",
		At: at(-time.Hour), ExpiresAt: at(7*24*time.Hour - time.Hour), Status: store.RequestPending, Seq: 5})
	add(store.Request{ID: "r2approved00", Clip: "aaaa11112222", Requester: "nina", Purpose: "redact", Reason: "police", Incident: "INC-2",
		At: at(-2 * time.Hour), ExpiresAt: at(7 * 24 * time.Hour), Status: store.RequestApproved, ApprovedBy: "dave",
		ApprovedAt: at(-30 * time.Minute), GrantExpires: at(23*time.Hour + 30*time.Minute), Seq: 4})
	add(store.Request{ID: "r3opened000", Clip: "bbbb33334444", Requester: "ian", Purpose: "open", Reason: "review", Incident: "INC-3",
		At: at(-48 * time.Hour), ExpiresAt: at(5 * 24 * time.Hour), Status: store.RequestOpened, ApprovedBy: "dana",
		ApprovedAt: at(-47 * time.Hour), GrantExpires: at(-23 * time.Hour), OpenedAt: at(-46 * time.Hour), Seq: 3})
	add(store.Request{ID: "r4lapsed000", Clip: "bbbb33334444", Requester: "ian", Purpose: "open", Reason: "old", Incident: "INC-4",
		At: at(-8 * 24 * time.Hour), ExpiresAt: at(-24 * time.Hour), Status: store.RequestPending, Seq: 2})
	add(store.Request{ID: "r5grantgone0", Clip: "bbbb33334444", Requester: "ian", Purpose: "open", Reason: "unused", Incident: "INC-5",
		At: at(-9 * 24 * time.Hour), ExpiresAt: at(-2 * 24 * time.Hour), Status: store.RequestShredded, ApprovedBy: "dana",
		ApprovedAt: at(-9 * 24 * time.Hour), GrantExpires: at(-8 * 24 * time.Hour), Seq: 1})
	add(store.Request{ID: "r6grantlate0", Clip: "aaaa11112222", Requester: "nina", Purpose: "open", Reason: "late", Incident: "INC-6",
		At: at(-3 * 24 * time.Hour), ExpiresAt: at(4 * 24 * time.Hour), Status: store.RequestApproved, ApprovedBy: "dave",
		ApprovedAt: at(-3 * 24 * time.Hour), GrantExpires: at(-2 * 24 * time.Hour), Seq: 6})
	return st
}

func TestListRequests(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := requestListState(now)
	for _, tc := range []struct {
		clip, state string
		want        []string // ids, in ledger order, with their states
	}{
		{"", "pending", []string{"r1pending000 pending"}},
		{"", "approved", []string{"r2approved00 approved"}},
		{"", "used", []string{"r3opened000 used"}},
		{"", "expired", []string{"r5grantgone0 expired", "r4lapsed000 expired", "r6grantlate0 expired"}},
		{"", "all", []string{"r5grantgone0 expired", "r4lapsed000 expired", "r3opened000 used", "r2approved00 approved", "r1pending000 pending", "r6grantlate0 expired"}},
		{"aaaa11112222", "all", []string{"r2approved00 approved", "r1pending000 pending", "r6grantlate0 expired"}},
		{"bbbb", "expired", []string{"r5grantgone0 expired", "r4lapsed000 expired"}},
		{"bbbb", "pending", nil},
	} {
		rows, err := listRequests(st, requestListOptions{Clip: tc.clip, State: tc.state, Now: now})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.clip, tc.state, err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.ID+" "+r.State)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("clip %q state %s: %v, want %v", tc.clip, tc.state, got, tc.want)
		}
	}
	// Judged at another time, the same ledger reads differently.
	rows, _ := listRequests(st, requestListOptions{State: "pending", Now: now.Add(7 * 24 * time.Hour)})
	if len(rows) != 0 {
		t.Errorf("a week on, %d request(s) still pending", len(rows))
	}
	if _, err := listRequests(st, requestListOptions{State: "waiting", Now: now}); err == nil || exitCode(err) != ExitUsage {
		t.Errorf("--state waiting: %v, want a usage error", err)
	}
	if _, err := listRequests(st, requestListOptions{Clip: "cccc0000", State: "all", Now: now}); err == nil {
		t.Error("--clip of an unknown clip was accepted")
	}
}

func TestRunRequestListText(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := requestListState(now)
	var buf bytes.Buffer
	if err := runRequestList(st, requestListOptions{State: "all", Now: now}, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "REQUEST ") {
		t.Fatalf("output:\n%s", buf.String())
	}
	for _, want := range []string{
		"r5grantgone0  bbbb33334444  expired  open     ian        2026-11-13T12:00:00Z  2026-11-14T12:00:00Z (8d ago)  dana 2026-11-13T12:00:00Z  unused (incident INC-5)",
		"r3opened000   bbbb33334444  used     open     ian        2026-11-20T12:00:00Z  used 2026-11-20T14:00:00Z      dana 2026-11-20T13:00:00Z  review (incident INC-3)",
		"r2approved00  aaaa11112222  approved redact   nina       2026-11-22T10:00:00Z  2026-11-23T11:30:00Z (in 23h30m)  dave 2026-11-22T11:30:00Z  police (incident INC-2)",
		"r1pending000  aaaa11112222  pending  open     nina       2026-11-22T11:00:00Z  2026-11-29T11:00:00Z (in 6d23h)  -  complaint (incident INC-1)",
	} {
		fields := strings.Fields(want)
		found := false
		for _, l := range lines[1:] {
			if strings.Join(strings.Fields(l), " ") == strings.Join(fields, " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no line %q in\n%s", strings.Join(fields, " "), buf.String())
		}
	}

	buf.Reset()
	if err := runRequestList(st, requestListOptions{Clip: "bbbb", State: "pending", Now: now}, &buf); err != nil {
		t.Fatal(err)
	}
	if want := "no pending requests for clip bbbb at 2026-11-22T12:00:00Z (--state all lists every request)\n"; buf.String() != want {
		t.Errorf("empty list: %q, want %q", buf.String(), want)
	}
}

func TestRunRequestListJSON(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := requestListState(now)
	for _, tc := range []struct {
		state string
		n     int
	}{{"approved", 1}, {"pending", 1}, {"used", 1}, {"all", 6}} {
		var buf bytes.Buffer
		if err := runRequestList(st, requestListOptions{State: tc.state, JSON: true, Now: now}, &buf); err != nil {
			t.Fatal(err)
		}
		var out struct {
			At       string        `json:"at"`
			State    string        `json:"state"`
			Requests []requestJSON `json:"requests"`
		}
		if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
			t.Fatalf("%s: %v\n%s", tc.state, err, buf.String())
		}
		if out.At != "2026-11-22T12:00:00Z" || out.State != tc.state || len(out.Requests) != tc.n {
			t.Errorf("%s: at %s state %s, %d request(s); want %d", tc.state, out.At, out.State, len(out.Requests), tc.n)
		}
		for _, r := range out.Requests {
			if r.Approvals == nil {
				t.Errorf("%s: request %s has approvals null, want a list", tc.state, r.ID)
			}
			if r.ID == "r2approved00" && (len(r.Approvals) != 1 || r.Approvals[0].By != "dave" || r.Approvals[0].GrantExpires == "") {
				t.Errorf("approved request: approvals %+v", r.Approvals)
			}
		}
	}
	// No requests is an empty list, not null.
	var buf bytes.Buffer
	if err := runRequestList(&store.State{Requests: map[string]*store.Request{}}, requestListOptions{State: "all", JSON: true, Now: now}, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"requests": []`) {
		t.Errorf("empty JSON: %s", buf.String())
	}
}
