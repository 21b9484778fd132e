package store_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/store"
)

var dualPeople = [][2]string{{"dana", store.RoleDPO}, {"dave", store.RoleDPO}, {"nina", store.RoleClinician}, {"ian", store.RoleInvestigator}}

func TestDualControlOpen(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-30*time.Minute), store.ImportOptions{Owner: "nina"})
	if !c.DualControl() || c.Owner != "nina" || len(c.Shares) != 2 {
		t.Fatalf("clip not under dual control: %+v", c)
	}
	orig, _ := os.ReadFile(filepath.Join(f.dir, "a.mp4"))
	out := filepath.Join(f.dir, "out.mp4")

	// Without an approved request the owner cannot open.
	_, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: out})
	if !errors.Is(err, store.ErrNotApproved) {
		t.Fatalf("open without request: %v", err)
	}
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "complaint review", Incident: "INC-7"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: out}); !errors.Is(err, store.ErrNotApproved) {
		t.Fatalf("open with a pending request: %v", err)
	}
	r, err = f.s.Approve(f.ctx, f.u("dana").p, r.ID, store.ApproveOptions{Clip: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.RequestApproved || r.ApprovedBy != "dana" {
		t.Fatalf("request after approval: %+v", r)
	}
	f.verified()
	// A DPO cannot open with their own key and the approval: the grant and
	// the owner share are sealed to the owner.
	if _, err = f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("dana").p, Out: out, Request: r.ID}); !errors.Is(err, store.ErrNotApproved) {
		t.Fatalf("DPO opening with the owner's approval: %v", err)
	}
	if _, err = f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: out}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, orig) {
		t.Fatal("opened clip differs from the original")
	}
	// The grant is consumed and its file is gone.
	if _, err := os.Stat(filepath.Join(f.s.Dir, r.Grant.Path)); !os.IsNotExist(err) {
		t.Fatalf("grant file still there after use: %v", err)
	}
	st := f.state()
	if st.Requests[r.ID].Status != store.RequestOpened {
		t.Fatalf("request status %s", st.Requests[r.ID].Status)
	}
	// Replay: the same approval cannot be used twice.
	_, err = f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: out + "2", Request: r.ID})
	if !errors.Is(err, store.ErrReplay) {
		t.Fatalf("second open with the same approval: %v", err)
	}
	// The refused tries of the story are ledgered, and nothing else is flagged.
	if refused, other := splitAnomalies(st); len(other) != 0 || len(refused) == 0 {
		t.Fatalf("anomalies in a clean story: refusals %v, others %+v", refused, other)
	}
	// The access entry names the owner and is signed by their key.
	var access *store.Event
	for i := range st.Events {
		if st.Events[i].Action == "access" {
			access = &st.Events[i]
		}
	}
	if access == nil || access.Actor != "nina" || access.Key != f.u("nina").p.Fingerprint() {
		t.Fatalf("access entry: %+v", access)
	}
	f.verified()
}

