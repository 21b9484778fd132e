package manifest

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

// Checkpoint commits to the ledger's first Size entries. Its body follows
// the C2SP tlog-checkpoint note body (origin, size, base64 root hash, then
// extension lines), and it is signed with SSHSIG so that
//
//	sed '/^$/,$d' checkpoint > body; sed '1,/^$/d' checkpoint > body.sig
//	ssh-keygen -Y verify -f allowed_signers -I station -n custody-checkpoint-v1 -s body.sig < body
//
// checks it with stock tools.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
	Time   time.Time
	Sig    []byte // SSHSIG blob over Body()
}

// ErrBadCheckpoint means a checkpoint is malformed or its signature fails.
var ErrBadCheckpoint = errors.New("bad checkpoint")

// Body is the signed text.
func (c *Checkpoint) Body() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\ntime %s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root), c.Time.UTC().Format(time.RFC3339))
}

// Marshal is the file form: body, blank line, armored signature.
func (c *Checkpoint) Marshal() []byte {
	return append(append(c.Body(), '\n'), seal.ArmorSignature(c.Sig)...)
}

// NewCheckpoint signs a checkpoint for the first size entries of l.
func NewCheckpoint(l *Ledger, origin string, size uint64, now time.Time, s seal.Signer) (*Checkpoint, error) {
	root, err := l.Tree().Root(size)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{Origin: origin, Size: size, Root: root, Time: now.UTC().Truncate(time.Second)}
	c.Sig, err = s.Sign(CheckpointNamespace, c.Body())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParseCheckpoint parses the file form, exactly as Marshal writes it, and
// checks the signature is valid; it returns the signing key, which the
// caller must decide to trust.
func ParseCheckpoint(data []byte) (*Checkpoint, ssh.PublicKey, error) {
	if len(data) > 64<<10 {
		return nil, nil, fmt.Errorf("%w: too large", ErrBadCheckpoint)
	}
	body, sigPart, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, nil, fmt.Errorf("%w: no signature", ErrBadCheckpoint)
	}
	body = append(body, '\n')
	c, err := parseBody(body)
	if err != nil {
		return nil, nil, err
	}
	if c.Sig, err = unarmorExact(sigPart); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	pub, err := seal.VerifySignature(c.Sig, CheckpointNamespace, body)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	return c, pub, nil
}

// parseBody parses a checkpoint body (origin, size, root and time lines),
// which must be exactly as Body writes it.
func parseBody(body []byte) (*Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[3], "time ") {
		return nil, fmt.Errorf("%w: body must have origin, size, root and time lines", ErrBadCheckpoint)
	}
	c := &Checkpoint{Origin: lines[0]}
	var err error
	if c.Size, err = strconv.ParseUint(lines[1], 10, 64); err != nil || strconv.FormatUint(c.Size, 10) != lines[1] {
		return nil, fmt.Errorf("%w: bad size %q", ErrBadCheckpoint, lines[1])
	}
	if c.Root, err = base64.StdEncoding.Strict().DecodeString(lines[2]); err != nil || len(c.Root) != 32 {
		return nil, fmt.Errorf("%w: bad root hash", ErrBadCheckpoint)
	}
	if c.Time, err = time.Parse(time.RFC3339, strings.TrimPrefix(lines[3], "time ")); err != nil {
		return nil, fmt.Errorf("%w: bad time", ErrBadCheckpoint)
	}
	if !bytes.Equal(c.Body(), body) {
		return nil, fmt.Errorf("%w: body is not in canonical form", ErrBadCheckpoint)
	}
	return c, nil
}

const armorBegin = "-----BEGIN SSH SIGNATURE-----"

// unarmorExact returns the signature in sigPart, which must be exactly one
// armored SSH signature as seal.ArmorSignature writes it: a parser that
// skipped text around it, or took the first of two blocks, would let one
// checkpoint be spelled many ways, and let a file carry text that no
// signature covers.
func unarmorExact(sigPart []byte) ([]byte, error) {
	i := bytes.Index(sigPart, []byte(armorBegin))
	if i > 0 {
		return nil, fmt.Errorf("text %s before the armored signature", excerpt(sigPart[:i]))
	}
	var blk *pem.Block
	var rest []byte
	if i == 0 {
		blk, rest = pem.Decode(sigPart)
	}
	if blk == nil || blk.Type != "SSH SIGNATURE" {
		return nil, errors.New("no armored SSH signature after the blank line")
	}
	canon := seal.ArmorSignature(blk.Bytes)
	switch {
	case bytes.Equal(sigPart, canon):
		return blk.Bytes, nil
	case bytes.Contains(rest, []byte("-----BEGIN")) || bytes.Count(sigPart, []byte(armorBegin)) > 1:
		return nil, errors.New("a second armored block after the signature")
	case len(rest) > 0 && bytes.Equal(sigPart[:len(sigPart)-len(rest)], canon):
		return nil, fmt.Errorf("text %s after the armored signature", excerpt(rest))
	case bytes.Equal(append(bytes.Clone(sigPart), '\n'), canon):
		return nil, errors.New("armored signature does not end with a newline")
	default:
		return nil, errors.New("armored signature is not in canonical form (line breaks, spacing or headers)")
	}
}

// excerpt quotes the start of b for an error message, on one line.
func excerpt(b []byte) string {
	const max = 24
	if len(b) > max {
		return fmt.Sprintf("%q…", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
