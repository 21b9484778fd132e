package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
)

func newSSHSigner(t *testing.T) seal.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.NewEd25519Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// forceReceipt appends a receipt entry as import-receipt would, but without
// its checks: what a station key holder editing the ledger could do.
func forceReceipt(t *testing.T, s *store.Store, out string, signer seal.Signer, edit func(p *store.ReceiptPayload)) {
	t.Helper()
	st, body, err := bundle.ReadStatement(out)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bundle.NewReceipt(st, body, "DC 1234", time.Now(), signer)
	if err != nil {
		t.Fatal(err)
	}
	p := store.ReceiptPayload{Export: rc.Export, Incident: rc.Incident, StatementSHA256: rc.StatementSHA256, Receiver: rc.Receiver,
		ReceiverKey: seal.AuthorizedKey(signer.PublicKey()), Received: rc.Received.Format(time.RFC3339), Receipt: string(rc.Marshal())}
	if edit != nil {
		edit(&p)
	}
	b, _ := json.Marshal(p)
	if err := s.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Append(manifest.Entry{Action: "receipt", Payload: b})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyReceiptSigner: verify --store judges each receipt entry by the
// rule import-receipt refuses by: only the export's receiver signs one.
func TestVerifyReceiptSigner(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 1)
	officer, mallory := newSSHSigner(t), newSSHSigner(t)
	export := func(name string, receiver seal.Signer) string {
		out := filepath.Join(t.TempDir(), name)
		o := f.ExportOptions(out, f.Originals[0])
		if receiver != nil {
			o.Receiver = seal.AuthorizedKey(receiver.PublicKey())
		}
		if _, err := bundle.Export(context.Background(), f.Store, o); err != nil {
			t.Fatal(err)
		}
		return out
	}
	run := func() *verify.Report {
		t.Helper()
		r, err := verify.Store(context.Background(), f.Store.Dir, verify.StoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	addressed := export("b.zip", officer)

	// The receiver's own receipt, through import-receipt: verified.
	if _, _, err := bundle.ImportReceipt(context.Background(), f.Store, []byte(mustReceipt(t, addressed, officer))); err != nil {
		t.Fatal(err)
	}
	if r := run(); !r.Verified {
		t.Fatalf("the receiver's receipt: %+v", r.Problems)
	}

	// Mallory's, written into the ledger past import-receipt.
	forceReceipt(t, f.Store, addressed, mallory, nil)
	r := run()
	if !r.HasCode("receipt-signer") || r.Verified {
		t.Fatalf("a stranger's receipt: %+v", r.Problems)
	}
	for _, p := range r.Problems {
		if p.Code == "receipt-signer" && !strings.Contains(p.Message, seal.Fingerprint(mallory.PublicKey())) {
			t.Errorf("the problem does not name the signer: %s", p)
		}
	}
	if _, _, err := bundle.ImportReceipt(context.Background(), f.Store, []byte(mustReceipt(t, addressed, mallory))); err == nil {
		t.Fatal("import-receipt accepted a stranger's receipt")
	}
}

// TestVerifyReceiptInvalid: a receipt entry whose payload names another
// key than the receipt's signature, or whose receipt was edited.
func TestVerifyReceiptInvalid(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	for name, edit := range map[string]func(p *store.ReceiptPayload){
		"payload names the receiver's key": func(p *store.ReceiptPayload) {},
		"receipt edited": func(p *store.ReceiptPayload) {
			p.Receipt = strings.Replace(p.Receipt, "receiver DC 1234", "receiver DC 9999", 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := bundletest.New(t, 1)
			officer, mallory := newSSHSigner(t), newSSHSigner(t)
			out := filepath.Join(t.TempDir(), "b.zip")
			o := f.ExportOptions(out, f.Originals[0])
			o.Receiver = seal.AuthorizedKey(officer.PublicKey())
			if _, err := bundle.Export(context.Background(), f.Store, o); err != nil {
				t.Fatal(err)
			}
			forceReceipt(t, f.Store, out, mallory, func(p *store.ReceiptPayload) {
				p.ReceiverKey = seal.AuthorizedKey(officer.PublicKey())
				edit(p)
			})
			r, err := verify.Store(context.Background(), f.Store.Dir, verify.StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.HasCode("receipt-invalid") || r.Verified {
				t.Fatalf("%+v", r.Problems)
			}
		})
	}
}

// TestVerifyReceiptUnaddressed: a receipt for an export that named no
// receiver (an older export) cannot be judged; it is noted, not failed.
func TestVerifyReceiptUnaddressed(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 1)
	out := filepath.Join(t.TempDir(), "b.zip")
	f.Export(t, out, false, f.Originals[0])
	someone := newSSHSigner(t)
	forceReceipt(t, f.Store, out, someone, nil)
	r, err := verify.Store(context.Background(), f.Store.Dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Verified || !strings.Contains(strings.Join(r.Notes, "\n"), "named no receiver") {
		t.Fatalf("verified=%v problems=%+v notes=%v", r.Verified, r.Problems, r.Notes)
	}
}

func mustReceipt(t *testing.T, out string, signer seal.Signer) string {
	t.Helper()
	st, body, err := bundle.ReadStatement(out)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bundle.NewReceipt(st, body, "DC 1234", time.Now(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return string(rc.Marshal())
}
