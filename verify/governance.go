package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"golang.org/x/crypto/ssh"
)

// Governance checks. The ledger's signatures prove who wrote each entry;
// these check that what they wrote was theirs to write: the rules custody
// enforces when it makes an entry, judged again from the ledger alone, at
// the point each entry was made. A key the ledger authorises (a clinician,
// or the station operator with the passphrase) can still sign an approval
// into the ledger with the library or a text editor; verify catches it.
//
// The rules on people, approvals' links, ownership and purge times live in
// the store's rule table (store.RuleCodes), which the writers refuse by:
// verify reports the breaks replay flags with them, so the writer and the
// verifier apply one rule.
//
// Codes (each a Problem):
//
//	gov-user-not-dpo           people registered or removed by someone other than the station (at init, or before the first DPO) or a DPO (after); a DPO proposed or confirmed by someone not a DPO or in the store's DPO seconder role
//	gov-dpo-unseconded         a DPO registered by one person: not confirming a pending, unlapsed proposal of that person by someone else, unlinked, one of the two a DPO
//	gov-name-reused            a name registered again with another key, or a key under another name
//	gov-policy-not-dpo         policy changed by a non-DPO
//	gov-release-not-dpo        hold released by a non-DPO
//	gov-rewrap-not-dpo         key shares re-sealed by a non-DPO
//	gov-request-not-owner      request to open a clip by someone not its owner
//	gov-request-duplicate      a request id used twice
//	gov-approval-not-dpo       approval by a key that was not a DPO's at that point
//	gov-self-approval          approval by the requester
//	gov-approval-no-request    approval of a request that does not exist
//	gov-approval-wrong-clip    approval naming another clip than the request's
//	gov-approval-requester     grant sealed for someone other than the requester
//	gov-approval-replayed      second approval of a request
//	gov-approval-expired       approval of a request that had lapsed
//	gov-approval-linked        approval by a DPO who registered the requester alone, or whom the requester registered alone
//	gov-open-outside-request   open of a dual-control original with no request
//	gov-open-wrong-request     open under a request for another clip, person or purpose
//	gov-open-unapproved        open under a request not (yet) approved
//	gov-open-expired           open after the approval expired
//	gov-grant-reused           open under an approval already used (or destroyed)
//	gov-redact-outside-request redaction of a dual-control original without a used redaction approval of the redactor's own
//	gov-purge-not-dpo          purge by a person who is not a DPO (purge runs as the station or a DPO)
//	gov-purge-while-held       purge of a clip on hold
//	gov-purge-early            purge of a clip not due at the time the entry carries, by the policy, consent and retention then (a clock override)
//	gov-shred-early            an unused grant destroyed as expired before it expired
//	object-path                an entry registering a sealed file at a path custody never makes (outside objects/ and keys/)
//	gov-statement              a governance entry whose signed statement is missing, invalid, not the actor's, or for another store, request or clip
//	gov-payload                a governance entry whose payload cannot be read
//	gov-witness-not-dpo        a witness registered or removed, or a loss of ledger entries recorded, by someone other than the station (before the first DPO) or a DPO (after)
//
// and for dual-control key material (keys/):
//
//	share-missing     a live dual-control clip lacks a key share (in the ledger, or its file), or a redacted version of one its derived key
//	share-holders     a share or derived key is not held by exactly the people the rules say (owner; DPOs other than the owner; all DPOs)
//	key-recipients    a sealed file's age header does not match its holders (an extra recipient, or an original under dual control sealed to a person's key)
//	key-stray         a file in keys/ that the ledger does not register
//
// and for receipts of export bundles:
//
//	receipt-signer    a receipt signed by a key other than the receiver's the export names
//	receipt-invalid   a receipt entry whose receipt does not verify, or does not match its payload or export
func checkGovernance(r *Report, s *store.Store, l *manifest.Ledger, issues []manifest.Issue) {
	g := &govWalk{r: r, storeID: s.Config.ID, people: map[string]*govPerson{}, clips: map[string]*govClip{}, requests: map[string]*govRequest{}, holds: map[string]map[string]bool{}, unsigned: map[uint64]bool{}}
	for _, is := range issues {
		if is.Code == "ledger-actor" && is.Seq >= 0 {
			g.unsigned[uint64(is.Seq)] = true
		}
	}
	if len(l.Records) == 0 {
		return
	}
	var gen manifest.GenesisPayload
	if l.Records[0].Payload(&gen) == nil {
		if pub, err := seal.ParsePublicKey(gen.StationKey); err == nil {
			g.station = seal.Fingerprint(pub)
		}
	}
	for _, rec := range l.Records[1:] {
		g.entry(rec)
	}
	st := store.Replay(l)
	for _, a := range st.Anomalies {
		if a.Code == "object-path" {
			r.fail("object-path", fmt.Sprintf("entry %d", a.Seq), "%s", a.Msg)
		}
		if code, ok := store.RuleCode(a.Code); ok && a.Seq < uint64(len(l.Records)) {
			e := l.Records[a.Seq].Entry
			r.fail(code, fmt.Sprintf("entry %d", a.Seq), "%s (%s by %s)", a.Msg, e.Action, g.who(e.Actor.Key, e.Actor.Name))
		}
	}
	checkKeyMaterial(r, s, st)
	checkReceipts(r, l)
}

