package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

// Dual control. In a store made with --dual-control, each original is
// sealed to a fresh X25519 identity of its own (the clip key), and that
// key is never stored whole. Its text form is split with XOR into two
// random-looking halves:
//
//   - the owner share, sealed to the owner (the person who recorded it);
//   - the DPO share, sealed to every DPO except the owner.
//
// Stock age with either person's key decrypts at most one share, which is
// indistinguishable from random bytes, and can decrypt no original. To
// open, the owner files a signed request; a DPO's signed approval unwraps
// the DPO share and re-seals it to the requester as a grant bound to that
// request id, clip, requester and expiry. open unwraps the grant and the
// owner share with the owner's key, recombines the clip key in memory,
// ledgers the access (consuming the grant and destroying its file), then
// decrypts and checks the hash. Purge destroys the shares: without them the
// sealed bytes, wherever copies went, cannot be opened (crypto-shredding).

// KeysDir holds sealed key shares and grants.
const KeysDir = "keys"

var (
	// ErrNotDualControl means the operation needs a dual-control store.
	ErrNotDualControl = errors.New("this store is not under dual control")
	// ErrNotOwner refuses a request by anyone but the clip's owner.
	ErrNotOwner = errors.New("refused: only the clip's owner may request to open it")
	// ErrSelfApproval refuses a DPO approving their own request.
	ErrSelfApproval = errors.New("refused: a request cannot be approved by the person who made it")
	// ErrNoRequest means there is no such request.
	ErrNoRequest = errors.New("no such request")
	// ErrWrongClip refuses an approval or grant used for another clip.
	ErrWrongClip = errors.New("refused: the request is for another clip")
	// ErrReplay refuses an approval or grant that was already used.
	ErrReplay = errors.New("refused: already used")
	// ErrExpired refuses an expired request or approval.
	ErrExpired = errors.New("refused: expired")
	// ErrNotApproved means there is no usable approval.
	ErrNotApproved = errors.New("refused: no approved request")
	// ErrNoDPO means a dual-control import has no DPO to hold the share.
	ErrNoDPO = errors.New("no DPO can hold the clip's key share")
	// ErrWrongPurpose refuses an approval used for another purpose than
	// the one it was given for (an approval to redact does not open).
	ErrWrongPurpose = errors.New("refused: the approval is for another purpose")
	// ErrBadRequest refuses a malformed request.
	ErrBadRequest = errors.New("bad request")
)

// Purposes of a request: what the approval lets the requester do.
const (
	// PurposeOpen: decrypt the original to a file (custody open).
	PurposeOpen = "open"
	// PurposeRedact: run the redactor on the original inside custody; the
	// plaintext goes only to ffmpeg, and the redacted version is sealed
	// for the DPOs (custody redact --store).
	PurposeRedact = "redact"
)

// purposeOf normalises a purpose: requests made before purposes existed
// were all to open.
func purposeOf(p string) string {
	if p == "" {
		return PurposeOpen
	}
	return p
}

func validPurpose(p string) bool { return p == PurposeOpen || p == PurposeRedact }

// Share kinds.
const (
	ShareOwner = "owner"
	ShareDPO   = "dpo"
	// ShareDerived is not a share but a whole key: the X25519 key a
	// redacted version and its review files are sealed to, itself sealed
	// to every DPO (see derived.go).
	ShareDerived = "derived"
)

// Share is one half of a dual-control clip's key, sealed to its holders.
type Share struct {
	Kind    string   `json:"kind"`    // owner or dpo
	Holders []string `json:"holders"` // names of the people it is sealed to
	Object  Object   `json:"object"`
}

// sharePlain is what a share file decrypts to.
type sharePlain struct {
	V     int    `json:"v"`
	Store string `json:"store"`
	Clip  string `json:"clip"`
	Kind  string `json:"kind"`
	Share string `json:"share"` // base64 XOR half
}

// grantPlain is what a grant file decrypts to: the DPO share, bound.
type grantPlain struct {
	V         int    `json:"v"`
	Store     string `json:"store"`
	Clip      string `json:"clip"`
	Request   string `json:"request"`
	Requester string `json:"requester"` // key fingerprint
	Expires   string `json:"expires"`
	Purpose   string `json:"purpose,omitempty"` // empty: open
	Share     string `json:"share"`
}

