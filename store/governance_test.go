package store_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/store"
)

var singlePeople = [][2]string{{"dana", store.RoleDPO}, {"nina", store.RoleClinician}, {"ian", store.RoleInvestigator}}

// TestPurgeRules: what purge removes and what it keeps, table-driven over
// clips in every governance situation.
func TestPurgeRules(t *testing.T) {
	f := newFixture(t, false, singlePeople...)
	now := f.clock.t // 2026-11-22T09:30Z
	type clipCase struct {
		name       string
		recorded   time.Duration // before now
		consent    string        // at import
		withdraw   bool
		hold       bool
		release    bool
		wantPurged bool
		wantReason string
	}
	cases := []clipCase{
		{name: "fresh", recorded: time.Hour},
		{name: "just-inside-retention", recorded: 48*time.Hour - time.Minute},
		{name: "exactly-at-retention", recorded: 48 * time.Hour, wantPurged: true, wantReason: store.PurgeRetention},
		{name: "expired", recorded: 72 * time.Hour, wantPurged: true, wantReason: store.PurgeRetention},
		{name: "expired-held", recorded: 72 * time.Hour, hold: true},
		{name: "expired-held-released", recorded: 72 * time.Hour, hold: true, release: true, wantPurged: true, wantReason: store.PurgeRetention},
		{name: "fresh-held-released", recorded: time.Hour, hold: true, release: true},
		{name: "consent-given", recorded: time.Hour, consent: store.ConsentGiven},
		{name: "consent-not-asked", recorded: time.Hour, consent: store.ConsentNotAsked},
		{name: "consent-declined", recorded: time.Hour, consent: store.ConsentDeclined, wantPurged: true, wantReason: store.PurgeConsentDeclined},
		{name: "consent-declined-held", recorded: time.Hour, consent: store.ConsentDeclined, hold: true},
		{name: "consent-withdrawn", recorded: time.Hour, consent: store.ConsentGiven, withdraw: true, wantPurged: true, wantReason: store.PurgeConsentWithdrawn},
		{name: "consent-withdrawn-held", recorded: time.Hour, consent: store.ConsentGiven, withdraw: true, hold: true},
	}
	ids := map[string]string{}
	for i, tc := range cases {
		opts := store.ImportOptions{}
		if tc.consent != "" {
			opts.Consent = &store.ConsentRecord{State: tc.consent, By: "patient", At: now.Add(-tc.recorded).Format(time.RFC3339)}
		}
		c := f.importClip(tc.name+".mp4", now.Add(-tc.recorded).Add(time.Duration(i)*time.Millisecond), opts)
		ids[tc.name] = c.ID
		if tc.withdraw {
			if _, err := f.s.SetConsent(f.ctx, f.u("nina").p, c.ID, store.ConsentRecord{State: store.ConsentWithdrawn, By: "patient"}); !errors.Is(err, store.ErrNotDPO) {
				t.Fatalf("a clinician recorded a withdrawal: %v", err)
			}
			if _, err := f.s.SetConsent(f.ctx, f.u("dana").p, c.ID, store.ConsentRecord{State: store.ConsentWithdrawn, By: "patient"}); err != nil {
				t.Fatal(err)
			}
		}
		if tc.hold {
			if _, err := f.s.Hold(f.ctx, f.u("ian").p, store.HoldRequest{Clips: []string{c.ID}, Incident: "INC-" + tc.name, Reason: "keep"}); err != nil {
				t.Fatal(err)
			}
		}
		if tc.release {
			if _, err := f.s.Release(f.ctx, f.u("dana").p, store.ReleaseRequest{Clip: c.ID, Reason: "incident closed"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A dry run reports and changes nothing.
	before := snapshot(t, f.s.Dir)
	dry, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, f.s.Dir); after != before {
		t.Fatalf("dry run changed the store:\n%s\n---\n%s", before, after)
	}
	rep, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Purged) != len(rep.Purged) {
		t.Fatalf("dry run would purge %d, purge purged %d", len(dry.Purged), len(rep.Purged))
	}
	purged := map[string]store.PurgedClip{}
	for _, p := range rep.Purged {
		purged[p.Clip] = p
	}
	st := f.state()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := st.Clips[ids[tc.name]]
			p, gone := purged[c.ID]
			if gone != tc.wantPurged {
				t.Fatalf("purged=%v, want %v (status %s)", gone, tc.wantPurged, c.Status)
			}
			path := filepath.Join(f.s.Dir, c.Object.Path)
			_, statErr := os.Stat(path)
			if tc.wantPurged {
				if p.Reason != tc.wantReason || c.Status != store.StatusPurged || c.Purge == nil {
					t.Fatalf("reason %q status %s, want %q purged", p.Reason, c.Status, tc.wantReason)
				}
				if !os.IsNotExist(statErr) {
					t.Fatalf("sealed file still there: %v", statErr)
				}
				if c.Purge.SHA256 != c.Object.SHA256 || len(c.Purge.Objects) == 0 || c.Purge.Objects[0].CipherSHA256 != c.Object.CipherSHA256 {
					t.Fatalf("tombstone does not keep the hashes: %+v", c.Purge)
				}
			} else {
				if statErr != nil {
					t.Fatalf("kept clip's file: %v", statErr)
				}
				want := store.StatusSealed
				if tc.hold && !tc.release {
					want = store.StatusHeld
				}
				if c.Status != want {
					t.Fatalf("status %s, want %s", c.Status, want)
				}
			}
		})
	}
	if len(rep.Kept) != 3 {
		t.Fatalf("kept by hold: %+v", rep.Kept)
	}
	f.verified()
	// Idempotent: a second purge finds nothing to do.
	again, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{})
	if err != nil || len(again.Purged) != 0 || len(again.Swept) != 0 {
		t.Fatalf("second purge: %+v, %v", again, err)
	}
	// Opening a purged clip says so.
	_, err = f.s.OpenClip(f.ctx, ids["expired"], store.OpenOptions{Reason: "x", Out: filepath.Join(f.dir, "o.mp4")})
	if !errors.Is(err, store.ErrPurged) {
		t.Fatalf("open purged: %v", err)
	}
	// A hold on a purged clip is refused.
	out, err := f.s.Hold(f.ctx, nil, store.HoldRequest{Clips: []string{ids["expired"]}, Incident: "LATE", Reason: "too late"})
	if err != nil || len(out) != 1 || out[0].Skipped == "" {
		t.Fatalf("holding a purged clip: %+v %v", out, err)
	}
	// The same footage can be told apart from new footage by its tombstone.
	if f.clip(ids["expired"]).Purge.Reason != store.PurgeRetention {
		t.Fatal("tombstone reason")
	}
	f.verified()
}

