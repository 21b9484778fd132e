package store_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/store"
)

// forgeEntry appends an entry signed by who through the library, as an
// insider with their own key could (custody itself refuses to write it).
func (f *fixture) forgeEntry(who *person, action, clip string, payload any) {
	f.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		f.t.Fatal(err)
	}
	err = f.s.Update(f.ctx, func(tx *store.Tx) error {
		_, err := tx.Append(manifest.Entry{Actor: manifest.Actor{Name: who.name}, Action: action, Clip: clip, Payload: b}, who.p.Signer)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// flagged lists the breaks of the rule table replay finds in the ledger
// (other anomalies, such as logged refusals, are not rule breaks).
func (f *fixture) flagged() []string {
	var out []string
	for _, a := range f.state().Anomalies {
		if _, ok := store.RuleCode(a.Code); ok {
			out = append(out, a.Code)
		}
	}
	return out
}

// TestDPORegisteredByTwo: after set-up a DPO is proposed by one person and
// confirmed by another; until then they have no powers, and every way of
// doing it alone is refused.
func TestDPORegisteredByTwo(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"}) // set-up is over
	dana, dave, nina, ian := f.u("dana"), f.u("dave"), f.u("nina"), f.u("ian")
	omar := newPerson(t, t.TempDir(), "omar", store.RoleDPO)
	spec := store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}

	if _, err := f.s.AddUser(f.ctx, nina.p, spec, nil); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("a clinician proposing a DPO: %v", err)
	}
	u, err := f.s.AddUser(f.ctx, dana.p, spec, nil)
	if err != nil || !u.Pending || u.Active || u.ProposedBy != "dana" || u.Proposal == "" {
		t.Fatalf("proposal: %+v, %v", u, err)
	}
	if got := f.state().PendingUsers(f.clock.t); len(got) != 1 || got[0].Name != "omar" {
		t.Fatalf("pending users: %+v", got)
	}
	if _, err := f.s.Hold(f.ctx, omar.p, store.HoldRequest{Clips: []string{f.state().Order[0]}, Incident: "I", Reason: "r"}); !errors.Is(err, store.ErrUnknownPerson) {
		t.Fatalf("a proposed DPO acting: %v", err)
	}
	if _, err := f.s.AddUser(f.ctx, dave.p, spec, nil); !errors.Is(err, store.ErrBadUser) {
		t.Fatalf("proposing the same person twice: %v", err)
	}
	for _, tc := range []struct {
		who  *person
		want error
	}{{dana, store.ErrUnseconded}, {ian, store.ErrNotDPO}, {nina, store.ErrNotDPO}} {
		if _, err := f.s.ConfirmUser(f.ctx, tc.who.p, "omar", nil); !errors.Is(err, tc.want) {
			t.Fatalf("%s confirming: %v, want %v", tc.who.name, err, tc.want)
		}
	}
	if _, err := f.s.ConfirmUser(f.ctx, nil, "omar", nil); !errors.Is(err, store.ErrUnknownPerson) {
		t.Fatalf("the station confirming: %v", err)
	}
	u, err = f.s.ConfirmUser(f.ctx, dave.p, "omar", nil)
	if err != nil || !u.Active || u.ProposedBy != "dana" || u.AddedBy != "dave" {
		t.Fatalf("confirmation: %+v, %v", u, err)
	}
	if _, err := f.s.ConfirmUser(f.ctx, dave.p, "omar", nil); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("confirming twice: %v", err)
	}

	// A proposal lapses after the request validity (7 days).
	zoe := newPerson(t, t.TempDir(), "zoe", store.RoleDPO)
	if _, err := f.s.AddUser(f.ctx, dana.p, store.UserSpec{Name: "zoe", Role: store.RoleDPO, Key: zoe.pub}, nil); err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(8 * 24 * time.Hour)
	if _, err := f.s.ConfirmUser(f.ctx, dave.p, "zoe", nil); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("confirming a lapsed proposal: %v", err)
	}
	// ... and can be withdrawn, by its proposer or a DPO, not by others.
	if _, err := f.s.AddUser(f.ctx, dana.p, store.UserSpec{Name: "zoe", Role: store.RoleDPO, Key: zoe.pub}, nil); err != nil {
		t.Fatalf("proposing again after the lapse: %v", err)
	}
	if _, err := f.s.WithdrawUser(f.ctx, nina.p, "zoe", "no"); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("a clinician withdrawing: %v", err)
	}
	if _, err := f.s.WithdrawUser(f.ctx, dana.p, "zoe", "wrong key"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ConfirmUser(f.ctx, dave.p, "zoe", nil); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("confirming a withdrawn proposal: %v", err)
	}
	if got := f.flagged(); len(got) != 0 {
		t.Fatalf("custody's own entries flagged: %v", got)
	}
	f.verified()
}