// TestDualControlRefusals covers every refusal of request, approve and open.
func TestDualControlRefusals(t *testing.T) {
	f := newFixture(t, true, append(dualPeople, [2]string{"omar", store.RoleDPO})...)
	rec := f.clock.t.Add(-time.Hour)
	a := f.importClip("a.mp4", rec, store.ImportOptions{Owner: "nina"})
	b := f.importClip("b.mp4", rec, store.ImportOptions{Owner: "nina"})
	// omar is a DPO who recorded footage himself.
	o := f.importClip("o.mp4", rec, store.ImportOptions{Owner: "omar"})
	req := func(who, clip string) *store.Request {
		t.Helper()
		r, err := f.s.Request(f.ctx, f.u(who).p, clip, store.RequestOptions{Reason: "review", Incident: "INC-1"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ra := req("nina", a.ID)
	ro := req("omar", o.ID)
	rb := req("nina", b.ID)

	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"request by someone not the owner", func() error {
			_, err := f.s.Request(f.ctx, f.u("ian").p, a.ID, store.RequestOptions{Reason: "r", Incident: "i"})
			return err
		}, store.ErrNotOwner},
		{"request by a DPO not the owner", func() error {
			_, err := f.s.Request(f.ctx, f.u("dana").p, a.ID, store.RequestOptions{Reason: "r", Incident: "i"})
			return err
		}, store.ErrNotOwner},
		{"request without a reason", func() error {
			_, err := f.s.Request(f.ctx, f.u("nina").p, a.ID, store.RequestOptions{Incident: "i"})
			return err
		}, store.ErrNoReason},
		{"request by an unregistered key", func() error {
			stranger := newPerson(t, t.TempDir(), "stranger", store.RoleClinician)
			_, err := f.s.Request(f.ctx, stranger.p, a.ID, store.RequestOptions{Reason: "r", Incident: "i"})
			return err
		}, store.ErrUnknownPerson},
		{"approval by a non-DPO", func() error {
			_, err := f.s.Approve(f.ctx, f.u("ian").p, ra.ID, store.ApproveOptions{})
			return err
		}, store.ErrNotDPO},
		{"approval by the station", func() error {
			_, err := f.s.Approve(f.ctx, nil, ra.ID, store.ApproveOptions{})
			return err
		}, store.ErrNotDPO},
		{"self-approval", func() error {
			_, err := f.s.Approve(f.ctx, f.u("omar").p, ro.ID, store.ApproveOptions{})
			return err
		}, store.ErrSelfApproval},
		{"approval of a request for another clip", func() error {
			_, err := f.s.Approve(f.ctx, f.u("dana").p, ra.ID, store.ApproveOptions{Clip: b.ID})
			return err
		}, store.ErrWrongClip},
		{"approval of an unknown request", func() error {
			_, err := f.s.Approve(f.ctx, f.u("dana").p, "0123456789ab", store.ApproveOptions{})
			return err
		}, store.ErrNoRequest},
		{"approval of a lapsed request", func() error {
			_, err := f.s.Approve(f.ctx, f.u("dana").p, ra.ID, store.ApproveOptions{Now: f.clock.t.Add(8 * 24 * time.Hour)})
			return err
		}, store.ErrExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	// Approve a, then: replayed approval, use for another clip, expiry.
	if _, err := f.s.Approve(f.ctx, f.u("dana").p, ra.ID, store.ApproveOptions{Valid: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(f.ctx, f.u("dave").p, ra.ID, store.ApproveOptions{}); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("approving an approved request again: %v", err)
	}
	out := filepath.Join(f.dir, "x.mp4")
	if _, err := f.s.OpenClip(f.ctx, b.ID, store.OpenOptions{As: f.u("nina").p, Out: out, Request: ra.ID}); !errors.Is(err, store.ErrWrongClip) {
		t.Fatalf("using a's approval for b: %v", err)
	}
	if _, err := f.s.OpenClip(f.ctx, a.ID, store.OpenOptions{As: f.u("nina").p, Out: out, Now: f.clock.t.Add(2 * time.Hour)}); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("open after the grant expired: %v", err)
	}
	// The clock override only ever makes expiry stricter: a time in the
	// past does not revive an expired grant.
	f.clock.t = f.clock.t.Add(2 * time.Hour)
	if _, err := f.s.OpenClip(f.ctx, a.ID, store.OpenOptions{As: f.u("nina").p, Out: out, Now: f.clock.t.Add(-3 * time.Hour)}); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("open with the clock set back: %v", err)
	}
	// Purge destroys the expired grant's file.
	rep, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Grants) != 1 || rep.Grants[0] != ra.ID {
		t.Fatalf("purge destroyed grants %v, want [%s]", rep.Grants, ra.ID)
	}
	if _, err := os.Stat(filepath.Join(f.s.Dir, f.state().Requests[ra.ID].Grant.Path)); !os.IsNotExist(err) {
		t.Fatalf("expired grant file survives purge: %v", err)
	}
	if st := f.state().Requests[ra.ID].Status; st != store.RequestShredded {
		t.Fatalf("expired grant's request is %s", st)
	}
	if _, err := f.s.OpenClip(f.ctx, a.ID, store.OpenOptions{As: f.u("nina").p, Out: out}); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("open after the grant was destroyed: %v", err)
	}
	// A grant file swapped for another is refused by its hash.
	rb2, err := f.s.Approve(f.ctx, f.u("dave").p, rb.ID, store.ApproveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.verified()
	// Every refusal above left a signed "refused" entry naming its rule
	// (the unregistered key is counted and folded into the next write);
	// nothing else is flagged.
	refused, other := splitAnomalies(f.state())
	if len(other) != 0 {
		t.Fatalf("refused actions left other anomalies: %+v", other)
	}
	for _, want := range []string{"refused:not-owner", "refused:not-dpo", "refused:self-approval", "refused:wrong-clip", "refused:expired", "refused:already-used", "failed-attempts:"} {
		found := false
		for _, r := range refused {
			found = found || r == want
		}
		if !found {
			t.Errorf("no %s among the ledgered refusals %v", want, refused)
		}
	}
	ra2 := req("nina", a.ID)
	if _, err := f.s.Approve(f.ctx, f.u("dave").p, ra2.ID, store.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	ga := filepath.Join(f.s.Dir, f.state().Requests[ra2.ID].Grant.Path)
	gb, _ := os.ReadFile(filepath.Join(f.s.Dir, rb2.Grant.Path))
	if err := os.WriteFile(ga, gb, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.OpenClip(f.ctx, a.ID, store.OpenOptions{As: f.u("nina").p, Out: out}); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("open with a swapped grant file: %v", err)
	}
}

// TestStockAgeNeverYieldsOriginal runs stock age on every file in a
// dual-control store with each person's key alone, at every stage of the
// access story, and checks that nothing it yields is the original.
func TestStockAgeNeverYieldsOriginal(t *testing.T) {
	agebin := testenv.Tool(t, "age")
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-30*time.Minute), store.ImportOptions{Owner: "nina"})
	orig, _ := os.ReadFile(filepath.Join(f.dir, "a.mp4"))
	origSum := sha256.Sum256(orig)
	tried, decrypted := 0, 0
	check := func(stage string) {
		t.Helper()
		for _, file := range f.files() {
			for _, who := range []string{"nina", "dana", "dave", "ian"} {
				cmd := exec.Command(agebin, "-d", "-i", f.u(who).keyPath, file)
				var stdout bytes.Buffer
				cmd.Stdout = &stdout
				err := cmd.Run()
				tried++
				if err != nil {
					continue
				}
				decrypted++
				out := stdout.Bytes()
				sum := sha256.Sum256(out)
				if sum == origSum || bytes.Contains(out, orig[:64]) {
					t.Fatalf("%s: stock age with %s's key alone yields the original from %s", stage, who, file)
				}
				if len(out) > 4096 {
					t.Fatalf("%s: stock age with %s's key decrypts %d bytes from %s", stage, who, len(out), file)
				}
			}
		}
	}
	check("after import")
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = f.s.Approve(f.ctx, f.u("dana").p, r.ID, store.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	check("after approval")
	if _, err = f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: filepath.Join(t.TempDir(), "o.mp4")}); err != nil {
		t.Fatal(err)
	}
	check("after open")
	// Redaction under dual control: nothing derived opens with one key
	// either (a DPO's key opens the derived key, which is no original).
	rr, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i", Purpose: store.PurposeRedact})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = f.s.Approve(f.ctx, f.u("dave").p, rr.ID, store.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{As: f.u("nina").p})
	if err != nil {
		t.Fatal(err)
	}
	deriveWithFFmpeg(t, f.ctx, d)
	d.Close()
	check("after redaction")
	// Shares did decrypt (so the test did exercise the keys): the owner's
	// share with nina's key, the DPO share with each DPO's.
	if decrypted < 3 {
		t.Fatalf("only %d of %d decryptions succeeded: the keys were not exercised", decrypted, tried)
	}
	t.Logf("%d age runs, %d decrypted a share, none yielded the original", tried, decrypted)
}
