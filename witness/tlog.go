package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/custody-evidence/custody/internal/atomicfile"
	"github.com/custody-evidence/custody/manifest"
	tnote "github.com/transparency-dev/formats/note"
)

// Tlog is a C2SP transparency-log witness (c2sp.org/tlog-witness) reached
// over HTTP. Publish sends it each station-signed checkpoint with a
// consistency proof from the last one it cosigned; it checks the proof,
// remembers the new size and root, and answers with a cosignature, which
// is kept in the store's witnessed/ directory, one file per witness.
//
// The witness holds only its latest size and root per log and has no
// read API, so Check asks it by re-submitting a note this station signed,
// with old size equal to that note's own size and no proof. By the
// protocol the witness then either answers 200 (it holds exactly that
// checkpoint, and nothing changes) or 409 with the size it holds, which
// changes nothing either. A size beyond the ledger is a rollback that no
// copy of the store can hide: the witness is on another host.
type Tlog struct {
	spec     Spec
	state    string // the store's witnessed/ directory
	endpoint string // <prefix>/add-checkpoint
	file     string // the file name stem of this witness's state
	client   *http.Client
	backoff  time.Duration // before the one retry after a network error
}

// tlogClient bounds each stage, so that a witness whose host has gone
// quiet delays a write by seconds, not minutes.
var tlogClient = &http.Client{
	Timeout: tlogTimeout,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: tlogTimeout,
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConnsPerHost:   2,
		ForceAttemptHTTP2:     true,
	},
}

// Timeouts of a tlog witness request.
const (
	tlogTimeout  = 10 * time.Second
	tlogBackoff  = time.Second
	maxTlogReply = 64 << 10
	// MaxProofLines is how many consistency proof lines a request may
	// carry (c2sp.org/tlog-witness): enough for any tree of 2^63 leaves.
	MaxProofLines = 63
)

// Errors of a tlog witness. Publish wraps one of them; Check reports them
// in Status.Err.
var (
	// ErrWitnessFork: the witness refuses a consistency proof from the
	// checkpoint it holds to the ledger's, so the ledger does not extend
	// what it cosigned: entries were rewritten, or removed and regrown.
	ErrWitnessFork = fmt.Errorf("%w: the ledger does not extend the checkpoint it holds", ErrWitnessRefused)
	// ErrWitnessAhead: the witness has cosigned a checkpoint of more
	// entries than the ledger holds, so the store was rolled back.
	ErrWitnessAhead = errors.New("the witness holds a checkpoint of more entries than the ledger has")
	// ErrWitnessRefused: the witness refused the checkpoint (not
	// configured for this store, a proof it rejects, a bad request).
	ErrWitnessRefused = errors.New("the witness refused the checkpoint")
	// ErrWitnessUnreachable: no answer, or not a tlog-witness answer.
	ErrWitnessUnreachable = errors.New("the witness cannot be reached")
)

// State files, in the store's witnessed/ directory.
const (
	cosignedSuffix = ".cosigned" // the latest note the witness cosigned, with its cosignatures
	sentSuffix     = ".sent"     // the latest note sent to it, cosigned or not
)