type govPerson struct {
	name, role, key string
	active          bool
}

type govClip struct {
	id   string
	dual bool // an original sealed under dual control
}

type govRequest struct {
	id, clip, requester, requesterKey, purpose string
	lapses                                     time.Time // an unapproved request lapses
	status                                     string    // pending, approved, used, shredded
	grantExpires                               time.Time
	usedBy                                     string // key that used the grant
	derived                                    string // redacted version made under it
}

type govWalk struct {
	r        *Report
	storeID  string
	station  string
	people   map[string]*govPerson // by key fingerprint, active or not
	clips    map[string]*govClip
	requests map[string]*govRequest
	holds    map[string]map[string]bool // clip → active hold ids
	unsigned map[uint64]bool            // entries not validly signed by their actor
}

func (g *govWalk) fail(rec *manifest.Record, code, format string, a ...any) {
	g.r.fail(code, fmt.Sprintf("entry %d", rec.Entry.Seq), "%s (%s by %s)", fmt.Sprintf(format, a...), rec.Entry.Action, g.who(rec.Entry.Actor.Key, rec.Entry.Actor.Name))
}

// role is the role the key had at this point of the ledger ("" for the
// station or anyone not registered).
func (g *govWalk) role(fp string) string {
	if p := g.people[fp]; p != nil && p.active {
		return p.role
	}
	return ""
}

func (g *govWalk) who(fp, name string) string {
	switch {
	case fp == g.station:
		return "the station key (" + name + ")"
	case g.people[fp] != nil:
		p := g.people[fp]
		if !p.active {
			return p.name + ", no longer registered"
		}
		return p.name + ", " + p.role
	}
	return name + " (" + fp + ")"
}

func (g *govWalk) anyDPO() bool {
	for _, p := range g.people {
		if p.active && p.role == store.RoleDPO {
			return true
		}
	}
	return false
}

// statementActions maps the actions that carry a signed statement to the
// action named in its namespace.
var statementActions = map[string]string{
	"user.add": "user.add", "user.remove": "user.remove", "user.propose": "user.propose", "user.withdraw": "user.withdraw", "policy.set": "policy", "request": "request",
	"approve": "approve", "hold": "hold", "release": "release", "consent": "consent",
	"witness.add": "witness.add", "witness.remove": "witness.remove", "ledger.loss": "ledger.loss",
}

