package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
)

// TestRewrapOnDPOChange: a DPO is registered by two people, and only the
// confirmation (not the proposal) re-seals every live clip's DPO share to
// include them, in the same entry; removing one re-seals it without them
// and destroys the old share file.
func TestRewrapOnDPOChange(t *testing.T) {
	agebin := testenv.Tool(t, "age")
	f := newFixture(t, true, [2]string{"dana", store.RoleDPO}, [2]string{"dave", store.RoleDPO}, [2]string{"nina", store.RoleClinician})
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	oldShare := c.Shares[1].Object
	omar := newPerson(t, t.TempDir(), "omar", store.RoleDPO)
	// The station cannot add a DPO once the store is in use.
	if _, err := f.s.AddUser(f.ctx, nil, store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}, nil); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("station adding a DPO: %v", err)
	}
	u, err := f.s.AddUser(f.ctx, f.u("dana").p, store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}, nil)
	if err != nil || !u.Pending {
		t.Fatalf("proposing omar: %+v, %v", u, err)
	}
	// Proposed is not registered: no share, no power.
	if sh := f.clip(c.ID).Shares[1]; sh.Object.ID != oldShare.ID {
		t.Fatalf("DPO share re-sealed at the proposal: %+v", sh)
	}
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(f.ctx, omar.p, r.ID, store.ApproveOptions{}); !errors.Is(err, store.ErrUnknownPerson) {
		t.Fatalf("a proposed DPO approving: %v", err)
	}
	if _, err := f.s.ConfirmUser(f.ctx, f.u("dana").p, "omar", nil); !errors.Is(err, store.ErrUnseconded) {
		t.Fatalf("the proposer confirming: %v", err)
	}
	if _, err := f.s.ConfirmUser(f.ctx, f.u("dave").p, "omar", nil); err != nil {
		t.Fatal(err)
	}
	c = f.clip(c.ID)
	if sh := c.Shares[1]; sh.Object.ID == oldShare.ID || strings.Join(sh.Holders, ",") != "dana,dave,omar" {
		t.Fatalf("DPO share not re-sealed: %+v", sh)
	}
	if _, err := os.Stat(filepath.Join(f.s.Dir, oldShare.Path)); !os.IsNotExist(err) {
		t.Fatalf("old DPO share still on disk: %v", err)
	}
	f.verified()
	// omar can now approve.
	if _, err := f.s.Approve(f.ctx, omar.p, r.ID, store.ApproveOptions{}); err != nil {
		t.Fatalf("new DPO approving: %v", err)
	}
	// Removing dana re-seals the share without her.
	if _, err := f.s.RemoveUser(f.ctx, omar.p, "dana", store.RemoveUserOptions{Reason: "left"}, nil); err != nil {
		t.Fatal(err)
	}
	c = f.clip(c.ID)
	share := filepath.Join(f.s.Dir, c.Shares[1].Object.Path)
	if out, err := exec.Command(agebin, "-d", "-i", f.u("dana").keyPath, share).CombinedOutput(); err == nil {
		t.Fatalf("removed DPO still decrypts the new share: %s", out)
	}
	if out, err := exec.Command(agebin, "-d", "-i", omar.keyPath, share).CombinedOutput(); err != nil {
		t.Fatalf("remaining DPO cannot decrypt the share: %v %s", err, out)
	}
	if _, err := f.s.RemoveUser(f.ctx, omar.p, "dave", store.RemoveUserOptions{Reason: "left"}, nil); err != nil {
		t.Fatal(err)
	}
	// The last DPO cannot be removed.
	if _, err := f.s.RemoveUser(f.ctx, omar.p, "omar", store.RemoveUserOptions{}, nil); !errors.Is(err, store.ErrBadUser) {
		t.Fatalf("removing the last DPO: %v", err)
	}
	// An owner with live clips is kept unless forced.
	if _, err := f.s.RemoveUser(f.ctx, omar.p, "nina", store.RemoveUserOptions{}, nil); !errors.Is(err, store.ErrBadUser) {
		t.Fatalf("removing an owner of live clips: %v", err)
	}
	// The grant of omar's approval still opens.
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: filepath.Join(f.dir, "o.mp4")}); err != nil {
		t.Fatal(err)
	}
	f.verified()
}