// Request is a request to open a dual-control original.
type Request struct {
	ID           string  `json:"id"`
	Clip         string  `json:"clip"`
	Requester    string  `json:"requester"`
	RequesterKey string  `json:"requester_key"`
	Reason       string  `json:"reason"`
	Incident     string  `json:"incident"`
	Purpose      string  `json:"purpose"` // open or redact
	At           string  `json:"at"`
	ExpiresAt    string  `json:"expires_at"` // unapproved requests lapse
	Status       string  `json:"status"`     // pending, approved, opened (StatusAt adds expired)
	ApprovedBy   string  `json:"approved_by,omitempty"`
	ApprovedKey  string  `json:"approved_key,omitempty"`
	ApprovedAt   string  `json:"approved_at,omitempty"`
	GrantExpires string  `json:"grant_expires,omitempty"`
	Grant        *Object `json:"grant,omitempty"`
	OpenedAt     string  `json:"opened_at,omitempty"`
	// Derived is the redacted version made under a redaction request.
	Derived string `json:"derived,omitempty"`
	Seq     uint64 `json:"seq"`
}

// Request statuses.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestOpened   = "opened"
	RequestExpired  = "expired"  // time-dependent: see StatusAt
	RequestShredded = "shredded" // grant destroyed unused (expired, or the clip purged)
)

// StatusAt is the request's status at now: a pending request or an unused
// approval past its expiry is expired.
func (r *Request) StatusAt(now time.Time) string {
	switch r.Status {
	case RequestPending:
		if t, err := time.Parse(time.RFC3339Nano, r.ExpiresAt); err == nil && !now.Before(t) {
			return RequestExpired
		}
	case RequestApproved:
		if t, err := time.Parse(time.RFC3339Nano, r.GrantExpires); err == nil && !now.Before(t) {
			return RequestExpired
		}
	}
	return r.Status
}

// RequestPayload is the payload of a "request" entry.
type RequestPayload struct {
	ID        string `json:"id"`
	Reason    string `json:"reason"`
	Incident  string `json:"incident"`
	ExpiresAt string `json:"expires_at"`
	// Purpose is what the requester means to do: open (empty) or redact.
	Purpose string `json:"purpose,omitempty"`
	Statement
}

// ApprovePayload is the payload of an "approve" entry.
type ApprovePayload struct {
	Request   string `json:"request"`
	Requester string `json:"requester"` // key fingerprint the grant is sealed to
	Grant     Object `json:"grant"`
	ExpiresAt string `json:"expires_at"`
	Note      string `json:"note,omitempty"`
	Statement
}

// ShredPayload is the payload of a "grant.shred" entry: an unused grant
// destroyed because it expired or its clip was purged.
type ShredPayload struct {
	Request    string `json:"request"`
	Grant      Object `json:"grant"`
	Why        string `json:"why"`
	PolicyTime string `json:"policy_time"`
}

// RewrapPayload is the payload of a "keys.rewrap" entry: DPO shares
// re-sealed because the set of DPOs changed.
type RewrapPayload struct {
	Reason string        `json:"reason"`
	Shares []RewrapShare `json:"shares"`
}

// RewrapShare replaces one clip's DPO share.
type RewrapShare struct {
	Clip string `json:"clip"`
	Old  string `json:"old"` // object id retired
	New  Share  `json:"new"`
}

// clipKey is a fresh clip identity split into two shares.
type clipKey struct {
	id           *age.X25519Identity
	owner, other []byte
}

func newClipKey() (*clipKey, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	secret := []byte(id.String())
	owner := make([]byte, len(secret))
	if _, err := rand.Read(owner); err != nil {
		return nil, err
	}
	other := xorBytes(secret, owner)
	clear(secret)
	return &clipKey{id: id, owner: owner, other: other}, nil
}

func xorBytes(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

// recombine rebuilds the clip identity from its two halves.
func recombine(a, b []byte) (*age.X25519Identity, error) {
	if len(a) != len(b) || len(a) == 0 {
		return nil, fmt.Errorf("%w: key shares do not match", ErrCorrupt)
	}
	secret := xorBytes(a, b)
	defer clear(secret)
	id, err := age.ParseX25519Identity(string(secret))
	if err != nil {
		return nil, fmt.Errorf("%w: key shares do not combine into a key (they belong to different clips)", ErrAccessDenied)
	}
	return id, nil
}

// stageSmall seals a small plaintext into staging for a later publish to
// keys/<id>.age.
func (s *Store) stageSmall(ctx context.Context, plain []byte, recips []age.Recipient) (*Sealing, error) {
	id := "k" + newID(6)
	path := filepath.Join(s.Dir, StagingDir, id+stagingSuffix)
	f, err := createStaging(path)
	if err != nil {
		return nil, err
	}
	sg := &Sealing{path: path, f: f}
	sealed, err := seal.Seal(ctx, f, bytes.NewReader(plain), recips, nil)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		sg.Discard()
		return nil, err
	}
	sg.Object = Object{ID: id, Path: KeysDir + "/" + id + ".age", CipherSHA256: sealed.Cipher.SHA256, CipherSize: sealed.Cipher.Size}
	return sg, nil
}

