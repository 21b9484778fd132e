package manifest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/custody-evidence/custody/seal"
	tnote "github.com/transparency-dev/formats/note"
	"golang.org/x/crypto/ssh"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoints as C2SP signed notes, for witnesses.
//
// The store's checkpoint file is signed with SSHSIG, so that ssh-keygen
// checks it. Transparency-log witnesses (c2sp.org/tlog-witness) speak
// signed notes (c2sp.org/signed-note) and answer with cosignatures
// (c2sp.org/tlog-cosignature). SignNote gives the same checkpoint body
// signed as a note by the same Ed25519 key, under the origin as key name,
// and OpenNote checks one, with whatever witness cosignatures it carries.

// Consistency of a checkpoint with a ledger.
var (
	// ErrCheckpointAhead: the checkpoint covers more entries than the
	// ledger holds, so entries were removed from its end.
	ErrCheckpointAhead = errors.New("the checkpoint covers more entries than the ledger has")
	// ErrCheckpointFork: the ledger's first entries do not hash to the
	// checkpoint's root, so they were rewritten.
	ErrCheckpointFork = errors.New("the ledger does not hash to the checkpoint's root")
)

// Agrees reports whether the ledger extends checkpoint c: it holds at
// least c.Size entries and the first c.Size hash to c.Root. This is the
// one rule by which writers refuse to continue and verifiers report a
// rollback; the errors wrap ErrCheckpointAhead or ErrCheckpointFork.
func (l *Ledger) Agrees(c *Checkpoint) error {
	if c.Size > l.Len() {
		return fmt.Errorf("%w: it covers %d entries, the ledger has %d", ErrCheckpointAhead, c.Size, l.Len())
	}
	root, err := l.Tree().Root(c.Size)
	if err != nil {
		return err
	}
	if !bytes.Equal(root, c.Root) {
		return fmt.Errorf("%w: the first %d entries hash to %.16x, the checkpoint says %.16x", ErrCheckpointFork, c.Size, root, c.Root)
	}
	return nil
}

// noteAlgEd25519 is the signed-note algorithm byte of an Ed25519 key.
const noteAlgEd25519 = 0x01

// NoteVerifierKey is the note verifier key ("vkey") for an Ed25519 SSH key
// signing checkpoints of origin: what a witness operator configures.
func NoteVerifierKey(origin string, pub ssh.PublicKey) (string, error) {
	raw, err := ed25519Of(pub)
	if err != nil {
		return "", err
	}
	key := append([]byte{noteAlgEd25519}, raw...)
	return fmt.Sprintf("%s+%08x+%s", origin, noteKeyHash(origin, key), base64.StdEncoding.EncodeToString(key)), nil
}

func noteKeyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func ed25519Of(pub ssh.PublicKey) (ed25519.PublicKey, error) {
	cp, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s", seal.ErrNotEd25519, pub.Type())
	}
	k, ok := cp.CryptoPublicKey().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s", seal.ErrNotEd25519, pub.Type())
	}
	return k, nil
}

// noteSigner signs notes with a custody signer under the origin's name.
type noteSigner struct {
	name string
	hash uint32
	s    seal.Signer
}

func (n noteSigner) Name() string                    { return n.name }
func (n noteSigner) KeyHash() uint32                 { return n.hash }
func (n noteSigner) Sign(msg []byte) ([]byte, error) { return seal.SignEd25519(n.s, msg) }

// SignNote returns the checkpoint as a signed note, signed by s.
func (c *Checkpoint) SignNote(s seal.Signer) ([]byte, error) {
	raw, err := ed25519Of(s.PublicKey())
	if err != nil {
		return nil, err
	}
	key := append([]byte{noteAlgEd25519}, raw...)
	return note.Sign(&note.Note{Text: string(c.Body())}, noteSigner{c.Origin, noteKeyHash(c.Origin, key), s})
}

// Cosignature is a witness's cosignature that verified.
type Cosignature struct {
	Witness string    // the witness key's name
	Time    time.Time // when the witness says it cosigned
}

// NoteCheckpoint is a checkpoint read from a signed note.
type NoteCheckpoint struct {
	*Checkpoint
	Signer       ssh.PublicKey // the log key whose signature verified
	Cosignatures []Cosignature
}

// OpenNote checks a checkpoint note: its body must be in canonical form and
// signed by one of logKeys under the origin's name; cosignatures from the
// witness keys in cosigners (vkeys) are checked and returned, and
// signatures from other keys are ignored, as the protocol says.
func OpenNote(data []byte, logKeys []ssh.PublicKey, cosigners []string) (*NoteCheckpoint, error) {
	if len(data) > 64<<10 {
		return nil, fmt.Errorf("%w: too large", ErrBadCheckpoint)
	}
	body, _, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%w: no signature lines", ErrBadCheckpoint)
	}
	c, err := parseBody(append(body, '\n'))
	if err != nil {
		return nil, err
	}
	var vs []note.Verifier
	byHash := map[uint32]ssh.PublicKey{}
	for _, pub := range logKeys {
		vkey, err := NoteVerifierKey(c.Origin, pub)
		if err != nil {
			continue // only Ed25519 keys sign notes
		}
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
		byHash[v.KeyHash()] = pub
	}
	cosig := map[uint32]bool{}
	for _, vkey := range cosigners {
		v, err := tnote.NewVerifierForCosignatureV1(vkey)
		if err != nil {
			return nil, fmt.Errorf("witness key %q: %v", vkey, err)
		}
		vs = append(vs, v)
		cosig[v.KeyHash()] = true
	}
	n, err := note.Open(data, note.VerifierList(vs...))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	out := &NoteCheckpoint{Checkpoint: c}
	for _, sig := range n.Sigs {
		switch {
		case cosig[sig.Hash]:
			t, err := tnote.CoSigV1Timestamp(sig)
			if err != nil {
				return nil, fmt.Errorf("%w: cosignature by %s: %v", ErrBadCheckpoint, sig.Name, err)
			}
			out.Cosignatures = append(out.Cosignatures, Cosignature{Witness: sig.Name, Time: t})
		case sig.Name == c.Origin && byHash[sig.Hash] != nil:
			out.Signer = byHash[sig.Hash]
		}
	}
	if out.Signer == nil {
		return nil, fmt.Errorf("%w: no signature by a log key of %s", ErrBadCheckpoint, c.Origin)
	}
	return out, nil
}