func (g *govWalk) entry(rec *manifest.Record) {
	e := &rec.Entry
	fp := e.Actor.Key
	at := e.When()
	if ns, ok := statementActions[e.Action]; ok {
		g.statement(rec, ns)
	}
	decode := func(v any) bool {
		if err := rec.Payload(v); err != nil {
			g.fail(rec, "gov-payload", "the payload cannot be read: %v", err)
			return false
		}
		return true
	}
	switch e.Action {
	case "user.add", "user.remove":
		var p store.UserPayload
		if !decode(&p) {
			return
		}
		// Who may register or remove whom is the store's rule table's.
		if p.Rewrap != nil && len(p.Rewrap.Shares) > 0 && g.role(fp) != store.RoleDPO {
			g.fail(rec, "gov-rewrap-not-dpo", "key shares were re-sealed with the change of %s, which only a DPO may do", p.Name)
		}
		if g.unsigned[e.Seq] {
			return // manifest reports it; its key change does not count
		}
		pub, err := seal.ParsePublicKey(p.Key)
		if err != nil {
			g.fail(rec, "gov-payload", "the person's key cannot be read: %v", err)
			return
		}
		key := seal.Fingerprint(pub)
		if e.Action == "user.add" {
			g.people[key] = &govPerson{name: p.Name, role: p.Role, key: key, active: true}
		} else if pp := g.people[key]; pp != nil {
			pp.active = false
		}
	case "consent":
		var p store.ConsentPayload
		if !decode(&p) {
			return
		}
		// A refusal removes the clip at the next purge: a DPO records it
		// (the station only while the store has no DPO).
		if p.State == store.ConsentDeclined || p.State == store.ConsentWithdrawn {
			if g.anyDPO() && g.role(fp) != store.RoleDPO {
				g.fail(rec, "gov-consent-not-dpo", "consent for clip %s was recorded as %s, which removes the clip, by someone who is not a DPO", e.Clip, p.State)
			}
		}
	case "policy.set":
		if g.role(fp) != store.RoleDPO {
			g.fail(rec, "gov-policy-not-dpo", "the policy was changed, which only a DPO may do")
		}
	case "hold":
		var p store.HoldPayload
		if rec.Payload(&p) == nil {
			if g.holds[e.Clip] == nil {
				g.holds[e.Clip] = map[string]bool{}
			}
			g.holds[e.Clip][p.ID] = true
		}
	case "release":
		if g.role(fp) != store.RoleDPO {
			g.fail(rec, "gov-release-not-dpo", "a hold on clip %s was released, which only a DPO may do", e.Clip)
		}
		var p store.ReleasePayload
		if rec.Payload(&p) == nil {
			for _, id := range p.Holds {
				delete(g.holds[e.Clip], id)
			}
		}
	case "keys.rewrap":
		if g.role(fp) != store.RoleDPO {
			g.fail(rec, "gov-rewrap-not-dpo", "key shares were re-sealed, which only a DPO may do")
		}
	case "import":
		var p store.ImportPayload
		if rec.Payload(&p) != nil {
			return
		}
		c := &govClip{id: e.Clip}
		for _, sh := range p.Shares {
			if sh.Kind == store.ShareOwner {
				c.dual = true
			}
		}
		g.clips[c.id] = c
	case "request":
		var p store.RequestPayload
		if !decode(&p) {
			return
		}
		c := g.clips[e.Clip]
		if c == nil {
			return
		}
		// Whether the requester owns the clip is the rule table's.
		if g.requests[p.ID] != nil {
			g.fail(rec, "gov-request-duplicate", "request id %s was already used by an earlier request", p.ID)
			return
		}
		rq := &govRequest{id: p.ID, clip: c.id, requester: e.Actor.Name, requesterKey: fp, purpose: purposeOf(p.Purpose), status: "pending"}
		rq.lapses, _ = time.Parse(time.RFC3339Nano, p.ExpiresAt)
		g.requests[p.ID] = rq
	case "approve":
		var p store.ApprovePayload
		if !decode(&p) {
			return
		}
		// An approval that breaks a rule is reported and, as custody
		// itself does, not honoured: it approves nothing.
		ok := true
		bad := func(code, format string, a ...any) {
			g.fail(rec, code, format, a...)
			ok = false
		}
		if g.role(fp) != store.RoleDPO {
			bad("gov-approval-not-dpo", "request %s was approved by a key that was not a DPO's at this point", p.Request)
		}
		rq := g.requests[p.Request]
		if rq == nil {
			g.fail(rec, "gov-approval-no-request", "approval of request %s, which does not exist", p.Request)
			return
		}
		if e.Clip != rq.clip {
			bad("gov-approval-wrong-clip", "approval of request %s names clip %s; the request is for clip %s", rq.id, e.Clip, rq.clip)
		}
		if fp == rq.requesterKey || (g.people[fp] != nil && g.people[fp].name == rq.requester) {
			bad("gov-self-approval", "%s approved their own request %s", e.Actor.Name, rq.id)
		}
		if p.Requester != rq.requesterKey {
			bad("gov-approval-requester", "the grant of request %s is for key %s, not the requester's %s", rq.id, p.Requester, rq.requesterKey)
		}
		if rq.status != "pending" {
			bad("gov-approval-replayed", "request %s was approved again (it was %s)", rq.id, rq.status)
		} else if !rq.lapses.IsZero() && !at.Before(rq.lapses) {
			bad("gov-approval-expired", "request %s was approved at %s, after it lapsed at %s", rq.id, e.Time, rq.lapses.Format(time.RFC3339))
		}
		if ok {
			rq.status = "approved"
			rq.grantExpires, _ = time.Parse(time.RFC3339Nano, p.ExpiresAt)
		}
	case "access":
		c := g.clips[e.Clip]
		if c == nil || !c.dual {
			return
		}
		var p store.AccessPayload
		if !decode(&p) {
			return
		}
		rq := g.requests[p.Request]
		switch {
		case p.Request == "" || rq == nil:
			g.fail(rec, "gov-open-outside-request", "dual-control clip %s was opened with no approved request", c.id)
			return
		case rq.clip != c.id || rq.requesterKey != fp:
			g.fail(rec, "gov-open-wrong-request", "clip %s was opened under request %s, which is %s's for clip %s", c.id, rq.id, rq.requester, rq.clip)
			return
		case purposeOf(p.Purpose) != rq.purpose:
			g.fail(rec, "gov-open-wrong-request", "clip %s was read to %s under request %s, which asked to %s", c.id, purposeOf(p.Purpose), rq.id, rq.purpose)
			return
		case rq.status == "pending":
			g.fail(rec, "gov-open-unapproved", "clip %s was opened under request %s, which no DPO had approved", c.id, rq.id)
			return
		case rq.status != "approved":
			g.fail(rec, "gov-grant-reused", "clip %s was opened under request %s, whose approval was already %s", c.id, rq.id, rq.status)
			return
		case !rq.grantExpires.IsZero() && !at.Before(rq.grantExpires):
			g.fail(rec, "gov-open-expired", "clip %s was opened at %s under request %s, whose approval expired at %s", c.id, e.Time, rq.id, rq.grantExpires.Format(time.RFC3339))
		}
		rq.status, rq.usedBy = "used", fp
	case "redact":
		var p store.DerivePayload
		if rec.Payload(&p) != nil {
			return
		}
		c := g.clips[p.Parent]
		if c == nil || !c.dual {
			return
		}
		rq := g.requests[p.Request]
		switch {
		case p.Request == "" || rq == nil:
			g.fail(rec, "gov-redact-outside-request", "redacted version %s of dual-control clip %s names no request", e.Clip, c.id)
		case rq.clip != c.id || rq.purpose != store.PurposeRedact:
			g.fail(rec, "gov-redact-outside-request", "redacted version %s of clip %s names request %s, a request to %s clip %s", e.Clip, c.id, rq.id, rq.purpose, rq.clip)
		case rq.status != "used" || rq.usedBy != fp:
			g.fail(rec, "gov-redact-outside-request", "redacted version %s of clip %s was made without its maker having used the approval of request %s (it is %s)", e.Clip, c.id, rq.id, rq.status)
		case rq.derived != "":
			g.fail(rec, "gov-redact-outside-request", "request %s was already used for redacted version %s", rq.id, rq.derived)
		default:
			rq.derived = e.Clip
		}
	case "grant.shred":
		var p store.ShredPayload
		if rec.Payload(&p) == nil {
			if rq := g.requests[p.Request]; rq != nil && rq.status == "approved" {
				rq.status = "destroyed"
			}
		}
	case "purge":
		if fp != g.station && g.role(fp) != store.RoleDPO {
			g.fail(rec, "gov-purge-not-dpo", "clip %s was purged by a person who is not a DPO", e.Clip)
		}
		if n := len(g.holds[e.Clip]); n > 0 {
			g.fail(rec, "gov-purge-while-held", "clip %s was purged while %d hold(s) kept it", e.Clip, n)
		}
		var p store.PurgePayload
		if rec.Payload(&p) == nil {
			for _, id := range p.Requests {
				if rq := g.requests[id]; rq != nil && rq.status == "approved" {
					rq.status = "destroyed"
				}
			}
		}
	}
}

