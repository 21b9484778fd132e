package bundle_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

func pin(t *testing.T, f *bundletest.Fixture) []ssh.PublicKey {
	t.Helper()
	pub, err := seal.ParsePublicKey(string(mustRead(t, f.StationPub)))
	if err != nil {
		t.Fatal(err)
	}
	return []ssh.PublicKey{pub}
}

func ledgerLen(t *testing.T, s *store.Store) uint64 {
	t.Helper()
	l, _, err := s.ReadLedger()
	if err != nil {
		t.Fatal(err)
	}
	return l.Len()
}

// leftovers lists what is in dir besides the names given.
func leftovers(t *testing.T, dir string, known ...string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		ok := false
		for _, k := range known {
			if e.Name() == k {
				ok = true
			}
		}
		if !ok {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestExportRefusals(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 1)
	// A clip that was never redacted.
	raw := filepath.Join(f.Dir, "raw.mp4")
	bundletest.MakeClip(t, raw, 1, 900)
	c, err := f.Store.Import(t.Context(), raw, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	stranger, _ := age.GenerateX25519Identity()
	existing := filepath.Join(outDir, "existing")
	os.Mkdir(existing, 0o755)
	for _, tc := range []struct {
		name string
		edit func(o *bundle.ExportOptions)
		want error
		msg  string
	}{
		{"not redacted", func(o *bundle.ExportOptions) { o.Clips = []string{c.ID} }, bundle.ErrNotRedacted, "redact it first"},
		{"no such clip", func(o *bundle.ExportOptions) { o.Clips = []string{"ffffffffffff"} }, store.ErrNoClip, "see custody list"},
		{"originals without receiver", func(o *bundle.ExportOptions) { o.IncludeOriginals = true }, bundle.ErrNoReceiver, ""},
		{"receiver without originals", func(o *bundle.ExportOptions) { o.To = []string{f.Receiver.Recipient().String()} }, bundle.ErrBadOptions, "only used with"},
		{"bad receiver", func(o *bundle.ExportOptions) { o.IncludeOriginals, o.To = true, []string{"AGE-SECRET-KEY-1XYZ"} }, seal.ErrBadKey, "private key"},
		{"wrong identity", func(o *bundle.ExportOptions) { o.Identities = []age.Identity{stranger} }, store.ErrAccessDenied, ""},
		{"no identity", func(o *bundle.ExportOptions) { o.Identities = nil }, bundle.ErrBadOptions, "identity"},
		{"empty incident", func(o *bundle.ExportOptions) { o.Incident = "" }, bundle.ErrBadIncident, "--incident"},
		{"control in incident", func(o *bundle.ExportOptions) { o.Incident = "INC\x1b[2J" }, bundle.ErrBadIncident, "control"},
		{"no organisation", func(o *bundle.ExportOptions) { o.Organization = "" }, bundle.ErrBadOptions, "organisation"},
		{"multi-line contact", func(o *bundle.ExportOptions) { o.Contact = "a\nb" }, bundle.ErrBadOptions, "one line"},
		{"output exists", func(o *bundle.ExportOptions) { o.Out = existing }, bundle.ErrOutputExists, ""},
		{"no clips", func(o *bundle.ExportOptions) { o.Clips = nil }, bundle.ErrBadOptions, "no clips"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ledgerLen(t, f.Store)
			o := f.ExportOptions(filepath.Join(outDir, "b"), f.Originals[0])
			tc.edit(&o)
			_, err := bundle.Export(t.Context(), f.Store, o)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if n := ledgerLen(t, f.Store); n != before {
				t.Errorf("a refused export was ledgered (%d -> %d entries)", before, n)
			}
			if l := leftovers(t, outDir, "existing"); len(l) > 0 {
				t.Errorf("a refused export left %v", l)
			}
		})
	}
}

// TestExportInterrupted: cancelling an export part way leaves nothing
// that looks like a bundle, in either form; the ledger keeps the export
// entry (an export was begun) and the store still verifies.
func TestExportInterrupted(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 2)
	for _, name := range []string{"b", "b.zip"} {
		t.Run(name, func(t *testing.T) {
			outDir := t.TempDir()
			ctx, cancel := context.WithCancel(t.Context())
			o := f.ExportOptions(filepath.Join(outDir, name), f.Originals...)
			o.IncludeOriginals, o.To = true, []string{f.Receiver.Recipient().String()}
			o.Progress = func(int64) { cancel() }
			before := ledgerLen(t, f.Store)
			_, err := bundle.Export(ctx, f.Store, o)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
			if l := leftovers(t, outDir); len(l) > 0 {
				t.Fatalf("an interrupted export left %v", l)
			}
			if n := ledgerLen(t, f.Store); n != before+1 {
				t.Errorf("ledger %d -> %d, want the export entry only", before, n)
			}
			r, err := verify.Store(t.Context(), f.Store.Dir, verify.StoreOptions{})
			if err != nil || !r.Verified {
				t.Fatalf("store: %v %+v", err, r)
			}
		})
	}
}