// publishKeys moves committed key files into keys/.
func (s *Store) publishKeys(sgs ...*Sealing) error {
	if len(sgs) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, KeysDir), 0o700); err != nil {
		return err
	}
	for _, sg := range sgs {
		if err := os.Rename(sg.path, filepath.Join(s.Dir, filepath.FromSlash(sg.Object.Path))); err != nil {
			return err
		}
		sg.f.Close()
		sg.f = nil
	}
	if err := atomicfile.SyncDir(filepath.Join(s.Dir, StagingDir)); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Join(s.Dir, KeysDir))
}

func discardAll(sgs []*Sealing) {
	for _, sg := range sgs {
		if sg != nil {
			sg.Discard()
		}
	}
}

// recipientsOf parses the age recipients of people.
func recipientsOf(users []*User, ui *plugin.ClientUI) ([]age.Recipient, []string, error) {
	var recs []age.Recipient
	var names []string
	for _, u := range users {
		r, err := seal.ParseRecipient(u.Recipient, ui)
		if err != nil {
			return nil, nil, fmt.Errorf("%s's recipient: %w", u.Name, err)
		}
		recs = append(recs, r)
		names = append(names, u.Name)
	}
	return recs, names, nil
}

func (s *Store) shareBytes(clip, kind string, half []byte) []byte {
	b, _ := json.Marshal(sharePlain{V: 1, Store: s.Config.ID, Clip: clip, Kind: kind, Share: base64.StdEncoding.EncodeToString(half)})
	return b
}

// dualSeal prepares a dual-control import: the clip key and its two
// sealed shares, staged. The caller seals the original to the returned
// recipient and commits the shares with the import entry.
func (s *Store) dualSeal(ctx context.Context, st *State, clipID, owner string, ui *plugin.ClientUI) (*clipKey, []Share, []*Sealing, error) {
	u := st.Users[owner]
	if u == nil || !u.Active {
		return nil, nil, nil, fmt.Errorf("%w: owner %q is not a registered person (see custody user list)", ErrUnknownPerson, owner)
	}
	dpos := st.activeDPOs(owner)
	if len(dpos) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: register a DPO other than %s first (custody user add --role dpo)", ErrNoDPO, owner)
	}
	k, err := newClipKey()
	if err != nil {
		return nil, nil, nil, err
	}
	ownerRecs, ownerNames, err := recipientsOf([]*User{u}, ui)
	if err != nil {
		return nil, nil, nil, err
	}
	dpoRecs, dpoNames, err := recipientsOf(dpos, ui)
	if err != nil {
		return nil, nil, nil, err
	}
	osg, err := s.stageSmall(ctx, s.shareBytes(clipID, ShareOwner, k.owner), ownerRecs)
	if err != nil {
		return nil, nil, nil, err
	}
	dsg, err := s.stageSmall(ctx, s.shareBytes(clipID, ShareDPO, k.other), dpoRecs)
	if err != nil {
		osg.Discard()
		return nil, nil, nil, err
	}
	shares := []Share{{Kind: ShareOwner, Holders: ownerNames, Object: osg.Object}, {Kind: ShareDPO, Holders: dpoNames, Object: dsg.Object}}
	return k, shares, []*Sealing{osg, dsg}, nil
}