func purposeOf(p string) string {
	if p == "" {
		return store.PurposeOpen
	}
	return p
}

// statement checks a governance entry's signed statement: present, valid
// in its namespace, made by the entry's actor, for this store, and (for
// requests and approvals) for the entry's own request and clip.
func (g *govWalk) statement(rec *manifest.Record, ns string) {
	var p struct {
		store.Statement
		ID      string `json:"id"`
		Request string `json:"request"`
	}
	if rec.Payload(&p) != nil {
		return // gov-payload is reported by the rule check
	}
	if p.Text == "" || p.Sig == "" {
		g.fail(rec, "gov-statement", "the entry carries no signed statement")
		return
	}
	pub, err := p.Statement.Verify(ns)
	if err != nil {
		g.fail(rec, "gov-statement", "the signed statement does not verify in namespace %s: %v", store.StatementNamespace(ns), err)
		return
	}
	if seal.Fingerprint(pub) != rec.Entry.Actor.Key {
		g.fail(rec, "gov-statement", "the statement is signed by %s, not by the entry's actor", seal.Fingerprint(pub))
		return
	}
	lines := map[string]string{}
	for _, l := range strings.Split(p.Text, "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			if _, seen := lines[k]; !seen {
				lines[k] = v
			}
		}
	}
	want := map[string]string{"store": g.storeID}
	switch rec.Entry.Action {
	case "request":
		want["request"], want["clip"] = p.ID, rec.Entry.Clip
	case "approve":
		want["request"], want["clip"] = p.Request, rec.Entry.Clip
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if lines[k] != want[k] {
			g.fail(rec, "gov-statement", "the signed statement is for %s %q, the entry for %q", k, lines[k], want[k])
		}
	}
}

