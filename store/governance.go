package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

// Governance entries (holds, releases, consent, policy, people, requests,
// approvals) carry, besides the ledger signatures, a Statement: a few
// plain-text lines signed by the person in a namespace of its own
// ("custody-approve-v1", ...), so an approval can never be replayed as any
// other signature and can be checked with stock ssh-keygen:
//
//	jq -j '.entry.payload.statement' <<<"$LINE" > st.txt
//	jq -j '.entry.payload.statement_sig' <<<"$LINE" > st.sig
//	ssh-keygen -Y verify -f allowed_signers -I NAME -n custody-approve-v1 -s st.sig < st.txt

// Statement is a person's signed statement of what they did.
type Statement struct {
	Text string `json:"statement,omitempty"`
	Sig  string `json:"statement_sig,omitempty"` // armored SSHSIG
}

// StatementNamespace is the SSHSIG namespace for an action's statements.
func StatementNamespace(action string) string {
	return "custody-" + strings.ReplaceAll(action, ".", "-") + "-v1"
}

// Verify checks the statement's signature and returns the signing key.
func (s Statement) Verify(action string) (ssh.PublicKey, error) {
	blob, err := seal.UnarmorSignature([]byte(s.Sig))
	if err != nil {
		return nil, err
	}
	return seal.VerifySignature(blob, StatementNamespace(action), []byte(s.Text))
}

// state signs a statement by whoever acts in tx: the person, else the
// station.
func (tx *Tx) state(action string, lines []string) (Statement, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nstore %s\n", StatementNamespace(action), tx.s.Config.ID)
	sg := tx.s.signer
	if tx.as != nil {
		sg = tx.as.Signer
		fmt.Fprintf(&b, "actor %s %s\n", tx.user.Name, tx.as.Fingerprint())
	} else if sg != nil {
		fmt.Fprintf(&b, "actor %s %s\n", tx.s.actorName(), seal.Fingerprint(sg.PublicKey()))
	}
	if sg == nil {
		return Statement{}, ErrLocked
	}
	fmt.Fprintf(&b, "signed-at %s\n", tx.s.Now().UTC().Format(time.RFC3339))
	for _, l := range lines {
		b.WriteString(oneLine(l))
		b.WriteByte('\n')
	}
	text := b.String()
	blob, err := sg.Sign(StatementNamespace(action), []byte(text))
	if err != nil {
		return Statement{}, fmt.Errorf("signing %s statement: %w", action, err)
	}
	return Statement{Text: text, Sig: string(seal.ArmorSignature(blob))}, nil
}

// appendJSON appends an entry with a JSON payload.
func (tx *Tx) appendJSON(action, clip string, payload any) (*manifest.Record, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return tx.Append(manifest.Entry{Action: action, Clip: clip, Payload: b})
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func reasonOr(s, dflt string) string {
	if strings.TrimSpace(s) == "" {
		return dflt
	}
	return s
}

func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	// ErrHold refuses a hold or release that cannot be done as asked.
	ErrHold = errors.New("hold refused")
	// ErrPurged means the clip was purged; only its ledger record remains.
	ErrPurged = errors.New("clip was purged")
	// ErrConsent refuses a malformed consent record.
	ErrConsent = errors.New("bad consent record")
)

// Alarm is a panic-alarm event.
type Alarm struct {
	Time     string `json:"time"` // RFC 3339
	Location string `json:"location,omitempty"`
	Device   string `json:"device,omitempty"`
	// Incident, if set, names the incident the alarm belongs to.
	Incident string `json:"incident,omitempty"`
}

// Hold keeps a clip past retention for an incident.
type Hold struct {
	ID       string   `json:"id"`
	Incident string   `json:"incident"`
	Reason   string   `json:"reason"`
	By       string   `json:"by,omitempty"` // set by replay: who placed it
	At       string   `json:"at,omitempty"` // set by replay: when
	Alarm    *Alarm   `json:"alarm,omitempty"`
	Window   Duration `json:"window,omitempty"` // ± around the alarm time
}

