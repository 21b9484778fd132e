package store

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/witness"
	"golang.org/x/crypto/ssh"
)

// Object is one sealed file as the ledger records it.
type Object struct {
	ID           string `json:"id"`
	Path         string `json:"path"` // relative to the store, e.g. objects/<id>.age
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	CipherSHA256 string `json:"cipher_sha256"`
	CipherSize   int64  `json:"cipher_size"`
}

// ImportPayload is the payload of an "import" entry.
type ImportPayload struct {
	Object           Object      `json:"object"`
	Filename         string      `json:"filename"`
	Media            *media.Info `json:"media"`
	RecordedAt       string      `json:"recorded_at"`
	RecordedAtSource string      `json:"recorded_at_source"` // flag, container, mtime
	Device           string      `json:"device,omitempty"`
	Wearer           string      `json:"wearer,omitempty"`
	Location         string      `json:"location,omitempty"`
	Note             string      `json:"note,omitempty"`
	Recipients       []string    `json:"recipients"`
	// Owner is the registered person who recorded the clip; in a
	// dual-control store only they may request to open it.
	Owner string `json:"owner,omitempty"`
	// Consent is the patient's consent decision recorded at import.
	Consent *ConsentRecord `json:"consent,omitempty"`
	// Shares hold the halves of a dual-control clip's key (see
	// dualcontrol.go); Recipients is then the clip's own key.
	Shares []Share `json:"shares,omitempty"`
}