// checkKeyMaterial checks the key material of live dual-control clips, and
// keys/ itself, against the ledger as it stands.
func checkKeyMaterial(r *Report, s *store.Store, st *store.State) {
	var dpos []string
	for _, u := range st.Users {
		if u.Active && u.Role == store.RoleDPO {
			dpos = append(dpos, u.Name)
		}
	}
	sort.Strings(dpos)
	share := func(c *store.Clip, kind string) *store.Share {
		for i := range c.Shares {
			if c.Shares[i].Kind == kind {
				return &c.Shares[i]
			}
		}
		return nil
	}
	for _, id := range st.Order {
		c := st.Clips[id]
		if c.Status == store.StatusPurged {
			continue
		}
		root := st.Root(c)
		if c.Kind == "original" {
			if !st.Policy.DualControl {
				continue
			}
			ow, dp := share(c, store.ShareOwner), share(c, store.ShareDPO)
			if ow == nil || dp == nil {
				r.fail("share-missing", "clip "+c.ID, "the clip is in a dual-control store but the ledger registers no %s share for it: its original is not under dual control", map[bool]string{true: "DPO", false: "owner"}[ow != nil])
				continue
			}
			var others []string
			for _, n := range dpos {
				if n != c.Owner {
					others = append(others, n)
				}
			}
			checkHolders(r, s, c, ow, []string{c.Owner}, st.Users)
			checkHolders(r, s, c, dp, others, st.Users)
			checkOriginalHeader(r, s, c)
			continue
		}
		if !root.DualControl() {
			continue
		}
		k := share(c, store.ShareDerived)
		if k == nil {
			r.fail("share-missing", "clip "+c.ID, "redacted version of dual-control clip %s has no derived key held by the DPOs: it is sealed to something else", root.ID)
			continue
		}
		checkHolders(r, s, c, k, dpos, st.Users)
	}
	checkKeysDir(r, s, st)
}