func validateTlog(s Spec) error {
	u, err := url.Parse(s.Location)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: %q: a tlog witness is given by the http:// or https:// URL prefix of its add-checkpoint endpoint, with no credentials, query or fragment", ErrBadSpec, s.Location)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		// A 409's size is not signed: over plain http anyone on the path
		// could claim one and freeze the store, or hide a rollback.
		return fmt.Errorf("%w: %q: a tlog witness on another host is reached over https (plain http only on loopback)", ErrBadSpec, s.Location)
	}
	if s.Key == "" {
		return fmt.Errorf("%w: a tlog witness needs its cosigning key (--key VKEY, as its operator gives it; custody witness keygen prints one)", ErrBadSpec)
	}
	if _, err := tnote.NewVerifierForCosignatureV1(s.Key); err != nil {
		return fmt.Errorf("%w: key %q is not a cosignature verifier key (NAME+HASH+BASE64): %v", ErrBadSpec, s.Key, err)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newTlog(s Spec, state string) (Witness, error) {
	if err := validateTlog(s); err != nil {
		return nil, err
	}
	v, _ := tnote.NewVerifierForCosignatureV1(s.Key)
	return &Tlog{
		spec:     s,
		state:    state,
		endpoint: strings.TrimSuffix(s.Location, "/") + "/add-checkpoint",
		// By the witness's key, not its name or URL: the same witness
		// moved to another address keeps what it cosigned.
		file:    fmt.Sprintf("%s-%08x", safeName(v.Name()), v.KeyHash()),
		client:  tlogClient,
		backoff: tlogBackoff,
	}, nil
}

// safeName makes a key name usable as a file name.
func safeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// Spec returns the registered spec.
func (t *Tlog) Spec() Spec { return t.spec }

func (t *Tlog) path(suffix string) string { return filepath.Join(t.state, t.file+suffix) }

// kept is a note read back from the state directory and checked.
type kept struct {
	*manifest.NoteCheckpoint
	note []byte
	path string
}

// readKept reads the note kept under suffix. It must be the store's:
// signed by a log key under the origin, and, for the cosigned note,
// cosigned by this witness. Missing is (nil, nil).
func (t *Tlog) readKept(log *Log, suffix string) (*kept, error) {
	p := t.path(suffix)
	data, err := readRegular(p, maxTlogReply)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cosigners []string
	if suffix == cosignedSuffix {
		cosigners = []string{t.spec.Key}
	}
	nc, err := manifest.OpenNote(data, log.Signers, cosigners)
	switch {
	case err != nil:
		return nil, err
	case nc.Origin != log.Origin:
		return nil, fmt.Errorf("it is a checkpoint of %q, not of this store", nc.Origin)
	case suffix == cosignedSuffix && len(nc.Cosignatures) == 0:
		return nil, fmt.Errorf("it carries no cosignature by %s", t.spec.Key)
	}
	return &kept{NoteCheckpoint: nc, note: data, path: p}, nil
}

// anchor is the cosigned note the ledger kept when the witness was
// registered (Spec.Anchor), checked as readKept checks a kept one.
func (t *Tlog) anchor(log *Log) (*kept, error) {
	if t.spec.Anchor == "" {
		return nil, nil
	}
	data := []byte(t.spec.Anchor)
	nc, err := manifest.OpenNote(data, log.Signers, []string{t.spec.Key})
	switch {
	case err != nil:
		return nil, err
	case nc.Origin != log.Origin || len(nc.Cosignatures) == 0:
		return nil, fmt.Errorf("the registration's checkpoint is not one this witness cosigned for %s", log.Origin)
	}
	return &kept{NoteCheckpoint: nc, note: data, path: "the witness.add entry"}, nil
}

// Cosigned returns the latest note this witness cosigned for the store,
// as kept in witnessed/.
func (t *Tlog) Cosigned(log *Log) ([]byte, error) {
	k, err := t.readKept(log, cosignedSuffix)
	if err == nil && k == nil {
		err = errors.New("it has cosigned nothing for this store")
	}
	if err != nil {
		return nil, err
	}
	return k.note, nil
}

// answer is what the witness said to one add-checkpoint request.
type answer struct {
	status  int
	size    uint64 // 409 with a text/x.tlog.size body
	hasSize bool
	body    []byte
}

// AddCheckpointBody is the body of an add-checkpoint request.
func AddCheckpointBody(old uint64, proof [][]byte, note []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(note)
	return b.Bytes()
}

// submit posts one add-checkpoint request, retrying once after a pause
// if the network fails (the witness may have seen the first: a repeat is
// answered 409 with the new size, which the callers handle).
func (t *Tlog) submit(ctx context.Context, old uint64, proof [][]byte, note []byte) (*answer, error) {
	body := AddCheckpointBody(old, proof, note)
	a, err := t.post(ctx, body)
	if err == nil || ctx.Err() != nil {
		return a, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(t.backoff):
	}
	return t.post(ctx, body)
}

func (t *Tlog) post(ctx context.Context, body []byte) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, tlogTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrWitnessUnreachable, t.endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTlogReply+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the answer: %v", ErrWitnessUnreachable, t.endpoint, err)
	}
	if len(data) > maxTlogReply {
		return nil, fmt.Errorf("%w: %s: the answer is larger than a witness's", ErrWitnessUnreachable, t.endpoint)
	}
	a := &answer{status: resp.StatusCode, body: data}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); resp.StatusCode == http.StatusConflict && mt == "text/x.tlog.size" {
		if a.size, err = ParseTlogSize(data); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrWitnessUnreachable, t.endpoint, err)
		}
		a.hasSize = true
	}
	return a, nil
}