// TestExportDisclosesOnlyTheseClips: the bundle of one clip carries nothing
// about other clips (their ids, hashes, wearers, reasons), yet includes the
// user.add entry of a person who signed an entry about the clip, so that
// the person's signature can be checked.
func TestExportDisclosesOnlyTheseClips(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	ctx := t.Context()
	f := bundletest.New(t, 2)
	other := f.Originals[1]
	secret := "a reason about someone else entirely"
	if _, err := f.Store.OpenClip(ctx, other, store.OpenOptions{Identities: []age.Identity{f.DPO}, Reason: secret, Out: filepath.Join(t.TempDir(), "o.mp4")}); err != nil {
		t.Fatal(err)
	}
	// A person with their own key signs an entry about the exported clip.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	nurse, _ := seal.NewEd25519Signer(priv)
	kp, _ := json.Marshal(manifest.KeyPayload{Name: "Nurse A", Role: "clinician", Key: seal.AuthorizedKey(nurse.PublicKey())})
	err := f.Store.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.Append(manifest.Entry{Action: "user.add", Payload: kp}); err != nil {
			return err
		}
		note, _ := json.Marshal(map[string]string{"note": "patient asked for the recording to be kept"})
		_, err := tx.Append(manifest.Entry{Actor: manifest.Actor{Name: "Nurse A"}, Action: "clip.note", Clip: f.Originals[0], Payload: note}, nurse)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b")
	res := f.Export(t, out, true, f.Originals[0])
	all := bytes.Buffer{}
	for _, n := range []string{bundle.LedgerFile, bundle.ReportHTML, bundle.ReportText, bundle.ProofsFile, bundle.StatementFile, bundle.BagInfoFile} {
		all.Write(mustRead(t, filepath.Join(out, n)))
	}
	l, _, _ := f.Store.ReadLedger()
	st := store.Replay(l)
	oc := st.Clips[other]
	for _, leak := range []string{other, f.Redacted[1], oc.Object.SHA256, oc.Object.CipherSHA256, secret, "clip1.mp4"} {
		if bytes.Contains(all.Bytes(), []byte(leak)) {
			t.Errorf("the bundle discloses %q about another clip", leak)
		}
	}
	ledger := string(mustRead(t, filepath.Join(out, bundle.LedgerFile)))
	for _, want := range []string{`"action":"genesis"`, `"action":"user.add"`, `"action":"clip.note"`, `"action":"export"`} {
		if !strings.Contains(ledger, want) {
			t.Errorf("ledger.jsonl lacks %s", want)
		}
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(out, bundle.ReportText))), "clip.note  by Nurse A") {
		t.Error("the report does not show the person's entry on the timeline")
	}
	r, err := verify.Bundle(ctx, out, verify.BundleOptions{TrustedKeys: pin(t, f)})
	if err != nil || !r.Verified {
		t.Fatalf("%v %+v", err, r)
	}
	if r.Entries != uint64(res.Entries) {
		t.Errorf("verify counted %d entries, export wrote %d", r.Entries, res.Entries)
	}
	// Without the user.add entry the nurse's signature cannot be checked.
	c := bundletest.CopyDir(t, out)
	p := filepath.Join(c, bundle.LedgerFile)
	var kept []string
	for _, line := range strings.SplitAfter(string(mustRead(t, p)), "\n") {
		if !strings.Contains(line, `"action":"user.add"`) {
			kept = append(kept, line)
		}
	}
	os.WriteFile(p, []byte(strings.Join(kept, "")), 0o644)
	bundletest.Resign(t, c, f.Signer(t), nil)
	r, _ = verify.Bundle(ctx, c, verify.BundleOptions{TrustedKeys: pin(t, f)})
	if r.Verified || !r.HasCode("ledger-signer") {
		t.Fatalf("missing user.add not caught: %+v", r.Problems)
	}
}

