package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custody-evidence/custody/manifest"
)

// Refusals. Every refusal by a governance rule leaves a trace: custody
// appends a signed "refused" entry (who tried what, and which rule
// refused it) signed by whoever tried, a registered person or the station
// operator. A try that nobody the ledger knows can sign for (a wrong
// station passphrase, an unregistered or removed key) is counted in
// AttemptsFile, outside the ledger, and the next write folds the count
// into a signed "refused" entry. custody log --anomalies shows both.

// refusalRules names the rule behind each refusal. It is the one list:
// the writer consults it to ledger a refusal and the CLI to give exit
// status 4.
var refusalRules = []struct {
	err  error
	rule string
}{
	{ErrLinked, "linked-approval"},
	{ErrSelfApproval, "self-approval"},
	{ErrNotDPO, "not-dpo"},
	{ErrNotOwner, "not-owner"},
	{ErrUnknownPerson, "unknown-key"},
	{ErrAccessDenied, "wrong-key"},
	{ErrWrongClip, "wrong-clip"},
	{ErrWrongPurpose, "wrong-purpose"},
	{ErrReplay, "already-used"},
	{ErrExpired, "expired"},
	{ErrNotApproved, "not-approved"},
	{ErrPurged, "purged"},
	{ErrDualControl, "dual-control"},
}

// RefusalRule returns the rule that refused err, if a governance rule did.
func RefusalRule(err error) (string, bool) {
	for _, r := range refusalRules {
		if errors.Is(err, r.err) {
			return r.rule, true
		}
	}
	return "", false
}

// RefusedPayload is the payload of a "refused" entry.
type RefusedPayload struct {
	Attempt  string         `json:"attempt"`            // what was tried, e.g. "custody approve"
	Args     []string       `json:"args,omitempty"`     // its arguments: a clip, a request, a person
	Rule     string         `json:"rule"`               // the rule that refused it (see refusalRules), or "failed-attempts"
	Message  string         `json:"message"`            // the refusal as the person saw it
	Key      string         `json:"key,omitempty"`      // the key that tried, if not the entry's actor
	Unsigned []Attempt      `json:"attempts,omitempty"` // failed attempts nobody could sign for (the first few), folded in
	Counts   map[string]int `json:"counts,omitempty"`   // how many of each kind were folded in
	Fold     *Fold          `json:"fold,omitempty"`     // the prefix of AttemptsFile folded in
}

// Attempt is a failed try that nobody the ledger knows could sign for.
type Attempt struct {
	ID      string   `json:"id"`
	Time    string   `json:"time"`
	Kind    string   `json:"kind"` // AttemptPassphrase or AttemptUnknownKey
	Key     string   `json:"key,omitempty"`
	Attempt string   `json:"attempt,omitempty"`
	Args    []string `json:"args,omitempty"`
	User    string   `json:"user,omitempty"` // the operating-system user
}

// Kinds of unsigned attempt.
const (
	AttemptPassphrase = "wrong-passphrase"
	AttemptUnknownKey = "unknown-key"
	AttemptMalformed  = "unreadable-record" // a line of AttemptsFile that is not one custody wrote
	// AttemptUnsignedRefusal: a refusal whose "refused" entry could not be
	// signed (the person's token or agent declined).
	AttemptUnsignedRefusal = "refusal-unsigned"
)

// AttemptsFile counts failed attempts until a write ledgers them.
const AttemptsFile = "attempts.jsonl"

type attemptKey struct{}

// Attempted says what the caller is trying, for refusal records.
type Attempted struct {
	Attempt string
	Args    []string
}

// WithAttempt labels ctx with what the caller is trying (a command and
// its arguments), which refusal records name.
func WithAttempt(ctx context.Context, a Attempted) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

func attemptOf(ctx context.Context) Attempted {
	if a, ok := ctx.Value(attemptKey{}).(Attempted); ok {
		return a
	}
	return Attempted{Attempt: "write"}
}

// refused ledgers a refusal in tx, signed by whoever acts in it. It
// reports whether it could (someone must be able to sign).
func (tx *Tx) refused(ctx context.Context, rule string, cause error) error {
	a := attemptOf(ctx)
	p := RefusedPayload{Attempt: a.Attempt, Args: a.Args, Rule: rule, Message: cause.Error()}
	_, err := tx.appendJSON("refused", "", p)
	return err
}

// ledgered marks a refusal error whose "refused" entry was written.
type ledgered struct{ error }

func (l ledgered) Unwrap() error { return l.error }

