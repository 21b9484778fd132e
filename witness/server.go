package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/custody-evidence/custody/internal/atomicfile"
	"github.com/custody-evidence/custody/manifest"
	tnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Server is a C2SP transparency-log witness (c2sp.org/tlog-witness): it
// answers add-checkpoint requests for the logs it is configured with,
// checks each new checkpoint is signed by the log and consistent with the
// last one it cosigned, keeps that durably, and cosigns it
// (c2sp.org/tlog-cosignature, cosignature/v1). A trust runs one on a host
// the custody station cannot write to; the store then cannot be rolled
// back without the witness noticing.
//
// Requests need no credentials: the protocol authenticates them by the
// log's signature on the checkpoint, and the witness only ever moves a
// log forward along a consistency proof.
type Server struct {
	signer *tnote.Signer
	vkey   string
	logs   map[string][]note.Verifier // by origin
	dir    string
	logf   func(format string, args ...any)
	mu     sync.Mutex // with the lock file, makes check-and-update atomic
}

// ServerConfig configures a Server.
type ServerConfig struct {
	// Key is the witness's private key, as custody witness keygen writes
	// it (PRIVATE+KEY+NAME+HASH+BASE64).
	Key string
	// LogKeys are the note verifier keys of the logs it witnesses; a key's
	// name is its log's origin, and a log may have several keys.
	LogKeys []string
	// State is the directory where it keeps each log's latest cosigned
	// checkpoint.
	State string
	// Logf, if set, hears of every request and its answer.
	Logf func(format string, args ...any)
}

// Limits of an add-checkpoint request.
const (
	MaxRequestBody = 64 << 10
	lockName       = ".lock"
)

// ErrServerConfig refuses a witness server configuration.
var ErrServerConfig = errors.New("bad witness configuration")

// NewServer checks the configuration and returns the witness.
func NewServer(cfg ServerConfig) (*Server, error) {
	signer, err := tnote.NewSignerForCosignatureV1(strings.TrimSpace(cfg.Key))
	if err != nil {
		return nil, fmt.Errorf("%w: the witness key is not a note private key (PRIVATE+KEY+...; make one with custody witness keygen): %v", ErrServerConfig, err)
	}
	s := &Server{signer: signer, logs: map[string][]note.Verifier{}, dir: cfg.State, logf: cfg.Logf}
	if s.vkey, err = CosignerVerifierKey(cfg.Key); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServerConfig, err)
	}
	if len(cfg.LogKeys) == 0 {
		return nil, fmt.Errorf("%w: no log to witness: give each log's key (custody key --store DIR --vkey prints a store's)", ErrServerConfig)
	}
	for _, k := range cfg.LogKeys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("%w: log key %q is not a note verifier key (ORIGIN+HASH+BASE64): %v", ErrServerConfig, k, err)
		}
		s.logs[v.Name()] = append(s.logs[v.Name()], v)
	}
	if cfg.State == "" {
		return nil, fmt.Errorf("%w: no state directory", ErrServerConfig)
	}
	if err := os.MkdirAll(cfg.State, 0o700); err != nil {
		return nil, err
	}
	return s, nil
}

