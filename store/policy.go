package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/custody-evidence/custody/manifest"
)

// Policy is the store's governance policy. It lives in the ledger: the
// genesis entry holds the first one and "policy.set" entries, which only a
// DPO may make, change it. Stores made before policies existed get
// DefaultPolicy.
type Policy struct {
	// Retention is how long after recorded_at a clip is kept unless held.
	Retention Duration `json:"retention"`
	// DualControl is fixed at init: originals are sealed to a per-clip key
	// split between the owner and the DPOs.
	DualControl bool `json:"dual_control,omitempty"`
	// GrantValidity is how long an approval stays usable.
	GrantValidity Duration `json:"grant_validity"`
	// RequestValidity is how long a request waits for approval.
	RequestValidity Duration `json:"request_validity"`
	// BurstRequests requests by one person within BurstWindow are normal;
	// more are flagged by custody log.
	BurstRequests int      `json:"burst_requests"`
	BurstWindow   Duration `json:"burst_window"`
	// DPOSeconder is fixed at init: a role (clinician or investigator)
	// whose members may give the second signature that registers a DPO,
	// besides the DPOs themselves. Empty: only DPOs.
	DPOSeconder string `json:"dpo_seconder,omitempty"`
	// Founders are the key fingerprints of the people init registered (the
	// first DPOs): fixed at init, the only people the station registers
	// once the store has a DPO, each once, in init itself.
	Founders []string `json:"founders,omitempty"`
}

// DefaultPolicy is what a store gets unless told otherwise: footage is
// deleted 48 hours after recording unless an incident needs it.
func DefaultPolicy() Policy {
	return Policy{
		Retention:       Duration(48 * time.Hour),
		GrantValidity:   Duration(24 * time.Hour),
		RequestValidity: Duration(7 * 24 * time.Hour),
		BurstRequests:   3,
		BurstWindow:     Duration(time.Hour),
	}
}

// Validate checks the policy's values are usable.
func (p Policy) Validate() error {
	switch {
	case p.Retention <= 0:
		return fmt.Errorf("%w: retention must be positive", ErrBadPolicy)
	case p.GrantValidity <= 0:
		return fmt.Errorf("%w: grant validity must be positive", ErrBadPolicy)
	case p.RequestValidity <= 0:
		return fmt.Errorf("%w: request validity must be positive", ErrBadPolicy)
	case p.BurstRequests < 1 || p.BurstWindow <= 0:
		return fmt.Errorf("%w: burst threshold must be at least 1 request in a positive window", ErrBadPolicy)
	case p.DPOSeconder != "" && (p.DPOSeconder == RoleDPO || !ValidRole(p.DPOSeconder)):
		return fmt.Errorf("%w: DPO seconder role %q: use clinician or investigator (DPOs always second)", ErrBadPolicy, p.DPOSeconder)
	}
	return nil
}

// ErrBadPolicy refuses an unusable policy value.
var ErrBadPolicy = errors.New("bad policy")

// Duration is a time.Duration written as text ("48h0m0s") in the ledger.
type Duration time.Duration

// D is the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration is time.ParseDuration that also takes whole days ("2d",
// "7d12h"), the unit retention is usually spoken of in.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q: use e.g. 48h, 2d, 30m", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: use e.g. 48h, 2d, 30m", s)
	}
	return days + d, nil
}

// FormatDuration writes a duration to the second in the units
// ParseDuration reads back: whole days as "d", then h, m and s, leaving
// out the zero ones ("2d", "2d10m", "1h30m", "45s", "-30m"; zero is "0s").
// Each unit is formatted from its own count, never by trimming a longer
// string, so no digit of a count is lost ("30m", not "3").
func FormatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}

// PolicyPayload is the payload of a "policy.set" entry: the whole new
// policy, the old one, and why.
type PolicyPayload struct {
	Policy Policy `json:"policy"`
	Old    Policy `json:"old"`
	Reason string `json:"reason"`
	Statement
}

// fixedFrom keeps what only init sets: dual control, the DPO seconder
// role and the founders. A policy change cannot alter them (replay ignores any attempt), so
// no one DPO can name a role of their choosing to second their own DPOs.
func (p *Policy) fixedFrom(genesis Policy) {
	p.DualControl, p.DPOSeconder, p.Founders = genesis.DualControl, genesis.DPOSeconder, genesis.Founders
}

// genesisPolicy decodes the policy in the genesis entry, if any.
func genesisPolicy(l *manifest.Ledger) Policy {
	p := DefaultPolicy()
	g, err := l.Genesis()
	if err != nil || g.Policy == nil {
		return p
	}
	b, err := json.Marshal(g.Policy)
	if err != nil {
		return p
	}
	json.Unmarshal(b, &p)
	return p
}

// PolicyChange lists the fields to change; nil fields are kept.
type PolicyChange struct {
	Retention       *time.Duration
	GrantValidity   *time.Duration
	RequestValidity *time.Duration
	BurstRequests   *int
	BurstWindow     *time.Duration
	Reason          string
}

// SetPolicy changes the retention and access policy. Only a DPO may, and
// the change is ledgered with the old and new values.
func (s *Store) SetPolicy(ctx context.Context, as *Person, ch PolicyChange) (*Policy, error) {
	if as == nil {
		return nil, fmt.Errorf("%w: only a DPO may change the policy (use -i with a DPO's key)", ErrNotDPO)
	}
	if strings.TrimSpace(ch.Reason) == "" {
		return nil, fmt.Errorf("%w: a policy change needs a reason", ErrBadPolicy)
	}
	var out Policy
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		u := tx.User()
		if u.Role != RoleDPO {
			return fmt.Errorf("%w: %s is a %s; only a DPO may change the policy", ErrNotDPO, u.Name, u.Role)
		}
		p := st.Policy
		if ch.Retention != nil {
			p.Retention = Duration(*ch.Retention)
		}
		if ch.GrantValidity != nil {
			p.GrantValidity = Duration(*ch.GrantValidity)
		}
		if ch.RequestValidity != nil {
			p.RequestValidity = Duration(*ch.RequestValidity)
		}
		if ch.BurstRequests != nil {
			p.BurstRequests = *ch.BurstRequests
		}
		if ch.BurstWindow != nil {
			p.BurstWindow = Duration(*ch.BurstWindow)
		}
		if err := p.Validate(); err != nil {
			return err
		}
		if reflect.DeepEqual(p, st.Policy) {
			return fmt.Errorf("%w: that is already the policy", ErrBadPolicy)
		}
		p.fixedFrom(st.Policy)
		pp := PolicyPayload{Policy: p, Old: st.Policy, Reason: ch.Reason}
		var err error
		pp.Statement, err = tx.state("policy", []string{
			"retention " + p.Retention.D().String(),
			"grant-validity " + p.GrantValidity.D().String(),
			"request-validity " + p.RequestValidity.D().String(),
			"reason " + oneLine(ch.Reason),
		})
		if err != nil {
			return err
		}
		if _, err := tx.appendJSON("policy.set", "", pp); err != nil {
			return err
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