// TestDPOSeconderRole: a store may name at init a role whose members give
// the second signature; a DPO cannot make one of her own, and no policy
// change can name another role.
func TestDPOSeconderRole(t *testing.T) {
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, clock: &clock{t: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)}, ctx: t.Context(), users: map[string]*person{}}
	for _, nr := range [][2]string{{"dana", store.RoleDPO}, {"ian", store.RoleInvestigator}, {"nina", store.RoleClinician}, {"ivy", store.RoleInvestigator}} {
		f.users[nr[0]] = newPerson(t, dir, nr[0], nr[1])
	}
	pol := store.DefaultPolicy()
	pol.DPOSeconder = store.RoleInvestigator
	var specs []store.UserSpec
	for _, n := range []string{"dana", "ian", "nina"} {
		specs = append(specs, store.UserSpec{Name: n, Role: f.u(n).role, Key: f.u(n).pub})
	}
	s, err := store.Init(f.ctx, filepath.Join(dir, "st"), store.InitOptions{Passphrase: []byte(govPass), WorkFactor: 10, Actor: "operator", Now: f.clock.now,
		DualControl: true, Policy: &pol, People: specs})
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	dana, ian := f.u("dana"), f.u("ian")
	// dana registers an investigator of her own, alone: that one cannot
	// second her DPOs.
	if _, err := s.AddUser(f.ctx, dana.p, store.UserSpec{Name: "ivy", Role: store.RoleInvestigator, Key: f.u("ivy").pub}, nil); err != nil {
		t.Fatal(err)
	}
	omar := newPerson(t, dir, "omar", store.RoleDPO)
	if _, err := s.AddUser(f.ctx, dana.p, store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmUser(f.ctx, f.u("ivy").p, "omar", nil); !errors.Is(err, store.ErrUnseconded) || !strings.Contains(err.Error(), "registered ivy alone") {
		t.Fatalf("dana's own investigator seconding: %v", err)
	}
	if _, err := s.ConfirmUser(f.ctx, f.u("nina").p, "omar", nil); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("a clinician seconding: %v", err)
	}
	// A clip: now confirming re-seals DPO shares, which takes a DPO.
	f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	if _, err := s.ConfirmUser(f.ctx, ian.p, "omar", nil); !errors.Is(err, store.ErrNotDPO) || !strings.Contains(err.Error(), "re-seals") {
		t.Fatalf("an investigator confirming where shares must be re-sealed: %v", err)
	}
	// So the investigator proposes and the DPO confirms.
	if _, err := s.WithdrawUser(f.ctx, dana.p, "omar", "ian proposes"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(f.ctx, ian.p, store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}, nil); err != nil {
		t.Fatal(err)
	}
	if u, err := s.ConfirmUser(f.ctx, dana.p, "omar", nil); err != nil || u.ProposedBy != "ian" {
		t.Fatalf("dana confirming ian's proposal: %+v %v", u, err)
	}
	if c := f.clip(f.state().Order[0]); strings.Join(c.Shares[1].Holders, ",") != "dana,omar" {
		t.Fatalf("DPO share holders %v", c.Shares[1].Holders)
	}
	f.verified()
	// A policy change cannot name another seconder role, even forged.
	p := f.state().Policy
	p.DPOSeconder, p.Retention = store.RoleClinician, store.Duration(72*time.Hour)
	f.forgeEntry(dana, "policy.set", "", store.PolicyPayload{Policy: p, Old: f.state().Policy, Reason: "r"})
	if st := f.state(); st.Policy.DPOSeconder != store.RoleInvestigator || st.Policy.Retention.D() != 72*time.Hour {
		t.Fatalf("policy after a change naming another seconder: %+v", st.Policy)
	}
}