// CosignerVerifierKey returns the cosignature/v1 verifier key of a
// witness private key: what a store registers (custody witness add --key).
func CosignerVerifierKey(skey string) (string, error) {
	s, err := tnote.NewSignerForCosignatureV1(strings.TrimSpace(skey))
	if err != nil {
		return "", err
	}
	fields := strings.SplitN(strings.TrimSpace(skey), "+", 5) // the key's base64 may hold '+'
	raw, err := base64.StdEncoding.DecodeString(fields[len(fields)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return "", errors.New("only Ed25519 witness keys are supported")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey := fmt.Sprintf("%s+%08x+%s", s.Name(), s.KeyHash(), base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
	if v, err := tnote.NewVerifierForCosignatureV1(vkey); err != nil || v.KeyHash() != s.KeyHash() {
		return "", errors.New("the key's hash does not match its key")
	}
	return vkey, nil
}

// VerifierKey is the witness's cosignature verifier key.
func (s *Server) VerifierKey() string { return s.vkey }

// Origins lists the logs the witness is configured for.
func (s *Server) Origins() []string {
	var out []string
	for o := range s.logs {
		out = append(out, o)
	}
	return out
}

// Handler serves add-checkpoint under prefix ("" for the root).
func (s *Server) Handler(prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+strings.TrimSuffix(prefix, "/")+"/add-checkpoint", s)
	return mux
}

// AddCheckpointRequest is a parsed add-checkpoint request body.
type AddCheckpointRequest struct {
	Old   uint64
	Proof [][]byte
	Note  []byte // the signed checkpoint
}

// ParseAddCheckpoint parses an add-checkpoint request body: "old N", up
// to 63 base64 hashes, an empty line, then the signed checkpoint.
func ParseAddCheckpoint(body []byte) (*AddCheckpointRequest, error) {
	rest := string(body)
	line, rest, ok := strings.Cut(rest, "\n")
	num, isOld := strings.CutPrefix(line, "old ")
	if !ok || !isOld {
		return nil, errors.New(`the first line must be "old" and a size`)
	}
	req := &AddCheckpointRequest{}
	var err error
	if req.Old, err = strconv.ParseUint(num, 10, 64); err != nil || strconv.FormatUint(req.Old, 10) != num {
		return nil, fmt.Errorf("old size %q is not a decimal number without leading zeroes", num)
	}
	for {
		if line, rest, ok = strings.Cut(rest, "\n"); !ok {
			return nil, errors.New("no empty line before the checkpoint")
		}
		if line == "" {
			break
		}
		if len(req.Proof) == MaxProofLines {
			return nil, fmt.Errorf("more than %d consistency proof lines", MaxProofLines)
		}
		h, err := base64.StdEncoding.Strict().DecodeString(line)
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("proof line %d is not a base64 SHA-256 hash", len(req.Proof)+1)
		}
		req.Proof = append(req.Proof, h)
	}
	req.Note = []byte(rest)
	return req, nil
}

// checkpointText is a checkpoint body (c2sp.org/tlog-checkpoint).
type checkpointText struct {
	origin string
	size   uint64
	root   []byte
}

// parseCheckpointText reads a note's text as a checkpoint: origin, size
// and root hash lines, then any extension lines.
func parseCheckpointText(text string) (*checkpointText, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasSuffix(text, "\n") || len(lines) < 3 {
		return nil, errors.New("a checkpoint has origin, size and root hash lines")
	}
	c := &checkpointText{origin: lines[0]}
	var err error
	if c.size, err = strconv.ParseUint(lines[1], 10, 64); err != nil || strconv.FormatUint(c.size, 10) != lines[1] {
		return nil, fmt.Errorf("checkpoint size %q is not a decimal number", excerptBytes([]byte(lines[1])))
	}
	if c.root, err = base64.StdEncoding.Strict().DecodeString(lines[2]); err != nil || len(c.root) != sha256.Size {
		return nil, errors.New("checkpoint root is not a base64 SHA-256 hash")
	}
	for _, l := range lines {
		if l == "" {
			return nil, errors.New("a checkpoint has no empty lines")
		}
	}
	return c, nil
}

// result is the answer to one request.
type result struct {
	status int
	size   uint64 // 409: the size the witness holds
	sigs   []byte // 200: cosignature lines
	why    string
}

func fail(status int, format string, args ...any) *result {
	return &result{status: status, why: fmt.Sprintf(format, args...)}
}

// ServeHTTP answers one add-checkpoint request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "add-checkpoint takes POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	var res *result
	if err != nil {
		res = fail(http.StatusRequestEntityTooLarge, "request body: %v", err)
	} else {
		res = s.addCheckpoint(r.Context(), body)
	}
	if s.logf != nil {
		s.logf("%s add-checkpoint: %d %s", r.RemoteAddr, res.status, res.why)
	}
	switch res.status {
	case http.StatusOK:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(res.sigs)
	case http.StatusConflict:
		w.Header().Set("Content-Type", "text/x.tlog.size")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, "%d\n", res.size)
	default:
		http.Error(w, res.why, res.status)
	}
}

