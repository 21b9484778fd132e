package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/custody-evidence/custody/manifest"
)

// Purge reasons.
const (
	PurgeRetention        = "retention"
	PurgeConsentDeclined  = "consent-declined"
	PurgeConsentWithdrawn = "consent-withdrawn"
)

// PurgePayload is the payload of a "purge" entry, the tombstone of a clip:
// it keeps every destroyed file's hashes, so the ledger still proves what
// the clip was, and says why and under what policy it went.
type PurgePayload struct {
	Reason      string   `json:"reason"`
	PolicyTime  string   `json:"policy_time"` // the time the decision was made for
	RecordedAt  string   `json:"recorded_at"`
	ExpiresAt   string   `json:"expires_at"`
	Retention   Duration `json:"retention"`
	Consent     string   `json:"consent,omitempty"`
	SHA256      string   `json:"sha256"` // the original's plaintext hash
	Derivatives []string `json:"derivatives,omitempty"`
	Requests    []string `json:"requests,omitempty"` // unused grants destroyed with it
	Objects     []Object `json:"objects"`            // every file destroyed, with hashes
}

// Due says whether a live clip's recording must go at now, and why, under
// the policy in force in st. Holds are not considered here; a derivative
// answers for its original. Purge decides by it, and replay judges every
// purge entry by it at the entry's own time (purgeRule).
func (st *State) Due(c *Clip, now time.Time) (string, bool) {
	return dueAt(st.expiresAt(c), st.Root(c).Consent(), now)
}

// DueAt says whether the clip's recording must go at now under the
// retention and consent rules, and why, by the clip's expiry as the final
// policy sets it (see State.Due). Holds are not considered here.
func (c *Clip) DueAt(now time.Time) (string, bool) { return dueAt(c.ExpiresAt, c.Consent(), now) }

// dueAt is the retention and consent rule: a recording goes once consent
// is refused, or once its retention ends (expires, RFC 3339).
func dueAt(expires string, cr *ConsentRecord, now time.Time) (string, bool) {
	if cr.Refused() {
		if cr.State == ConsentWithdrawn {
			return PurgeConsentWithdrawn, true
		}
		return PurgeConsentDeclined, true
	}
	if t, err := time.Parse(time.RFC3339, expires); err == nil && !now.Before(t) {
		return PurgeRetention, true
	}
	return "", false
}

// expiresAt is when the clip's retention ends under the policy in force in
// st: its original's recorded_at plus the retention ("" if unknown).
func (st *State) expiresAt(c *Clip) string {
	t, err := time.Parse(time.RFC3339Nano, st.Root(c).RecordedAt)
	if err != nil {
		return ""
	}
	return t.Add(st.Policy.Retention.D()).UTC().Format(time.RFC3339)
}

// ErrNotDue refuses removing a clip or grant before the rules say it goes.
var ErrNotDue = errors.New("refused: not due yet")

// purgeRule is the rule for a purge entry (gov-purge-early): the clip was
// due at the time the entry carries, by the policy in force then. A clock
// override ($CUSTODY_NOW) may decide for another time, but never makes a
// purge of a clip not due yet.
func (st *State) purgeRule(c *Clip, at time.Time) error {
	if _, due := st.Due(c, at); due {
		return nil
	}
	return fmt.Errorf("%w: clip %s was purged at %s, but it is kept until %s (recorded %s, retention %s) and its consent (%s) does not remove it",
		ErrNotDue, c.ID, at.UTC().Format(time.RFC3339), st.expiresAt(c), st.Root(c).RecordedAt, st.Policy.Retention, consentState(st.Root(c).Consent()))
}

// shredRule is the rule for destroying an unused grant as expired
// (gov-shred-early): it had expired at the time the entry carries.
func (r *Request) shredRule(at time.Time) error {
	if r.Status != RequestApproved || r.StatusAt(at) == RequestExpired {
		return nil
	}
	return fmt.Errorf("%w: the grant of request %s was destroyed as expired at %s, but it was valid until %s", ErrNotDue, r.ID, at.UTC().Format(time.RFC3339), r.GrantExpires)
}

// StatusAt is the clip's status at now: as Status, except that a sealed
// clip that the next purge would remove is "expired".
func (st *State) StatusAt(c *Clip, now time.Time) string { return c.StatusAt(now) }

// StatusAt is the clip's status at now (see State.StatusAt).
func (c *Clip) StatusAt(now time.Time) string {
	if c.Status != StatusSealed {
		return c.Status
	}
	if _, due := c.DueAt(now); due {
		return StatusExpired
	}
	return c.Status
}