// TestApprovalLinked: a DPO does not approve the request of someone they
// registered alone, nor of someone who registered them alone (a sock
// puppet); another DPO does.
func TestApprovalLinked(t *testing.T) {
	f := newFixture(t, true, [2]string{"dana", store.RoleDPO}, [2]string{"dave", store.RoleDPO})
	dana, dave := f.u("dana"), f.u("dave")
	cara := newPerson(t, t.TempDir(), "cara", store.RoleClinician)
	if _, err := f.s.AddUser(f.ctx, dana.p, store.UserSpec{Name: "cara", Role: store.RoleClinician, Key: cara.pub}, nil); err != nil {
		t.Fatal(err)
	}
	c := f.importClip("c.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "cara"})
	r, err := f.s.Request(f.ctx, cara.p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Approve(f.ctx, dana.p, r.ID, store.ApproveOptions{})
	if !errors.Is(err, store.ErrLinked) || !errors.Is(err, store.ErrSelfApproval) || !strings.Contains(err.Error(), "approved by a DPO other than dana: ask another DPO (dave)") {
		t.Fatalf("dana approving cara, whom she registered alone: %v", err)
	}
	if _, err := f.s.Approve(f.ctx, dave.p, r.ID, store.ApproveOptions{}); err != nil {
		t.Fatalf("dave approving: %v", err)
	}
	f.verified()

	// The sock puppet: dana's own second DPO key, registered by her alone
	// (as an older custody let her, or forged), approving her request.
	puppet := newPerson(t, t.TempDir(), "dana2", store.RoleDPO)
	f.forgeEntry(dana, "user.add", "", store.UserPayload{KeyPayload: manifest.KeyPayload{Name: "dana2", Role: store.RoleDPO, Key: puppet.pub}, Recipient: puppet.pub})
	d := f.importClip("d.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "dana"})
	rd, err := f.s.Request(f.ctx, dana.p, d.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(f.ctx, puppet.p, rd.ID, store.ApproveOptions{}); !errors.Is(err, store.ErrLinked) || !strings.Contains(err.Error(), "dana registered dana2 alone") {
		t.Fatalf("the puppet approving: %v", err)
	}
	if got := strings.Join(f.flagged(), ","); got != "dpo-unseconded" {
		t.Fatalf("flags %s, want the puppet's registration", got)
	}
}

// TestNameNeverReused: a removed person's name never goes to a new key,
// nor their key to a new name; the same person may come back.
func TestNameNeverReused(t *testing.T) {
	f := newFixture(t, false, singlePeople...)
	dana := f.u("dana")
	if _, err := f.s.RemoveUser(f.ctx, dana.p, "nina", store.RemoveUserOptions{Reason: "left"}, nil); err != nil {
		t.Fatal(err)
	}
	other := newPerson(t, t.TempDir(), "other", store.RoleClinician)
	for _, tc := range []struct {
		name, key string
		want      error
	}{
		{"nina", other.pub, store.ErrNameReused},
		{"Nina", other.pub, store.ErrNameReused},
		{"nora", f.u("nina").pub, store.ErrNameReused},
		{"ian", other.pub, store.ErrBadUser}, // active: already registered
	} {
		_, err := f.s.AddUser(f.ctx, dana.p, store.UserSpec{Name: tc.name, Role: store.RoleClinician, Key: tc.key}, nil)
		if !errors.Is(err, tc.want) {
			t.Fatalf("adding %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := f.s.AddUser(f.ctx, dana.p, store.UserSpec{Name: "nina", Role: store.RoleClinician, Key: f.u("nina").pub}, nil); err != nil {
		t.Fatalf("re-adding nina with her own key: %v", err)
	}
	f.verified()
}

// TestInitRegistersDPOs: init --dpo registers the first DPOs in the same
// init, signed by the station; bad people leave no store behind.
func TestInitRegistersDPOs(t *testing.T) {
	dir := t.TempDir()
	a, b := newPerson(t, dir, "dana", store.RoleDPO), newPerson(t, dir, "dave", store.RoleDPO)
	bad := filepath.Join(dir, "bad")
	_, err := store.Init(t.Context(), bad, store.InitOptions{Passphrase: []byte("pw"), WorkFactor: 10, DualControl: true,
		People: []store.UserSpec{{Name: "dana", Role: store.RoleDPO, Key: a.pub}, {Name: "Dana", Role: store.RoleDPO, Key: b.pub}}})
	if !errors.Is(err, store.ErrBadUser) {
		t.Fatalf("the same name twice: %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("a refused init left %s: %v", bad, err)
	}
	s, err := store.Init(t.Context(), filepath.Join(dir, "st"), store.InitOptions{Passphrase: []byte("pw"), WorkFactor: 10, Actor: "operator", DualControl: true,
		People: []store.UserSpec{{Name: "dana", Role: store.RoleDPO, Key: a.pub}, {Name: "dave", Role: store.RoleDPO, Key: b.pub}}})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger(t, s)
	if got := strings.Join(actions(l), ","); got != "genesis,user.add,user.add" {
		t.Fatalf("ledger %s", got)
	}
	st := store.Replay(l)
	for _, n := range []string{"dana", "dave"} {
		if u := st.Users[n]; u == nil || !u.Active || u.Role != store.RoleDPO || u.AddedBy != "operator" {
			t.Fatalf("%s: %+v", n, u)
		}
	}
	verified(t, s.Dir)
	// After init the station registers no one: the store has DPOs.
	c := newPerson(t, dir, "carl", store.RoleDPO)
	s.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if _, err := s.AddUser(t.Context(), nil, store.UserSpec{Name: "carl", Role: store.RoleDPO, Key: c.pub}, nil); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("the station adding a DPO after init: %v", err)
	}
	// Nor re-registers a founder, e.g. after a removal.
	if _, err := s.RemoveUser(t.Context(), a.p, "dave", store.RemoveUserOptions{Reason: "r"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(t.Context(), nil, store.UserSpec{Name: "dave", Role: store.RoleDPO, Key: b.pub}, nil); !errors.Is(err, store.ErrNotDPO) {
		t.Fatalf("the station adding a founder again: %v", err)
	}
}

// TestPurgeNeverAheadOfTheClock: a policy clock set in the future decides
// nothing the real clock would not: clips and grants not due yet are
// kept, and the store verifies. When the time comes, they go.
func TestPurgeNeverAheadOfTheClock(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(f.ctx, f.u("dana").p, r.ID, store.ApproveOptions{Valid: time.Hour}); err != nil {
		t.Fatal(err)
	}
	future := f.clock.t.Add(3 * 24 * time.Hour)
	for _, dry := range []bool{true, false} {
		rep, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{Now: future, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Purged) != 0 || len(rep.Grants) != 0 || len(rep.NotYetDue) != 1 || rep.NotYetDue[0].Clip != c.ID {
			t.Fatalf("purge (dry run %v) under a future policy clock: %+v", dry, rep)
		}
	}
	if got := f.clip(c.ID); got.Status != store.StatusSealed {
		t.Fatalf("clip %s after the purge: %s", c.ID, got.Status)
	}
	f.verified()
	// Two hours on the grant has expired; three days on, the clip.
	f.clock.t = f.clock.t.Add(2 * time.Hour)
	if rep, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{Now: future}); err != nil || len(rep.Grants) != 1 || len(rep.Purged) != 0 {
		t.Fatalf("purge two hours on: %+v %v", rep, err)
	}
	f.clock.t = future
	if rep, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{}); err != nil || len(rep.Purged) != 1 {
		t.Fatalf("purge three days on: %+v %v", rep, err)
	}
	if got := f.flagged(); len(got) != 0 {
		t.Fatalf("flags %v", got)
	}
	f.verified()
}

// TestConfirmCrashBeforePublish: confirming a DPO in a dual-control store
// re-seals the DPO shares in the same entry that registers them, so a
// crash after that entry and before the new files are in place leaves a
// store that verifies and that the next write completes (the separate
// re-sealing entry of old could be lost, leaving the new DPO without
// shares).
func TestConfirmCrashBeforePublish(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "nina"})
	old := c.Shares[1].Object
	oldBytes := readFile(t, filepath.Join(f.s.Dir, old.Path))
	omar := newPerson(t, t.TempDir(), "omar", store.RoleDPO)
	if _, err := f.s.AddUser(f.ctx, f.u("dana").p, store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ConfirmUser(f.ctx, f.u("dave").p, "omar", nil); err != nil {
		t.Fatal(err)
	}
	l := ledger(t, f.s)
	var p store.UserPayload
	if rec := l.Records[len(l.Records)-1]; rec.Entry.Action != "user.add" || rec.Payload(&p) != nil || p.Rewrap == nil || len(p.Rewrap.Shares) != 1 {
		t.Fatalf("last entry %s does not carry the re-sealing: %+v", rec.Entry.Action, p.Rewrap)
	}
	// The crash: the new share still staged, the old one still in place.
	nw := p.Rewrap.Shares[0].New.Object
	if err := os.Rename(filepath.Join(f.s.Dir, nw.Path), filepath.Join(f.s.Dir, store.StagingDir, nw.ID+".age.partial")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.s.Dir, old.Path), oldBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if rep := verified(t, f.s.Dir); len(rep.Notes) == 0 {
		t.Fatalf("verify notes nothing of the interrupted write")
	}
	// The next write finishes it, and omar holds the share.
	if _, err := f.s.Hold(f.ctx, f.u("ian").p, store.HoldRequest{Clips: []string{c.ID}, Incident: "I", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.s.Dir, old.Path)); !os.IsNotExist(err) {
		t.Fatalf("retired share survives recovery: %v", err)
	}
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(f.ctx, omar.p, r.ID, store.ApproveOptions{}); err != nil {
		t.Fatalf("the new DPO approving after recovery: %v", err)
	}
	f.verified()
}

// TestApprovalLinkedThroughRotation: a DPO's new key, proposed by her and
// confirmed in good faith by another DPO (a key rotation, or a puppet),
// approves nothing she could not: not the requests of people she
// registered alone, nor her own.
func TestApprovalLinkedThroughRotation(t *testing.T) {
	f := newFixture(t, true, [2]string{"alice", store.RoleDPO}, [2]string{"dana", store.RoleDPO})
	alice, dana := f.u("alice"), f.u("dana")
	sam := newPerson(t, t.TempDir(), "sam", store.RoleClinician)
	if _, err := f.s.AddUser(f.ctx, alice.p, store.UserSpec{Name: "sam", Role: store.RoleClinician, Key: sam.pub}, nil); err != nil {
		t.Fatal(err)
	}
	alice2 := newPerson(t, t.TempDir(), "alice2", store.RoleDPO)
	if _, err := f.s.AddUser(f.ctx, alice.p, store.UserSpec{Name: "alice2", Role: store.RoleDPO, Key: alice2.pub}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ConfirmUser(f.ctx, dana.p, "alice2", nil); err != nil {
		t.Fatal(err)
	}
	c := f.importClip("s.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "sam"})
	r, err := f.s.Request(f.ctx, sam.p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Approve(f.ctx, alice2.p, r.ID, store.ApproveOptions{})
	if !errors.Is(err, store.ErrLinked) || !strings.Contains(err.Error(), "alice2 goes back to alice") || !strings.Contains(err.Error(), "ask another DPO (dana)") {
		t.Fatalf("alice2 approving sam, whom alice registered alone: %v", err)
	}
	a := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "alice"})
	ra, err := f.s.Request(f.ctx, alice.p, a.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(f.ctx, alice2.p, ra.ID, store.ApproveOptions{}); !errors.Is(err, store.ErrLinked) {
		t.Fatalf("alice2 approving alice's own request: %v", err)
	}
	if _, err := f.s.Approve(f.ctx, dana.p, r.ID, store.ApproveOptions{}); err != nil {
		t.Fatalf("dana approving sam: %v", err)
	}
	f.verified()
}