// recordRefusal ledgers a refusal in tx; if nobody there can sign (a
// token or agent declined), it is counted instead, so it is never lost.
func (tx *Tx) recordRefusal(ctx context.Context, rule string, cause error) error {
	rerr := tx.refused(ctx, rule, cause)
	if rerr == nil {
		return ledgered{cause}
	}
	key := ""
	if tx.as != nil {
		key = tx.as.Fingerprint()
	}
	if aerr := tx.s.recordAttemptLocked(ctx, AttemptUnsignedRefusal, key); aerr != nil {
		return errors.Join(cause, fmt.Errorf("recording the refusal: %w", errors.Join(rerr, aerr)))
	}
	return ledgered{cause}
}

// logRefusal ledgers a refusal made outside a write transaction (an open
// refused before anything was read), signed by as or the station, unless
// the transaction that refused it did so already. It returns cause.
func (s *Store) logRefusal(ctx context.Context, as *Person, cause error) error {
	var done ledgered
	rule, ok := RefusalRule(cause)
	if !ok || errors.As(cause, &done) || (as == nil && s.signer == nil) {
		return cause
	}
	err := s.updateWith(ctx, as, guardAll, func(tx *Tx) error { return tx.refused(ctx, rule, cause) })
	// An unregistered key cannot sign; updateWith counted it instead.
	if err != nil && !errors.Is(err, ErrUnknownPerson) {
		return errors.Join(cause, fmt.Errorf("recording the refusal: %w", err))
	}
	return ledgered{cause}
}

// logForeignReaders ledgers connections to a decrypted clip that Serve
// refused because they did not come from custody's own ffmpeg: someone
// tried to read the original while it was being redacted. The entry is
// signed by whoever ran the redaction (as, or the station).
func (s *Store) logForeignReaders(as *Person, clip string, n int64, last error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msg := fmt.Sprintf("%d connection(s) to the decrypted clip were refused because they did not come from custody's own ffmpeg", n)
	if last != nil {
		msg += " (last: " + last.Error() + ")"
	}
	return s.updateWith(ctx, as, guardAll, func(tx *Tx) error {
		_, err := tx.appendJSON("refused", "", RefusedPayload{Attempt: "read the decrypted clip during redaction", Args: []string{clip}, Rule: "foreign-reader", Message: msg})
		return err
	})
}

// RecordAttempt counts a failed attempt nobody the ledger knows can sign
// for: a wrong station passphrase, or an unregistered or removed key. The
// next write ledgers it.
func (s *Store) RecordAttempt(ctx context.Context, kind, key string) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Close()
	return s.recordAttemptLocked(ctx, kind, key)
}

// recordAttemptLocked is RecordAttempt for a caller holding the lock.
func (s *Store) recordAttemptLocked(ctx context.Context, kind, key string) error {
	a := attemptOf(ctx)
	line, _ := json.Marshal(boundAttempt(Attempt{ID: newID(8), Time: s.Now().UTC().Format(time.RFC3339Nano), Kind: kind, Key: key,
		Attempt: a.Attempt, Args: a.Args, User: osUser()}))
	// O_NOFOLLOW: the file is the store's own, never a link elsewhere.
	f, err := os.OpenFile(filepath.Join(s.Dir, AttemptsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE|noFollow, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return err
	}
	return f.Sync()
}

// Bounds on what an attempt records, so that neither the attempts file
// nor the entry that ledgers it can be made large by the one trying.
const (
	maxAttemptText  = 120
	maxAttemptArgs  = 6
	maxAttemptLine  = 2 << 10
	maxAttemptsRead = 64 << 20
	maxSamples      = 20
)

func boundAttempt(a Attempt) Attempt {
	a.Attempt = clip(a.Attempt, maxAttemptText)
	if len(a.Args) > maxAttemptArgs {
		a.Args = append(a.Args[:maxAttemptArgs:maxAttemptArgs], fmt.Sprintf("(+%d more)", len(a.Args)-maxAttemptArgs))
	}
	for i := range a.Args {
		a.Args[i] = clip(a.Args[i], 64)
	}
	a.User, a.Key = clip(a.User, 64), clip(a.Key, 80)
	return a
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// osUser names the operating-system user by uid, which the one trying
// cannot set as they can $USER.
func osUser() string {
	uid := strconv.Itoa(os.Getuid())
	if u, err := user.LookupId(uid); err == nil {
		return u.Username + " (uid " + uid + ")"
	}
	return "uid " + uid
}

// pendingAttempts reads the attempts no entry ledgers yet: those after
// the prefix of AttemptsFile that the latest fold covered (a crash after
// the fold and before the file was emptied leaves that prefix), each line
// bounded; overlong or unreadable lines are counted, not kept.
func (s *Store) pendingAttempts(st *State) (pending []Attempt, size int64, err error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, AttemptsFile), os.O_RDONLY|noFollow, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAttemptsRead))
	if err != nil {
		return nil, 0, err
	}
	size = int64(len(data))
	if lf := st.LastFold; lf.Bytes > 0 && lf.Bytes <= size && sha256Hex(data[:lf.Bytes]) == lf.SHA256 {
		data = data[lf.Bytes:]
	}
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 || line[len(line)-1] != '\n' {
			continue // a torn last line
		}
		var a Attempt
		switch {
		case len(line) > maxAttemptLine || json.Unmarshal(line, &a) != nil:
			pending = append(pending, Attempt{Kind: AttemptMalformed})
		case a.ID != "" && !st.FoldedAttempts[a.ID] && (a.Kind == AttemptPassphrase || a.Kind == AttemptUnknownKey || a.Kind == AttemptUnsignedRefusal):
			pending = append(pending, boundAttempt(a))
		}
	}
	return pending, size, nil
}