// HoldPayload is the payload of a "hold" entry (one clip).
type HoldPayload struct {
	Hold
	Statement
}

// ReleasePayload is the payload of a "release" entry.
type ReleasePayload struct {
	Holds    []string `json:"holds"` // hold ids lifted
	Incident string   `json:"incident,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Statement
}

// HoldRequest says what to hold.
type HoldRequest struct {
	// Clips are clip ids (or unique prefixes) to hold.
	Clips []string
	// Alarms hold every clip whose recording overlaps an alarm's time ±
	// Window, whatever camera or place: a hold errs on keeping evidence.
	Alarms []Alarm
	Window time.Duration
	// Incident names the incident (an alarm's own Incident wins).
	Incident string
	Reason   string
}

// DefaultAlarmWindow is the window around an alarm when none is given.
const DefaultAlarmWindow = 30 * time.Minute

// HoldOutcome is what happened to one clip.
type HoldOutcome struct {
	Clip     string `json:"clip"`
	Hold     string `json:"hold,omitempty"` // new hold id
	Incident string `json:"incident"`
	Alarm    *Alarm `json:"alarm,omitempty"`
	Skipped  string `json:"skipped,omitempty"` // why nothing was done
}

// Hold places holds. Anyone registered may (a hold only keeps evidence),
// or the station operator, e.g. for an automated alarm feed. A clip that
// already has a hold for the same incident is skipped; a purged clip
// cannot be held.
func (s *Store) Hold(ctx context.Context, as *Person, req HoldRequest) ([]HoldOutcome, error) {
	if len(req.Clips) == 0 && len(req.Alarms) == 0 {
		return nil, fmt.Errorf("%w: name a clip, or give --at TIME or --alarms FILE", ErrHold)
	}
	if req.Window == 0 {
		req.Window = DefaultAlarmWindow
	}
	if req.Window < 0 {
		return nil, fmt.Errorf("%w: the window must not be negative", ErrHold)
	}
	if len(req.Clips) > 0 && strings.TrimSpace(req.Reason) == "" {
		return nil, fmt.Errorf("%w: a hold needs --reason", ErrHold)
	}
	for i, a := range req.Alarms {
		if _, err := time.Parse(time.RFC3339Nano, a.Time); err != nil {
			return nil, fmt.Errorf("%w: alarm %d: time %q is not RFC 3339 (like 2026-11-22T09:20:00Z)", ErrHold, i+1, a.Time)
		}
		if a.Incident == "" && req.Incident == "" {
			return nil, fmt.Errorf("%w: alarm %d at %s has no incident: give --incident or an incident column", ErrHold, i+1, a.Time)
		}
	}
	if len(req.Clips) > 0 && req.Incident == "" {
		return nil, fmt.Errorf("%w: a hold needs --incident", ErrHold)
	}
	var out []HoldOutcome
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		type want struct {
			clip     *Clip
			incident string
			reason   string
			alarm    *Alarm
		}
		var wants []want
		for _, id := range req.Clips {
			c, err := st.Find(id)
			if err != nil {
				return err
			}
			wants = append(wants, want{st.Root(c), req.Incident, req.Reason, nil})
		}
		for i := range req.Alarms {
			a := req.Alarms[i]
			at, _ := time.Parse(time.RFC3339Nano, a.Time)
			inc := a.Incident
			if inc == "" {
				inc = req.Incident
			}
			reason := req.Reason
			if reason == "" {
				reason = "panic alarm at " + a.Time
				if a.Location != "" {
					reason += " in " + a.Location
				}
				if a.Device != "" {
					reason += " (" + a.Device + ")"
				}
			}
			for _, c := range st.Overlapping(at.Add(-req.Window), at.Add(req.Window)) {
				wants = append(wants, want{c, inc, reason, &a})
			}
		}
		seen := map[string]bool{}
		for _, w := range wants {
			key := w.clip.ID + "\x00" + w.incident
			if seen[key] {
				continue
			}
			seen[key] = true
			o := HoldOutcome{Clip: w.clip.ID, Incident: w.incident, Alarm: w.alarm}
			if w.clip.Purge != nil {
				o.Skipped = "purged on " + w.clip.Purge.PolicyTime + "; nothing is left to hold"
				out = append(out, o)
				continue
			}
			if h := w.clip.holdFor(w.incident); h != nil {
				o.Skipped = "already held for " + w.incident + " (hold " + h.ID + ")"
				out = append(out, o)
				continue
			}
			p := HoldPayload{Hold: Hold{ID: newID(6), Incident: w.incident, Reason: w.reason, Alarm: w.alarm}}
			lines := []string{"clip " + w.clip.ID, "sha256 " + w.clip.Object.SHA256, "hold " + p.ID, "incident " + w.incident, "reason " + w.reason}
			if w.alarm != nil {
				p.Window = Duration(req.Window)
				lines = append(lines, "alarm "+w.alarm.Time, "window "+req.Window.String())
			}
			var err error
			if p.Statement, err = tx.state("hold", lines); err != nil {
				return err
			}
			if _, err := tx.appendJSON("hold", w.clip.ID, p); err != nil {
				return err
			}
			o.Hold = p.ID
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// Overlapping lists live originals whose recording [recorded_at,
// recorded_at + duration] overlaps [from, to].
func (st *State) Overlapping(from, to time.Time) []*Clip {
	var out []*Clip
	for _, id := range st.Order {
		c := st.Clips[id]
		if c.Kind != "original" || c.Status == StatusPurged {
			continue
		}
		start, err := time.Parse(time.RFC3339Nano, c.RecordedAt)
		if err != nil {
			continue
		}
		end := start
		if c.Media != nil && c.Media.Span() > 0 {
			end = start.Add(time.Duration(c.Media.Span() * float64(time.Second)))
		}
		if !end.Before(from) && !start.After(to) {
			out = append(out, c)
		}
	}
	return out
}

// HoldIDs lists the ids of the clip's active holds.
func (c *Clip) HoldIDs() []string {
	var out []string
	for _, h := range c.Holds {
		out = append(out, h.ID)
	}
	return out
}

func (c *Clip) holdFor(incident string) *Hold {
	for i := range c.Holds {
		if c.Holds[i].Incident == incident {
			return &c.Holds[i]
		}
	}
	return nil
}

// ReleaseRequest says which holds to lift.
type ReleaseRequest struct {
	Clip     string
	Incident string // only the holds for this incident; empty: all
	Reason   string // should be given; a release without one is flagged
}

// Release lifts holds on a clip. Only a DPO may. Once no hold is left the
// clip is subject to retention again (and purged at the next purge if it
// is past it).
func (s *Store) Release(ctx context.Context, as *Person, req ReleaseRequest) (*Clip, error) {
	if as == nil {
		return nil, fmt.Errorf("%w: only a DPO may release a hold (use -i with a DPO's key)", ErrNotDPO)
	}
	var out *Clip
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		u := tx.User()
		if u.Role != RoleDPO {
			return fmt.Errorf("%w: %s is a %s; only a DPO may release a hold", ErrNotDPO, u.Name, u.Role)
		}
		st := Replay(tx.Ledger)
		c, err := st.Find(req.Clip)
		if err != nil {
			return err
		}
		c = st.Root(c)
		var ids []string
		for _, h := range c.Holds {
			if req.Incident == "" || h.Incident == req.Incident {
				ids = append(ids, h.ID)
			}
		}
		if len(ids) == 0 {
			if req.Incident != "" {
				return fmt.Errorf("%w: clip %s has no hold for incident %s", ErrHold, c.ID, req.Incident)
			}
			return fmt.Errorf("%w: clip %s is not on hold", ErrHold, c.ID)
		}
		p := ReleasePayload{Holds: ids, Incident: req.Incident, Reason: strings.TrimSpace(req.Reason)}
		if p.Statement, err = tx.state("release", []string{"clip " + c.ID, "holds " + strings.Join(ids, ","), "reason " + p.Reason}); err != nil {
			return err
		}
		if _, err := tx.appendJSON("release", c.ID, p); err != nil {
			return err
		}
		out = Replay(tx.Ledger).Clips[c.ID]
		return nil
	})
	return out, err
}

// Consent states.
const (
	ConsentGiven     = "given"
	ConsentDeclined  = "declined"
	ConsentNotAsked  = "not-asked"
	ConsentWithdrawn = "withdrawn"
)

// ConsentRecord is one consent decision.
type ConsentRecord struct {
	State string `json:"state"`
	By    string `json:"by,omitempty"` // who decided: the patient, next of kin, ...
	At    string `json:"at,omitempty"` // when they decided (RFC 3339)
	Note  string `json:"note,omitempty"`
	// RecordedBy and RecordedAt are set by replay from the ledger entry.
	RecordedBy string `json:"recorded_by,omitempty"`
	RecordedAt string `json:"recorded_at,omitempty"`
}

// Check validates a decision; atImport refuses "withdrawn", which only
// follows an earlier decision.
func (r *ConsentRecord) Check(atImport bool) error {
	switch r.State {
	case ConsentGiven, ConsentDeclined, ConsentNotAsked:
	case ConsentWithdrawn:
		if atImport {
			return fmt.Errorf("%w: consent cannot be withdrawn at import; record given, declined or not-asked", ErrConsent)
		}
	default:
		return fmt.Errorf("%w: state %q: use given, declined, not-asked or withdrawn", ErrConsent, r.State)
	}
	if r.At != "" {
		if _, err := time.Parse(time.RFC3339, r.At); err != nil {
			return fmt.Errorf("%w: time %q is not RFC 3339", ErrConsent, r.At)
		}
	}
	return nil
}

// Refused reports whether the decision means the footage must go.
func (r *ConsentRecord) Refused() bool {
	return r != nil && (r.State == ConsentDeclined || r.State == ConsentWithdrawn)
}

// ConsentPayload is the payload of a "consent" entry.
type ConsentPayload struct {
	ConsentRecord
	Statement
}

// Consent returns the clip's current consent decision, or nil if none was
// recorded.
func (c *Clip) Consent() *ConsentRecord {
	if len(c.ConsentHistory) == 0 {
		return nil
	}
	return &c.ConsentHistory[len(c.ConsentHistory)-1]
}

// SetConsent records a consent decision for a clip. A clip whose consent is
// declined or withdrawn is purged at the next purge unless it is held.
func (s *Store) SetConsent(ctx context.Context, as *Person, clip string, r ConsentRecord) (*Clip, error) {
	if err := r.Check(false); err != nil {
		return nil, err
	}
	r.RecordedBy, r.RecordedAt = "", ""
	var out *Clip
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		c, err := st.Find(clip)
		if err != nil {
			return err
		}
		c = st.Root(c)
		if c.Purge != nil {
			return fmt.Errorf("%w: %s", ErrPurged, c.ID)
		}
		if r.State == ConsentDeclined || r.State == ConsentWithdrawn {
			// A refusal destroys the clip at the next purge, so only a DPO
			// (or the station operator while there is none) records it:
			// nobody may erase footage of their own conduct this way.
			if u := tx.User(); u != nil && u.Role != RoleDPO {
				return fmt.Errorf("%w: %s is a %s; a refusal of consent removes the clip, so a DPO records it", ErrNotDPO, u.Name, u.Role)
			} else if u == nil && len(st.activeDPOs("")) > 0 {
				return fmt.Errorf("%w: this store has a DPO, who records a refusal of consent (use -i with a DPO's key)", ErrNotDPO)
			}
		}
		if r.State == ConsentWithdrawn {
			if cur := c.Consent(); cur == nil || cur.State != ConsentGiven {
				return fmt.Errorf("%w: only given consent can be withdrawn (clip %s has %s); record declined instead", ErrConsent, c.ID, consentState(cur))
			}
		}
		p := ConsentPayload{ConsentRecord: r}
		if p.Statement, err = tx.state("consent", []string{"clip " + c.ID, "state " + r.State, "by " + r.By, "at " + r.At}); err != nil {
			return err
		}
		if _, err := tx.appendJSON("consent", c.ID, p); err != nil {
			return err
		}
		out = Replay(tx.Ledger).Clips[c.ID]
		return nil
	})
	return out, err
}

func consentState(r *ConsentRecord) string {
	if r == nil {
		return "none recorded"
	}
	return r.State
}

func init() {
	actionHandlers["hold"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p HoldPayload
		c := st.Clips[rec.Entry.Clip]
		if rec.Payload(&p) != nil || c == nil {
			return
		}
		h := p.Hold
		h.By, h.At = rec.Entry.Actor.Name, rec.Entry.Time
		c.Holds = append(c.Holds, h)
		ev.Summary = fmt.Sprintf("held by %s for incident %s: %s", h.By, h.Incident, h.Reason)
		c.Timeline = append(c.Timeline, *ev)
	}
	actionHandlers["release"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p ReleasePayload
		c := st.Clips[rec.Entry.Clip]
		if rec.Payload(&p) != nil || c == nil {
			return
		}
		gone := map[string]bool{}
		for _, id := range p.Holds {
			gone[id] = true
		}
		var keep []Hold
		var incidents []string
		for _, h := range c.Holds {
			if gone[h.ID] {
				incidents = append(incidents, h.Incident)
			} else {
				keep = append(keep, h)
			}
		}
		c.Holds = keep
		ev.Summary = fmt.Sprintf("hold(s) for %s released by %s: %s", strings.Join(incidents, ", "), rec.Entry.Actor.Name, reasonOr(p.Reason, "NO REASON GIVEN"))
		c.Timeline = append(c.Timeline, *ev)
		if p.Reason == "" {
			st.flag(rec, "release-without-reason", "%s released the hold(s) on clip %s without a reason", rec.Entry.Actor.Name, c.ID)
		}
		if u := st.userByKey(rec.Entry.Actor.Key); u == nil || u.Role != RoleDPO {
			st.flag(rec, "release-by-non-dpo", "the hold(s) on clip %s were released by %s, who is not a DPO", c.ID, rec.Entry.Actor.Name)
		}
	}
	actionHandlers["consent"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p ConsentPayload
		c := st.Clips[rec.Entry.Clip]
		if rec.Payload(&p) != nil || c == nil {
			return
		}
		r := p.ConsentRecord
		r.RecordedBy, r.RecordedAt = rec.Entry.Actor.Name, rec.Entry.Time
		c.ConsentHistory = append(c.ConsentHistory, r)
		ev.Summary = "consent " + r.State
		if r.By != "" {
			ev.Summary += " by " + r.By
		}
		if r.At != "" {
			ev.Summary += " at " + r.At
		}
		ev.Summary += ", recorded by " + r.RecordedBy
		c.Timeline = append(c.Timeline, *ev)
	}
	actionHandlers["policy.set"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p PolicyPayload
		if rec.Payload(&p) != nil {
			return
		}
		if u := st.userByKey(rec.Entry.Actor.Key); u == nil || u.Role != RoleDPO {
			st.flag(rec, "policy-by-non-dpo", "the policy was changed by %s, who is not a DPO", rec.Entry.Actor.Name)
		}
		p.Policy.fixedFrom(st.Policy) // dual control and the DPO seconder are fixed at init
		ev.Summary = fmt.Sprintf("policy changed by %s: retention %s (was %s), grants valid %s: %s", rec.Entry.Actor.Name, p.Policy.Retention, p.Old.Retention, p.Policy.GrantValidity, p.Reason)
		st.Policy = p.Policy
	}
}

// userByKey finds the active user with that fingerprint (replay helper).
func (st *State) userByKey(fp string) *User { return st.UserByKey(fp) }
