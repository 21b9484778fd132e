package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

// MaxLineSize bounds one ledger line, so that a hostile ledger cannot make
// the parser allocate without limit.
const MaxLineSize = 4 << 20

// Ledger is the parsed ledger plus its Merkle tree.
type Ledger struct {
	Records []*Record
	tree    *Tree
}

// TornTail describes bytes after the last complete line: what an
// interrupted append leaves behind.
type TornTail struct {
	Offset int64  // where the torn bytes start
	Bytes  []byte // the torn bytes
}

// LineError locates a bad line.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("ledger line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Parse reads a ledger. Every '\n'-terminated line must parse; trailing
// bytes without a newline are returned as a torn tail, not an error, since
// only the last append can leave them.
func Parse(r io.Reader) (*Ledger, *TornTail, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	l := &Ledger{tree: NewTree()}
	var off int64
	for n := 1; ; n++ {
		line, err := readLine(br)
		if err == io.EOF {
			if len(line) > 0 {
				return l, &TornTail{Offset: off, Bytes: line}, nil
			}
			return l, nil, nil
		}
		if err != nil {
			return nil, nil, &LineError{n, err}
		}
		rec, perr := ParseLine(line[:len(line)-1])
		if perr != nil {
			return nil, nil, &LineError{n, perr}
		}
		l.add(rec)
		off += int64(len(line))
	}
}

// readLine returns one line including its '\n', or the unterminated rest
// with io.EOF.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		buf = append(buf, frag...)
		if len(buf) > MaxLineSize {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLineSize)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, err
	}
}

func (l *Ledger) add(rec *Record) {
	l.Records = append(l.Records, rec)
	l.tree.Append(rec.Line)
}

// Len is the number of entries.
func (l *Ledger) Len() uint64 { return uint64(len(l.Records)) }

// Tree is the Merkle tree over the entries.
func (l *Ledger) Tree() *Tree { return l.tree }

// Last is the newest record, or nil.
func (l *Ledger) Last() *Record {
	if len(l.Records) == 0 {
		return nil
	}
	return l.Records[len(l.Records)-1]
}

// Next prepares and signs the next entry: it fills seq, prev and time. The
// returned record is not part of the ledger until Add is called with it
// after it has been durably written.
func (l *Ledger) Next(e Entry, now time.Time, signers ...seal.Signer) (*Record, error) {
	e.Seq = l.Len()
	e.Prev = ZeroHash
	if last := l.Last(); last != nil {
		e.Prev = last.Hash()
		// Entry times never go backwards, even if the clock does.
		if lt := last.Entry.When(); now.Before(lt) {
			now = lt
		}
	}
	e.Time = now.UTC().Format(time.RFC3339Nano)
	if e.Actor.Key == "" && len(signers) > 0 {
		e.Actor.Key = seal.Fingerprint(signers[0].PublicKey())
	}
	return NewRecord(e, signers...)
}

// Add appends a record already written to storage.
func (l *Ledger) Add(rec *Record) error {
	if rec.Entry.Seq != l.Len() {
		return fmt.Errorf("ledger: record seq %d, want %d", rec.Entry.Seq, l.Len())
	}
	l.add(rec)
	return nil
}

// Encode returns the bytes to append for rec.
func Encode(rec *Record) []byte { return append(append([]byte(nil), rec.Line...), '\n') }

// Issue is one thing wrong with a ledger.
type Issue struct {
	Seq  int64 // -1 when not about one entry
	Code string
	Msg  string
}

// Keyring tracks which keys may sign entries, replaying the ledger: the
// station key from the genesis entry, and keys that later entries add or
// remove ("user.add", "user.remove").
type Keyring struct {
	Station ssh.PublicKey
	keys    map[string]ssh.PublicKey // fingerprint → key
	names   map[string]string
	ever    map[string]ssh.PublicKey // every key ever authorised, removed ones too
}

func newKeyring() *Keyring {
	return &Keyring{keys: map[string]ssh.PublicKey{}, names: map[string]string{}, ever: map[string]ssh.PublicKey{}}
}