// TestPurgeDerivativesAndPolicyChange: retention is the policy in force
// when purge runs; a DPO changes it and the change is ledgered.
func TestPolicy(t *testing.T) {
	f := newFixture(t, false, singlePeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-30*time.Hour), store.ImportOptions{})
	st := f.state()
	if st.Policy.Retention.D() != 48*time.Hour {
		t.Fatalf("default retention %s", st.Policy.Retention)
	}
	if got := st.StatusAt(st.Clips[c.ID], f.clock.t); got != store.StatusSealed {
		t.Fatalf("status %s", got)
	}
	day := 24 * time.Hour
	for _, tc := range []struct {
		name string
		as   *store.Person
		ch   store.PolicyChange
		want error
	}{
		{"clinician", f.u("nina").p, store.PolicyChange{Retention: &day, Reason: "x"}, store.ErrNotDPO},
		{"investigator", f.u("ian").p, store.PolicyChange{Retention: &day, Reason: "x"}, store.ErrNotDPO},
		{"station", nil, store.PolicyChange{Retention: &day, Reason: "x"}, store.ErrNotDPO},
		{"no reason", f.u("dana").p, store.PolicyChange{Retention: &day}, store.ErrBadPolicy},
		{"zero retention", f.u("dana").p, store.PolicyChange{Retention: new(time.Duration), Reason: "x"}, store.ErrBadPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.s.SetPolicy(f.ctx, tc.as, tc.ch); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	p, err := f.s.SetPolicy(f.ctx, f.u("dana").p, store.PolicyChange{Retention: &day, Reason: "board decision 2026/12"})
	if err != nil || p.Retention.D() != day {
		t.Fatalf("set policy: %v %+v", err, p)
	}
	st = f.state()
	if got := st.StatusAt(st.Clips[c.ID], f.clock.t); got != store.StatusExpired {
		t.Fatalf("after shortening retention: status %s", got)
	}
	last := st.Events[len(st.Events)-1]
	if last.Action != "policy.set" || last.Actor != "dana" || !strings.Contains(last.Summary, "board decision") {
		t.Fatalf("policy change not ledgered as dana's: %+v", last)
	}
	rep, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{})
	if err != nil || len(rep.Purged) != 1 {
		t.Fatalf("purge under new policy: %+v %v", rep, err)
	}
	f.verified()
}