// openSmall decrypts a small sealed key file with ids.
func (s *Store) openSmall(o Object, ids []age.Identity) ([]byte, error) {
	f, err := s.OpenObject(o)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := seal.HashReader(context.Background(), f, nil)
	if err != nil {
		return nil, err
	}
	if d.SHA256 != o.CipherSHA256 {
		return nil, fmt.Errorf("%w: %s was modified (run custody verify)", ErrCorrupt, o.Path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	r, err := age.Decrypt(f, ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, ErrAccessDenied
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, o.Path, err)
	}
	return io.ReadAll(io.LimitReader(r, 1<<16))
}

// openShare decrypts and checks a share of clip.
func (s *Store) openShare(c *Clip, kind string, ids []age.Identity) ([]byte, error) {
	sh := c.share(kind)
	if sh == nil {
		return nil, fmt.Errorf("%w: clip %s has no %s share", ErrCorrupt, c.ID, kind)
	}
	b, err := s.openSmall(sh.Object, ids)
	if err != nil {
		if errors.Is(err, ErrAccessDenied) {
			return nil, fmt.Errorf("%w: your key cannot unwrap the %s share of clip %s (it is sealed to %s)", ErrAccessDenied, kind, c.ID, strings.Join(sh.Holders, ", "))
		}
		return nil, err
	}
	var p sharePlain
	if err := json.Unmarshal(b, &p); err != nil || p.Store != s.Config.ID || p.Clip != c.ID || p.Kind != kind {
		return nil, fmt.Errorf("%w: the %s share file of clip %s belongs elsewhere", ErrCorrupt, kind, c.ID)
	}
	half, err := base64.StdEncoding.DecodeString(p.Share)
	if err != nil {
		return nil, fmt.Errorf("%w: %s share of clip %s: %v", ErrCorrupt, kind, c.ID, err)
	}
	return half, nil
}

func (c *Clip) share(kind string) *Share {
	for i := range c.Shares {
		if c.Shares[i].Kind == kind {
			return &c.Shares[i]
		}
	}
	return nil
}

// DualControl reports whether the clip is an original under dual control
// (a redacted version of one has a derived key, not shares).
func (c *Clip) DualControl() bool { return c.share(ShareOwner) != nil }

// ownerRule is the rule for requests (gov-request-not-owner): only the
// clip's owner asks to open it, and the owner is the key the owner's name
// was registered with when the clip was imported, not whoever holds the
// name now.
func (st *State) ownerRule(key string, c *Clip) error {
	root := st.Root(c)
	u := st.UserByKey(key)
	switch {
	case u != nil && root.OwnerKey != "" && root.OwnerKey == key:
		return nil
	case u == nil:
		return fmt.Errorf("%w: clip %s belongs to %s; key %s is not a registered person", ErrNotOwner, root.ID, root.Owner, key)
	case u.Name == root.Owner:
		return fmt.Errorf("%w: clip %s belongs to %s as registered with key %s when it was imported, not to key %s", ErrNotOwner, root.ID, root.Owner, orNone(root.OwnerKey), key)
	}
	return fmt.Errorf("%w: clip %s belongs to %s, not %s", ErrNotOwner, root.ID, root.Owner, u.Name)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// RequestOptions describes a request to open a clip.
type RequestOptions struct {
	Reason   string
	Incident string
	// Purpose is PurposeOpen (the default) or PurposeRedact; the approval
	// is good for that purpose only.
	Purpose string
}

// Request files a signed request to open a dual-control original. Only the
// clip's owner may.
func (s *Store) Request(ctx context.Context, as *Person, clip string, opts RequestOptions) (*Request, error) {
	if as == nil {
		return nil, fmt.Errorf("%w: a request is signed by the person making it (use -i with your key)", ErrUnknownPerson)
	}
	if strings.TrimSpace(opts.Reason) == "" || strings.TrimSpace(opts.Incident) == "" {
		return nil, fmt.Errorf("%w: a request needs a reason and an incident reference", ErrNoReason)
	}
	purpose := purposeOf(opts.Purpose)
	if !validPurpose(purpose) {
		return nil, fmt.Errorf("%w: purpose %q: use open or redact", ErrBadRequest, opts.Purpose)
	}
	var out *Request
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		if !st.Policy.DualControl {
			return fmt.Errorf("%w: open the clip directly with a recipient key", ErrNotDualControl)
		}
		c, err := st.Find(clip)
		if err != nil {
			return err
		}
		if c.Purge != nil || c.Status == StatusPurged {
			return fmt.Errorf("%w: %s", ErrPurged, c.ID)
		}
		if !c.DualControl() {
			return fmt.Errorf("%w: clip %s is not under dual control (a %s version): open it with a recipient key", ErrNotDualControl, c.ID, c.Kind)
		}
		if err := st.ownerRule(tx.actorKey(), c); err != nil {
			return err
		}
		p := RequestPayload{ID: newID(6), Reason: strings.TrimSpace(opts.Reason), Incident: strings.TrimSpace(opts.Incident),
			ExpiresAt: tx.now().Add(st.Policy.RequestValidity.D()).UTC().Format(time.RFC3339)}
		if purpose != PurposeOpen {
			p.Purpose = purpose
		}
		if p.Statement, err = tx.state("request", []string{"request " + p.ID, "clip " + c.ID, "sha256 " + c.Object.SHA256,
			"purpose " + purpose, "incident " + p.Incident, "reason " + p.Reason, "expires " + p.ExpiresAt}); err != nil {
			return err
		}
		if _, err := tx.appendJSON("request", c.ID, p); err != nil {
			return err
		}
		out = Replay(tx.Ledger).Requests[p.ID]
		return nil
	})
	return out, err
}

// ApproveOptions qualifies an approval.
type ApproveOptions struct {
	// Clip, if set, is the clip the DPO means to approve: a request for
	// any other clip is refused.
	Clip string
	// Valid shortens the grant's life below the policy's grant validity.
	Valid time.Duration
	Note  string
	// Now is the policy clock (zero: the store's clock). It can only make
	// expiry stricter: the later of Now and the store's clock is used.
	Now      time.Time
	PluginUI *plugin.ClientUI
}