// Ever returns every key the ledger has authorised at some point (the
// station's and every registered person's, removed ones too), by
// fingerprint: the keys whose signatures on a checkpoint are the store's.
func (k *Keyring) Ever() []ssh.PublicKey {
	fps := make([]string, 0, len(k.ever))
	for fp := range k.ever {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	out := make([]ssh.PublicKey, len(fps))
	for i, fp := range fps {
		out[i] = k.ever[fp]
	}
	return out
}

// EverAuthorised reports whether the ledger authorised pub at some point.
func (k *Keyring) EverAuthorised(pub ssh.PublicKey) bool {
	p, ok := k.ever[seal.Fingerprint(pub)]
	return ok && bytes.Equal(p.Marshal(), pub.Marshal())
}

// Key returns the key with fingerprint fp if it may sign now.
func (k *Keyring) Key(fp string) (ssh.PublicKey, bool) {
	p, ok := k.keys[fp]
	return p, ok
}

// Name returns the registered name for a key fingerprint.
func (k *Keyring) Name(fp string) string { return k.names[fp] }

// GenesisPayload is the payload of entry 0.
type GenesisPayload struct {
	Store      string   `json:"store"`
	StationKey string   `json:"station_key"` // authorized_keys line
	Recipients []string `json:"recipients"`
	Policy     any      `json:"policy,omitempty"`
}

// KeyPayload is the payload of user.add / user.remove.
type KeyPayload struct {
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
	Key  string `json:"key"` // authorized_keys line
}

func (k *Keyring) apply(rec *Record) error {
	switch rec.Entry.Action {
	case "user.add":
		var p KeyPayload
		if err := rec.Payload(&p); err != nil {
			return err
		}
		pub, err := seal.ParsePublicKey(p.Key)
		if err != nil {
			return err
		}
		fp := seal.Fingerprint(pub)
		k.keys[fp], k.names[fp], k.ever[fp] = pub, p.Name, pub
	case "user.remove":
		var p KeyPayload
		if err := rec.Payload(&p); err != nil {
			return err
		}
		pub, err := seal.ParsePublicKey(p.Key)
		if err != nil {
			return err
		}
		delete(k.keys, seal.Fingerprint(pub))
	}
	return nil
}

// Check verifies the chain: sequence numbers, prev links, time order, and
// that every entry is signed by its actor with a key the ledger authorised
// at that point. It returns the keyring as of the end, and every issue.
func (l *Ledger) Check() (*Keyring, []Issue) {
	var issues []Issue
	bad := func(seq uint64, code, format string, a ...any) {
		issues = append(issues, Issue{Seq: int64(seq), Code: code, Msg: fmt.Sprintf(format, a...)})
	}
	kr := newKeyring()
	if len(l.Records) == 0 {
		return kr, []Issue{{Seq: -1, Code: "ledger-empty", Msg: "the ledger has no entries, not even the genesis entry"}}
	}
	prev := ZeroHash
	var lastTime time.Time
	for i, rec := range l.Records {
		e := &rec.Entry
		seq := uint64(i)
		if e.Seq != seq {
			bad(seq, "ledger-seq", "entry at position %d has seq %d: entries were removed, inserted or reordered", i, e.Seq)
		}
		if e.Prev != prev {
			bad(seq, "ledger-chain", "entry %d does not link to the entry before it (prev %.12s…, expected %.12s…): the chain is broken", seq, e.Prev, prev)
		}
		prev = rec.Hash()
		if t := e.When(); t.Before(lastTime) {
			bad(seq, "ledger-time", "entry %d is dated %s, before the entry preceding it", seq, e.Time)
		} else {
			lastTime = t
		}
		if i == 0 {
			if code, msg := kr.genesis(rec); code != "" {
				bad(seq, code, "%s", msg)
				return kr, issues
			}
		}
		signedByActor, sigIssues := kr.verifySigs(rec)
		issues = append(issues, sigIssues...)
		if !signedByActor {
			// Its key changes do not count: a forged user.add must not
			// authorise the forger for the entries that follow.
			bad(seq, "ledger-actor", "entry %d is not validly signed by its actor %q (%s)", seq, e.Actor.Name, e.Actor.Key)
		} else if err := kr.apply(rec); err != nil {
			bad(seq, "ledger-payload", "entry %d: %v", seq, err)
		}
	}
	return kr, issues
}

// genesis reads the station key from the genesis entry; it returns a
// problem code and message if it cannot.
func (k *Keyring) genesis(rec *Record) (string, string) {
	var g GenesisPayload
	if rec.Entry.Action != "genesis" {
		return "ledger-genesis", fmt.Sprintf("the first entry is %q, not the genesis entry", rec.Entry.Action)
	}
	if err := rec.Payload(&g); err != nil {
		return "ledger-genesis", fmt.Sprintf("genesis payload: %v", err)
	}
	pub, err := seal.ParsePublicKey(g.StationKey)
	if err != nil {
		return "ledger-genesis", fmt.Sprintf("genesis station key: %v", err)
	}
	k.Station = pub
	fp := seal.Fingerprint(pub)
	k.keys[fp], k.names[fp], k.ever[fp] = pub, "station", pub
	return "", ""
}

// verifySigs checks an entry's signatures against the keys authorised so
// far; it reports whether the entry's actor signed it validly.
func (k *Keyring) verifySigs(rec *Record) (bool, []Issue) {
	var issues []Issue
	seq := rec.Entry.Seq
	bad := func(code, format string, a ...any) {
		issues = append(issues, Issue{Seq: int64(seq), Code: code, Msg: fmt.Sprintf(format, a...)})
	}
	signedByActor := false
	for j, s := range rec.Sigs {
		pub, ok := k.Key(s.Key)
		if !ok {
			bad("ledger-signer", "entry %d signature %d is by key %s, which the ledger does not authorise", seq, j+1, s.Key)
			continue
		}
		blob, err := seal.DecodeSig(s.SSHSig)
		if err == nil {
			var got ssh.PublicKey
			got, err = seal.VerifySignature(blob, EntryNamespace, rec.EntryRaw)
			if err == nil && !bytes.Equal(got.Marshal(), pub.Marshal()) {
				err = errors.New("signature made by a different key than it names")
			}
		}
		if err != nil {
			bad("ledger-signature", "entry %d signature by %s does not verify: %v", seq, s.Key, err)
			continue
		}
		if s.Key == rec.Entry.Actor.Key {
			signedByActor = true
		}
	}
	return signedByActor, issues
}

// Signers replays only what changes the keyring (the genesis entry and
// validly signed user.add and user.remove entries), checking just their
// signatures: a quick keyring for a writer that must know whose
// checkpoints to trust without re-verifying the whole ledger.
func (l *Ledger) Signers() *Keyring { return l.signersAt(l.Len()) }

// signersAt is Signers for the ledger's first size entries.
func (l *Ledger) signersAt(size uint64) *Keyring {
	kr := newKeyring()
	if len(l.Records) == 0 || size == 0 {
		return kr
	}
	if code, _ := kr.genesis(l.Records[0]); code != "" {
		return kr
	}
	for _, rec := range l.Records[1:min(size, l.Len())] {
		if !keyAction(rec.Entry.Action) {
			continue
		}
		if ok, _ := kr.verifySigs(rec); ok {
			kr.apply(rec)
		}
	}
	return kr
}

// ErrCheckpointSigner: a checkpoint signed by a key that may not sign it.
var ErrCheckpointSigner = errors.New("the checkpoint is not signed by a key that may sign it")

// CheckpointSigner is the rule for who may sign a checkpoint of the
// ledger's first c.Size entries: the station, or a person the ledger
// authorised at that point who wrote the last entry it covers (people
// acting with their own key sign the checkpoint of what they just wrote).
// So a key that was removed, or a person who did not write the newest
// entry, cannot re-sign a checkpoint over a shortened ledger. Writers
// trust a store's checkpoint by it, and verify judges by it.
func (l *Ledger) CheckpointSigner(c *Checkpoint, pub ssh.PublicKey) error {
	if c.Size == 0 || c.Size > l.Len() {
		return fmt.Errorf("%w: it covers %d entries of %d", ErrCheckpointSigner, c.Size, l.Len())
	}
	kr := l.signersAt(c.Size)
	fp := seal.Fingerprint(pub)
	if k, ok := kr.Key(fp); !ok || !bytes.Equal(k.Marshal(), pub.Marshal()) {
		return fmt.Errorf("%w: %s was not authorised when entry %d was written", ErrCheckpointSigner, fp, c.Size-1)
	}
	if kr.Station != nil && bytes.Equal(kr.Station.Marshal(), pub.Marshal()) {
		return nil
	}
	if last := l.Records[c.Size-1]; last.Entry.Actor.Key != fp {
		return fmt.Errorf("%w: %s (%s) signed it, but entry %d, the last it covers, is %s's: a person signs only the checkpoint of what they wrote", ErrCheckpointSigner, kr.Name(fp), fp, c.Size-1, last.Entry.Actor.Name)
	}
	return nil
}

func keyAction(a string) bool { return a == "user.add" || a == "user.remove" }

// Genesis returns the decoded genesis payload.
func (l *Ledger) Genesis() (*GenesisPayload, error) {
	if len(l.Records) == 0 || l.Records[0].Entry.Action != "genesis" {
		return nil, errors.New("ledger has no genesis entry")
	}
	var g GenesisPayload
	if err := json.Unmarshal(l.Records[0].Entry.Payload, &g); err != nil {
		return nil, err
	}
	return &g, nil
}
