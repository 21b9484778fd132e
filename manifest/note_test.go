package manifest_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	tlog "github.com/transparency-dev/formats/log"
	tnote "github.com/transparency-dev/formats/note"
	"golang.org/x/crypto/ssh"
	"golang.org/x/mod/sumdb/note"
)

// witnessKey returns a cosignature/v1 signer and its vkey, from a seed.
func witnessKey(t testing.TB, name string) (note.Signer, string) {
	t.Helper()
	seed := sha256.Sum256([]byte("witness " + name))
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, 0, base64.StdEncoding.EncodeToString(append([]byte{0x04}, seed[:]...)))
	s, err := tnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
	vkey := fmt.Sprintf("%s+%08x+%s", name, s.KeyHash(), base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
	return s, vkey
}

func TestCheckpointNoteInterop(t *testing.T) {
	c, b := sampleCheckpoint(t)
	signed, err := c.SignNote(b.station)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(signed, append(c.Body(), []byte("\n— "+origin+" ")...)) {
		t.Fatalf("note:\n%s", signed)
	}
	// transparency-dev's own parser, with the vkey a witness operator
	// would be given, reads it as a C2SP checkpoint.
	vkey, err := manifest.NoteVerifierKey(origin, b.station.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, _, _, err := tlog.ParseCheckpoint(signed, origin, v)
	if err != nil {
		t.Fatalf("transparency-dev rejects the note: %v", err)
	}
	if cp.Size != c.Size || !bytes.Equal(cp.Hash, c.Root) {
		t.Fatalf("transparency-dev read size %d root %x", cp.Size, cp.Hash)
	}

	// A witness cosigns it; OpenNote checks both and reports the witness.
	ws, wvkey := witnessKey(t, "witness.example/w1")
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, ws)
	if err != nil {
		t.Fatal(err)
	}
	got, err := manifest.OpenNote(cosigned, []ssh.PublicKey{b.station.PublicKey()}, []string{wvkey})
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != c.Size || seal.Fingerprint(got.Signer) != seal.Fingerprint(b.station.PublicKey()) {
		t.Fatalf("opened %+v", got)
	}
	if len(got.Cosignatures) != 1 || got.Cosignatures[0].Witness != "witness.example/w1" || time.Since(got.Cosignatures[0].Time) > time.Minute {
		t.Fatalf("cosignatures %+v", got.Cosignatures)
	}
	// Without the witness's key its cosignature is ignored, not an error.
	got, err = manifest.OpenNote(cosigned, []ssh.PublicKey{b.station.PublicKey()}, nil)
	if err != nil || len(got.Cosignatures) != 0 {
		t.Fatalf("unknown witness: %v, %+v", err, got)
	}
}

func TestOpenNoteRefuses(t *testing.T) {
	c, b := sampleCheckpoint(t)
	signed, err := c.SignNote(b.station)
	if err != nil {
		t.Fatal(err)
	}
	alice := fixedSigner(t, "alice")
	byAlice, err := c.SignNote(alice)
	if err != nil {
		t.Fatal(err)
	}
	station := []ssh.PublicKey{b.station.PublicKey()}
	for _, tc := range []struct {
		name string
		data []byte
		keys []ssh.PublicKey
	}{
		{"another key", byAlice, station},
		{"no log keys", signed, nil},
		{"body edited", bytes.Replace(signed, []byte("\n8\n"), []byte("\n9\n"), 1), station},
		{"body not canonical", bytes.Replace(signed, []byte("time "), []byte("time  "), 1), station},
		{"no signatures", c.Body(), station},
		{"signature truncated", signed[:len(signed)-10], station},
	} {
		if _, err := manifest.OpenNote(tc.data, tc.keys, nil); !errors.Is(err, manifest.ErrBadCheckpoint) {
			t.Errorf("%s: %v, want ErrBadCheckpoint", tc.name, err)
		}
	}
	// RSA keys cannot sign notes.
	if _, err := manifest.NoteVerifierKey(origin, rsaKey(t)); !errors.Is(err, seal.ErrNotEd25519) {
		t.Errorf("RSA vkey: %v", err)
	}
}

func TestAgrees(t *testing.T) {
	b, _ := sampleLedger(t)
	l := b.l
	for _, tc := range []struct {
		size uint64
		root func([]byte) []byte
		want error
	}{
		{8, nil, nil},
		{3, nil, nil},
		{9, nil, manifest.ErrCheckpointAhead},
		{5, func(r []byte) []byte { r = bytes.Clone(r); r[0] ^= 1; return r }, manifest.ErrCheckpointFork},
	} {
		var root []byte
		if tc.size <= l.Len() {
			root, _ = l.Tree().Root(tc.size)
		} else {
			root = make([]byte, 32)
		}
		if tc.root != nil {
			root = tc.root(root)
		}
		err := l.Agrees(&manifest.Checkpoint{Origin: origin, Size: tc.size, Root: root})
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("size %d: %v, want %v", tc.size, err, tc.want)
		}
	}
}

func TestSignersQuickKeyring(t *testing.T) {
	b, alice := sampleLedger(t)
	kr := b.l.Signers()
	full, _ := b.l.Check()
	if len(kr.Ever()) != 2 || len(full.Ever()) != 2 || !kr.EverAuthorised(alice.PublicKey()) || !kr.EverAuthorised(b.station.PublicKey()) {
		t.Fatalf("quick keyring %v, full %v", kr.Ever(), full.Ever())
	}
	// A user.add that its actor did not sign authorises nobody.
	mallory := fixedSigner(t, "mallory")
	b.add(manifest.Entry{Actor: manifest.Actor{Name: "mallory"}, Action: "user.add",
		Payload: []byte(`{"name":"mallory","role":"dpo","key":"` + seal.AuthorizedKey(mallory.PublicKey()) + `"}`)}, mallory)
	if b.l.Signers().EverAuthorised(mallory.PublicKey()) {
		t.Fatal("a self-signed registration authorised its own key")
	}
}

func rsaKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	// A fixed RSA public key (OpenSSH test vector), enough to be refused.
	const line = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDEaVHpYmwfMt4FOxmZ6X+X+UVrqWybKsvDXAAOtt5gYJIPtb/Z7o5kYdRlDWUOW+rbcrh0CudbadnPRYlaiHvuY8hBVA7BHxITMN9kd2IMkl5ucV9GobGCRjyJ4XutuoHJUIQhaaMrTfu9YXoxK9Wuc3jy0aRtUTrH4RSwnMfEEw== test"
	pub, err := seal.ParsePublicKey(line)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