// TestExportChoosesClips: an original gives its newest complete redacted
// version; a redacted id gives itself; naming both exports one file.
func TestExportChoosesClips(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 1)
	orig := f.Originals[0]
	newer := filepath.Join(f.Dir, "newer.mp4")
	if err := bundletest.MakeClipFile(newer, 1, 1234); err != nil {
		t.Fatal(err)
	}
	second := f.Register(t, orig, newer)
	res := f.Export(t, filepath.Join(t.TempDir(), "b"), false, orig, second.ID, f.Redacted[0])
	if len(res.Exhibits) != 2 || res.Exhibits[0].Clip != second.ID || res.Exhibits[1].Clip != f.Redacted[0] {
		t.Fatalf("exhibits %+v", res.Exhibits)
	}
	if res.Exhibits[0].Exhibit != "JD/1" || !strings.HasPrefix(res.Exhibits[0].Path, "data/JD-1_"+second.ID) {
		t.Errorf("exhibit numbering %+v", res.Exhibits[0])
	}
}

func TestReceipts(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	ctx := t.Context()
	f := bundletest.New(t, 1)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	officer, _ := seal.NewEd25519Signer(priv)
	_, priv, _ = ed25519.GenerateKey(rand.Reader)
	mallory, _ := seal.NewEd25519Signer(priv)
	out := filepath.Join(t.TempDir(), "b.zip")
	o := f.ExportOptions(out, f.Originals[0])
	o.Receiver = seal.AuthorizedKey(officer.PublicKey()) + " DC 1234"
	res, err := bundle.Export(ctx, f.Store, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Receiver != seal.Fingerprint(officer.PublicKey()) {
		t.Fatalf("result names receiver %q", res.Receiver)
	}
	// The receiver sees whom it was sent to: in the report, and in the
	// export entry verify reads.
	rd, err := bundle.Open(out, bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	report, err := rd.ReadSmall(rd.Lookup("report.txt"), 1<<20)
	rd.Close()
	if err != nil || !strings.Contains(string(report), "Sent to (receiver key)   "+res.Receiver) || !strings.Contains(string(report), seal.AuthorizedKey(officer.PublicKey())) {
		t.Fatalf("report.txt does not name the receiver (%v)", err)
	}
	if vr, err := verify.Bundle(ctx, out, verify.BundleOptions{}); err != nil {
		t.Fatal(err)
	} else if vr.Receiver != res.Receiver {
		t.Fatalf("verify reports receiver %q", vr.Receiver)
	}
	st, body, err := bundle.ReadStatement(out)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bundle.NewReceipt(st, body, "DC 1234", time.Now(), officer)
	if err != nil {
		t.Fatal(err)
	}
	// A receipt from anyone but the receiver the bundle was sent to.
	mr, _ := bundle.NewReceipt(st, body, "DC 1234", time.Now(), mallory)
	if _, _, err := bundle.ImportReceipt(ctx, f.Store, mr.Marshal()); !errors.Is(err, store.ErrNotReceiver) || errors.Is(err, store.ErrUnaddressed) {
		t.Errorf("a stranger's receipt: %v", err)
	}
	// No receipt at all for a bundle sent to no one.
	un := filepath.Join(t.TempDir(), "u.zip")
	f.Export(t, un, false, f.Originals[0])
	ust, ubody, _ := bundle.ReadStatement(un)
	ur, _ := bundle.NewReceipt(ust, ubody, "DC 1234", time.Now(), officer)
	if _, _, err := bundle.ImportReceipt(ctx, f.Store, ur.Marshal()); !errors.Is(err, store.ErrUnaddressed) {
		t.Errorf("a receipt for an unaddressed export: %v", err)
	}
	if rc.StatementSHA256 != res.StatementSHA256 {
		t.Fatalf("receipt digest %s, export %s", rc.StatementSHA256, res.StatementSHA256)
	}
	// A receipt over a statement the station never made.
	forged := *st
	forged.Incident = "INC-OTHER"
	fb := forged.Marshal()
	bad, _ := bundle.NewReceipt(&forged, fb, "DC 1234", time.Now(), officer)
	if _, _, err := bundle.ImportReceipt(ctx, f.Store, bad.Marshal()); !errors.Is(err, store.ErrReceiptMismatch) {
		t.Errorf("forged receipt: %v", err)
	}
	wrongSeq := *st
	wrongSeq.Export = 0
	ws, _ := bundle.NewReceipt(&wrongSeq, body, "DC 1234", time.Now(), officer)
	if _, _, err := bundle.ImportReceipt(ctx, f.Store, ws.Marshal()); !errors.Is(err, store.ErrNoExport) {
		t.Errorf("receipt for a non-export entry: %v", err)
	}
	p, rec, err := bundle.ImportReceipt(ctx, f.Store, rc.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if p.Export != res.Export || len(p.Clips) != 2 || rec.Entry.Action != "receipt" {
		t.Fatalf("%+v %+v", p, rec.Entry)
	}
	if _, _, err := bundle.ImportReceipt(ctx, f.Store, rc.Marshal()); !errors.Is(err, store.ErrDuplicateReceipt) {
		t.Errorf("duplicate receipt: %v", err)
	}
	tampered := bytes.Replace(rc.Marshal(), []byte("DC 1234"), []byte("DC 9999"), 1)
	if _, _, err := bundle.ImportReceipt(ctx, f.Store, tampered); !errors.Is(err, bundle.ErrBadReceipt) {
		t.Errorf("tampered receipt: %v", err)
	}
	l, _, _ := f.Store.ReadLedger()
	tl := store.Replay(l).Clips[f.Originals[0]].Timeline
	if last := tl[len(tl)-1]; last.Action != "receipt" || !strings.Contains(last.Summary, "DC 1234 acknowledged") {
		t.Errorf("timeline ends with %+v", last)
	}
	if r, err := verify.Store(ctx, f.Store.Dir, verify.StoreOptions{}); err != nil || !r.Verified {
		t.Fatalf("%v %+v", err, r)
	}
}

// TestExportHeldAndPurged: a hold placed by governance shows on the
// bundle's timeline; a purged clip cannot be exported.
func TestExportHeldAndPurged(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	ctx := t.Context()
	f := bundletest.New(t, 2)
	if _, err := f.Store.Hold(ctx, nil, store.HoldRequest{Clips: []string{f.Originals[0]}, Incident: "INC-2026-0042", Reason: "panic alarm in ED triage"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.Purge(ctx, nil, store.PurgeOptions{Now: time.Now().Add(100 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b")
	f.Export(t, out, false, f.Originals[0])
	txt := string(mustRead(t, filepath.Join(out, bundle.ReportText)))
	if !strings.Contains(txt, "for incident INC-2026-0042: panic alarm in ED triage") {
		t.Errorf("the hold is not on the report's timeline:\n%s", txt)
	}
	if r, err := verify.Bundle(ctx, out, verify.BundleOptions{TrustedKeys: pin(t, f)}); err != nil || !r.Verified {
		t.Fatalf("%v %+v", err, r)
	}
	for _, id := range []string{f.Originals[1], f.Redacted[1]} {
		_, err := bundle.Export(ctx, f.Store, f.ExportOptions(filepath.Join(t.TempDir(), "p"), id))
		if !errors.Is(err, bundle.ErrPurged) || !errors.Is(err, store.ErrPurged) {
			t.Errorf("export of purged clip %s: %v", id, err)
		}
	}
}