// Approve approves a request: it checks the approver is a DPO other than
// the requester, unwraps the DPO share with the approver's key, and
// re-seals it to the requester as a one-time grant bound to the request,
// clip, requester and expiry. The approval is signed and ledgered.
func (s *Store) Approve(ctx context.Context, as *Person, requestID string, opts ApproveOptions) (*Request, error) {
	if as == nil {
		return nil, fmt.Errorf("%w: an approval is signed by a DPO (use -i with a DPO's key)", ErrNotDPO)
	}
	var out *Request
	var staged *Sealing
	committed := false
	defer func() {
		if staged != nil && !committed {
			staged.Discard()
		}
	}()
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		u := tx.User()
		if !st.Policy.DualControl {
			return ErrNotDualControl
		}
		if u.Role != RoleDPO {
			return fmt.Errorf("%w: %s is a %s; only a DPO may approve", ErrNotDPO, u.Name, u.Role)
		}
		r := st.Requests[strings.TrimSpace(requestID)]
		if r == nil {
			return fmt.Errorf("%w: %q (see custody log)", ErrNoRequest, requestID)
		}
		if opts.Clip != "" {
			c, err := st.Find(opts.Clip)
			if err != nil {
				return err
			}
			if c.ID != r.Clip {
				return fmt.Errorf("%w: request %s is for clip %s, not %s", ErrWrongClip, r.ID, r.Clip, c.ID)
			}
		}
		if u.Fingerprint == r.RequesterKey || u.Name == r.Requester {
			return fmt.Errorf("%w: %s made request %s", ErrSelfApproval, u.Name, r.ID)
		}
		now := laterOf(tx.now(), opts.Now)
		switch r.StatusAt(now) {
		case RequestPending:
		case RequestExpired:
			return fmt.Errorf("%w: request %s lapsed unapproved at %s; the owner must ask again", ErrExpired, r.ID, r.ExpiresAt)
		default:
			return fmt.Errorf("%w: request %s is already %s (approved by %s at %s)", ErrReplay, r.ID, r.Status, r.ApprovedBy, r.ApprovedAt)
		}
		c := st.Clips[r.Clip]
		if c == nil || c.Status == StatusPurged {
			return fmt.Errorf("%w: %s", ErrPurged, r.Clip)
		}
		if err := st.approvalLink(u.Fingerprint, r.RequesterKey); err != nil {
			return err
		}
		requester := st.Users[r.Requester]
		if requester == nil || !requester.Active || requester.Fingerprint != r.RequesterKey {
			return fmt.Errorf("%w: %s is no longer registered with the key that made request %s", ErrUnknownPerson, r.Requester, r.ID)
		}
		half, err := s.openShare(c, ShareDPO, as.Identities)
		if err != nil {
			return err
		}
		valid := st.Policy.GrantValidity.D()
		if opts.Valid > 0 && opts.Valid < valid {
			valid = opts.Valid
		}
		expires := tx.now().Add(valid).UTC().Format(time.RFC3339)
		gp, _ := json.Marshal(grantPlain{V: 1, Store: s.Config.ID, Clip: c.ID, Request: r.ID, Requester: r.RequesterKey, Expires: expires,
			Purpose: r.Purpose, Share: base64.StdEncoding.EncodeToString(half)})
		clear(half)
		recs, _, err := recipientsOf([]*User{requester}, opts.PluginUI)
		if err != nil {
			return err
		}
		staged, err = s.stageSmall(ctx, gp, recs)
		clear(gp)
		if err != nil {
			return err
		}
		p := ApprovePayload{Request: r.ID, Requester: r.RequesterKey, Grant: staged.Object, ExpiresAt: expires, Note: opts.Note}
		if p.Statement, err = tx.state("approve", []string{"request " + r.ID, "clip " + c.ID, "sha256 " + c.Object.SHA256,
			"requester " + r.Requester + " " + r.RequesterKey, "purpose " + r.Purpose, "incident " + r.Incident, "reason " + r.Reason,
			"grant-sha256 " + staged.Object.CipherSHA256, "expires " + expires}); err != nil {
			return err
		}
		if _, err := tx.appendJSON("approve", c.ID, p); err != nil {
			return err
		}
		committed = true
		if err := s.publishKeys(staged); err != nil {
			return err
		}
		out = Replay(tx.Ledger).Requests[r.ID]
		return nil
	})
	return out, err
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// usableGrant finds the approved request that lets as use c for purpose.
func (st *State) usableGrant(c *Clip, as *Person, requestID, purpose string, now time.Time) (*Request, error) {
	fp := as.Fingerprint()
	if requestID == "" {
		var cands []*Request
		var latest *Request
		for _, r := range st.requestList() {
			if r.Clip == c.ID && r.RequesterKey == fp && r.Purpose == purpose {
				latest = r
				if r.StatusAt(now) == RequestApproved {
					cands = append(cands, r)
				}
			}
		}
		switch {
		case len(cands) == 1:
			return cands[0], nil
		case len(cands) > 1:
			return nil, fmt.Errorf("%w: several approved requests for clip %s; name one with --request", ErrNotApproved, c.ID)
		case latest == nil:
			flag := ""
			if purpose != PurposeOpen {
				flag = " --purpose " + purpose
			}
			if st.ownerRule(fp, c) != nil {
				return nil, fmt.Errorf("%w: clip %s is under dual control and belongs to %s: only they can %s it, after filing `custody request%s` and a DPO's approval", ErrNotOwner, c.ID, c.Owner, purpose, flag)
			}
			return nil, fmt.Errorf("%w: clip %s is under dual control: file `custody request%s` and have a DPO approve it", ErrNotApproved, c.ID, flag)
		}
		requestID = latest.ID // say what became of the latest one
	}
	r := st.Requests[requestID]
	if r == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoRequest, requestID)
	}
	if r.Clip != c.ID {
		return nil, fmt.Errorf("%w: request %s is for clip %s, not %s", ErrWrongClip, r.ID, r.Clip, c.ID)
	}
	if r.RequesterKey != fp {
		return nil, fmt.Errorf("%w: request %s was made by %s, not by this key", ErrNotApproved, r.ID, r.Requester)
	}
	if r.Purpose != purpose {
		return nil, fmt.Errorf("%w: request %s asked to %s clip %s, not to %s it; file a request with --purpose %s", ErrWrongPurpose, r.ID, r.Purpose, c.ID, purpose, purpose)
	}
	switch r.StatusAt(now) {
	case RequestApproved:
		return r, nil
	case RequestPending:
		return nil, fmt.Errorf("%w: request %s is still waiting for a DPO's approval", ErrNotApproved, r.ID)
	case RequestOpened:
		return nil, fmt.Errorf("%w: the approval of request %s was used at %s; approvals are one-time", ErrReplay, r.ID, r.OpenedAt)
	case RequestShredded:
		return nil, fmt.Errorf("%w: the approval of request %s was destroyed unused", ErrExpired, r.ID)
	default:
		return nil, fmt.Errorf("%w: the approval of request %s expired at %s; request again", ErrExpired, r.ID, r.GrantExpires)
	}
}