// PurgeOptions controls a purge.
type PurgeOptions struct {
	// DryRun reports what would be removed and changes nothing.
	DryRun bool
	// Now is the policy clock (zero: the store's clock). It decides what
	// has expired; the tombstones record it, and custody log flags one far
	// from the time the entry was written.
	Now time.Time
}

// PurgedClip is one clip removed (or, in a dry run, to be removed).
type PurgedClip struct {
	Clip        string   `json:"clip"`
	Reason      string   `json:"reason"`
	RecordedAt  string   `json:"recorded_at"`
	ExpiresAt   string   `json:"expires_at"`
	Derivatives []string `json:"derivatives,omitempty"`
	Files       int      `json:"files"`
	Bytes       int64    `json:"bytes"`
}

// KeptClip is a clip past retention (or with consent refused) that a hold
// keeps.
type KeptClip struct {
	Clip      string   `json:"clip"`
	Reason    string   `json:"reason"` // what would purge it
	ExpiresAt string   `json:"expires_at"`
	Incidents []string `json:"incidents"`
}

// PurgeReport says what a purge did.
type PurgeReport struct {
	DryRun     bool         `json:"dry_run"`
	PolicyTime string       `json:"policy_time"`
	Purged     []PurgedClip `json:"purged"`
	Kept       []KeptClip   `json:"kept_by_hold"`
	// NotYetDue are clips due at the policy time but not at the real
	// time: a clock override never purges ahead of the real clock.
	NotYetDue []KeptClip `json:"not_yet_due"`
	Grants    []string   `json:"grants_destroyed"` // requests whose unused grant expired
	Swept     []string   `json:"swept"`            // files of earlier, interrupted purges removed
}