// TestDualControlImportRefusals: a dual-control import needs a registered
// owner and a DPO other than the owner.
func TestDualControlImportRefusals(t *testing.T) {
	f := newFixture(t, true, [2]string{"dana", store.RoleDPO}, [2]string{"nina", store.RoleClinician})
	path := filepath.Join(f.dir, "a.mp4")
	mkclip(t, path, 1)
	for _, tc := range []struct {
		owner string
		want  error
	}{{"", store.ErrNoOwner}, {"zed", store.ErrUnknownPerson}, {"dana", store.ErrNoDPO}} {
		if _, err := f.s.Import(f.ctx, path, store.ImportOptions{Owner: tc.owner}); !errors.Is(err, tc.want) {
			t.Fatalf("owner %q: got %v, want %v", tc.owner, err, tc.want)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(f.s.Dir, store.StagingDir)); len(ents) != 0 {
		t.Fatalf("refused imports left staging files: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(f.s.Dir, store.KeysDir)); len(ents) != 0 {
		t.Fatalf("refused imports left key files: %v", ents)
	}
	// Requests and approvals make no sense in a single-recipient store.
	g := newFixture(t, false, singlePeople...)
	c := g.importClip("b.mp4", g.clock.t, store.ImportOptions{Owner: "nina"})
	if _, err := g.s.Request(g.ctx, g.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"}); !errors.Is(err, store.ErrNotDualControl) {
		t.Fatalf("request in a single-recipient store: %v", err)
	}
}

// TestPurgeDualControlShredsKeys: purging a dual-control clip destroys its
// key shares and any unused grant, and the tombstone keeps their hashes.
func TestPurgeDualControlShredsKeys(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-50*time.Hour), store.ImportOptions{Owner: "nina"})
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	r, err = f.s.Approve(f.ctx, f.u("dave").p, r.ID, store.ApproveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{})
	if err != nil || len(rep.Purged) != 1 || rep.Purged[0].Files != 4 {
		t.Fatalf("purge: %+v %v", rep, err)
	}
	for _, o := range append([]store.Object{c.Object, c.Shares[0].Object, c.Shares[1].Object}, *r.Grant) {
		if _, err := os.Stat(filepath.Join(f.s.Dir, o.Path)); !os.IsNotExist(err) {
			t.Fatalf("%s survives the purge", o.Path)
		}
	}
	st := f.state()
	if got := st.Requests[r.ID].Status; got != store.RequestShredded {
		t.Fatalf("request of a purged clip: %s", got)
	}
	if len(st.Clips[c.ID].Purge.Objects) != 4 || len(st.Clips[c.ID].Purge.Requests) != 1 {
		t.Fatalf("tombstone: %+v", st.Clips[c.ID].Purge)
	}
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: filepath.Join(f.dir, "o.mp4")}); !errors.Is(err, store.ErrPurged) {
		t.Fatalf("open purged: %v", err)
	}
	if _, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"}); !errors.Is(err, store.ErrPurged) {
		t.Fatalf("request purged: %v", err)
	}
	f.verified()
}