// unlockDual recombines a dual-control clip's key for as, under request r.
func (s *Store) unlockDual(c *Clip, as *Person, r *Request) (*age.X25519Identity, error) {
	b, err := s.openSmall(*r.Grant, as.Identities)
	if err != nil {
		if errors.Is(err, ErrAccessDenied) {
			return nil, fmt.Errorf("%w: your key cannot unwrap the grant of request %s", ErrAccessDenied, r.ID)
		}
		return nil, err
	}
	var g grantPlain
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("%w: grant of request %s: %v", ErrCorrupt, r.ID, err)
	}
	clear(b)
	if g.Store != s.Config.ID || g.Clip != c.ID || g.Request != r.ID || g.Requester != as.Fingerprint() || g.Expires != r.GrantExpires || purposeOf(g.Purpose) != r.Purpose {
		return nil, fmt.Errorf("%w: the grant file of request %s is bound to another request, clip or person", ErrReplay, r.ID)
	}
	other, err := base64.StdEncoding.DecodeString(g.Share)
	if err != nil {
		return nil, fmt.Errorf("%w: grant of request %s: %v", ErrCorrupt, r.ID, err)
	}
	defer clear(other)
	own, err := s.openShare(c, ShareOwner, as.Identities)
	if err != nil {
		return nil, err
	}
	defer clear(own)
	return recombine(own, other)
}