// checkHolders checks a share's holders are exactly want, its file exists,
// and its age header is sealed to them and no one else. users are all the
// people ever registered, by name (an owner may have been removed).
func checkHolders(r *Report, s *store.Store, c *store.Clip, sh *store.Share, want []string, users map[string]*store.User) {
	got := append([]string(nil), sh.Holders...)
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(got, ",") != strings.Join(w, ",") {
		r.fail("share-holders", sh.Object.Path, "the %s key of clip %s is held by [%s]; the rules say [%s]", sh.Kind, c.ID, strings.Join(got, ", "), strings.Join(w, ", "))
	}
	stanzas, err := readStanzas(s, sh.Object)
	if errors.Is(err, fs.ErrNotExist) {
		r.fail("share-missing", sh.Object.Path, "the %s key file of clip %s is missing: the clip can never be opened", sh.Kind, c.ID)
		return
	}
	if err != nil {
		return // object-hash or object-unreadable says what is wrong
	}
	// Each holder's recipient gives one stanza; an ssh-ed25519 stanza
	// names its key by a tag, so a stranger's can be told apart.
	tags := map[string]string{}
	allSSH := true
	for _, n := range sh.Holders {
		u := users[n]
		if u == nil {
			allSSH = false
			continue
		}
		if tag, ok := sshTag(u.Recipient); ok {
			tags[tag] = n
		} else {
			allSSH = false
		}
	}
	for _, st := range stanzas {
		if st.typ == "ssh-ed25519" && len(st.args) > 0 && tags[st.args[0]] == "" {
			r.fail("key-recipients", sh.Object.Path, "the %s key file of clip %s is also sealed to an SSH key that none of its holders has", sh.Kind, c.ID)
			return
		}
	}
	if allSSH && len(stanzas) != len(sh.Holders) {
		r.fail("key-recipients", sh.Object.Path, "the %s key file of clip %s is sealed to %d recipients; it has %d holders", sh.Kind, c.ID, len(stanzas), len(sh.Holders))
	}
}

// checkOriginalHeader checks a dual-control original is sealed to one
// X25519 key (the clip key) and nothing else: no person's key can open it.
func checkOriginalHeader(r *Report, s *store.Store, c *store.Clip) {
	stanzas, err := readStanzas(s, c.Object)
	if err != nil {
		return // object-missing, object-hash say what is wrong
	}
	if len(stanzas) != 1 || stanzas[0].typ != "X25519" {
		var types []string
		for _, st := range stanzas {
			types = append(types, st.typ)
		}
		r.fail("key-recipients", c.Object.Path, "dual-control original %s is sealed to %d recipient(s) (%s); it must be sealed to its clip key alone", c.ID, len(stanzas), strings.Join(types, ", "))
	}
}

type stanza struct {
	typ  string
	args []string
}

// readStanzas reads the recipient stanzas of a sealed file's age header.
func readStanzas(s *store.Store, o store.Object) ([]stanza, error) {
	f, err := s.OpenObject(o) // never a link or a pipe (object-not-regular)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hdr, err := age.ExtractHeader(f)
	if err != nil {
		return nil, err
	}
	var out []stanza
	for _, line := range strings.Split(string(hdr), "\n") {
		if rest, ok := strings.CutPrefix(line, "-> "); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				out = append(out, stanza{typ: fields[0], args: fields[1:]})
			}
		}
	}
	return out, nil
}