// TestLogAnomalies writes entries custody itself refuses to write (as a
// tampering station could) and checks the log flags each, plus the flags
// custody's own legitimate actions can raise.
func TestLogAnomalies(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	raw := func(action, clip string, payload any, as *person) {
		t.Helper()
		b, _ := json.Marshal(payload)
		err := f.s.Update(context.Background(), func(tx *store.Tx) error {
			e := manifest.Entry{Action: action, Clip: clip, Payload: b}
			if as != nil {
				e.Actor.Name = as.name
				_, err := tx.Append(e, as.p.Signer)
				return err
			}
			_, err := tx.Append(e)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// An open with no request at all.
	raw("access", c.ID, store.AccessPayload{Reason: "just looking"}, nil)
	// Four requests within an hour (the policy allows three).
	var last *store.Request
	for i := 0; i < 4; i++ {
		f.clock.t = f.clock.t.Add(5 * time.Minute)
		r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
		if err != nil {
			t.Fatal(err)
		}
		last = r
	}
	// An approval by the investigator, forged into the ledger.
	raw("approve", c.ID, store.ApprovePayload{Request: last.ID, Requester: last.RequesterKey, ExpiresAt: f.clock.t.Add(time.Hour).Format(time.RFC3339)}, f.u("ian"))
	// A release by a clinician without a reason.
	if _, err := f.s.Hold(f.ctx, nil, store.HoldRequest{Clips: []string{c.ID}, Incident: "X", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	raw("release", c.ID, store.ReleasePayload{Holds: f.clip(c.ID).HoldIDs()}, f.u("nina"))
	st := f.state()
	got := map[string]int{}
	for _, a := range st.Anomalies {
		got[a.Code]++
	}
	want := map[string]int{"open-outside-request": 1, "request-burst": 1, "approval-by-non-dpo": 1, "release-without-reason": 1, "release-by-non-dpo": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("anomaly %s: %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("unexpected anomalies: %v", got)
	}
	lines, err := st.Log(store.LogFilter{AnomaliesOnly: true})
	if err != nil || len(lines) != 4 { // the release carries two flags
		t.Fatalf("flagged log lines: %d %v", len(lines), err)
	}
	byActor, _ := st.Log(store.LogFilter{Actor: "nina"})
	for _, l := range byActor {
		if l.Actor != "nina" {
			t.Fatalf("actor filter let through %+v", l)
		}
	}
	if len(byActor) != 5 { // four requests and the release
		t.Fatalf("nina's entries: %d", len(byActor))
	}
	since, _ := st.Log(store.LogFilter{Since: f.clock.t})
	if len(since) == 0 || len(since) >= len(st.Events) {
		t.Fatalf("since filter: %d of %d", len(since), len(st.Events))
	}
	// The chain and signatures are intact, but verify judges the rules too:
	// each forged entry fails it with its own code (and carries no signed
	// statement); the burst and the missing reason are log flags only.
	rep, err := verify.Store(f.ctx, f.s.Dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gotCodes := map[string]int{}
	for _, p := range rep.Problems {
		gotCodes[p.Code]++
	}
	wantCodes := map[string]int{"gov-open-outside-request": 1, "gov-approval-not-dpo": 1, "gov-release-not-dpo": 1, "gov-statement": 2}
	if rep.Verified || len(gotCodes) != len(wantCodes) {
		t.Fatalf("verify after forged governance entries: %+v", rep.Problems)
	}
	for k, v := range wantCodes {
		if gotCodes[k] != v {
			t.Errorf("verify problem %s: %d, want %d (all: %v)", k, gotCodes[k], v, gotCodes)
		}
	}
}

// TestLedgerPathsStayInStore: sealed-file paths come from the ledger, which
// anyone holding an authorised key can write to. Whatever an entry names,
// purge, recovery and open never touch a file outside objects/ and keys/.
func TestLedgerPathsStayInStore(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	victim := filepath.Join(f.dir, "victim.txt")
	if err := os.WriteFile(victim, []byte("not evidence"), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := []store.Object{{ID: "0123456789ab", Path: "../victim.txt"}, {ID: "../victim.txt", Path: "objects/../../victim.txt"}}
	forge := func(action, clip string, payload any, as *person) {
		t.Helper()
		b, _ := json.Marshal(payload)
		err := f.s.Update(f.ctx, func(tx *store.Tx) error {
			e := manifest.Entry{Action: action, Clip: clip, Payload: b}
			if as == nil {
				_, err := tx.Append(e)
				return err
			}
			e.Actor.Name = as.name
			_, err := tx.Append(e, as.p.Signer)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A re-sealing by a DPO pointing the clip's DPO share at the file.
	forge("keys.rewrap", "", store.RewrapPayload{Reason: "r", Shares: []store.RewrapShare{{Clip: c.ID, Old: c.Shares[1].Object.ID,
		New: store.Share{Kind: store.ShareDPO, Holders: []string{"dana", "dave"}, Object: outside[0]}}}}, f.u("dana"))
	// An approval whose grant is the file.
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	forge("approve", c.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, Grant: outside[1], ExpiresAt: f.clock.t.Add(time.Hour).Format(time.RFC3339)}, f.u("dana"))
	// A tombstone by the station naming it, and a later real purge.
	forge("purge", c.ID, store.PurgePayload{Reason: store.PurgeRetention, PolicyTime: f.clock.t.Format(time.RFC3339), Objects: outside}, nil)
	f.clock.t = f.clock.t.Add(72 * time.Hour)
	if _, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: filepath.Join(f.dir, "o.mp4")}); err == nil {
		t.Fatal("opened a clip whose ledger was forged")
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "not evidence" {
		t.Fatalf("a file outside the store was touched: %q %v", b, err)
	}
	n := 0
	for _, a := range f.state().Anomalies {
		if a.Code == "object-path" {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("object-path anomalies: %d (%+v)", n, f.state().Anomalies)
	}
}

// TestForgedApprovalsNotHonoured: an approval custody would have refused
// (by a non-DPO, replayed on a used request) is flagged and ignored by
// custody itself, not only by verify: it opens nothing.
func TestForgedApprovalsNotHonoured(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	forgeApprove := func(r *store.Request, as *person) {
		t.Helper()
		b, _ := json.Marshal(store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: f.clock.t.Add(time.Hour).Format(time.RFC3339),
			Grant: store.Object{ID: "k0123456789ab", Path: "keys/k0123456789ab.age"}})
		if err := f.s.Update(f.ctx, func(tx *store.Tx) error {
			_, err := tx.Append(manifest.Entry{Action: "approve", Clip: c.ID, Payload: b, Actor: manifest.Actor{Name: as.name}}, as.p.Signer)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(f.dir, "o.mp4")
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	forgeApprove(r, f.u("ian"))
	if got := f.state().Requests[r.ID]; got.Status != store.RequestPending {
		t.Fatalf("approval by an investigator honoured: %+v", got)
	}
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: out}); !errors.Is(err, store.ErrNotApproved) {
		t.Fatalf("open after a non-DPO's approval: %v", err)
	}
	if _, err := f.s.Approve(f.ctx, f.u("dana").p, r.ID, store.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: out}); err != nil {
		t.Fatal(err)
	}
	forgeApprove(r, f.u("dave"))
	if got := f.state().Requests[r.ID]; got.Status != store.RequestOpened {
		t.Fatalf("replayed approval honoured: %+v", got)
	}
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: f.u("nina").p, Out: out + "2"}); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("open after a replayed approval: %v", err)
	}
	codes := map[string]bool{}
	for _, a := range f.state().Anomalies {
		codes[a.Code] = true
	}
	if !codes["approval-by-non-dpo"] || !codes["approval-replayed"] {
		t.Fatalf("anomalies %v", codes)
	}
}
