package seal_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

const ns = "custody-test-v1"

func ed25519Signer(t testing.TB) seal.Signer {
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

// fileSigner loads an unencrypted OpenSSH private key made by ssh-keygen.
func fileSigner(t *testing.T, path string) seal.Signer {
	t.Helper()
	k, err := ssh.ParsePrivateKey(readFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return seal.NewSigner(k)
}

// sshVerify runs `ssh-keygen -Y verify` and returns its error.
func sshVerify(t *testing.T, dir string, pub ssh.PublicKey, namespace string, sig, msg []byte) error {
	t.Helper()
	allowed := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte("signer@custody "+seal.AuthorizedKey(pub)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sigFile := filepath.Join(dir, "msg.sig")
	if err := os.WriteFile(sigFile, sig, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runErr(dir, msg, "ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "signer@custody", "-n", namespace, "-s", sigFile)
	if err == nil && !strings.Contains(string(out), "Good") {
		t.Fatalf("ssh-keygen -Y verify succeeded without saying so: %s", out)
	}
	return err
}

// Signatures made by Sign verify with stock ssh-keygen, and ssh-keygen
// rejects them for another namespace or message (so the check can fail).
func TestSignVerifiesWithSSHKeygen(t *testing.T) {
	dir := t.TempDir()
	rsaKey, _ := sshKeygen(t, dir, "id_rsa", "-t", "rsa", "-b", "2048", "-N", "")
	edKey, _ := sshKeygen(t, dir, "id_ed25519", "-t", "ed25519", "-N", "")
	signers := map[string]seal.Signer{
		"ed25519 generated": ed25519Signer(t),
		"ed25519 file":      fileSigner(t, edKey),
		"rsa file":          fileSigner(t, rsaKey),
	}
	for name, s := range signers {
		t.Run(name, func(t *testing.T) {
			for _, msg := range [][]byte{[]byte(`{"entry":1}`), {}, randomBytes(200_000, 1)} {
				blob, err := s.Sign(ns, msg)
				if err != nil {
					t.Fatal(err)
				}
				armored := seal.ArmorSignature(blob)
				if err := sshVerify(t, dir, s.PublicKey(), ns, armored, msg); err != nil {
					t.Fatalf("ssh-keygen rejected a good signature over %d bytes: %v", len(msg), err)
				}
				if sshVerify(t, dir, s.PublicKey(), ns+"-other", armored, msg) == nil {
					t.Fatal("ssh-keygen accepted the signature for another namespace")
				}
				if sshVerify(t, dir, s.PublicKey(), ns, armored, append(bytes.Clone(msg), 'x')) == nil {
					t.Fatal("ssh-keygen accepted the signature for a modified message")
				}
				pub, err := seal.VerifySignature(blob, ns, msg)
				if err != nil {
					t.Fatalf("VerifySignature: %v", err)
				}
				if !bytes.Equal(pub.Marshal(), s.PublicKey().Marshal()) {
					t.Fatal("VerifySignature returned another key")
				}
			}
		})
	}
}

// Signatures made by `ssh-keygen -Y sign` verify with VerifySignature.
func TestVerifySSHKeygenSignature(t *testing.T) {
	dir := t.TempDir()
	msg := []byte("checkpoint body\n42\n")
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, msg, 0o644)
	for _, tc := range []struct {
		kind []string
		hash string
	}{{[]string{"-t", "ed25519"}, "sha512"}, {[]string{"-t", "rsa", "-b", "2048"}, "sha512"}, {[]string{"-t", "ed25519"}, "sha256"}} {
		kind := tc.kind
		t.Run(kind[1]+"-"+tc.hash, func(t *testing.T) {
			key, pubLine := sshKeygen(t, dir, "id_"+kind[1]+tc.hash, append(kind, "-N", "")...)
			os.Remove(msgFile + ".sig")
			run(t, dir, nil, "ssh-keygen", "-q", "-Y", "sign", "-n", ns, "-O", "hashalg="+tc.hash, "-f", key, msgFile)
			armored := readFile(t, msgFile+".sig")
			blob, err := seal.UnarmorSignature(armored)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := seal.VerifySignature(blob, ns, msg)
			if err != nil {
				t.Fatalf("VerifySignature rejected ssh-keygen's signature: %v", err)
			}
			if seal.AuthorizedKey(pub) != strings.Join(strings.Fields(pubLine)[:2], " ") {
				t.Errorf("signer %s, want %s", seal.AuthorizedKey(pub), pubLine)
			}
			if _, err := seal.VerifySignature(blob, "other-namespace", msg); !errors.Is(err, seal.ErrBadSignature) {
				t.Errorf("wrong namespace: %v", err)
			}
			if _, err := seal.VerifySignature(blob, ns, append(bytes.Clone(msg), ' ')); !errors.Is(err, seal.ErrBadSignature) {
				t.Errorf("modified message: %v", err)
			}
			bad := bytes.Clone(blob)
			bad[len(bad)-3] ^= 1
			if _, err := seal.VerifySignature(bad, ns, msg); !errors.Is(err, seal.ErrBadSignature) {
				t.Errorf("flipped signature byte: %v", err)
			}
		})
	}
}

// sigBlob mirrors the SSHSIG wire format, to build hostile signatures.
type sigBlob struct {
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	Hash      string
	Signature []byte
}

type signedData struct {
	Namespace string
	Reserved  string
	Hash      string
	Digest    []byte
}

func parseBlob(t *testing.T, blob []byte) sigBlob {
	t.Helper()
	if !bytes.HasPrefix(blob, []byte("SSHSIG")) {
		t.Fatal("no SSHSIG magic")
	}
	var b sigBlob
	if err := ssh.Unmarshal(blob[6:], &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalBlob(b sigBlob) []byte { return append([]byte("SSHSIG"), ssh.Marshal(b)...) }

func TestVerifySignatureRefusals(t *testing.T) {
	s := ed25519Signer(t)
	other := ed25519Signer(t)
	msg := []byte("entry bytes")
	blob, err := s.Sign(ns, msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.VerifySignature(blob, ns, msg); err != nil {
		t.Fatal(err)
	}
	good := parseBlob(t, blob)
	with := func(f func(*sigBlob)) []byte {
		b := good
		f(&b)
		return marshalBlob(b)
	}
	otherSig, _ := other.Sign(ns, msg)

	cases := map[string][]byte{
		"empty":                  nil,
		"no magic":               blob[6:],
		"truncated":              blob[:len(blob)-10],
		"trailing bytes":         append(bytes.Clone(blob), 0),
		"version 2":              with(func(b *sigBlob) { b.Version = 2 }),
		"namespace in blob":      with(func(b *sigBlob) { b.Namespace = "other" }),
		"sha256 claimed":         with(func(b *sigBlob) { b.Hash = "sha256" }),
		"public key swapped":     with(func(b *sigBlob) { b.PublicKey = other.PublicKey().Marshal() }),
		"signature from another": with(func(b *sigBlob) { b.Signature = parseBlob(t, otherSig).Signature }),
		"garbage public key":     with(func(b *sigBlob) { b.PublicKey = []byte("nope") }),
		"garbage signature":      with(func(b *sigBlob) { b.Signature = []byte("nope") }),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if pub, err := seal.VerifySignature(b, ns, msg); !errors.Is(err, seal.ErrBadSignature) {
				t.Fatalf("got %v, %v; want ErrBadSignature", pub, err)
			}
		})
	}

	if _, err := s.Sign("", msg); err == nil {
		t.Error("Sign accepted an empty namespace")
	}
}

// RSA signatures with SHA-1 (the "ssh-rsa" algorithm) are refused even
// when they are mathematically valid.
func TestVerifySignatureRefusesSHA1RSA(t *testing.T) {
	dir := t.TempDir()
	key, _ := sshKeygen(t, dir, "id_rsa", "-t", "rsa", "-b", "2048", "-N", "")
	k, err := ssh.ParsePrivateKey(readFile(t, key))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello")
	h := sha512.Sum512(msg)
	toSign := append([]byte("SSHSIG"), ssh.Marshal(signedData{Namespace: ns, Hash: "sha512", Digest: h[:]})...)
	sig, err := k.(ssh.AlgorithmSigner).SignWithAlgorithm(rand.Reader, toSign, ssh.KeyAlgoRSA)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.PublicKey().Verify(toSign, sig); err != nil {
		t.Fatalf("the SHA-1 signature itself is not valid: %v", err)
	}
	blob := marshalBlob(sigBlob{Version: 1, PublicKey: k.PublicKey().Marshal(), Namespace: ns, Hash: "sha512", Signature: ssh.Marshal(sig)})
	_, err = seal.VerifySignature(blob, ns, msg)
	if !errors.Is(err, seal.ErrBadSignature) || !strings.Contains(err.Error(), "SHA-1") {
		t.Fatalf("got %v, want a SHA-1 refusal", err)
	}
	// The same key signing through NewSigner uses rsa-sha2-512.
	blob, err = seal.NewSigner(k).Sign(ns, msg)
	if err != nil {
		t.Fatal(err)
	}
	var inner ssh.Signature
	if err := ssh.Unmarshal(parseBlob(t, blob).Signature, &inner); err != nil {
		t.Fatal(err)
	}
	if inner.Format != ssh.KeyAlgoRSASHA512 {
		t.Errorf("RSA signer used %s", inner.Format)
	}
}

func TestArmor(t *testing.T) {
	s := ed25519Signer(t)
	blob, _ := s.Sign(ns, []byte("m"))
	armored := seal.ArmorSignature(blob)
	if !bytes.HasPrefix(armored, []byte("-----BEGIN SSH SIGNATURE-----\n")) || !bytes.HasSuffix(armored, []byte("-----END SSH SIGNATURE-----\n")) {
		t.Fatalf("armor:\n%s", armored)
	}
	back, err := seal.UnarmorSignature(armored)
	if err != nil || !bytes.Equal(back, blob) {
		t.Fatalf("round trip: %v", err)
	}
	for name, data := range map[string][]byte{
		"empty":      nil,
		"raw blob":   blob,
		"other type": bytes.ReplaceAll(armored, []byte("SSH SIGNATURE"), []byte("PGP SIGNATURE")),
		"bad base64": bytes.Replace(armored, []byte("\n"), []byte("\n!!!!\n"), 1),
	} {
		if _, err := seal.UnarmorSignature(data); !errors.Is(err, seal.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
}

func TestFingerprintMatchesSSHKeygen(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{"ed25519", "rsa"} {
		key, line := sshKeygen(t, dir, "k_"+typ, "-t", typ, "-N", "")
		pub, err := seal.ParsePublicKey(line)
		if err != nil {
			t.Fatal(err)
		}
		out := strings.Fields(string(run(t, dir, nil, "ssh-keygen", "-l", "-E", "sha256", "-f", key+".pub")))
		if len(out) < 2 || seal.Fingerprint(pub) != out[1] {
			t.Errorf("%s: Fingerprint %s, ssh-keygen says %q", typ, seal.Fingerprint(pub), out)
		}
		if !strings.HasPrefix(line, seal.AuthorizedKey(pub)+" ") {
			t.Errorf("AuthorizedKey %q is not the start of %q", seal.AuthorizedKey(pub), line)
		}
	}
	if _, err := seal.ParsePublicKey("ssh-ed25519 AAAAnotbase64"); !errors.Is(err, seal.ErrBadKey) {
		t.Errorf("bad key: %v", err)
	}
}

func TestEncodeDecodeSig(t *testing.T) {
	blob := randomBytes(100, 3)
	back, err := seal.DecodeSig(seal.EncodeSig(blob))
	if err != nil || !bytes.Equal(back, blob) {
		t.Fatalf("round trip: %v", err)
	}
	enc := seal.EncodeSig(blob[:98]) // ends in padding
	for _, bad := range []string{strings.TrimRight(enc, "="), enc[:10] + "\n" + enc[10:], enc[:len(enc)-3] + "B==", "!!!!"} {
		if _, err := seal.DecodeSig(bad); !errors.Is(err, seal.ErrBadSignature) {
			t.Errorf("DecodeSig(%q) = %v, want ErrBadSignature", bad, err)
		}
	}
}