// AccessPayload is the payload of "access" and "access.denied" entries.
type AccessPayload struct {
	Reason   string `json:"reason"`
	Identity string `json:"identity,omitempty"` // which key opened it
	Output   string `json:"output,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	// Request is the approved request a dual-control open used; its grant
	// is consumed (and its file destroyed) by the open.
	Request string `json:"request,omitempty"`
	Grant   string `json:"grant,omitempty"` // grant object id
	// Purpose is what the access was for under dual control: open (a
	// plaintext copy) or redact (plaintext to the redactor only).
	Purpose string `json:"purpose,omitempty"`
}

// objectIDRE is what object ids look like: custody makes 12 hex digits,
// with a "k" before those of key files.
var objectIDRE = regexp.MustCompile(`^[0-9a-z]{4,64}$`)

// Valid reports whether the object's id and path are ones custody makes:
// objects/ID.age or keys/ID.age. The ledger is input like any other: a
// path from it that pointed elsewhere would have purge delete, or
// recovery overwrite, a file outside the store.
func (o Object) Valid() bool {
	return objectIDRE.MatchString(o.ID) && (o.Path == ObjectsDir+"/"+o.ID+".age" || o.Path == KeysDir+"/"+o.ID+".age")
}

// live registers a live object, refusing (and flagging) one with a path
// custody never makes.
func (st *State) live(rec *manifest.Record, c *Clip, o Object) {
	if !o.Valid() {
		st.flag(rec, "object-path", "entry registers sealed file %q (id %q), which is not a path custody makes; it is ignored", o.Path, o.ID)
		return
	}
	st.Objects[o.ID] = o
	if c != nil {
		c.objects = append(c.objects, o.ID)
	}
}

// dead records an object whose file must no longer exist.
func (st *State) dead(o Object) {
	if o.Valid() {
		st.Dead[o.ID] = o
	}
}

// objectsOf lists the sealed objects an entry registers.
func objectsOf(rec *manifest.Record) []Object {
	var out []Object
	for _, o := range objectsOfAny(rec) {
		if o.Valid() {
			out = append(out, o)
		}
	}
	return out
}

func objectsOfAny(rec *manifest.Record) []Object {
	switch rec.Entry.Action {
	case "import":
		var p ImportPayload
		if rec.Payload(&p) == nil {
			out := []Object{p.Object}
			for _, sh := range p.Shares {
				out = append(out, sh.Object)
			}
			return out
		}
	case "redact":
		var p DerivePayload
		if rec.Payload(&p) == nil {
			return p.objects()
		}
	}
	if h, ok := objectHandlers[rec.Entry.Action]; ok {
		return h(rec)
	}
	return nil
}

// Other files of this package teach Replay and objectsOf about their own
// actions by adding to these maps in an init function, so that each feature
// keeps its ledger semantics in one file.
var (
	actionHandlers = map[string]func(st *State, rec *manifest.Record, ev *Event){}
	objectHandlers = map[string]func(rec *manifest.Record) []Object{}
)

// Event is one line of a clip's custody timeline, or of the store's log.
type Event struct {
	Seq     uint64 `json:"seq"`
	Time    string `json:"time"`
	Actor   string `json:"actor"`
	Key     string `json:"key"`
	Action  string `json:"action"`
	Clip    string `json:"clip,omitempty"`
	Summary string `json:"summary"`
}

// Clip statuses. Replay gives sealed, held or purged; StatusAt also gives
// expired, which depends on the time.
const (
	StatusSealed  = "sealed"  // live, within retention
	StatusHeld    = "held"    // on hold for an incident: never purged while held
	StatusExpired = "expired" // past retention, or consent declined/withdrawn: the next purge removes it
	StatusPurged  = "purged"  // removed; its hashes stay in the ledger's tombstone
)

// Clip is a recording in the store, as the ledger describes it.
type Clip struct {
	ImportPayload
	ID     string `json:"id"`
	Status string `json:"status"`
	// Parent is set on derivatives (redacted versions): the clip they were
	// made from; Derivation holds the redaction record.
	Parent      string         `json:"parent,omitempty"`
	Kind        string         `json:"kind"` // "original" or "redacted"
	Derivation  *DerivePayload `json:"derivation,omitempty"`
	Derivatives []string       `json:"derivatives,omitempty"`
	ImportedAt  string         `json:"imported_at"`
	ImportedBy  string         `json:"imported_by"`
	Timeline    []Event        `json:"timeline"`

	// ExpiresAt is recorded_at plus the retention in force (RFC 3339).
	ExpiresAt string `json:"expires_at,omitempty"`
	// Holds are the clip's active holds; a derivative shares its parent's.
	Holds []Hold `json:"holds,omitempty"`
	// ConsentHistory is every consent decision, oldest first.
	ConsentHistory []ConsentRecord `json:"consent_history,omitempty"`
	// Purge is the tombstone of a purged clip.
	Purge *PurgePayload `json:"purge,omitempty"`
	// OwnerKey is the key fingerprint the owner was registered with when
	// the clip was imported: ownership is that key's, not the name's.
	OwnerKey string `json:"owner_key,omitempty"`

	objects []string // ids of the live sealed objects that belong to the clip
}

// State is the store's content derived by replaying the ledger.
type State struct {
	Clips   map[string]*Clip
	Order   []string          // clip ids in import order
	Objects map[string]Object // every live sealed object by id

	// Governance.
	Station  ssh.PublicKey
	Policy   Policy
	Users    map[string]*User    // by name, including removed people
	Requests map[string]*Request // by request id
	// Registrations is every user.add in order, with who signed it.
	Registrations []*Registration
	// Proposals are DPO registrations proposed by one person, by id.
	Proposals map[string]*Proposal
	// Dead are objects a tombstone, a consumed or expired grant or a
	// re-sealing retired: their files must not exist (purge and recovery
	// remove any that a crash left behind).
	Dead map[string]Object
	// Events is every ledger entry, summarised, in order.
	Events []Event
	// Anomalies are entries that break a governance rule (see custody log).
	Anomalies []Anomaly
	// Witnesses are the registered witnesses by name; Losses the recorded
	// losses of ledger entries (see witness.go).
	Witnesses map[string]witness.Spec
	Losses    []witness.Loss
	// FoldedAttempts are the ids of counted failed attempts that a
	// "refused" entry ledgers (see refusal.go).
	FoldedAttempts map[string]bool
	LastFold       Fold // the prefix of the attempts file the latest fold covered
}

// Replay derives the state from a ledger.
func Replay(l *manifest.Ledger) *State {
	st := &State{Clips: map[string]*Clip{}, Objects: map[string]Object{}, Policy: genesisPolicy(l),
		Users: map[string]*User{}, Requests: map[string]*Request{}, Dead: map[string]Object{}, Witnesses: map[string]witness.Spec{},
		FoldedAttempts: map[string]bool{}, Proposals: map[string]*Proposal{}}
	if g, err := l.Genesis(); err == nil {
		st.Station, _ = seal.ParsePublicKey(g.StationKey)
	}
	for _, rec := range l.Records {
		e := &rec.Entry
		ev := Event{Seq: e.Seq, Time: e.Time, Actor: e.Actor.Name, Key: e.Actor.Key, Action: e.Action, Clip: e.Clip}
		st.judge(rec)
		st.replayOne(rec, &ev)
		if ev.Summary == "" {
			ev.Summary = e.Action
		}
		st.Events = append(st.Events, ev)
	}
	st.finish()
	return st
}

// replayOne applies one entry; it sets evp.Summary for the store's log.
func (st *State) replayOne(rec *manifest.Record, evp *Event) {
	e := &rec.Entry
	ev := *evp
	defer func() { evp.Summary = ev.Summary }()
	switch e.Action {
	case "genesis":
		ev.Summary = "store created"
		if st.Policy.DualControl {
			ev.Summary += " (dual control)"
		}
	case "import":
		var p ImportPayload
		if rec.Payload(&p) != nil {
			return
		}
		c := &Clip{ImportPayload: p, ID: e.Clip, Kind: "original", Status: StatusSealed, ImportedAt: e.Time, ImportedBy: e.Actor.Name}
		if u := st.Users[p.Owner]; u != nil && u.Active {
			c.OwnerKey = u.Fingerprint
		}
		ev.Summary = fmt.Sprintf("imported %s (%d bytes, sha256 %s)", p.Filename, p.Object.Size, p.Object.SHA256)
		if p.Media != nil && p.Media.Damaged && p.Media.Damage != nil {
			ev.Summary += ", DAMAGED (" + p.Media.Damage.Summary() + ")"
		}
		if p.Owner != "" {
			ev.Summary += ", owner " + p.Owner
		}
		if p.Consent != nil {
			ev.Summary += ", consent " + p.Consent.State
			cr := *p.Consent
			cr.RecordedBy, cr.RecordedAt = e.Actor.Name, e.Time
			c.ConsentHistory = append(c.ConsentHistory, cr)
		}
		c.Timeline = append(c.Timeline, ev)
		st.Clips[c.ID] = c
		st.Order = append(st.Order, c.ID)
		st.live(rec, c, p.Object)
		for _, sh := range p.Shares {
			st.live(rec, c, sh.Object)
		}
	case "access", "access.denied":
		c := st.Clips[e.Clip]
		if c == nil {
			return
		}
		var p AccessPayload
		rec.Payload(&p)
		verb := "opened"
		if p.Purpose == PurposeRedact {
			verb = "opened for redaction"
		}
		if e.Action == "access.denied" {
			verb = "open failed (" + p.Outcome + ")"
		}
		ev.Summary = fmt.Sprintf("%s by %s: %s", verb, e.Actor.Name, p.Reason)
		if p.Request != "" {
			ev.Summary += " (request " + p.Request + ")"
		}
		c.Timeline = append(c.Timeline, ev)
		st.replayAccess(rec, c, &p)
	case "redact":
		var p DerivePayload
		if rec.Payload(&p) != nil {
			return
		}
		parent := st.Clips[p.Parent]
		c := &Clip{ID: e.Clip, Kind: "redacted", Status: StatusSealed, Parent: p.Parent, Derivation: &p, ImportedAt: e.Time, ImportedBy: e.Actor.Name}
		c.Object, c.Media, c.Filename = p.Object, p.Media, p.Filename
		if parent != nil {
			c.RecordedAt, c.RecordedAtSource, c.Device, c.Wearer, c.Location = parent.RecordedAt, parent.RecordedAtSource, parent.Device, parent.Wearer, parent.Location
			parent.Derivatives = append(parent.Derivatives, c.ID)
			pev := ev
			pev.Summary = fmt.Sprintf("redacted by %s as clip %s (%s)", e.Actor.Name, c.ID, p.Summary())
			parent.Timeline = append(parent.Timeline, pev)
		}
		ev.Summary = fmt.Sprintf("made from clip %s: %s", p.Parent, p.Summary())
		c.Timeline = append(c.Timeline, ev)
		st.Clips[c.ID] = c
		st.Order = append(st.Order, c.ID)
		if p.Key != nil {
			c.Shares = []Share{*p.Key}
		}
		for _, o := range p.objects() {
			st.live(rec, c, o)
		}
		if parent != nil && parent.DualControl() {
			st.replayDualRedact(rec, parent, &p)
		}
	default:
		if h, ok := actionHandlers[e.Action]; ok {
			h(st, rec, &ev)
			return
		}
		if c := st.Clips[e.Clip]; c != nil && e.Clip != "" {
			ev.Summary = e.Action
			c.Timeline = append(c.Timeline, ev)
		}
	}
}

// finish derives what depends on the whole ledger: statuses, expiry
// under the policy now in force, and derivatives' inherited holds.
func (st *State) finish() {
	for _, id := range st.Order {
		c := st.Clips[id]
		root := st.Root(c)
		c.ExpiresAt = st.expiresAt(c)
		switch {
		case c.Purge != nil || root.Purge != nil:
			c.Status = StatusPurged
		case len(root.Holds) > 0:
			c.Status = StatusHeld
		default:
			c.Status = StatusSealed
		}
		if c != root {
			c.Holds = root.Holds
			c.ConsentHistory = root.ConsentHistory
			c.Owner, c.OwnerKey = root.Owner, root.OwnerKey
		}
	}
}

// Root is the original a clip was derived from (itself for an original).
func (st *State) Root(c *Clip) *Clip {
	for i := 0; c.Parent != "" && i < 16; i++ {
		p := st.Clips[c.Parent]
		if p == nil {
			break
		}
		c = p
	}
	return c
}

var (
	// ErrNoClip means no clip has that id.
	ErrNoClip = errors.New("no such clip")
	// ErrAmbiguous means an id prefix matches several clips.
	ErrAmbiguous = errors.New("ambiguous clip id")
)

// Find resolves a clip id or a unique prefix of one (at least 4 characters).
func (st *State) Find(id string) (*Clip, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if c, ok := st.Clips[id]; ok {
		return c, nil
	}
	if len(id) < 4 {
		return nil, fmt.Errorf("%w: %q (give at least 4 characters of the id)", ErrNoClip, id)
	}
	var hits []string
	for k := range st.Clips {
		if strings.HasPrefix(k, id) {
			hits = append(hits, k)
		}
	}
	sort.Strings(hits)
	switch len(hits) {
	case 0:
		return nil, fmt.Errorf("%w: %q (see custody list)", ErrNoClip, id)
	case 1:
		return st.Clips[hits[0]], nil
	}
	return nil, fmt.Errorf("%w: %q matches %s", ErrAmbiguous, id, strings.Join(hits, ", "))
}

// BySHA256 finds a live clip whose plaintext has that hash.
func (st *State) BySHA256(sum string) *Clip {
	for _, id := range st.Order {
		if c := st.Clips[id]; c.Object.SHA256 == sum && c.Status != StatusPurged {
			return c
		}
	}
	return nil
}

// State reads the ledger and replays it.
func (s *Store) State() (*State, error) {
	l, _, err := s.ReadLedger()
	if err != nil {
		return nil, err
	}
	return Replay(l), nil
}