// ParseTlogSize reads a 409 answer's text/x.tlog.size body: a tree size
// in decimal, with no leading zeroes, and a newline.
func ParseTlogSize(body []byte) (uint64, error) {
	s, ok := strings.CutSuffix(string(body), "\n")
	n, err := strconv.ParseUint(s, 10, 64)
	if !ok || err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("a 409 answer's size is not a decimal number and a newline: %q", excerptBytes(body))
	}
	return n, nil
}

// excerptBytes is the start of what another party sent, safe to print:
// control, format (bidi) and invalid characters become '?'.
func excerptBytes(b []byte) string {
	s, more := string(b), ""
	if len(s) > 64 {
		s, more = s[:64], "..."
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s) + more
}

// cosigned checks a 200 answer's cosignatures on note: at least one by
// this witness's key must verify. It returns the cosigned note.
func (t *Tlog) cosigned(log *Log, note []byte, a *answer) ([]byte, *manifest.NoteCheckpoint, error) {
	if len(a.body) == 0 || !bytes.HasPrefix(a.body, []byte("— ")) || !bytes.HasSuffix(a.body, []byte("\n")) {
		return nil, nil, fmt.Errorf("%w: %s answered 200 without cosignature lines", ErrWitnessUnreachable, t.endpoint)
	}
	out := append(append([]byte{}, note...), a.body...)
	nc, err := manifest.OpenNote(out, log.Signers, []string{t.spec.Key})
	if err == nil && len(nc.Cosignatures) == 0 {
		err = errors.New("no cosignature by its key")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s answered with cosignatures that do not verify with %s (%v): is that the witness whose key was registered?", ErrWitnessRefused, t.endpoint, t.spec.Key, err)
	}
	return out, nc, nil
}

// refusal explains an answer other than 200 and 409: what the witness's
// operator must do about it.
func (t *Tlog) refusal(log *Log, signed *manifest.NoteCheckpoint, old uint64, a *answer) error {
	vkey, _ := manifest.NoteVerifierKey(log.Origin, signed.Signer)
	said := excerptBytes(bytes.TrimSpace(a.body))
	switch a.status {
	case http.StatusNotFound:
		return fmt.Errorf("%w (404 %s): it does not witness %s; its operator must add this log with the station's key: custody witness serve --log-key %s", ErrWitnessRefused, said, log.Origin, vkey)
	case http.StatusForbidden:
		return fmt.Errorf("%w (403 %s): it does not trust the station's signature on %s; its operator must configure the station's key for this log: %s (custody key --store DIR --vkey prints it)", ErrWitnessRefused, said, log.Origin, vkey)
	case http.StatusUnprocessableEntity:
		return fmt.Errorf("%w (422 %s): it rejects the consistency proof from its checkpoint of %d entries to %d: the checkpoint it holds is not one this ledger extends (entries were rewritten, or a recorded loss: then its operator must reset its record of %s)", ErrWitnessFork, said, old, signed.Size, log.Origin)
	case http.StatusBadRequest:
		return fmt.Errorf("%w (400 %s): it says the request is malformed", ErrWitnessRefused, said)
	case http.StatusConflict:
		return fmt.Errorf("%w (409 %s): it holds a different checkpoint of %d entries", ErrWitnessRefused, said, old)
	case http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s is busy (429 %s); the store tries again at its next write", ErrWitnessUnreachable, t.endpoint, said)
	}
	return fmt.Errorf("%w: %s answered %d %s", ErrWitnessUnreachable, t.endpoint, a.status, said)
}

