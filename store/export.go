package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

// Export bundles are built by package bundle; this file holds what the
// store itself must know about them: the "export" and "receipt" ledger
// entries, how Replay shows them on each clip's timeline, and the copy of
// each bundle's signed statement that lets the station check a receipt.

// ExportsDir holds the signed statement of every bundle the station made,
// named by the seq of its export entry.
const ExportsDir = "exports"

var (
	// ErrNoExport means a receipt names an export the ledger does not have.
	ErrNoExport = errors.New("no such export")
	// ErrReceiptMismatch means a receipt does not match what was exported.
	ErrReceiptMismatch = errors.New("receipt does not match the export")
	// ErrDuplicateReceipt refuses a receipt that is already recorded.
	ErrDuplicateReceipt = errors.New("receipt is already recorded")
	// ErrNotReceiver refuses a receipt signed by a key other than the
	// receiver's the bundle was exported to.
	ErrNotReceiver = errors.New("refused: the receipt is not signed by the receiver the bundle was sent to")
	// ErrUnaddressed refuses a receipt for an export that named no
	// receiver; it is an ErrNotReceiver too.
	ErrUnaddressed = fmt.Errorf("%w: the export named no receiver", ErrNotReceiver)
)

// ExportPayload is the payload of an "export" entry. It is appended before
// the bundle is built, so that the bundle's own evidence includes it.
type ExportPayload struct {
	Incident     string          `json:"incident"`
	Organization string          `json:"organization,omitempty"`
	Contact      string          `json:"contact,omitempty"`
	Bundle       string          `json:"bundle"` // base name of the output
	Format       string          `json:"format"` // "dir" or "zip"
	Exhibits     []ExportExhibit `json:"exhibits"`
	// Receivers are the age recipients originals were re-encrypted to.
	Receivers []string `json:"receivers,omitempty"`
	// ReceiverKey is the SSH public key (an authorized_keys line) of whom
	// the bundle is sent to: only a receipt signed with it is accepted.
	// Empty for an export made with no receiver (no receipt is accepted).
	ReceiverKey string `json:"receiver_key,omitempty"`
	Identity    string `json:"identity,omitempty"` // which key opened the sealed files
	// Checkpoint is the size of the signed checkpoint the bundle carries:
	// always this entry's seq + 1. Later bundles prove consistency from it.
	Checkpoint uint64 `json:"checkpoint"`
}

// ExportExhibit is one file of a bundle's payload.
type ExportExhibit struct {
	Exhibit string `json:"exhibit"`
	Clip    string `json:"clip"`
	Kind    string `json:"kind"` // "redacted" or "original"
	Path    string `json:"path"` // inside the bundle, e.g. data/EX-1_<clip>.mp4
	// SHA256 and Size describe the clip's plaintext as the ledger records
	// it; for an original the bundle file is an age file holding it.
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Parent    string `json:"parent,omitempty"` // for a redacted clip: its original
	Encrypted bool   `json:"encrypted,omitempty"`
}

// ReceiptPayload is the payload of a "receipt" entry: the receiver's signed
// acknowledgement that it received and verified a bundle.
type ReceiptPayload struct {
	Export          uint64   `json:"export"` // seq of the export entry
	Incident        string   `json:"incident"`
	Clips           []string `json:"clips"`
	StatementSHA256 string   `json:"statement_sha256"` // the bundle digest
	Receiver        string   `json:"receiver"`
	ReceiverKey     string   `json:"receiver_key"` // authorized_keys line
	Received        string   `json:"received"`     // when, as the receiver says
	Receipt         string   `json:"receipt"`      // the receipt file, verbatim
}

// CheckReceiptSigner is the rule that receipts come from the receiver the
// bundle was sent to: key may acknowledge the bundle of this export (entry
// seq) only if it is the export's receiver key. import-receipt refuses by
// it and verify reports by it. The error wraps ErrNotReceiver, and
// ErrUnaddressed when the export named no receiver.
func (p *ExportPayload) CheckReceiptSigner(seq uint64, key ssh.PublicKey) error {
	if p.ReceiverKey == "" {
		return fmt.Errorf("%w: export #%d (incident %s) was made without --receiver, so no receipt can be matched to whom it was sent", ErrUnaddressed, seq, p.Incident)
	}
	want, err := seal.ParsePublicKey(p.ReceiverKey)
	if err != nil {
		return fmt.Errorf("%w: export #%d records an unreadable receiver key: %v", ErrCorrupt, seq, err)
	}
	if !bytes.Equal(want.Marshal(), key.Marshal()) {
		return fmt.Errorf("%w: export #%d (incident %s) was sent to %s, and the receipt is signed by %s", ErrNotReceiver, seq, p.Incident, seal.Fingerprint(want), seal.Fingerprint(key))
	}
	return nil
}