// prepareRewrap re-seals, for dpos (the new set of DPOs), every live DPO
// share (to the DPOs other than the clip's owner) and every live derived
// key (to all of them). It unwraps with the acting DPO's identities and
// returns the staged files and the entry payload.
func (tx *Tx) prepareRewrap(ctx context.Context, st *State, dpos []*User, ui *plugin.ClientUI, reason string) (*RewrapPayload, []*Sealing, error) {
	var sgs []*Sealing
	fail := func(err error) (*RewrapPayload, []*Sealing, error) {
		discardAll(sgs)
		return nil, nil, err
	}
	p := &RewrapPayload{Reason: reason}
	for _, id := range st.Order {
		c := st.Clips[id]
		if c.Purge != nil || c.Status == StatusPurged {
			continue
		}
		for _, kind := range []string{ShareDPO, ShareDerived} {
			old := c.share(kind)
			if old == nil {
				continue
			}
			if tx.as == nil || tx.user.Role != RoleDPO {
				return fail(fmt.Errorf("%w: changing the DPOs of a dual-control store re-seals the keys the DPOs hold, so a DPO signs it (-i): a DPO confirms here (a person in the DPO seconder role may propose instead)", ErrNotDPO))
			}
			if kind == ShareDPO && c.Owner == tx.user.Name {
				// The DPO share of a DPO's own clip is not sealed to them.
				return fail(fmt.Errorf("%w: you own clip %s, so its DPO share is not sealed to you and you cannot re-seal it; another DPO (%s) must make this change",
					ErrAccessDenied, c.ID, strings.Join(old.Holders, ", ")))
			}
			var plain []byte
			var err error
			if kind == ShareDPO {
				var half []byte
				if half, err = tx.s.openShare(c, ShareDPO, tx.as.Identities); err == nil {
					plain = tx.s.shareBytes(c.ID, ShareDPO, half)
					clear(half)
				}
			} else {
				plain, err = tx.s.openSmall(old.Object, tx.as.Identities)
				if errors.Is(err, ErrAccessDenied) {
					err = fmt.Errorf("%w: your key cannot unwrap the key of redacted clip %s (it is sealed to %s)", ErrAccessDenied, c.ID, strings.Join(old.Holders, ", "))
				}
			}
			if err != nil {
				return fail(err)
			}
			var holders []*User
			for _, u := range dpos {
				if kind == ShareDerived || u.Name != c.Owner {
					holders = append(holders, u)
				}
			}
			if len(holders) == 0 {
				clear(plain)
				return fail(fmt.Errorf("%w: clip %s would have no DPO other than its owner %s", ErrNoDPO, c.ID, c.Owner))
			}
			recs, names, err := recipientsOf(holders, ui)
			if err != nil {
				clear(plain)
				return fail(err)
			}
			sg, err := tx.s.stageSmall(ctx, plain, recs)
			clear(plain)
			if err != nil {
				return fail(err)
			}
			sgs = append(sgs, sg)
			p.Shares = append(p.Shares, RewrapShare{Clip: c.ID, Old: old.Object.ID, New: Share{Kind: kind, Holders: names, Object: sg.Object}})
		}
	}
	return p, sgs, nil
}

func init() {
	objectHandlers["approve"] = func(rec *manifest.Record) []Object {
		var p ApprovePayload
		if rec.Payload(&p) != nil || p.Grant.ID == "" {
			return nil
		}
		return []Object{p.Grant}
	}
	objectHandlers["keys.rewrap"] = func(rec *manifest.Record) []Object {
		var p RewrapPayload
		if rec.Payload(&p) != nil {
			return nil
		}
		var out []Object
		for _, sh := range p.Shares {
			out = append(out, sh.New.Object)
		}
		return out
	}
	actionHandlers["request"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p RequestPayload
		c := st.Clips[rec.Entry.Clip]
		if rec.Payload(&p) != nil || c == nil {
			return
		}
		r := &Request{ID: p.ID, Clip: c.ID, Requester: rec.Entry.Actor.Name, RequesterKey: rec.Entry.Actor.Key, Reason: p.Reason,
			Incident: p.Incident, Purpose: purposeOf(p.Purpose), At: rec.Entry.Time, ExpiresAt: p.ExpiresAt, Status: RequestPending, Seq: rec.Entry.Seq}
		st.Requests[r.ID] = r
		ev.Summary = fmt.Sprintf("request %s by %s to %s (incident %s): %s", r.ID, r.Requester, r.Purpose, r.Incident, r.Reason)
		c.Timeline = append(c.Timeline, *ev)
		st.checkBurst(rec)
	}
	actionHandlers["approve"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p ApprovePayload
		c := st.Clips[rec.Entry.Clip]
		if rec.Payload(&p) != nil || c == nil {
			return
		}
		r := st.Requests[p.Request]
		ev.Summary = fmt.Sprintf("request %s approved by %s, grant valid until %s", p.Request, rec.Entry.Actor.Name, p.ExpiresAt)
		c.Timeline = append(c.Timeline, *ev)
		if p.Grant.ID != "" {
			st.live(rec, nil, p.Grant)
		}
		switch u := st.userByKey(rec.Entry.Actor.Key); {
		case r == nil:
			st.flag(rec, "approval-without-request", "%s approved request %s, which does not exist", rec.Entry.Actor.Name, p.Request)
		case r.Clip != c.ID:
			st.flag(rec, "approval-wrong-clip", "approval of request %s names clip %s; the request is for %s", r.ID, c.ID, r.Clip)
		case u == nil || u.Role != RoleDPO:
			st.flag(rec, "approval-by-non-dpo", "request %s was approved by %s, who is not a DPO", r.ID, rec.Entry.Actor.Name)
		case rec.Entry.Actor.Key == r.RequesterKey:
			st.flag(rec, "self-approval", "%s approved their own request %s", rec.Entry.Actor.Name, r.ID)
		case st.approvalLink(rec.Entry.Actor.Key, r.RequesterKey) != nil:
			// flagged by the rule table (approval-linked)
		case r.Status != RequestPending:
			st.flag(rec, "approval-replayed", "request %s was approved again (it was %s)", r.ID, r.Status)
		case r.StatusAt(rec.Entry.When()) == RequestExpired:
			st.flag(rec, "approval-expired", "request %s was approved at %s, after it lapsed at %s", r.ID, rec.Entry.Time, r.ExpiresAt)
		case p.Requester != r.RequesterKey:
			st.flag(rec, "approval-wrong-requester", "the grant of request %s is for key %s, not the requester's", r.ID, p.Requester)
		default:
			g := p.Grant
			r.Status, r.ApprovedBy, r.ApprovedKey, r.ApprovedAt, r.GrantExpires, r.Grant = RequestApproved, rec.Entry.Actor.Name, rec.Entry.Actor.Key, rec.Entry.Time, p.ExpiresAt, &g
			return
		}
		// custody never wrote it, and does not honour it: its grant, if
		// any, is void (and its file removed by the next write).
		if o, ok := st.Objects[p.Grant.ID]; ok {
			delete(st.Objects, o.ID)
			st.dead(o)
		}
	}
	actionHandlers["grant.shred"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p ShredPayload
		if rec.Payload(&p) != nil {
			return
		}
		if r := st.Requests[p.Request]; r != nil && r.Status == RequestApproved {
			r.Status = RequestShredded
		}
		if o, ok := st.Objects[p.Grant.ID]; ok {
			delete(st.Objects, o.ID)
			st.dead(o)
		}
		ev.Summary = fmt.Sprintf("unused grant of request %s destroyed (%s)", p.Request, p.Why)
		if c := st.Clips[rec.Entry.Clip]; c != nil {
			c.Timeline = append(c.Timeline, *ev)
		}
	}
	actionHandlers["keys.rewrap"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p RewrapPayload
		if rec.Payload(&p) != nil {
			return
		}
		st.applyRewrap(rec, &p)
		ev.Summary = fmt.Sprintf("DPO key shares of %d clip(s) re-sealed: %s", len(p.Shares), p.Reason)
	}
}