// Publish sends the witness the station-signed note of a new checkpoint,
// with a consistency proof from the last checkpoint it cosigned for this
// store, and keeps its cosignature. A checkpoint that only a person
// signed (p.Note nil) is not sent: the witness knows the station's key
// only, and catches up at the next checkpoint the station signs.
func (t *Tlog) Publish(ctx context.Context, log *Log, p *Published) error {
	if p.Note == nil {
		return nil
	}
	signed, err := manifest.OpenNote(p.Note, log.Signers, nil)
	if err != nil {
		return err
	}
	if err := t.keep(sentSuffix, p.Note); err != nil {
		return err
	}
	old := uint64(0)
	if k, _ := t.readKept(log, cosignedSuffix); k != nil && k.Size <= signed.Size && log.Ledger.Agrees(k.Checkpoint) == nil {
		old = k.Size
	}
	a, err := t.send(ctx, log, old, signed, p.Note)
	if err != nil {
		return err
	}
	if a.status == http.StatusConflict && a.hasSize && a.size != old {
		switch {
		case a.size > log.Ledger.Len():
			return t.ahead(log, a.size)
		case a.size > signed.Size:
			return nil // it already holds a newer checkpoint of this ledger
		}
		// It holds another size than the one kept here (state lost, or
		// a repeat after a network error): prove from that one, once.
		old = a.size
		if a, err = t.send(ctx, log, old, signed, p.Note); err != nil {
			return err
		}
	}
	if a.status != http.StatusOK {
		return t.refusal(log, signed, old, a)
	}
	out, _, err := t.cosigned(log, p.Note, a)
	if err != nil {
		return err
	}
	return t.keep(cosignedSuffix, out)
}

// send proves signed from old and submits it.
func (t *Tlog) send(ctx context.Context, log *Log, old uint64, signed *manifest.NoteCheckpoint, note []byte) (*answer, error) {
	var proof [][]byte
	if old > 0 && old < signed.Size {
		var err error
		if proof, err = log.Ledger.Tree().ConsistencyProof(old, signed.Size); err != nil {
			return nil, err
		}
	}
	return t.submit(ctx, old, proof, note)
}

func (t *Tlog) ahead(log *Log, size uint64) error {
	for _, l := range log.Losses {
		if size > l.Kept {
			return fmt.Errorf("%w: %s holds a checkpoint of %d entries of %s, of the history a recorded loss gave up (entry %d): it takes no checkpoint of this ledger until its operator resets its record of this store", ErrWitnessRefused, t.endpoint, size, log.Origin, l.Seq)
		}
	}
	return fmt.Errorf("%w: %s has cosigned a checkpoint of %d entries of %s, the ledger has %d: entries were removed, or the store was rolled back to an older copy", ErrWitnessAhead, t.endpoint, size, log.Origin, log.Ledger.Len())
}

// keep writes a state file atomically, creating the directory, and
// removes temporary files an interrupted keep left (writers hold the
// store lock).
func (t *Tlog) keep(suffix string, data []byte) error {
	if err := os.MkdirAll(t.state, 0o755); err != nil {
		return err
	}
	if stale, _ := filepath.Glob(filepath.Join(t.state, "."+t.file+".*.tmp-*")); len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	return atomicfile.WriteFile(t.path(suffix), data, 0o644)
}