// PendingAttempts lists counted attempts that no entry ledgers yet.
func (s *Store) PendingAttempts(st *State) ([]Attempt, error) {
	p, _, err := s.pendingAttempts(st)
	return p, err
}

// Fold says which prefix of AttemptsFile a "failed-attempts" entry ledgered.
type Fold struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// foldAttempts ledgers the counted attempts in one signed entry (their
// count by kind, and the first few in full), then empties the file. The
// entry names the file prefix it covers, so a crash before the file is
// emptied does not count them twice.
func (tx *Tx) foldAttempts(st *State) error {
	pending, size, err := tx.s.pendingAttempts(st)
	if err != nil || size == 0 {
		return err
	}
	if len(pending) > 0 {
		data, err := readPrefix(filepath.Join(tx.s.Dir, AttemptsFile), size)
		if err != nil {
			return err
		}
		kinds := map[string]int{}
		for _, a := range pending {
			kinds[a.Kind]++
		}
		var parts []string
		for k, n := range kinds {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
		sort.Strings(parts)
		p := RefusedPayload{Attempt: "(counted)", Rule: "failed-attempts", Message: strings.Join(parts, ", "), Counts: kinds,
			Unsigned: pending[:min(len(pending), maxSamples)], Fold: &Fold{Bytes: size, SHA256: sha256Hex(data)}}
		if _, err := tx.appendJSON("refused", "", p); err != nil {
			return err
		}
	}
	return os.Truncate(filepath.Join(tx.s.Dir, AttemptsFile), 0)
}

func readPrefix(path string, n int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

func init() {
	actionHandlers["refused"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p RefusedPayload
		if rec.Payload(&p) != nil {
			return
		}
		st.foldAttempts(p.Unsigned)
		if p.Fold != nil {
			st.LastFold = *p.Fold
		}
		if p.Rule == "failed-attempts" {
			ev.Summary = "failed attempts counted since the last write: " + p.Message
			st.flag(rec, "failed-attempts", "%s (%s)", p.Message, describeAttempts(p.Unsigned))
			return
		}
		if p.Rule == "foreign-reader" {
			ev.Summary = "refused readers of the decrypted clip: " + p.Message
			st.flag(rec, "foreign-reader", "while %s redacted clip %s, %s", rec.Entry.Actor.Name, strings.Join(p.Args, " "), p.Message)
			return
		}
		what := strings.TrimSpace(p.Attempt + " " + strings.Join(p.Args, " "))
		ev.Summary = fmt.Sprintf("refused %s: %s", what, p.Message)
		st.flag(rec, "refused", "%s was refused %s (rule %s): %s", rec.Entry.Actor.Name, what, p.Rule, p.Message)
	}
}

// describeAttempts summarises failed attempts: who and when.
func describeAttempts(as []Attempt) string {
	var b bytes.Buffer
	for i, a := range as {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(as)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s", a.Time, a.Kind)
		if a.Key != "" {
			fmt.Fprintf(&b, " by %s", a.Key)
		}
		if a.User != "" {
			fmt.Fprintf(&b, " (user %s)", a.User)
		}
		if a.Attempt != "" {
			fmt.Fprintf(&b, " trying %s", strings.TrimSpace(a.Attempt+" "+strings.Join(a.Args, " ")))
		}
	}
	return b.String()
}

func (st *State) foldAttempts(as []Attempt) {
	for _, a := range as {
		if a.ID != "" {
			st.FoldedAttempts[a.ID] = true
		}
	}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