// sshTag is the tag age writes in an ssh-ed25519 stanza for a recipient.
func sshTag(recipient string) (string, bool) {
	if !strings.HasPrefix(recipient, "ssh-ed25519 ") {
		return "", false
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(recipient))
	if err != nil {
		return "", false
	}
	h := sha256.Sum256(pub.Marshal())
	return base64.RawStdEncoding.EncodeToString(h[:4]), true
}

// checkKeysDir reports files in keys/ the ledger does not register. Files
// of dead objects (a used or destroyed grant, a re-sealed share) are left
// only by an interrupted write, which the next write removes (see
// recovery); they are noted, not failed. So are grants past their expiry,
// which the next purge destroys.
func checkKeysDir(r *Report, s *store.Store, st *store.State) {
	ents, err := os.ReadDir(filepath.Join(s.Dir, store.KeysDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.fail("key-stray", store.KeysDir, "cannot list: %v", err)
		return
	}
	for _, e := range ents {
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".age")
		path := store.KeysDir + "/" + name
		if o, live := st.Objects[id]; ok && live && o.Path == path {
			continue
		}
		if o, dead := st.Dead[id]; ok && dead && o.Path == path {
			r.note("%s was destroyed in the ledger (a used grant or a re-sealed share) but is still on disk after an interrupted write; the next write removes it", path)
			continue
		}
		r.fail("key-stray", path, "file is not registered in the ledger")
	}
	now := time.Now()
	ids := make([]string, 0, len(st.Requests))
	for id := range st.Requests {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rq := st.Requests[id]
		if rq.Status == store.RequestApproved && rq.StatusAt(now) == store.RequestExpired && rq.Grant != nil {
			r.note("the unused grant of request %s (%s) expired at %s; the next purge destroys it", rq.ID, rq.Grant.Path, rq.GrantExpires)
		}
	}
}

// checkReceipts judges each receipt entry by the rule import-receipt
// refuses by (store.ExportPayload.CheckReceiptSigner): the receipt it
// records must verify, match its entry and export, and be signed by the
// receiver the export names. An export that named none (older exports, or
// --no-receiver) cannot be judged; that is noted.
func checkReceipts(r *Report, l *manifest.Ledger) {
	for _, rec := range l.Records {
		if rec.Entry.Action != "receipt" {
			continue
		}
		subj := fmt.Sprintf("entry %d", rec.Entry.Seq)
		var p store.ReceiptPayload
		if err := rec.Payload(&p); err != nil {
			r.fail("receipt-invalid", subj, "the receipt entry cannot be read: %v", err)
			continue
		}
		rc, pub, err := bundle.ParseReceipt([]byte(p.Receipt))
		if err != nil {
			r.fail("receipt-invalid", subj, "the receipt it records does not verify: %v", err)
			continue
		}
		var ep store.ExportPayload
		if p.Export >= rec.Entry.Seq || p.Export >= uint64(len(l.Records)) || l.Records[p.Export].Entry.Action != "export" || l.Records[p.Export].Payload(&ep) != nil {
			r.fail("receipt-invalid", subj, "the receipt is for entry %d, which is not an earlier export", p.Export)
			continue
		}
		if rc.Export != p.Export || rc.StatementSHA256 != p.StatementSHA256 || rc.Incident != ep.Incident || p.ReceiverKey != seal.AuthorizedKey(pub) {
			r.fail("receipt-invalid", subj, "the receipt it records does not match the entry's payload or export #%d", p.Export)
			continue
		}
		switch err := ep.CheckReceiptSigner(p.Export, pub); {
		case errors.Is(err, store.ErrUnaddressed):
			r.note("%s records a receipt for export #%d, which named no receiver: who signed it (%s) cannot be checked", subj, p.Export, seal.Fingerprint(pub))
		case err != nil:
			r.fail("receipt-signer", subj, "%v", err)
		}
	}
}
