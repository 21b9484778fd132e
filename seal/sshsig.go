package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSHSIG (PROTOCOL.sshsig in OpenSSH) wraps a signature over H(message) with
// the signer's public key and a namespace. Using it for the ledger means any
// entry can be checked with stock `ssh-keygen -Y verify`.

const (
	sigMagic   = "SSHSIG"
	sigVersion = 1
	sigHash    = "sha512"
)

// ErrBadSignature means a signature is malformed or does not verify.
var ErrBadSignature = errors.New("bad signature")

// Signer makes SSH signatures with one key.
type Signer interface {
	PublicKey() ssh.PublicKey
	// Sign returns an SSHSIG blob (the binary form inside the armor).
	Sign(namespace string, message []byte) ([]byte, error)
}

type sshSigner struct{ s ssh.Signer }

// NewSigner wraps an ssh.Signer (an Ed25519 key, a key in an agent, ...).
func NewSigner(s ssh.Signer) Signer { return sshSigner{s} }

// NewEd25519Signer returns a Signer for a raw Ed25519 private key.
func NewEd25519Signer(k ed25519.PrivateKey) (Signer, error) {
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		return nil, err
	}
	return sshSigner{s}, nil
}

func (s sshSigner) PublicKey() ssh.PublicKey { return s.s.PublicKey() }

type signedData struct {
	Namespace string
	Reserved  string
	Hash      string
	Digest    []byte
}

type sigBlob struct {
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	Hash      string
	Signature []byte
}

func toSign(namespace string, message []byte) []byte {
	return toSignWith(sigHash, namespace, message)
}

// toSignWith hashes with sha512 (what custody and ssh-keygen make) or
// sha256 (what `ssh-keygen -Y sign -O hashalg=sha256` makes).
func toSignWith(hashAlg, namespace string, message []byte) []byte {
	var digest []byte
	if hashAlg == "sha256" {
		h := sha256.Sum256(message)
		digest = h[:]
	} else {
		h := sha512.Sum512(message)
		digest = h[:]
	}
	return append([]byte(sigMagic), ssh.Marshal(signedData{Namespace: namespace, Hash: hashAlg, Digest: digest})...)
}

func (s sshSigner) Sign(namespace string, message []byte) ([]byte, error) {
	if namespace == "" {
		return nil, errors.New("sshsig: empty namespace")
	}
	var (
		sig *ssh.Signature
		err error
	)
	if as, ok := s.s.(ssh.AlgorithmSigner); ok && s.s.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, toSign(namespace, message), ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.s.Sign(rand.Reader, toSign(namespace, message))
	}
	if err != nil {
		return nil, err
	}
	blob := sigBlob{Version: sigVersion, PublicKey: s.s.PublicKey().Marshal(), Namespace: namespace, Hash: sigHash, Signature: ssh.Marshal(sig)}
	return append([]byte(sigMagic), ssh.Marshal(blob)...), nil
}

// VerifySignature checks an SSHSIG blob over message in namespace and
// returns the public key that made it. The caller decides whether that key
// is trusted.
func VerifySignature(blob []byte, namespace string, message []byte) (ssh.PublicKey, error) {
	if !bytes.HasPrefix(blob, []byte(sigMagic)) {
		return nil, fmt.Errorf("%w: not an SSH signature", ErrBadSignature)
	}
	var b sigBlob
	if err := ssh.Unmarshal(blob[len(sigMagic):], &b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if b.Version != sigVersion {
		return nil, fmt.Errorf("%w: unsupported SSHSIG version %d", ErrBadSignature, b.Version)
	}
	if b.Namespace != namespace {
		return nil, fmt.Errorf("%w: signature is for %q, not %q", ErrBadSignature, b.Namespace, namespace)
	}
	if b.Hash != "sha512" && b.Hash != "sha256" {
		return nil, fmt.Errorf("%w: unsupported hash %q", ErrBadSignature, b.Hash)
	}
	pub, err := ssh.ParsePublicKey(b.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(b.Signature, &sig); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if pub.Type() == ssh.KeyAlgoRSA && sig.Format == ssh.KeyAlgoRSA {
		return nil, fmt.Errorf("%w: SHA-1 RSA signatures are not accepted", ErrBadSignature)
	}
	if err := pub.Verify(toSignWith(b.Hash, namespace, message), &sig); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return pub, nil
}

// ArmorSignature gives the PEM form `ssh-keygen -Y verify -s` reads.
func ArmorSignature(blob []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "SSH SIGNATURE", Bytes: blob})
}

// UnarmorSignature parses the PEM form.
func UnarmorSignature(data []byte) ([]byte, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "SSH SIGNATURE" {
		return nil, fmt.Errorf("%w: not an armored SSH signature", ErrBadSignature)
	}
	return b.Bytes, nil
}

// Fingerprint is the OpenSSH SHA256 fingerprint ("SHA256:...") of a key.
func Fingerprint(pub ssh.PublicKey) string { return ssh.FingerprintSHA256(pub) }

// ParsePublicKey parses one authorized_keys style line.
func ParsePublicKey(s string) (ssh.PublicKey, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(s)))
	if err != nil {
		return nil, fmt.Errorf("%w: not an SSH public key: %v", ErrBadKey, err)
	}
	return pub, nil
}

// AuthorizedKey formats a public key as one authorized_keys line without
// the trailing newline.
func AuthorizedKey(pub ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// b64 is the encoding for signatures inside JSON.
var b64 = base64.StdEncoding

// EncodeSig and DecodeSig convert signature blobs for JSON fields.
func EncodeSig(blob []byte) string { return b64.EncodeToString(blob) }
func DecodeSig(s string) ([]byte, error) {
	// Strict decoding still skips CR and LF, which would let one signature
	// be spelled several ways in a ledger line.
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: line break inside base64", ErrBadSignature)
	}
	b, err := b64.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return b, nil
}

// ErrNotEd25519 means a raw signature was asked of a key that is not Ed25519.
var ErrNotEd25519 = errors.New("not an Ed25519 key")

// SignEd25519 signs message itself with an Ed25519 signer (a key file or a
// key held by ssh-agent): the bare signature that C2SP signed notes carry.
// It never signs anything SSHSIG or SSH authentication could mistake for
// their own: callers pass note text, which starts with a custody origin
// line, while an SSHSIG message starts "SSHSIG" and an SSH userauth blob
// with a binary length.
func SignEd25519(s Signer, message []byte) ([]byte, error) {
	ss, ok := s.(sshSigner)
	if !ok || ss.s.PublicKey().Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("%w: %s", ErrNotEd25519, s.PublicKey().Type())
	}
	sig, err := ss.s.Sign(rand.Reader, message)
	if err != nil {
		return nil, err
	}
	if sig.Format != ssh.KeyAlgoED25519 || len(sig.Blob) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: the key made a %s signature", ErrNotEd25519, sig.Format)
	}
	return sig.Blob, nil
}