// Check asks the witness what it holds, changing nothing there or here:
// it re-submits the newest note this station kept for it (the latest it
// cosigned, or a later one it was sent) with old size equal to that
// note's size and no proof. Status.Size is the largest checkpoint the
// witness is shown to hold that the ledger extends; full makes no
// difference, as the witness holds one checkpoint per log.
func (t *Tlog) Check(ctx context.Context, log *Log, full bool) *Status {
	if log.StationNote != nil {
		return t.sync(ctx, log)
	}
	st := &Status{Spec: t.spec}
	k, err := t.readKept(log, cosignedSuffix)
	if err != nil {
		st.Held = append(st.Held, Held{Where: t.path(cosignedSuffix), Judgment: Untrusted, Detail: err.Error()})
	}
	if k != nil {
		h := Held{Size: k.Size, Root: k.Root, Time: k.Time, Where: k.path, Judgment: log.Judge(k.Checkpoint)}
		if err := log.Ledger.Agrees(k.Checkpoint); err != nil {
			h.Detail = err.Error()
		}
		st.Held = append(st.Held, h)
		if h.Judgment == Agrees {
			st.Size = k.Size
		}
	}
	probe := k
	if s, _ := t.readKept(log, sentSuffix); s != nil && (probe == nil || s.Size > probe.Size) {
		probe = s
	}
	if probe == nil {
		// witnessed/ lost what it kept: ask with the registration's note,
		// and say that a rollback regrown past the witness's size cannot
		// be ruled out from here (a write with the station key can).
		if a, aerr := t.anchor(log); aerr == nil && a != nil {
			st.Held = append(st.Held, Held{Where: t.path(cosignedSuffix), Judgment: Lost,
				Detail: "the store no longer holds the checkpoint this witness last cosigned (witnessed/ was emptied or replaced), so a rollback regrown past its size cannot be ruled out here; the next write with the station key checks it against the witness"})
			probe = a
		}
	}
	if probe == nil {
		// Nothing signed to ask with: it has cosigned nothing for this
		// store yet (or witnessed/ was removed; the next checkpoint the
		// station signs asks it). Make sure at least that it answers.
		st.Err = t.reachable(ctx)
		return st
	}
	a, err := t.submit(ctx, probe.Size, nil, probe.note)
	if err != nil {
		st.Err = err
		return st
	}
	switch {
	case a.status == http.StatusOK:
		if _, _, err := t.cosigned(log, probe.note, a); err != nil {
			st.Err = err
		} else if probe.Size > st.Size && log.Ledger.Agrees(probe.Checkpoint) == nil {
			st.Size = probe.Size // it holds exactly this checkpoint
		}
	case a.status == http.StatusConflict && a.hasSize:
		t.judgeSize(st, log, k, probe, a.size)
	case a.status == http.StatusConflict, a.status == http.StatusUnprocessableEntity:
		// Asked with old size equal to the note's and no proof, the only
		// other refusal is of a root at that size other than the one it
		// holds: a 409 without a size by the spec, a 422 by some witnesses.
		t.judgeSize(st, log, k, probe, probe.Size)
	default:
		st.Err = t.refusal(log, probe.NoteCheckpoint, probe.Size, a)
	}
	return st
}