// Purge removes every original past retention, or whose consent was
// declined or withdrawn, that is not on hold: the original, its
// derivatives, their review material and the clip's key shares (so its
// ciphertext can never be opened again, wherever copies went). Unused
// grants past their expiry are destroyed too.
//
// Each clip goes in three durable steps: its files move into staging/, a
// tombstone entry keeping their hashes is appended, and the files are
// deleted. A crash before the tombstone leaves a live clip whose files the
// next writer's recovery moves back; a crash after it leaves a purged clip
// whose files the next writer's recovery deletes. verify passes at every
// point, and purging again is always safe.
//
// as is nil for the station operator (a cron job with the station
// passphrase), or a DPO.
func (s *Store) Purge(ctx context.Context, as *Person, opts PurgeOptions) (*PurgeReport, error) {
	rep := &PurgeReport{DryRun: opts.DryRun, Purged: []PurgedClip{}, Kept: []KeptClip{}, NotYetDue: []KeptClip{}, Grants: []string{}, Swept: []string{}}
	// plan decides at the policy time now, and keeps what is not due at
	// the time the entries will carry (real): the rules replay judges
	// the tombstones by.
	plan := func(st *State, now, real time.Time) ([]*Clip, []*Request) {
		var due []*Clip
		for _, id := range st.Order {
			c := st.Clips[id]
			if c.Kind != "original" || c.Status == StatusPurged {
				continue
			}
			why, ok := st.Due(c, now)
			if !ok {
				continue
			}
			if len(c.Holds) > 0 {
				k := KeptClip{Clip: c.ID, Reason: why, ExpiresAt: c.ExpiresAt}
				for _, h := range c.Holds {
					k.Incidents = append(k.Incidents, h.Incident)
				}
				rep.Kept = append(rep.Kept, k)
				continue
			}
			if st.purgeRule(c, real) != nil {
				rep.NotYetDue = append(rep.NotYetDue, KeptClip{Clip: c.ID, Reason: why, ExpiresAt: c.ExpiresAt})
				continue
			}
			due = append(due, c)
		}
		var grants []*Request
		for _, r := range st.requestList() {
			if r.Status == RequestApproved && r.StatusAt(now) == RequestExpired && r.shredRule(real) == nil {
				grants = append(grants, r)
			}
		}
		return due, grants
	}
	if opts.DryRun {
		l, _, err := s.ReadLedger()
		if err != nil {
			return nil, err
		}
		st := Replay(l)
		now := s.policyNow(opts.Now)
		rep.PolicyTime = now.UTC().Format(time.RFC3339)
		real := s.Now()
		if last := l.Last(); last != nil && real.Before(last.Entry.When()) {
			real = last.Entry.When() // as Tx.now: entries never go back in time
		}
		due, grants := plan(st, now, real)
		for _, c := range due {
			why, _ := st.Due(c, now)
			objs, derivs, _ := st.clipFiles(c)
			rep.Purged = append(rep.Purged, purgedClip(c, why, objs, derivs))
		}
		for _, r := range grants {
			rep.Grants = append(rep.Grants, r.ID)
		}
		for id := range st.Dead {
			if p, _ := s.findFile(st.Dead[id]); p != "" {
				rep.Swept = append(rep.Swept, st.Dead[id].Path)
			}
		}
		sort.Strings(rep.Swept)
		return rep, nil
	}
	if as == nil && s.signer == nil {
		return nil, ErrLocked
	}
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		if u := tx.User(); u != nil && u.Role != RoleDPO {
			return fmt.Errorf("%w: purge runs as the station (cron) or a DPO; %s is a %s", ErrNotDPO, u.Name, u.Role)
		}
		st := Replay(tx.Ledger)
		swept, err := s.sweepDead(st)
		rep.Swept = append(rep.Swept, swept...)
		if err != nil {
			return err
		}
		now := s.policyNow(opts.Now)
		rep.PolicyTime = now.UTC().Format(time.RFC3339)
		due, grants := plan(st, now, tx.now())
		for _, c := range due {
			if err := ctx.Err(); err != nil {
				return err
			}
			st := Replay(tx.Ledger)
			c = st.Clips[c.ID]
			why, _ := st.Due(c, now)
			objs, derivs, reqs := st.clipFiles(c)
			p := PurgePayload{Reason: why, PolicyTime: rep.PolicyTime, RecordedAt: c.RecordedAt, ExpiresAt: c.ExpiresAt,
				Retention: st.Policy.Retention, SHA256: c.Object.SHA256, Derivatives: derivs, Requests: reqs, Objects: objs}
			if cr := c.Consent(); cr != nil {
				p.Consent = cr.State
			}
			// 1. Out of objects/ and keys/, into staging/: still
			// recoverable, and verify still finds them.
			if err := s.stageForPurge(objs); err != nil {
				return err
			}
			// 2. The tombstone: from here the clip is purged.
			if _, err := tx.appendJSON("purge", c.ID, p); err != nil {
				return err
			}
			// 3. Delete.
			if err := s.deleteStaged(objs); err != nil {
				return err
			}
			rep.Purged = append(rep.Purged, purgedClip(c, why, objs, derivs))
		}
		for _, r := range grants {
			st := Replay(tx.Ledger)
			r = st.Requests[r.ID]
			if r == nil || r.Grant == nil || r.Status != RequestApproved {
				continue // went with its clip
			}
			p := ShredPayload{Request: r.ID, Grant: *r.Grant, Why: "expired at " + r.GrantExpires, PolicyTime: rep.PolicyTime}
			if _, err := tx.appendJSON("grant.shred", r.Clip, p); err != nil {
				return err
			}
			if _, err := s.sweepDead(Replay(tx.Ledger)); err != nil {
				return err
			}
			rep.Grants = append(rep.Grants, r.ID)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	return rep, nil
}

func purgedClip(c *Clip, why string, objs []Object, derivs []string) PurgedClip {
	pc := PurgedClip{Clip: c.ID, Reason: why, RecordedAt: c.RecordedAt, ExpiresAt: c.ExpiresAt, Derivatives: derivs, Files: len(objs)}
	for _, o := range objs {
		pc.Bytes += o.CipherSize
	}
	return pc
}

// policyNow is the policy clock: now if set, else the store's clock.
func (s *Store) policyNow(now time.Time) time.Time {
	if now.IsZero() {
		return s.Now()
	}
	return now
}

// clipFiles lists every live file of a clip and its derivatives, the
// derivatives' ids, and requests whose unused grant goes with them.
func (st *State) clipFiles(c *Clip) ([]Object, []string, []string) {
	var objs []Object
	var derivs, reqs []string
	add := func(cl *Clip) {
		for _, id := range cl.objects {
			if o, ok := st.Objects[id]; ok {
				objs = append(objs, o)
			}
		}
	}
	add(c)
	for _, id := range st.Order {
		d := st.Clips[id]
		if d != c && st.Root(d) == c && d.Status != StatusPurged {
			derivs = append(derivs, d.ID)
			add(d)
		}
	}
	for _, r := range st.requestList() {
		if r.Clip == c.ID && r.Status == RequestApproved && r.Grant != nil {
			if o, ok := st.Objects[r.Grant.ID]; ok {
				objs = append(objs, o)
				reqs = append(reqs, r.ID)
			}
		}
	}
	return objs, derivs, reqs
}

func (st *State) requestList() []*Request {
	out := make([]*Request, 0, len(st.Requests))
	for _, r := range st.Requests {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// findFile returns where an object's file is (final place or staging), or
// "" if it is nowhere. Anything there that is not a regular file of the
// store is a *NotRegularError: deleting a link would destroy nothing.
func (s *Store) findFile(o Object) (string, error) {
	for _, rel := range []string{o.Path, StagedPath(o)} {
		if _, err := s.lstatSealed(rel); err == nil {
			return filepath.Join(s.Dir, filepath.FromSlash(rel)), nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", nil
}

// stageForPurge moves objects' files into staging/, durably. It first
// checks that every one is a regular file of the store, so that a purge
// never moves (and then deletes) a link in place of the evidence.
func (s *Store) stageForPurge(objs []Object) error {
	for _, o := range objs {
		if _, err := s.findFile(o); err != nil {
			return fmt.Errorf("purge refused: %w", err)
		}
	}
	dirs := map[string]bool{}
	for _, o := range objs {
		src := filepath.Join(s.Dir, filepath.FromSlash(o.Path))
		dst := filepath.Join(s.Dir, filepath.FromSlash(StagedPath(o)))
		if err := os.Rename(src, dst); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if _, serr := s.lstatSealed(StagedPath(o)); serr == nil {
					continue // already staged by an interrupted purge
				}
			}
			return fmt.Errorf("purge: %w", err)
		}
		dirs[filepath.Dir(src)] = true
	}
	dirs[filepath.Join(s.Dir, StagingDir)] = true
	for d := range dirs {
		if err := atomicfile.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) deleteStaged(objs []Object) error {
	for _, o := range objs {
		// Checked again: only a regular file is evidence destroyed.
		if _, err := s.lstatSealed(StagedPath(o)); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		if err := os.Remove(filepath.Join(s.Dir, filepath.FromSlash(StagedPath(o)))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("purge: %w", err)
		}
	}
	return atomicfile.SyncDir(filepath.Join(s.Dir, StagingDir))
}

// sweepDead deletes any file of a dead object (tombstoned, consumed or
// expired grant, superseded share) that is still on disk, wherever an
// interrupted writer left it. It returns the store paths removed.
func (s *Store) sweepDead(st *State) ([]string, error) {
	// A linked objects/, keys/ or staging/ would make every delete miss
	// the evidence; every write runs this first, so every write refuses.
	if err := s.CheckSealedDirs(); err != nil {
		return nil, err
	}
	var swept []string
	dirs := map[string]bool{}
	ids := make([]string, 0, len(st.Dead))
	for id := range st.Dead {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := st.Dead[id]
		if _, live := st.Objects[id]; live {
			continue
		}
		for {
			p, err := s.findFile(o)
			if err != nil {
				return swept, err
			}
			if p == "" {
				break
			}
			if err := os.Remove(p); err != nil {
				return swept, fmt.Errorf("removing %s: %w", p, err)
			}
			dirs[filepath.Dir(p)] = true
			swept = append(swept, o.Path)
		}
	}
	for d := range dirs {
		if err := atomicfile.SyncDir(d); err != nil {
			return swept, err
		}
	}
	return swept, nil
}

func init() {
	actionHandlers["purge"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p PurgePayload
		c := st.Clips[rec.Entry.Clip]
		if rec.Payload(&p) != nil || c == nil {
			return
		}
		c.Purge = &p
		ev.Summary = fmt.Sprintf("purged (%s; policy time %s): %d file(s) destroyed, hashes kept", p.Reason, p.PolicyTime, len(p.Objects))
		for _, id := range p.Derivatives {
			if d := st.Clips[id]; d != nil {
				d.Purge = &p
				d.Timeline = append(d.Timeline, *ev)
			}
		}
		for _, o := range p.Objects {
			// Only files the ledger registered die: a tombstone cannot
			// name any other file for purge to delete.
			if lo, ok := st.Objects[o.ID]; ok && lo == o {
				delete(st.Objects, o.ID)
				st.dead(o)
			}
		}
		for _, id := range p.Requests {
			if r := st.Requests[id]; r != nil && r.Status == RequestApproved {
				r.Status = RequestShredded
			}
		}
		if len(c.Holds) > 0 {
			st.flag(rec, "purge-while-held", "clip %s was purged while on hold", c.ID)
		}
		if t, err := time.Parse(time.RFC3339, p.PolicyTime); err == nil {
			if d := t.Sub(rec.Entry.When()); d > 10*time.Minute || d < -10*time.Minute {
				st.flag(rec, "clock-override", "purge of clip %s was decided for %s, %s away from when it ran", c.ID, p.PolicyTime, FormatDuration(d))
			}
		}
		c.Timeline = append(c.Timeline, *ev)
	}
}