// addCheckpoint runs the protocol's checks on one request body, in the
// order c2sp.org/tlog-witness gives them, and on success records the
// checkpoint durably and cosigns it.
func (s *Server) addCheckpoint(ctx context.Context, body []byte) *result {
	req, err := ParseAddCheckpoint(body)
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	text, _, ok := bytes.Cut(req.Note, []byte("\n\n"))
	if !ok {
		return fail(http.StatusBadRequest, "the checkpoint has no signature lines")
	}
	c, err := parseCheckpointText(string(text) + "\n")
	if err != nil {
		return fail(http.StatusBadRequest, "%v", err)
	}
	vs, known := s.logs[c.origin]
	if !known {
		return fail(http.StatusNotFound, "unknown log %q", excerptBytes([]byte(c.origin)))
	}
	if _, err := note.Open(req.Note, note.VerifierList(vs...)); err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return fail(http.StatusForbidden, "%s: no signature by a key of this log verifies", c.origin)
		}
		return fail(http.StatusBadRequest, "%s: %v", c.origin, err)
	}
	if req.Old > c.size {
		return fail(http.StatusBadRequest, "%s: old size %d is larger than the checkpoint's %d", c.origin, req.Old, c.size)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return fail(http.StatusServiceUnavailable, "%v", err)
	}
	defer unlock()
	return s.advance(req, c, text)
}

// advance checks the request against the stored checkpoint and moves it
// forward. The caller holds the lock.
func (s *Server) advance(req *AddCheckpointRequest, c *checkpointText, text []byte) *result {
	held, err := s.load(c.origin)
	if err != nil {
		return fail(http.StatusInternalServerError, "%s: reading the witness's state: %v", c.origin, err)
	}
	var size uint64
	if held != nil {
		size = held.size
	}
	if req.Old != size {
		return &result{status: http.StatusConflict, size: size, why: fmt.Sprintf("%s: old size %d, it holds %d", c.origin, req.Old, size)}
	}
	if held != nil && req.Old == c.size {
		if len(req.Proof) != 0 {
			return fail(http.StatusUnprocessableEntity, "%s: a proof between equal sizes is empty", c.origin)
		}
		if !bytes.Equal(held.root, c.root) {
			return &result{status: http.StatusConflict, size: size, why: fmt.Sprintf("%s: another root at size %d", c.origin, size)}
		}
		return s.cosign(c, text, req.Note, false)
	}
	var root1 []byte
	if held != nil {
		root1 = held.root
	}
	if err := manifest.VerifyConsistency(req.Old, c.size, req.Proof, root1, c.root); err != nil {
		return fail(http.StatusUnprocessableEntity, "%s: consistency proof from %d to %d: %v", c.origin, req.Old, c.size, err)
	}
	return s.cosign(c, text, req.Note, true)
}

// cosign signs the checkpoint and, if it moved, records it before the
// answer goes out.
func (s *Server) cosign(c *checkpointText, text, signed []byte, moved bool) *result {
	out, err := note.Sign(&note.Note{Text: string(text) + "\n"}, s.signer)
	if err != nil {
		return fail(http.StatusInternalServerError, "%s: cosigning: %v", c.origin, err)
	}
	sigs := out[len(text)+2:]
	if moved {
		if err := atomicfile.WriteFile(s.statePath(c.origin), append(append([]byte{}, signed...), sigs...), 0o600); err != nil {
			return fail(http.StatusInternalServerError, "%s: recording the checkpoint: %v", c.origin, err)
		}
	}
	why := fmt.Sprintf("%s: cosigned size %d", c.origin, c.size)
	if !moved {
		why += ", which it already held"
	}
	return &result{status: http.StatusOK, sigs: sigs, why: why}
}

// statePath is where the latest cosigned checkpoint of origin is kept.
func (s *Server) statePath(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return filepath.Join(s.dir, fmt.Sprintf("%s-%x.checkpoint", safeName(origin), h[:6]))
}

// load reads the latest cosigned checkpoint of origin; nil if none.
func (s *Server) load(origin string) (*checkpointText, error) {
	data, err := readRegular(s.statePath(origin), MaxRequestBody)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	text, _, _ := bytes.Cut(data, []byte("\n\n"))
	c, err := parseCheckpointText(string(text) + "\n")
	if err == nil && c.origin != origin {
		err = fmt.Errorf("it holds a checkpoint of %q", c.origin)
	}
	return c, err
}

// lock takes the in-process and the cross-process lock.
func (s *Server) lock(ctx context.Context) (func(), error) {
	s.mu.Lock()
	f, err := os.OpenFile(filepath.Join(s.dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		err = lockFile(ctx, f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("locking the witness's state: %w", err)
	}
	return func() { f.Close(); s.mu.Unlock() }, nil
}