func TestHoldsByAlarm(t *testing.T) {
	f := newFixture(t, false, singlePeople...)
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	// Each clip is 1 s long.
	clips := map[string]time.Time{"0900": at(9, 0), "0915": at(9, 15), "0950": at(9, 50), "0951": at(9, 51), "1100": at(11, 0)}
	ids := map[string]string{}
	for name, rec := range clips {
		ids[name] = f.importClip(name+".mp4", rec, store.ImportOptions{}).ID
	}
	held := func() map[string]bool {
		st := f.state()
		m := map[string]bool{}
		for name, id := range ids {
			m[name] = st.Clips[id].Status == store.StatusHeld
		}
		return m
	}
	// Alarm at 09:20 with a 30 minute window: 08:50–09:50 overlaps 09:00,
	// 09:15, and 09:50 (its start is the window's end), not 09:51 or 11:00.
	out, err := f.s.Hold(f.ctx, f.u("ian").p, store.HoldRequest{Alarms: []store.Alarm{{Time: at(9, 20).Format(time.RFC3339), Location: "ED", Device: "PA-3"}}, Window: 30 * time.Minute, Incident: "INC-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("holds: %+v", out)
	}
	want := map[string]bool{"0900": true, "0915": true, "0950": true, "0951": false, "1100": false}
	if got := held(); !equalMaps(got, want) {
		t.Fatalf("held %v, want %v", got, want)
	}
	c := f.clip(ids["0900"])
	if h := c.Holds[0]; h.Incident != "INC-1" || h.Alarm == nil || h.Alarm.Location != "ED" || h.By != "ian" || !strings.Contains(h.Reason, "panic alarm") {
		t.Fatalf("hold record: %+v", h)
	}
	// Holding again for the same incident is a no-op; another incident adds a hold.
	out, _ = f.s.Hold(f.ctx, nil, store.HoldRequest{Clips: []string{ids["0900"]}, Incident: "INC-1", Reason: "again"})
	if len(out) != 1 || out[0].Skipped == "" {
		t.Fatalf("re-hold: %+v", out)
	}
	// Bulk from a CSV: an alarm at 11:00:30 holds the 11:00 clip (1 s
	// long) with a zero-ish window; incidents come from the file.
	alarms, err := store.ParseAlarms(strings.NewReader("Time,Location,Device,Incident\n2026-11-22T11:00:00.5Z,Ward 3,PA-9,INC-2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Hold(f.ctx, nil, store.HoldRequest{Alarms: alarms, Window: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if !held()["1100"] {
		t.Fatal("the CSV alarm did not hold the 11:00 clip")
	}
	// Release: DPO only, by incident.
	for _, tc := range []struct {
		as   *store.Person
		want error
	}{{f.u("ian").p, store.ErrNotDPO}, {f.u("nina").p, store.ErrNotDPO}, {nil, store.ErrNotDPO}} {
		if _, err := f.s.Release(f.ctx, tc.as, store.ReleaseRequest{Clip: ids["0900"], Reason: "x"}); !errors.Is(err, tc.want) {
			t.Fatalf("release by %v: %v", tc.as, err)
		}
	}
	if _, err := f.s.Release(f.ctx, f.u("dana").p, store.ReleaseRequest{Clip: ids["0951"], Reason: "x"}); !errors.Is(err, store.ErrHold) {
		t.Fatalf("releasing an unheld clip: %v", err)
	}
	if _, err := f.s.Release(f.ctx, f.u("dana").p, store.ReleaseRequest{Clip: ids["0915"], Incident: "INC-9", Reason: "x"}); !errors.Is(err, store.ErrHold) {
		t.Fatalf("releasing another incident's hold: %v", err)
	}
	if _, err := f.s.Release(f.ctx, f.u("dana").p, store.ReleaseRequest{Clip: ids["0915"], Incident: "INC-1"}); err != nil {
		t.Fatal(err)
	}
	if held()["0915"] {
		t.Fatal("still held after release")
	}
	// A release without a reason is allowed but flagged.
	st := f.state()
	if len(st.Anomalies) != 1 || st.Anomalies[0].Code != "release-without-reason" {
		t.Fatalf("anomalies: %+v", st.Anomalies)
	}
	f.verified()
}

func equalMaps(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestParseAlarms(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []store.Alarm
		err      bool
	}{
		{"csv", "time,location,device\n2026-11-22T09:20:00Z,ED,PA-1\n2026-11-22T10:00:00+01:00,Ward 3,PA-2\n",
			[]store.Alarm{{Time: "2026-11-22T09:20:00Z", Location: "ED", Device: "PA-1"}, {Time: "2026-11-22T09:00:00Z", Location: "Ward 3", Device: "PA-2"}}, false},
		{"csv columns reordered, comment", "# export\ndevice,timestamp\nPA-1,2026-11-22T09:20:00Z\n", []store.Alarm{{Time: "2026-11-22T09:20:00Z", Device: "PA-1"}}, false},
		{"json array", `[{"time":"2026-11-22T09:20:00Z","location":"ED","device":"PA-1","incident":"INC-4"}]`, []store.Alarm{{Time: "2026-11-22T09:20:00Z", Location: "ED", Device: "PA-1", Incident: "INC-4"}}, false},
		{"json object", `{"alarms":[{"time":"2026-11-22T09:20:00Z"}]}`, []store.Alarm{{Time: "2026-11-22T09:20:00Z"}}, false},
		{"empty", "", nil, true},
		{"no time column", "location,device\nED,PA\n", nil, true},
		{"bad time", "time\n22/11/2026 09:20\n", nil, true},
		{"json without time", `[{"location":"ED"}]`, nil, true},
		{"header only", "time,location\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.ParseAlarms(strings.NewReader(tc.in))
			if tc.err {
				if err == nil || !errors.Is(err, store.ErrBadAlarms) {
					t.Fatalf("want ErrBadAlarms, got %v %+v", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("alarm %d: got %+v want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestConsent(t *testing.T) {
	f := newFixture(t, false, singlePeople...)
	rec := f.clock.t.Add(-time.Hour)
	if _, err := f.s.Import(f.ctx, filepath.Join(f.dir, "nope.mp4"), store.ImportOptions{Consent: &store.ConsentRecord{State: store.ConsentWithdrawn}}); !errors.Is(err, store.ErrConsent) {
		t.Fatalf("withdrawn at import: %v", err)
	}
	if _, err := f.s.Import(f.ctx, filepath.Join(f.dir, "nope.mp4"), store.ImportOptions{Consent: &store.ConsentRecord{State: "maybe"}}); !errors.Is(err, store.ErrConsent) {
		t.Fatalf("unknown state at import: %v", err)
	}
	a := f.importClip("a.mp4", rec, store.ImportOptions{Consent: &store.ConsentRecord{State: store.ConsentNotAsked}})
	// Only given consent can be withdrawn.
	if _, err := f.s.SetConsent(f.ctx, f.u("dana").p, a.ID, store.ConsentRecord{State: store.ConsentWithdrawn}); !errors.Is(err, store.ErrConsent) {
		t.Fatalf("withdrawing not-asked: %v", err)
	}
	if _, err := f.s.SetConsent(f.ctx, f.u("nina").p, a.ID, store.ConsentRecord{State: store.ConsentGiven, By: "patient", At: "2026-11-22T10:00:00Z", Note: "verbal, witnessed"}); err != nil {
		t.Fatal(err)
	}
	// A refusal removes the clip, so with a DPO in the store neither the
	// station operator nor a clinician may record one.
	for _, as := range []*store.Person{nil, f.u("nina").p} {
		if _, err := f.s.SetConsent(f.ctx, as, a.ID, store.ConsentRecord{State: store.ConsentWithdrawn, By: "patient's daughter (LPA)"}); !errors.Is(err, store.ErrNotDPO) {
			t.Fatalf("withdrawal not by a DPO: %v", err)
		}
	}
	c, err := f.s.SetConsent(f.ctx, f.u("dana").p, a.ID, store.ConsentRecord{State: store.ConsentWithdrawn, By: "patient's daughter (LPA)"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ConsentHistory) != 3 || c.Consent().State != store.ConsentWithdrawn || c.ConsentHistory[1].RecordedBy != "nina" || c.ConsentHistory[2].RecordedBy != "dana" {
		t.Fatalf("consent history: %+v", c.ConsentHistory)
	}
	if got := f.state().StatusAt(c, f.clock.t); got != store.StatusExpired {
		t.Fatalf("withdrawn consent: status %s, want expired", got)
	}
	f.verified()
}

func TestUsers(t *testing.T) {
	f := newFixture(t, false)
	dir := t.TempDir()
	dana := newPerson(t, dir, "dana", store.RoleDPO)
	nina := newPerson(t, dir, "nina", store.RoleClinician)
	ian := newPerson(t, dir, "ian", store.RoleInvestigator)
	add := func(as *store.Person, p *person) error {
		_, err := f.s.AddUser(f.ctx, as, store.UserSpec{Name: p.name, Role: p.role, Key: p.pub}, nil)
		return err
	}
	// Before there is a DPO the station registers people.
	if err := add(nil, nina); err != nil {
		t.Fatal(err)
	}
	if err := add(nil, dana); err != nil {
		t.Fatal(err)
	}
	// Then only a DPO may.
	if err := add(nil, ian); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("station adding after a DPO exists: %v", err)
	}
	if err := add(nina.p, ian); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("clinician adding: %v", err)
	}
	if err := add(dana.p, ian); err != nil {
		t.Fatal(err)
	}
	rsa := "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDQ7z+MSqj6d+2cXxAqN1R6OAzDEBrXL6WkE05FvHGfxJcpRSJXn1tS8I8pR3hdTEa0XyFMlrDcHchNc9r0Wz3+oBkh0uSu0E1fTdFUSR2RpdBFBgTF9mP/AaEc4vrzVQUSXYbnNwPQGiePQj1XiBk4wdK3+aqpLv6p6kqkkHFByFsTDQiqbNJ8TbFvYqHTZ8nMRzHzBp5NwS3NK8WK+b0xJbc5QZEo8pFy+ZRzRS4EIa9zQfI1LJcTpBAOsF5UVZ+N6RUrBtNzlp5VXPW7MDrJBc4AetZYswJ0VpmAKX7dGE3t+XvG+q7wBYBlKsCYrA7g9ctVmrtI5b3iRj3FPzdj"
	for _, tc := range []struct {
		name string
		spec store.UserSpec
	}{
		{"duplicate name", store.UserSpec{Name: "nina", Role: "clinician", Key: newPerson(t, dir, "x1", "").pub}},
		{"shared key", store.UserSpec{Name: "nina2", Role: "clinician", Key: nina.pub}},
		{"bad role", store.UserSpec{Name: "bob", Role: "admin", Key: newPerson(t, dir, "x2", "").pub}},
		{"bad name", store.UserSpec{Name: "bob smith", Role: "dpo", Key: newPerson(t, dir, "x3", "").pub}},
		{"reserved name", store.UserSpec{Name: "station", Role: "dpo", Key: newPerson(t, dir, "x4", "").pub}},
		{"rsa key", store.UserSpec{Name: "bob", Role: "dpo", Key: rsa}},
		{"not a key", store.UserSpec{Name: "bob", Role: "dpo", Key: "hello"}},
		{"private key", store.UserSpec{Name: "bob", Role: "dpo", Key: string(must(os.ReadFile(nina.keyPath)))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.s.AddUser(f.ctx, dana.p, tc.spec, nil); !errors.Is(err, store.ErrBadUser) {
				t.Fatalf("got %v, want ErrBadUser", err)
			}
		})
	}
	// ian acts; then is removed; his past entry still verifies, and he can
	// no longer act.
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	if _, err := f.s.Hold(f.ctx, ian.p, store.HoldRequest{Clips: []string{c.ID}, Incident: "I", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RemoveUser(f.ctx, nina.p, "ian", store.RemoveUserOptions{Reason: "left"}, nil); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("clinician removing: %v", err)
	}
	if _, err := f.s.RemoveUser(f.ctx, dana.p, "dana", store.RemoveUserOptions{}, nil); !errors.Is(err, store.ErrBadUser) {
		t.Fatalf("self-removal: %v", err)
	}
	u, err := f.s.RemoveUser(f.ctx, dana.p, "ian", store.RemoveUserOptions{Reason: "left the trust"}, nil)
	if err != nil || u.Active {
		t.Fatalf("remove: %+v %v", u, err)
	}
	if _, err := f.s.Hold(f.ctx, ian.p, store.HoldRequest{Clips: []string{c.ID}, Incident: "J", Reason: "r"}); !errors.Is(err, store.ErrUnknownPerson) {
		t.Fatalf("removed person acting: %v", err)
	}
	if _, err := f.s.RemoveUser(f.ctx, dana.p, "ian", store.RemoveUserOptions{}, nil); !errors.Is(err, store.ErrBadUser) {
		t.Fatalf("removing twice: %v", err)
	}
	f.verified()
	users := f.state().UserList()
	if len(users) != 3 || users[2].Name != "ian" || users[2].Active {
		t.Fatalf("user list: %+v", users)
	}
	// The person's entries are signed by them alone (the station key is
	// not needed): lock the station and act.
	s2, err := store.Open(f.s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Hold(f.ctx, nina.p, store.HoldRequest{Clips: []string{c.ID}, Incident: "K", Reason: "r"}); err != nil {
		t.Fatalf("person acting without the station key: %v", err)
	}
	if _, err := s2.Hold(f.ctx, nil, store.HoldRequest{Clips: []string{c.ID}, Incident: "L", Reason: "r"}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("station acting while locked: %v", err)
	}
	f.verified()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestStatementsVerifyWithSSHKeygen checks an approval's signatures with
// stock ssh-keygen: the ledger entry (namespace custody-ledger-entry-v1)
// and the approval statement (custody-approve-v1).
func TestStatementsVerifyWithSSHKeygen(t *testing.T) {
	keygen := testenv.Tool(t, "ssh-keygen")
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(f.ctx, f.u("dana").p, r.ID, store.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	l := ledger(t, f.s)
	rec := l.Last()
	if rec.Entry.Action != "approve" {
		t.Fatalf("last entry is %s", rec.Entry.Action)
	}
	var p store.ApprovePayload
	if err := rec.Payload(&p); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed_signers")
	os.WriteFile(allowed, []byte("dana "+f.u("dana").pub+"\n"+"dave "+f.u("dave").pub+"\n"), 0o644)
	sshVerify := func(identity, ns string, msg []byte, armored string) error {
		sig := filepath.Join(dir, "sig")
		os.WriteFile(sig, []byte(armored), 0o644)
		cmd := exec.Command(keygen, "-Y", "verify", "-f", allowed, "-I", identity, "-n", ns, "-s", sig)
		cmd.Stdin = strings.NewReader(string(msg))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := sshVerify("dana", "custody-approve-v1", []byte(p.Text), p.Sig); err != nil {
		t.Fatalf("ssh-keygen rejects the approval statement: %v", err)
	}
	if !strings.Contains(p.Text, "request "+r.ID) || !strings.Contains(p.Text, "clip "+c.ID) || !strings.Contains(p.Text, "grant-sha256 "+p.Grant.CipherSHA256) {
		t.Fatalf("statement does not bind request, clip and grant:\n%s", p.Text)
	}
	// The ledger signature by dana (the first signature: the actor's).
	if rec.Sigs[0].Key != f.u("dana").p.Fingerprint() {
		t.Fatalf("first signature is by %s", rec.Sigs[0].Key)
	}
	blob := must(decodeSig(rec.Sigs[0].SSHSig))
	if err := sshVerify("dana", "custody-ledger-entry-v1", rec.EntryRaw, blob); err != nil {
		t.Fatalf("ssh-keygen rejects the approval entry's signature: %v", err)
	}
	// Negative controls: another identity, another namespace, altered text.
	if sshVerify("dave", "custody-approve-v1", []byte(p.Text), p.Sig) == nil {
		t.Fatal("ssh-keygen accepted dana's approval as dave's")
	}
	if sshVerify("dana", "custody-request-v1", []byte(p.Text), p.Sig) == nil {
		t.Fatal("ssh-keygen accepted the approval in the request namespace")
	}
	if sshVerify("dana", "custody-approve-v1", []byte(strings.Replace(p.Text, r.ID, "000000000000", 1)), p.Sig) == nil {
		t.Fatal("ssh-keygen accepted an altered statement")
	}
	// And custody's own check of every statement.
	if _, err := p.Statement.Verify("approve"); err != nil {
		t.Fatal(err)
	}
}