// sync is Check for a writer holding the station key: it asks the witness
// with a note of the whole ledger, and if the witness holds a smaller
// checkpoint, sends the consistency proof from it. The witness either
// accepts the proof (the ledger extends what it cosigned; it now holds
// the ledger's checkpoint, which is kept here) or refuses it (422: a
// fork). A larger size is a rollback. So a writer never depends on what
// witnessed/ kept.
func (t *Tlog) sync(ctx context.Context, log *Log) *Status {
	st := &Status{Spec: t.spec}
	signed, err := manifest.OpenNote(log.StationNote, log.Signers, nil)
	if err != nil {
		st.Err = err
		return st
	}
	held := Held{Size: signed.Size, Root: signed.Root, Where: t.endpoint, Judgment: Agrees}
	old := signed.Size
	a, err := t.submit(ctx, old, nil, log.StationNote)
	if err == nil && a.status == http.StatusConflict && a.hasSize && a.size != old {
		switch {
		case a.size > log.Ledger.Len():
			st.Held = append(st.Held, t.sizeHeld(log, a.size, Ahead, fmt.Sprintf("the witness says it has cosigned a checkpoint of %d entries; the ledger has %d", a.size, log.Ledger.Len())))
			return st
		default:
			old = a.size
			a, err = t.send(ctx, log, old, signed, log.StationNote)
		}
	}
	if err != nil {
		st.Err = err
		return st
	}
	switch {
	case a.status == http.StatusOK:
		out, _, cerr := t.cosigned(log, log.StationNote, a)
		if cerr != nil {
			st.Err = cerr
			return st
		}
		if err := t.keep(cosignedSuffix, out); err != nil {
			st.Err = err
			return st
		}
		st.Size = signed.Size
		st.Held = append(st.Held, held)
	case a.status == http.StatusUnprocessableEntity, a.status == http.StatusConflict && (!a.hasSize || a.size == old):
		st.Held = append(st.Held, t.sizeHeld(log, old, Fork, fmt.Sprintf("the witness refuses the consistency proof from the checkpoint of %d entries it holds to the ledger's %d: the ledger does not extend what it cosigned", old, signed.Size)))
	default:
		st.Err = t.refusal(log, signed, old, a)
	}
	return st
}

// sizeHeld is what a witness is known to hold from a size it gave, judged
// j, unless a recorded loss accounts for it.
func (t *Tlog) sizeHeld(log *Log, size uint64, j Judgment, detail string) Held {
	h := Held{Size: size, Where: t.endpoint, Judgment: j, Detail: detail}
	for _, l := range log.Losses {
		if size > l.Kept {
			h.Judgment = AccountedFor
			h.Detail += fmt.Sprintf(" (history a recorded loss gave up, entry %d: its operator must reset its record of this store)", l.Seq)
		}
	}
	return h
}

// reachable checks a witness answers add-checkpoint as one: a request
// with no checkpoint is malformed, which a witness answers 400 before
// looking at anything else, and which changes nothing.
func (t *Tlog) reachable(ctx context.Context) error {
	a, err := t.submit(ctx, 0, nil, nil)
	if err != nil {
		return err
	}
	if a.status != http.StatusBadRequest {
		return fmt.Errorf("%w: %s answered %d to a request without a checkpoint, where a tlog witness answers 400: is the URL its submission prefix?", ErrWitnessUnreachable, t.endpoint, a.status)
	}
	return nil
}

// judgeSize judges the size the witness says it holds, when it is not the
// checkpoint it was asked about. Only a size is known, not its root.
func (t *Tlog) judgeSize(st *Status, log *Log, k, probe *kept, size uint64) {
	var when time.Time // the newest this witness is known to have cosigned
	if k != nil {
		when = k.Time
	}
	// Its time is not known (a 409 carries only a size): Time stays zero.
	held := Held{Size: size, Where: t.endpoint}
	switch {
	case size > log.Ledger.Len():
		held.Judgment = Ahead
		held.Detail = fmt.Sprintf("the witness says it has cosigned a checkpoint of %d entries; the ledger has %d", size, log.Ledger.Len())
	case size == probe.Size && log.Ledger.Agrees(probe.Checkpoint) == nil:
		held.Judgment = Fork
		held.Detail = fmt.Sprintf("the witness holds a checkpoint of %d entries with another root than the ledger's, which the station signed", size)
	default:
		// Behind what it was sent (it lost its state, or was refused the
		// newest), or a newer checkpoint of this ledger that was not kept
		// here: nothing wrong can be shown, nothing more is confirmed.
		return
	}
	// A witness that still holds a checkpoint of history a recorded loss
	// gave up, and has cosigned nothing since, is accounted for.
	if log.Acknowledged(&manifest.Checkpoint{Size: size, Time: when}) != nil {
		held.Judgment = AccountedFor
	}
	st.Held = append(st.Held, held)
}
