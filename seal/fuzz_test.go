package seal_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

// sigSeeds are real SSHSIG blobs: Ed25519 and RSA, over short and empty
// messages, in two namespaces.
func sigSeeds(f *testing.F) (blobs [][]byte, msgs [][]byte) {
	seed := sha256.Sum256([]byte("fuzz seed key"))
	ed, err := seal.NewEd25519Signer(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		f.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.NewChaCha8(seed), 2048)
	if err != nil {
		f.Fatal(err)
	}
	rs, err := ssh.NewSignerFromKey(rk)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []seal.Signer{ed, seal.NewSigner(rs)} {
		for _, m := range [][]byte{[]byte("ledger entry"), {}} {
			for _, n := range []string{ns, "custody-checkpoint-v1"} {
				b, err := s.Sign(n, m)
				if err != nil {
					f.Fatal(err)
				}
				blobs, msgs = append(blobs, b), append(msgs, m)
			}
		}
	}
	return blobs, msgs
}

func FuzzVerifySignature(f *testing.F) {
	blobs, msgs := sigSeeds(f)
	for i := range blobs {
		f.Add(blobs[i], msgs[i])
	}
	f.Fuzz(func(t *testing.T, blob, msg []byte) {
		pub, err := seal.VerifySignature(blob, ns, msg)
		if err != nil {
			if !errors.Is(err, seal.ErrBadSignature) {
				t.Fatalf("error not ErrBadSignature: %v", err)
			}
			return
		}
		// A signature that verifies is bound to its message and key.
		if _, err := seal.VerifySignature(blob, ns, append(bytes.Clone(msg), 0)); err == nil {
			t.Fatal("verifies for two messages")
		}
		if pub == nil {
			t.Fatal("no key returned")
		}
	})
}

func FuzzUnarmorSignature(f *testing.F) {
	blobs, msgs := sigSeeds(f)
	for i := range blobs {
		f.Add(seal.ArmorSignature(blobs[i]), msgs[i])
	}
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"), []byte{})
	f.Fuzz(func(t *testing.T, data, msg []byte) {
		blob, err := seal.UnarmorSignature(data)
		if err != nil {
			if !errors.Is(err, seal.ErrBadSignature) {
				t.Fatalf("error not ErrBadSignature: %v", err)
			}
			return
		}
		back, err := seal.UnarmorSignature(seal.ArmorSignature(blob))
		if err != nil || !bytes.Equal(back, blob) {
			t.Fatalf("armor round trip: %v", err)
		}
		if _, err := seal.VerifySignature(blob, ns, msg); err != nil && !errors.Is(err, seal.ErrBadSignature) {
			t.Fatalf("error not ErrBadSignature: %v", err)
		}
	})
}
