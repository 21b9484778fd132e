package store

import (
	"sort"
	"strings"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

// Rule is a governance rule judged on one ledger entry against the state
// just before it, at the entry's own time. Each rule's predicate is the
// one the writer refuses by (AddUser, ConfirmUser, Approve, Request,
// Purge, ...); replay runs the table over every entry, custody log flags
// each break (its code without "gov-") and verify reports it under Code.
// So what custody refuses and what verify fails are the same rule, written
// once.
type Rule struct {
	Code   string // stable problem code, "gov-..."
	Action string // the entry action it judges
	Check  func(st *State, rec *manifest.Record) error
}

// rules is the table. Payloads that cannot be read are not judged here
// (verify reports them as gov-payload).
var rules = []Rule{
	{"gov-user-not-dpo", "user.add", func(st *State, rec *manifest.Record) error {
		return withUser(rec, func(p *UserPayload) error { return st.registrar(rec.Entry.Actor.Key, p.Role, keyFP(p.Key)) })
	}},
	{"gov-dpo-unseconded", "user.add", func(st *State, rec *manifest.Record) error {
		return withUser(rec, func(p *UserPayload) error { return st.seconded(rec.Entry.Actor.Key, p, rec.Entry.When()) })
	}},
	{"gov-name-reused", "user.add", checkName},
	{"gov-name-reused", "user.propose", checkName},
	{"gov-user-not-dpo", "user.propose", func(st *State, rec *manifest.Record) error {
		return withUser(rec, func(p *UserPayload) error { return st.proposer(rec.Entry.Actor.Key, p.Role) })
	}},
	{"gov-user-not-dpo", "user.withdraw", func(st *State, rec *manifest.Record) error {
		var p WithdrawPayload
		if rec.Payload(&p) != nil || st.Proposals[p.Proposal] == nil {
			return nil
		}
		return st.withdrawer(rec.Entry.Actor.Key, st.Proposals[p.Proposal])
	}},
	{"gov-user-not-dpo", "user.remove", func(st *State, rec *manifest.Record) error { return st.remover(rec.Entry.Actor.Key) }},
	{"gov-request-not-owner", "request", func(st *State, rec *manifest.Record) error {
		if c := st.Clips[rec.Entry.Clip]; c != nil {
			return st.ownerRule(rec.Entry.Actor.Key, c)
		}
		return nil
	}},
	{"gov-approval-linked", "approve", func(st *State, rec *manifest.Record) error {
		var p ApprovePayload
		r := (*Request)(nil)
		if rec.Payload(&p) == nil {
			r = st.Requests[p.Request]
		}
		if u := st.UserByKey(rec.Entry.Actor.Key); r == nil || u == nil || u.Role != RoleDPO {
			return nil // not a DPO's approval: another rule's concern
		}
		return st.approvalLink(rec.Entry.Actor.Key, r.RequesterKey)
	}},
	// Witnesses and recorded losses are the store's standing arrangements:
	// the station until the first DPO, then a DPO. Replay does not honour
	// an entry that breaks this (witness.go), so a forged witness.remove
	// cannot stop writers consulting the witness.
	{"gov-witness-not-dpo", "witness.add", standing},
	{"gov-witness-not-dpo", "witness.remove", standing},
	{"gov-witness-not-dpo", "ledger.loss", standing},
	{"gov-purge-early", "purge", func(st *State, rec *manifest.Record) error {
		if c := st.Clips[rec.Entry.Clip]; c != nil && c.Purge == nil {
			return st.purgeRule(c, rec.Entry.When())
		}
		return nil
	}},
	{"gov-shred-early", "grant.shred", func(st *State, rec *manifest.Record) error {
		var p ShredPayload
		if rec.Payload(&p) != nil || st.Requests[p.Request] == nil {
			return nil
		}
		return st.Requests[p.Request].shredRule(rec.Entry.When())
	}},
}

func standing(st *State, rec *manifest.Record) error { return st.remover(rec.Entry.Actor.Key) }

// breaks reports whether rec breaks a rule of the table (judged, as judge
// does, against the state before it).
func (st *State) breaks(rec *manifest.Record) bool {
	for _, r := range rules {
		if r.Action == rec.Entry.Action && r.Check(st, rec) != nil {
			return true
		}
	}
	return false
}

func withUser(rec *manifest.Record, fn func(p *UserPayload) error) error {
	var p UserPayload
	if rec.Payload(&p) != nil {
		return nil
	}
	return fn(&p)
}

func checkName(st *State, rec *manifest.Record) error {
	return withUser(rec, func(p *UserPayload) error {
		if fp := keyFP(p.Key); fp != "" {
			return st.nameRule(p.Name, fp)
		}
		return nil
	})
}

// keyFP is the fingerprint of an authorized_keys line ("" if it is none).
func keyFP(key string) string {
	pub, err := seal.ParsePublicKey(key)
	if err != nil {
		return ""
	}
	return seal.Fingerprint(pub)
}

// judge runs the rules on rec before replay applies it, and flags each
// break.
func (st *State) judge(rec *manifest.Record) {
	for _, r := range rules {
		if r.Action == rec.Entry.Action {
			if err := r.Check(st, rec); err != nil {
				st.flag(rec, strings.TrimPrefix(r.Code, "gov-"), "%s", strings.TrimPrefix(err.Error(), "refused: "))
			}
		}
	}
}

// RuleCode maps an anomaly's code to the problem code of the rule that
// flagged it, if a rule of the table did.
func RuleCode(anomaly string) (string, bool) {
	for _, r := range rules {
		if r.Code == "gov-"+anomaly {
			return r.Code, true
		}
	}
	return "", false
}

// RuleCodes lists the table's problem codes.
func RuleCodes() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rules {
		if !seen[r.Code] {
			seen[r.Code] = true
			out = append(out, r.Code)
		}
	}
	sort.Strings(out)
	return out
}
