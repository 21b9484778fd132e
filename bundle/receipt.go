package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"golang.org/x/crypto/ssh"
)

// ReceiptNamespace is the SSHSIG namespace of receipts.
const ReceiptNamespace = "custody-bundle-receipt-v1"

// ErrBadReceipt means a receipt is malformed or its signature fails.
var ErrBadReceipt = errors.New("bad receipt")

// Receipt is the receiver's countersignature: it received the bundle whose
// statement has this digest, verified it, at this time. The statement's
// SHA-256 is the bundle digest: the statement commits to every file, and
// it is the same for the directory and zip forms.
type Receipt struct {
	StatementSHA256 string
	Store           string
	Export          uint64
	Incident        string
	Station         string // fingerprint the receiver verified against
	Receiver        string // name
	ReceiverKey     string // fingerprint of the signing key
	Received        time.Time
	Sig             []byte // SSHSIG blob over Body()
}

// Body is the signed text.
func (r *Receipt) Body() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n", ReceiptNamespace)
	fmt.Fprintf(&b, "statement-sha256 %s\n", r.StatementSHA256)
	fmt.Fprintf(&b, "store %s\n", r.Store)
	fmt.Fprintf(&b, "export-entry %d\n", r.Export)
	fmt.Fprintf(&b, "incident %s\n", r.Incident)
	fmt.Fprintf(&b, "station %s\n", r.Station)
	fmt.Fprintf(&b, "receiver %s\n", r.Receiver)
	fmt.Fprintf(&b, "receiver-key %s\n", r.ReceiverKey)
	fmt.Fprintf(&b, "received %s\n", r.Received.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "verified yes\n")
	return b.Bytes()
}

// Marshal is the file form: body, blank line, armored signature (like a
// checkpoint, so `ssh-keygen -Y verify` checks it after the same split).
func (r *Receipt) Marshal() []byte {
	return append(append(r.Body(), '\n'), seal.ArmorSignature(r.Sig)...)
}

// NewReceipt signs a receipt for a verified bundle with the receiver's key.
func NewReceipt(st *Statement, statement []byte, receiver string, now time.Time, signer seal.Signer) (*Receipt, error) {
	if receiver == "" || strings.ContainsAny(receiver, "\r\n") || len(receiver) > 200 {
		return nil, fmt.Errorf("%w: the receiver's name must be one line of at most 200 bytes", ErrBadReceipt)
	}
	sum := sha256.Sum256(statement)
	r := &Receipt{StatementSHA256: hex.EncodeToString(sum[:]), Store: st.Store, Export: st.Export, Incident: st.Incident,
		Station: st.Station, Receiver: receiver, ReceiverKey: seal.Fingerprint(signer.PublicKey()), Received: now.UTC().Truncate(time.Second)}
	sig, err := signer.Sign(ReceiptNamespace, r.Body())
	if err != nil {
		return nil, err
	}
	r.Sig = sig
	return r, nil
}

// ParseReceipt parses the file form and checks its signature, which must be
// by the key the receipt names. It returns the key.
func ParseReceipt(data []byte) (*Receipt, ssh.PublicKey, error) {
	bad := func(format string, a ...any) (*Receipt, ssh.PublicKey, error) {
		return nil, nil, fmt.Errorf("%w: %s", ErrBadReceipt, fmt.Sprintf(format, a...))
	}
	if len(data) > 64<<10 {
		return bad("larger than 64 KiB")
	}
	body, sigPart, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return bad("no signature")
	}
	body = append(body, '\n')
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	keys := []string{ReceiptNamespace, "statement-sha256 ", "store ", "export-entry ", "incident ", "station ", "receiver ", "receiver-key ", "received ", "verified "}
	if len(lines) != len(keys) || lines[0] != ReceiptNamespace {
		return bad("not a custody receipt")
	}
	v := make([]string, len(keys))
	for i := 1; i < len(keys); i++ {
		s, ok := strings.CutPrefix(lines[i], keys[i])
		if !ok {
			return bad("line %d should start with %q", i+1, keys[i])
		}
		v[i] = s
	}
	r := &Receipt{StatementSHA256: v[1], Store: v[2], Incident: v[4], Station: v[5], Receiver: v[6], ReceiverKey: v[7]}
	var err error
	if r.Export, err = strconv.ParseUint(v[3], 10, 64); err != nil {
		return bad("bad export-entry")
	}
	if r.Received, err = time.Parse(time.RFC3339, v[8]); err != nil {
		return bad("bad received time")
	}
	if len(r.StatementSHA256) != 64 || !isLowerHex(r.StatementSHA256) {
		return bad("bad statement digest")
	}
	if v[9] != "yes" || !bytes.Equal(r.Body(), body) {
		return bad("not in canonical form")
	}
	if r.Sig, err = seal.UnarmorSignature(sigPart); err != nil {
		return bad("%v", err)
	}
	pub, err := seal.VerifySignature(r.Sig, ReceiptNamespace, body)
	if err != nil {
		return bad("%v", err)
	}
	if seal.Fingerprint(pub) != r.ReceiverKey {
		return bad("signed by %s, but names %s as the receiver's key", seal.Fingerprint(pub), r.ReceiverKey)
	}
	return r, pub, nil
}

// ImportReceipt checks a receipt file and records it in the store's ledger
// as a "receipt" entry: the signature must verify, the receipt must be for
// this store, and the statement digest must be that of the bundle this
// station produced for that export.
func ImportReceipt(ctx context.Context, s *store.Store, data []byte) (*store.ReceiptPayload, *manifest.Record, error) {
	r, pub, err := ParseReceipt(data)
	if err != nil {
		return nil, nil, err
	}
	if r.Store != s.Config.ID {
		return nil, nil, fmt.Errorf("%w: the receipt is for store %s, not this one (%s)", store.ErrReceiptMismatch, r.Store, s.Config.ID)
	}
	line, err := s.StationKey()
	if err != nil {
		return nil, nil, err
	}
	station, err := seal.ParsePublicKey(line)
	if err != nil {
		return nil, nil, err
	}
	if r.Station != seal.Fingerprint(station) {
		return nil, nil, fmt.Errorf("%w: the receiver verified the bundle against station key %s, not this station's %s", store.ErrReceiptMismatch, r.Station, seal.Fingerprint(station))
	}
	p := store.ReceiptPayload{Export: r.Export, Incident: r.Incident, StatementSHA256: r.StatementSHA256, Receiver: r.Receiver,
		ReceiverKey: seal.AuthorizedKey(pub), Received: r.Received.Format(time.RFC3339), Receipt: string(data)}
	rec, err := s.AddReceipt(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if err := rec.Payload(&p); err != nil {
		return nil, nil, err
	}
	return &p, rec, nil
}