// Clips lists every clip an export concerns: the exported ones and the
// originals of exported derivatives, in order, once each.
func (p *ExportPayload) Clips() []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range p.Exhibits {
		for _, id := range []string{x.Clip, x.Parent} {
			if id != "" && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// clipsOfHandlers lets actions whose payload names clips (rather than the
// entry's clip field) say which; files of this package add to it from init.
var clipsOfHandlers = map[string]func(rec *manifest.Record) []string{}

func init() {
	actionHandlers["export"] = replayExport
	actionHandlers["receipt"] = replayReceipt
	clipsOfHandlers["export"] = func(rec *manifest.Record) []string {
		var p ExportPayload
		if rec.Payload(&p) != nil {
			return nil
		}
		return p.Clips()
	}
	clipsOfHandlers["receipt"] = func(rec *manifest.Record) []string {
		var p ReceiptPayload
		if rec.Payload(&p) != nil {
			return nil
		}
		return p.Clips
	}
	clipsOfHandlers["redact"] = func(rec *manifest.Record) []string {
		var p DerivePayload
		if rec.Payload(&p) != nil {
			return []string{rec.Entry.Clip}
		}
		return []string{rec.Entry.Clip, p.Parent}
	}
}

// ClipsOf lists the clips an entry concerns: its subject clip, and any that
// its payload names (an export's exhibits, a redaction's parent).
func ClipsOf(rec *manifest.Record) []string {
	if h, ok := clipsOfHandlers[rec.Entry.Action]; ok {
		return h(rec)
	}
	if rec.Entry.Clip != "" {
		return []string{rec.Entry.Clip}
	}
	return nil
}

func replayExport(st *State, rec *manifest.Record, ev *Event) {
	var p ExportPayload
	if rec.Payload(&p) != nil {
		return
	}
	ev.Summary = fmt.Sprintf("exported %d exhibit(s) for incident %s as bundle %s", len(p.Exhibits), p.Incident, p.Bundle)
	// One timeline event per clip, however many of its files went out.
	what := map[string][]string{}
	for _, x := range p.Exhibits {
		what[x.Clip] = append(what[x.Clip], fmt.Sprintf("exported as exhibit %s (%s)", x.Exhibit, x.Kind))
		if x.Parent != "" {
			what[x.Parent] = append(what[x.Parent], fmt.Sprintf("its redacted version %s exported as exhibit %s", x.Clip, x.Exhibit))
		}
	}
	to := ""
	if len(p.Receivers) > 0 {
		to = fmt.Sprintf("; originals re-encrypted to %d receiver key(s)", len(p.Receivers))
	}
	if k, err := seal.ParsePublicKey(p.ReceiverKey); err == nil {
		to += "; sent to receiver " + seal.Fingerprint(k)
	}
	for _, id := range p.Clips() {
		if c := st.Clips[id]; c != nil {
			e := *ev
			e.Summary = fmt.Sprintf("%s, in bundle %s for incident %s%s", strings.Join(what[id], "; "), p.Bundle, p.Incident, to)
			c.Timeline = append(c.Timeline, e)
		}
	}
}

func replayReceipt(st *State, rec *manifest.Record, ev *Event) {
	var p ReceiptPayload
	if rec.Payload(&p) != nil {
		return
	}
	ev.Summary = fmt.Sprintf("receipt from %s for the bundle of export #%d (incident %s)", p.Receiver, p.Export, p.Incident)
	for _, id := range p.Clips {
		if c := st.Clips[id]; c != nil {
			e := *ev
			e.Summary = fmt.Sprintf("receiver %s acknowledged the bundle of export #%d (incident %s), received %s", p.Receiver, p.Export, p.Incident, p.Received)
			c.Timeline = append(c.Timeline, e)
		}
	}
}

// ExportRecord is what BeginExport returns: the appended entry, the ledger
// as of that entry (for proofs), and a checkpoint signed at exactly its size.
type ExportRecord struct {
	Record     *manifest.Record
	Ledger     *manifest.Ledger
	Checkpoint *manifest.Checkpoint
}

// BeginExport appends the "export" entry for a bundle about to be built and
// signs a checkpoint covering exactly the ledger up to and including it.
// check, if not nil, runs inside the transaction on the current state, so
// that an export of a clip purged meanwhile is refused.
func (s *Store) BeginExport(ctx context.Context, as *Person, p ExportPayload, check func(*State) error) (*ExportRecord, error) {
	if s.signer == nil {
		return nil, ErrLocked // the station signs the bundle
	}
	var out *ExportRecord
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		if check != nil {
			if err := check(Replay(tx.Ledger)); err != nil {
				return err
			}
		}
		p.Checkpoint = tx.Ledger.Len() + 1
		payload, err := json.Marshal(p)
		if err != nil {
			return err
		}
		rec, err := tx.Append(manifest.Entry{Action: "export", Payload: payload})
		if err != nil {
			return err
		}
		cp, err := manifest.NewCheckpoint(tx.Ledger, s.Origin(), tx.Ledger.Len(), s.Now(), s.signer)
		if err != nil {
			return err
		}
		out = &ExportRecord{Record: rec, Ledger: tx.Ledger, Checkpoint: cp}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const statementSuffix = ".statement.txt"

func (s *Store) statementPath(seq uint64) string {
	return filepath.Join(s.Dir, ExportsDir, strconv.FormatUint(seq, 10)+statementSuffix)
}

// SaveExportStatement keeps a copy of a finished bundle's signed statement,
// so that a receipt can later be matched to exactly what was sent. It holds
// the store lock while it writes: recovery, which removes the temporary
// files of interrupted writes, runs under it.
func (s *Store) SaveExportStatement(seq uint64, statement []byte) error {
	lock, err := s.lock(context.Background())
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := os.MkdirAll(filepath.Join(s.Dir, ExportsDir), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(s.statementPath(seq), statement, 0o644)
}

// ExportStatement returns the saved statement of the bundle of export seq.
func (s *Store) ExportStatement(seq uint64) ([]byte, error) {
	b, err := os.ReadFile(s.statementPath(seq))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: export #%d never finished writing its bundle (no saved statement)", ErrNoExport, seq)
	}
	return b, err
}

// AddReceipt records a receiver's acknowledgement of a bundle. The receipt's
// signature must already have been checked (package bundle does that); here
// it is matched against the ledger's export entry and the saved statement.
func (s *Store) AddReceipt(ctx context.Context, p ReceiptPayload) (*manifest.Record, error) {
	var out *manifest.Record
	err := s.Update(ctx, func(tx *Tx) error {
		if p.Export >= tx.Ledger.Len() || tx.Ledger.Records[p.Export].Entry.Action != "export" {
			return fmt.Errorf("%w: entry #%d is not an export in this store", ErrNoExport, p.Export)
		}
		var ep ExportPayload
		if err := tx.Ledger.Records[p.Export].Payload(&ep); err != nil {
			return fmt.Errorf("%w: export entry #%d: %v", ErrCorrupt, p.Export, err)
		}
		if ep.Incident != p.Incident {
			return fmt.Errorf("%w: receipt is for incident %q, export #%d was for %q", ErrReceiptMismatch, p.Incident, p.Export, ep.Incident)
		}
		signer, err := seal.ParsePublicKey(p.ReceiverKey)
		if err != nil {
			return fmt.Errorf("%w: the receipt's signing key: %v", ErrReceiptMismatch, err)
		}
		if err := ep.CheckReceiptSigner(p.Export, signer); err != nil {
			return err
		}
		stmt, err := s.ExportStatement(p.Export)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(stmt)
		if hex.EncodeToString(sum[:]) != p.StatementSHA256 {
			return fmt.Errorf("%w: receipt acknowledges a bundle with statement sha256 %s, but export #%d's statement has %s: the receiver got a different bundle",
				ErrReceiptMismatch, p.StatementSHA256, p.Export, hex.EncodeToString(sum[:]))
		}
		for _, rec := range tx.Ledger.Records {
			if rec.Entry.Action != "receipt" {
				continue
			}
			var old ReceiptPayload
			if rec.Payload(&old) == nil && old.Receipt == p.Receipt {
				return fmt.Errorf("%w: entry #%d", ErrDuplicateReceipt, rec.Entry.Seq)
			}
		}
		p.Clips = ep.Clips()
		payload, err := json.Marshal(p)
		if err != nil {
			return err
		}
		out, err = tx.Append(manifest.Entry{Action: "receipt", Payload: payload})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Exports lists the export entries of a ledger, oldest first.
func Exports(l *manifest.Ledger) []*manifest.Record {
	var out []*manifest.Record
	for _, rec := range l.Records {
		if rec.Entry.Action == "export" {
			out = append(out, rec)
		}
	}
	return out
}
