package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

// StatementNamespace is the SSHSIG namespace of bundle statements, so that
// a statement signature can never pass for a ledger or checkpoint one.
const StatementNamespace = "custody-bundle-statement-v1"

// ErrMalformed means a bundle file is not in the exact form custody writes.
var ErrMalformed = errors.New("malformed bundle file")

// Statement is the station's signed account of a bundle: every file with
// its size and SHA-512, the file count and total bytes. It is plain text so
// that `ssh-keygen -Y verify` checks its signature and `sha512sum -c` its
// digests.
type Statement struct {
	Store      string
	Incident   string
	Export     uint64 // seq of the export entry
	Checkpoint uint64 // size of the checkpoint in custody/checkpoint
	Station    string // fingerprint of the signing station key
	Created    time.Time
	Files      []FileDigest // sorted by path
}

// FileDigest is one file the statement lists.
type FileDigest struct {
	Path   string
	Size   int64
	SHA512 string
}

// Count is the number of listed files.
func (s *Statement) Count() int { return len(s.Files) }

// Total is the number of bytes in the listed files.
func (s *Statement) Total() int64 {
	var n int64
	for _, f := range s.Files {
		n += f.Size
	}
	return n
}

// Marshal is the signed text.
func (s *Statement) Marshal() []byte {
	files := append([]FileDigest(nil), s.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n", StatementNamespace)
	fmt.Fprintf(&b, "store %s\n", s.Store)
	fmt.Fprintf(&b, "incident %s\n", s.Incident)
	fmt.Fprintf(&b, "export-entry %d\n", s.Export)
	fmt.Fprintf(&b, "checkpoint-size %d\n", s.Checkpoint)
	fmt.Fprintf(&b, "station %s\n", s.Station)
	fmt.Fprintf(&b, "created %s\n", s.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "files %d\n", len(files))
	fmt.Fprintf(&b, "bytes %d\n", s.Total())
	fmt.Fprintf(&b, "unlisted %s\n", strings.Join(Unlisted, " "))
	b.WriteString("\n")
	for _, f := range files {
		fmt.Fprintf(&b, "%s %d %s\n", f.SHA512, f.Size, f.Path)
	}
	return b.Bytes()
}

// MaxStatementSize bounds the statement a reader accepts.
const MaxStatementSize = 32 << 20

// ParseStatement parses a statement strictly: it must be byte for byte what
// Marshal writes, with the file count and byte total matching its lines.
func ParseStatement(data []byte) (*Statement, error) {
	bad := func(format string, a ...any) (*Statement, error) {
		return nil, fmt.Errorf("%w: statement: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if len(data) > MaxStatementSize {
		return bad("larger than %d bytes", MaxStatementSize)
	}
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return bad("no blank line after the header")
	}
	h := strings.Split(string(head), "\n")
	want := []string{StatementNamespace, "store ", "incident ", "export-entry ", "checkpoint-size ", "station ", "created ", "files ", "bytes ", "unlisted "}
	if len(h) != len(want) {
		return bad("header has %d lines, want %d", len(h), len(want))
	}
	vals := make([]string, len(want))
	for i, w := range want {
		if i == 0 {
			if h[0] != w {
				return bad("first line is %q, not %q", short(h[0]), w)
			}
			continue
		}
		v, ok := strings.CutPrefix(h[i], w)
		if !ok {
			return bad("line %d does not start with %q", i+1, w)
		}
		vals[i] = v
	}
	s := &Statement{Store: vals[1], Incident: vals[2], Station: vals[5]}
	var err error
	if s.Export, err = strconv.ParseUint(vals[3], 10, 64); err != nil {
		return bad("bad export-entry %q", short(vals[3]))
	}
	if s.Checkpoint, err = strconv.ParseUint(vals[4], 10, 64); err != nil {
		return bad("bad checkpoint-size %q", short(vals[4]))
	}
	if s.Created, err = time.Parse(time.RFC3339, vals[6]); err != nil {
		return bad("bad created time %q", short(vals[6]))
	}
	count, err := strconv.Atoi(vals[7])
	if err != nil {
		return bad("bad file count %q", short(vals[7]))
	}
	total, err := strconv.ParseInt(vals[8], 10, 64)
	if err != nil {
		return bad("bad byte total %q", short(vals[8]))
	}
	if vals[9] != strings.Join(Unlisted, " ") {
		return bad("unlisted files are %q, want %q", short(vals[9]), strings.Join(Unlisted, " "))
	}
	seen := map[string]bool{}
	if len(body) > 0 {
		if body[len(body)-1] != '\n' {
			return bad("last line has no line ending")
		}
		for i, line := range strings.Split(string(body[:len(body)-1]), "\n") {
			f := strings.SplitN(line, " ", 3)
			if len(f) != 3 || len(f[0]) != 128 || !isLowerHex(f[0]) {
				return bad("file line %d is not \"SHA512 SIZE PATH\"", i+1)
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || size < 0 {
				return bad("file line %d: bad size %q", i+1, short(f[1]))
			}
			if is := CheckPath(f[2]); is != nil {
				return bad("file line %d: %s", i+1, is)
			}
			if seen[foldKey(f[2])] {
				return bad("file line %d: %s is listed twice", i+1, f[2])
			}
			seen[foldKey(f[2])] = true
			s.Files = append(s.Files, FileDigest{Path: f[2], Size: size, SHA512: f[0]})
		}
	}
	if count != len(s.Files) {
		return bad("says %d files but lists %d", count, len(s.Files))
	}
	if total != s.Total() {
		return bad("says %d bytes but its files add up to %d", total, s.Total())
	}
	if !bytes.Equal(s.Marshal(), data) {
		return bad("not in canonical form (reordered, respaced or re-encoded)")
	}
	return s, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// SignStatement signs a statement's text and returns the armored signature.
func SignStatement(body []byte, signer seal.Signer) ([]byte, error) {
	blob, err := signer.Sign(StatementNamespace, body)
	if err != nil {
		return nil, err
	}
	return seal.ArmorSignature(blob), nil
}

// VerifyStatement checks an armored signature over a statement's text and
// returns the key that made it; the caller decides whether to trust it.
func VerifyStatement(body, armoredSig []byte) (ssh.PublicKey, error) {
	blob, err := seal.UnarmorSignature(armoredSig)
	if err != nil {
		return nil, err
	}
	return seal.VerifySignature(blob, StatementNamespace, body)
}

// MaxIncidentLen bounds an incident reference.
const MaxIncidentLen = 200

// ErrBadIncident refuses an incident reference that cannot be written
// safely on one line of the statement and bag-info.txt.
var ErrBadIncident = errors.New("bad incident reference")

// CheckIncident accepts a one-line printable reference.
func CheckIncident(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: it is empty; give the police or case reference with --incident", ErrBadIncident)
	case len(s) > MaxIncidentLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrBadIncident, MaxIncidentLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadIncident)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%w: %q has leading or trailing spaces", ErrBadIncident, s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return fmt.Errorf("%w: %q contains a control or invisible character (%U)", ErrBadIncident, s, r)
		}
	}
	return nil
}

// ReadStatement reads the signed statement of the bundle at path (a
// directory or zip) without verifying anything: use it after verification.
func ReadStatement(path string) (*Statement, []byte, error) {
	r, err := Open(path, Limits{})
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	f := r.Lookup(StatementFile)
	if f == nil {
		return nil, nil, fmt.Errorf("%w: %s has no %s", ErrMalformed, path, StatementFile)
	}
	body, err := r.ReadSmall(f, MaxStatementSize)
	if err != nil {
		return nil, nil, err
	}
	st, err := ParseStatement(body)
	if err != nil {
		return nil, nil, err
	}
	return st, body, nil
}
