package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/custody-evidence/custody/seal"
)

// Version of the entry format.
const Version = 1

// Signature namespaces: a ledger signature can never be replayed as a
// checkpoint signature or as a signature on anything else.
const (
	EntryNamespace      = "custody-ledger-entry-v1"
	CheckpointNamespace = "custody-checkpoint-v1"
)

// ZeroHash is the prev of the genesis entry.
var ZeroHash = hex.EncodeToString(make([]byte, 32))

// Actor is who did something: a name and the fingerprint of the key that
// signed the entry.
type Actor struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Entry is one ledger event. Payload is action-specific JSON.
type Entry struct {
	V       int             `json:"v"`
	Seq     uint64          `json:"seq"`
	Time    string          `json:"time"`
	Actor   Actor           `json:"actor"`
	Action  string          `json:"action"`
	Clip    string          `json:"clip,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Prev    string          `json:"prev"`
}

// When parses the entry's time.
func (e *Entry) When() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, e.Time)
	return t
}

// Sig is one SSH signature over an entry's exact bytes.
type Sig struct {
	Key    string `json:"key"`    // SHA256 fingerprint of the signing key
	SSHSig string `json:"sshsig"` // base64 SSHSIG blob
}

// Record is one parsed ledger line.
type Record struct {
	Entry    Entry
	EntryRaw []byte // the exact signed bytes
	Sigs     []Sig
	Line     []byte // the whole line without its newline: the Merkle leaf
}

// Hash is the SHA-256 of the line, which the next entry names as prev.
func (r *Record) Hash() string {
	h := sha256.Sum256(r.Line)
	return hex.EncodeToString(h[:])
}

// ErrMalformed means a ledger line is not in the exact form custody writes.
var ErrMalformed = errors.New("malformed ledger line")

type lineJSON struct {
	Entry json.RawMessage `json:"entry"`
	Sigs  []Sig           `json:"sigs"`
}

// encodeLine is the one canonical form of a line.
func encodeLine(entryRaw []byte, sigs []Sig) ([]byte, error) {
	sj, err := json.Marshal(sigs)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"entry":`)
	b.Write(entryRaw)
	b.WriteString(`,"sigs":`)
	b.Write(sj)
	b.WriteString(`}`)
	return b.Bytes(), nil
}

// ParseLine parses one line (without newline) strictly: it must be exactly
// the canonical encoding, so no two byte strings mean the same entry, and
// no object in it, the payload's included, may have a key twice
// (ErrDuplicateKey), so no two parsers read different entries from it.
func ParseLine(line []byte) (*Record, error) {
	// First, because the decoders below keep the last of duplicate keys
	// and the canonical form check cannot see them inside the payload.
	if err := checkDuplicateKeys(line); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var lj lineJSON
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lj); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(lj.Entry) == 0 || len(lj.Sigs) == 0 {
		return nil, fmt.Errorf("%w: missing entry or signatures", ErrMalformed)
	}
	var e Entry
	ed := json.NewDecoder(bytes.NewReader(lj.Entry))
	ed.DisallowUnknownFields()
	if err := ed.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: entry: %v", ErrMalformed, err)
	}
	// The entry bytes must be what custody itself would write, which rules
	// out odd whitespace, escapes and reordered fields.
	canonEntry, err := json.Marshal(&e)
	if err != nil || !bytes.Equal(canonEntry, lj.Entry) {
		return nil, fmt.Errorf("%w: entry is not in canonical form", ErrMalformed)
	}
	canon, err := encodeLine(lj.Entry, lj.Sigs)
	if err != nil || !bytes.Equal(canon, line) {
		return nil, fmt.Errorf("%w: line is not in canonical form", ErrMalformed)
	}
	if e.V != Version {
		return nil, fmt.Errorf("%w: unsupported entry version %d", ErrMalformed, e.V)
	}
	if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
		return nil, fmt.Errorf("%w: bad time %q", ErrMalformed, e.Time)
	}
	return &Record{Entry: e, EntryRaw: append([]byte(nil), lj.Entry...), Sigs: lj.Sigs, Line: append([]byte(nil), line...)}, nil
}

// NewRecord builds and signs a record. The entry's V is set; Seq, Prev and
// Time must be set by the caller (the Ledger does that).
func NewRecord(e Entry, signers ...seal.Signer) (*Record, error) {
	e.V = Version
	if len(signers) == 0 {
		return nil, errors.New("ledger entry needs a signer")
	}
	raw, err := json.Marshal(&e)
	if err != nil {
		return nil, err
	}
	var sigs []Sig
	for _, s := range signers {
		blob, err := s.Sign(EntryNamespace, raw)
		if err != nil {
			return nil, fmt.Errorf("signing ledger entry: %w", err)
		}
		sigs = append(sigs, Sig{Key: seal.Fingerprint(s.PublicKey()), SSHSig: seal.EncodeSig(blob)})
	}
	line, err := encodeLine(raw, sigs)
	if err != nil {
		return nil, err
	}
	return &Record{Entry: e, EntryRaw: raw, Sigs: sigs, Line: line}, nil
}

// Payload decodes the entry's payload into v.
func (r *Record) Payload(v any) error {
	if len(r.Entry.Payload) == 0 {
		return fmt.Errorf("entry %d (%s) has no payload", r.Entry.Seq, r.Entry.Action)
	}
	return json.Unmarshal(r.Entry.Payload, v)
}
