package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/store"
)

// deriveWithFFmpeg runs a redaction-like ffmpeg pass (a strong box blur)
// over the derivation's loopback URL and seals its output, plus a review
// file, then commits.
func deriveWithFFmpeg(t *testing.T, ctx context.Context, d *store.Derivation) *store.Clip {
	t.Helper()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", d.URL, "-vf", "boxblur=8", "-c:v", "libx264", "-preset", "ultrafast",
		"-f", "mp4", "-movflags", "frag_keyframe+empty_moov", "pipe:1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	video, err := d.Seal(ctx, out, nil)
	if werr := cmd.Wait(); werr != nil || err != nil {
		t.Fatalf("ffmpeg over the derivation's URL: %v %v %s", err, werr, stderr.String())
	}
	review, err := d.Seal(ctx, strings.NewReader(`{"tracks":[]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	child, err := d.Commit(ctx, video, []*store.Sealing{review}, store.DerivePayload{Redaction: []byte(`{"detector":"test","tracks":[]}`), ReviewNames: []string{"tracks.json"}})
	if err != nil {
		t.Fatal(err)
	}
	return child
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestDualControlRedact: redaction of a dual-control original goes through
// a request approved for redaction, recombines the key in memory, uses up
// the approval, ledgers the access, and seals the redacted version and its
// review file to a derived key that only the DPOs hold.
func TestDualControlRedact(t *testing.T) {
	agebin := testenv.Tool(t, "age")
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-30*time.Minute), store.ImportOptions{Owner: "nina"})
	nina, dana := f.u("nina"), f.u("dana")

	// No request, or a request to open, does not let anyone redact.
	if _, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{As: nina.p}); !errors.Is(err, store.ErrNotApproved) {
		t.Fatalf("redact without a request: %v", err)
	}
	if _, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{Identities: dana.p.Identities}); !errors.Is(err, store.ErrNotApproved) {
		t.Fatalf("redact as the station with a DPO's key: %v", err)
	}
	if _, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{As: dana.p}); !errors.Is(err, store.ErrNotOwner) {
		t.Fatalf("redact by a DPO, not the owner: %v", err)
	}
	ro, err := f.s.Request(f.ctx, nina.p, c.ID, store.RequestOptions{Reason: "complaint", Incident: "INC-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Approve(f.ctx, dana.p, ro.ID, store.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{As: nina.p, Request: ro.ID}); !errors.Is(err, store.ErrWrongPurpose) {
		t.Fatalf("redact under an approval to open: %v", err)
	}
	if _, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{As: nina.p}); !errors.Is(err, store.ErrNotApproved) {
		t.Fatalf("redact with only an approval to open: %v", err)
	}
	rr, err := f.s.Request(f.ctx, nina.p, c.ID, store.RequestOptions{Reason: "police request", Incident: "NPT-1", Purpose: store.PurposeRedact})
	if err != nil || rr.Purpose != store.PurposeRedact {
		t.Fatalf("redaction request: %+v %v", rr, err)
	}
	if _, err := f.s.Request(f.ctx, nina.p, c.ID, store.RequestOptions{Reason: "r", Incident: "i", Purpose: "copy"}); !errors.Is(err, store.ErrBadRequest) {
		t.Fatalf("request with an unknown purpose: %v", err)
	}
	if rr, err = f.s.Approve(f.ctx, f.u("dave").p, rr.ID, store.ApproveOptions{Clip: c.ID}); err != nil {
		t.Fatal(err)
	}
	// An approval to redact does not open.
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: nina.p, Out: filepath.Join(f.dir, "x.mp4"), Request: rr.ID}); !errors.Is(err, store.ErrWrongPurpose) {
		t.Fatalf("open under an approval to redact: %v", err)
	}
	// A DPO cannot use the owner's approval.
	if _, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{As: dana.p, Request: rr.ID}); !errors.Is(err, store.ErrNotApproved) {
		t.Fatalf("DPO redacting under the owner's approval: %v", err)
	}
	f.verified()

	d, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{As: nina.p})
	if err != nil {
		t.Fatal(err)
	}
	if d.Request == nil || d.Request.ID != rr.ID {
		t.Fatalf("derivation used request %+v, want %s", d.Request, rr.ID)
	}
	// The access is ledgered, and the grant used up, before any plaintext
	// is read: a second redaction is refused already.
	if _, err := f.s.BeginDerive(f.ctx, c.ID, store.DeriveOptions{As: nina.p, Request: rr.ID}); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("second redaction under one approval: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.s.Dir, rr.Grant.Path)); !os.IsNotExist(err) {
		t.Fatalf("used grant file still there: %v", err)
	}
	child := deriveWithFFmpeg(t, f.ctx, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if child.Kind != "redacted" || child.Parent != c.ID || child.DualControl() || child.Derivation.Request != rr.ID {
		t.Fatalf("child %+v", child)
	}
	if len(child.Shares) != 1 || child.Shares[0].Kind != store.ShareDerived || strings.Join(child.Shares[0].Holders, ",") != "dana,dave" {
		t.Fatalf("derived key: %+v", child.Shares)
	}
	st := f.state()
	if refused, other := splitAnomalies(st); len(other) != 0 {
		t.Fatalf("anomalies in a clean redaction: refusals %v, others %+v", refused, other)
	}
	var accessEv, redactEv *store.Event
	for i := range st.Events {
		switch st.Events[i].Action {
		case "access":
			accessEv = &st.Events[i]
		case "redact":
			redactEv = &st.Events[i]
		}
	}
	if accessEv == nil || accessEv.Actor != "nina" || !strings.Contains(accessEv.Summary, "opened for redaction by nina") || accessEv.Seq > redactEv.Seq {
		t.Fatalf("access entry %+v", accessEv)
	}
	if redactEv.Actor != "nina" || redactEv.Key != nina.p.Fingerprint() {
		t.Fatalf("redact entry not signed by the owner: %+v", redactEv)
	}
	f.verified()

	// Stock age: no single non-DPO key opens any derived file, nor the
	// derived key; a DPO's key opens the derived key, which opens the
	// redacted video (two stock age runs).
	files := []string{child.Object.Path, child.Derivation.Review[0].Path, child.Shares[0].Object.Path}
	for _, who := range []string{"nina", "ian"} {
		for _, file := range files {
			if out, err := exec.Command(agebin, "-d", "-i", f.u(who).keyPath, filepath.Join(f.s.Dir, file)).CombinedOutput(); err == nil {
				t.Fatalf("stock age with %s's key opens %s: %.80s", who, file, out)
			}
		}
	}
	keyFile := filepath.Join(t.TempDir(), "derived.key")
	if out, err := exec.Command(agebin, "-d", "-i", dana.keyPath, "-o", keyFile, filepath.Join(f.s.Dir, child.Shares[0].Object.Path)).CombinedOutput(); err != nil {
		t.Fatalf("a DPO's key does not open the derived key with stock age: %v %s", err, out)
	}
	video, err := exec.Command(agebin, "-d", "-i", keyFile, filepath.Join(f.s.Dir, child.Object.Path)).Output()
	if err != nil || sha(video) != child.Object.SHA256 {
		t.Fatalf("the derived key does not open the redacted video with stock age: %v", err)
	}
	// custody opens it too with a DPO's key (the station logs the access),
	// and refuses the owner's.
	if _, err := f.s.OpenClip(f.ctx, child.ID, store.OpenOptions{Identities: nina.p.Identities, Reason: "look", Out: filepath.Join(f.dir, "n.mp4")}); !errors.Is(err, store.ErrAccessDenied) {
		t.Fatalf("owner opening the redacted version: %v", err)
	}
	out := filepath.Join(f.dir, "child.mp4")
	if _, err := f.s.OpenClip(f.ctx, child.ID, store.OpenOptions{Identities: dana.p.Identities, Reason: "review", Out: out}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, video) {
		t.Fatal("custody and stock age disagree on the redacted video")
	}
	ids, err := f.s.ClipIdentities(child, dana.p.Identities)
	if err != nil || len(ids) != 1 {
		t.Fatalf("ClipIdentities: %v", err)
	}
	if ids, err := f.s.ClipIdentities(c, dana.p.Identities); err != nil || len(ids) != len(dana.p.Identities) {
		t.Fatalf("ClipIdentities of an original: %v", err)
	}
	// Single-recipient plumbing is refused in a dual-control store.
	if _, err := f.s.SealStaged(f.ctx, strings.NewReader("x"), nil); !errors.Is(err, store.ErrDualControl) {
		t.Fatalf("SealStaged in a dual-control store: %v", err)
	}
	f.verified()

	// A new DPO gets the derived key (re-sealed); a removed one loses it.
	// (A DPO takes two people: dana proposes, dave confirms and re-seals.)
	omar := newPerson(t, t.TempDir(), "omar", store.RoleDPO)
	if _, err := f.s.AddUser(f.ctx, dana.p, store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}, nil); err != nil {
		t.Fatal(err)
	}
	if k := f.clip(child.ID).Shares[0]; strings.Join(k.Holders, ",") != "dana,dave" {
		t.Fatalf("derived key re-sealed for a DPO only proposed: %+v", k)
	}
	if _, err := f.s.ConfirmUser(f.ctx, f.u("dave").p, "omar", nil); err != nil {
		t.Fatal(err)
	}
	old := child.Shares[0].Object
	child = f.clip(child.ID)
	if k := child.Shares[0]; k.Object.ID == old.ID || strings.Join(k.Holders, ",") != "dana,dave,omar" {
		t.Fatalf("derived key not re-sealed for the new DPO: %+v", k)
	}
	if _, err := os.Stat(filepath.Join(f.s.Dir, old.Path)); !os.IsNotExist(err) {
		t.Fatalf("old derived key file survives the re-sealing: %v", err)
	}
	if _, err := f.s.OpenClip(f.ctx, child.ID, store.OpenOptions{Identities: omar.p.Identities, Reason: "review", Out: filepath.Join(f.dir, "o.mp4")}); err != nil {
		t.Fatalf("new DPO opening the redacted version: %v", err)
	}
	if _, err := f.s.RemoveUser(f.ctx, omar.p, "dave", store.RemoveUserOptions{Reason: "left"}, nil); err != nil {
		t.Fatal(err)
	}
	child = f.clip(child.ID)
	if out, err := exec.Command(agebin, "-d", "-i", f.u("dave").keyPath, filepath.Join(f.s.Dir, child.Shares[0].Object.Path)).CombinedOutput(); err == nil {
		t.Fatalf("removed DPO still opens the derived key: %.60s", out)
	}
	f.verified()

	// Purge destroys the derived key with everything else.
	f.clock.t = f.clock.t.Add(49 * time.Hour)
	rep, err := f.s.Purge(f.ctx, nil, store.PurgeOptions{})
	if err != nil || len(rep.Purged) != 1 || len(rep.Purged[0].Derivatives) != 1 {
		t.Fatalf("purge: %+v %v", rep, err)
	}
	for _, o := range []store.Object{child.Object, child.Derivation.Review[0], child.Shares[0].Object} {
		if _, err := os.Stat(filepath.Join(f.s.Dir, o.Path)); !os.IsNotExist(err) {
			t.Fatalf("%s survives the purge", o.Path)
		}
	}
	f.verified()
}

// TestDeriveSingleRecipient: in a single-recipient store a derivation opens
// the original with a recipient key, as the station, and seals to the
// store's recipients, as before.
func TestDeriveSingleRecipient(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	s, err := store.Init(context.Background(), filepath.Join(dir, "st"), store.InitOptions{Recipients: []string{id.Recipient().String()}, Passphrase: []byte("pw"), WorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	mkclip(t, filepath.Join(dir, "a.mp4"), 3)
	c, err := s.Import(context.Background(), filepath.Join(dir, "a.mp4"), store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := s.BeginDerive(context.Background(), c.ID, store.DeriveOptions{Identities: []age.Identity{other}, Reason: "r"}); !errors.Is(err, store.ErrAccessDenied) {
		t.Fatalf("derive with a stranger's key: %v", err)
	}
	d, err := s.BeginDerive(context.Background(), c.ID, store.DeriveOptions{Identities: []age.Identity{id}, Identity: "x.key", Reason: "redaction before release"})
	if err != nil {
		t.Fatal(err)
	}
	child := deriveWithFFmpeg(t, context.Background(), d)
	d.Close()
	if len(child.Shares) != 0 || child.Derivation.Request != "" {
		t.Fatalf("single-recipient derivative has key material: %+v", child)
	}
	f, _ := os.Open(filepath.Join(s.Dir, child.Object.Path))
	defer f.Close()
	r, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatalf("the store's recipient cannot open the derivative: %v", err)
	}
	b, _ := io.ReadAll(r)
	if sha(b) != child.Object.SHA256 {
		t.Fatal("derivative hash mismatch")
	}
	if _, err := s.BeginDerive(context.Background(), child.ID, store.DeriveOptions{Identities: []age.Identity{id}, Reason: "r"}); !errors.Is(err, store.ErrNotOriginal) {
		t.Fatalf("deriving from a derivative: %v", err)
	}
	// Abandoned derivations leave nothing behind.
	d, err = s.BeginDerive(context.Background(), c.ID, store.DeriveOptions{Identities: []age.Identity{id}, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Seal(context.Background(), strings.NewReader("partial"), nil); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if ents, _ := os.ReadDir(filepath.Join(s.Dir, store.StagingDir)); len(ents) != 0 {
		t.Fatalf("abandoned derivation left %v in staging", ents)
	}
}

// TestDualControlInitAndRewrapRefusals: a dual-control store takes no
// store-wide recipients, and a DPO who owns a clip cannot re-seal its DPO
// share (it is not sealed to them): another DPO must change the DPO set.
func TestDualControlInitAndRewrapRefusals(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	if _, err := store.Init(context.Background(), filepath.Join(t.TempDir(), "st"), store.InitOptions{Recipients: []string{id.Recipient().String()}, Passphrase: []byte("pw"), WorkFactor: 10, DualControl: true}); !errors.Is(err, store.ErrDualControl) {
		t.Fatalf("dual-control init with a recipient: %v", err)
	}
	f := newFixture(t, true, dualPeople...)
	f.importClip("b.mp4", f.clock.t, store.ImportOptions{Owner: "dave"})
	omar := newPerson(t, t.TempDir(), "omar", store.RoleDPO)
	// dana proposes; dave's confirmation would re-seal his own clip's DPO
	// share, which is not sealed to him.
	if _, err := f.s.AddUser(f.ctx, f.u("dana").p, store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.ConfirmUser(f.ctx, f.u("dave").p, "omar", nil)
	if !errors.Is(err, store.ErrAccessDenied) || !strings.Contains(err.Error(), "another DPO (dana)") {
		t.Fatalf("DPO re-sealing the share of their own clip: %v", err)
	}
	// So the two swap: dave proposes, dana confirms.
	if _, err := f.s.WithdrawUser(f.ctx, f.u("dana").p, "omar", "dave proposes"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddUser(f.ctx, f.u("dave").p, store.UserSpec{Name: "omar", Role: store.RoleDPO, Key: omar.pub}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ConfirmUser(f.ctx, f.u("dana").p, "omar", nil); err != nil {
		t.Fatal(err)
	}
	f.verified()
}
