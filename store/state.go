package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/media"
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
}

// AccessPayload is the payload of "access" and "access.denied" entries.
type AccessPayload struct {
	Reason   string `json:"reason"`
	Identity string `json:"identity,omitempty"` // which key opened it
	Output   string `json:"output,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
}

// objectsOf lists the sealed objects an entry registers.
func objectsOf(rec *manifest.Record) []Object {
	switch rec.Entry.Action {
	case "import":
		var p ImportPayload
		if rec.Payload(&p) == nil {
			return []Object{p.Object}
		}
	case "redact":
		var p DerivePayload
		if rec.Payload(&p) == nil {
			return append([]Object{p.Object}, p.Review...)
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

// Event is one line of a clip's custody timeline.
type Event struct {
	Seq     uint64 `json:"seq"`
	Time    string `json:"time"`
	Actor   string `json:"actor"`
	Key     string `json:"key"`
	Action  string `json:"action"`
	Summary string `json:"summary"`
}

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
}

// State is the store's content derived by replaying the ledger.
type State struct {
	Clips   map[string]*Clip
	Order   []string          // clip ids in import order
	Objects map[string]Object // every live sealed object by id
}

// Replay derives the state from a ledger.
func Replay(l *manifest.Ledger) *State {
	st := &State{Clips: map[string]*Clip{}, Objects: map[string]Object{}}
	for _, rec := range l.Records {
		e := &rec.Entry
		ev := Event{Seq: e.Seq, Time: e.Time, Actor: e.Actor.Name, Key: e.Actor.Key, Action: e.Action}
		switch e.Action {
		case "import":
			var p ImportPayload
			if rec.Payload(&p) != nil {
				continue
			}
			c := &Clip{ImportPayload: p, ID: e.Clip, Kind: "original", Status: "sealed", ImportedAt: e.Time, ImportedBy: e.Actor.Name}
			ev.Summary = fmt.Sprintf("imported %s (%d bytes, sha256 %s)", p.Filename, p.Object.Size, p.Object.SHA256)
			c.Timeline = append(c.Timeline, ev)
			st.Clips[c.ID] = c
			st.Order = append(st.Order, c.ID)
			st.Objects[p.Object.ID] = p.Object
		case "access", "access.denied":
			c := st.Clips[e.Clip]
			if c == nil {
				continue
			}
			var p AccessPayload
			rec.Payload(&p)
			verb := "opened"
			if e.Action == "access.denied" {
				verb = "open failed (" + p.Outcome + ")"
			}
			ev.Summary = fmt.Sprintf("%s by %s: %s", verb, e.Actor.Name, p.Reason)
			c.Timeline = append(c.Timeline, ev)
		case "redact":
			var p DerivePayload
			if rec.Payload(&p) != nil {
				continue
			}
			parent := st.Clips[p.Parent]
			c := &Clip{ID: e.Clip, Kind: "redacted", Status: "sealed", Parent: p.Parent, Derivation: &p, ImportedAt: e.Time, ImportedBy: e.Actor.Name}
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
			for _, o := range append([]Object{p.Object}, p.Review...) {
				st.Objects[o.ID] = o
			}
		default:
			if h, ok := actionHandlers[e.Action]; ok {
				h(st, rec, &ev)
				continue
			}
			if c := st.Clips[e.Clip]; c != nil && e.Clip != "" {
				ev.Summary = e.Action
				c.Timeline = append(c.Timeline, ev)
			}
		}
	}
	return st
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
		if c := st.Clips[id]; c.Object.SHA256 == sum && c.Status != "purged" {
			return c
		}
	}
	return nil
}