// applyRewrap replaces re-sealed DPO shares and derived keys: a
// keys.rewrap entry's, or those a user.add or user.remove of a DPO carries.
func (st *State) applyRewrap(rec *manifest.Record, p *RewrapPayload) {
	for _, rs := range p.Shares {
		c := st.Clips[rs.Clip]
		if c == nil {
			continue
		}
		if !rs.New.Object.Valid() {
			st.flag(rec, "object-path", "re-sealed key of clip %s names file %q, which is not a path custody makes; it is ignored", rs.Clip, rs.New.Object.Path)
			continue
		}
		for i := range c.Shares {
			if c.Shares[i].Object.ID == rs.Old {
				if o, ok := st.Objects[rs.Old]; ok {
					st.Dead[rs.Old] = o
				}
				delete(st.Objects, rs.Old)
				c.Shares[i] = rs.New
				st.live(rec, c, rs.New.Object)
			}
		}
	}
}

// replayAccess consumes the grant an open used and flags an open of a
// dual-control original that no approved request covers.
func (st *State) replayAccess(rec *manifest.Record, c *Clip, p *AccessPayload) {
	if !c.DualControl() || rec.Entry.Action != "access" {
		return
	}
	r := st.Requests[p.Request]
	at := rec.Entry.When()
	switch {
	case r == nil:
		st.flag(rec, "open-outside-request", "%s opened dual-control clip %s without an approved request", rec.Entry.Actor.Name, c.ID)
		return
	case r.Clip != c.ID || r.RequesterKey != rec.Entry.Actor.Key:
		st.flag(rec, "open-outside-request", "%s opened clip %s under request %s, which is for clip %s by %s", rec.Entry.Actor.Name, c.ID, r.ID, r.Clip, r.Requester)
	case r.StatusAt(at) != RequestApproved:
		st.flag(rec, "open-outside-request", "%s opened clip %s under request %s, which was %s at the time", rec.Entry.Actor.Name, c.ID, r.ID, r.StatusAt(at))
	case purposeOf(p.Purpose) != r.Purpose:
		st.flag(rec, "open-outside-request", "%s read clip %s to %s under request %s, which was approved to %s", rec.Entry.Actor.Name, c.ID, purposeOf(p.Purpose), r.ID, r.Purpose)
	}
	if r.Grant != nil {
		if o, ok := st.Objects[r.Grant.ID]; ok {
			st.Dead[o.ID] = o
			delete(st.Objects, o.ID)
		}
	}
	r.Status, r.OpenedAt = RequestOpened, rec.Entry.Time
}
