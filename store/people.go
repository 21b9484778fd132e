package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Roles a person can have.
const (
	RoleDPO          = "dpo"          // data protection officer: approves, releases, sets policy, manages people
	RoleClinician    = "clinician"    // records footage; owns and may request their own clips
	RoleInvestigator = "investigator" // places holds, reads the log
)

// refusal is a sentinel with a message of its own that also matches a
// broader one (errors.Is), which decides its exit code.
type refusal struct {
	msg  string
	kind error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.kind }

var (
	// ErrUnknownPerson means the acting key is not a registered person.
	ErrUnknownPerson = errors.New("not a registered person")
	// ErrNotDPO refuses an action only a DPO may take.
	ErrNotDPO = errors.New("refused: only a DPO may do this")
	// ErrBadUser refuses a malformed or conflicting registration.
	ErrBadUser = errors.New("bad user")
	// ErrNameReused refuses giving a name that was registered with one key
	// to another key, or a key registered under one name to another name.
	ErrNameReused error = &refusal{"refused: a name is never reused for a different key", ErrReplay}
	// ErrUnseconded refuses a DPO registered by one person: it takes a
	// second, different person's signature (see ConfirmUser).
	ErrUnseconded error = &refusal{"refused: a DPO is registered by two people", ErrSelfApproval}
	// ErrLinked refuses an approval between two people one of whom
	// registered the other alone: dual control needs two people, and a
	// key one person registered alone may be that person's own.
	ErrLinked error = &refusal{"refused: approver and requester are linked by a registration only one of them signed", ErrSelfApproval}
	// ErrNoProposal means there is no pending registration to confirm.
	ErrNoProposal = errors.New("no pending registration")
)

// Person is someone acting with their own key. Their entries name them as
// actor and carry their SSH signature; Identities unwrap the key shares
// sealed to them.
type Person struct {
	Signer     seal.Signer
	Identities []age.Identity
	// Label says which key files were used, for access entries.
	Label string
}

// Fingerprint is the SSH fingerprint of the signing key.
func (p *Person) Fingerprint() string {
	if p == nil || p.Signer == nil {
		return ""
	}
	return seal.Fingerprint(p.Signer.PublicKey())
}

// User is a registered person as the ledger describes them.
type User struct {
	Name        string `json:"name"`
	Role        string `json:"role"`
	Key         string `json:"key"` // SSH public key (authorized_keys line): signs
	Fingerprint string `json:"fingerprint"`
	// Recipient is the age recipient key shares are sealed to: the SSH key
	// itself for ssh-ed25519, or e.g. an age plugin recipient for a token.
	Recipient string `json:"recipient"`
	AddedAt   string `json:"added_at"`
	AddedBy   string `json:"added_by"`
	// ProposedBy is, for a DPO registered by two people, the one who
	// proposed them (AddedBy confirmed).
	ProposedBy string `json:"proposed_by,omitempty"`
	RemovedAt  string `json:"removed_at,omitempty"`
	RemovedBy  string `json:"removed_by,omitempty"`
	Active     bool   `json:"active"`
	// Pending is set on a proposed DPO not yet confirmed: Proposal names
	// the proposal, which lapses at ExpiresAt. They have no powers.
	Pending   bool   `json:"pending,omitempty"`
	Proposal  string `json:"proposal,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// UserPayload is the payload of "user.add", "user.remove" and
// "user.propose". The embedded manifest.KeyPayload is what the ledger's
// keyring reads to authorise keys (user.add and user.remove only).
type UserPayload struct {
	manifest.KeyPayload
	Recipient string `json:"recipient,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Proposal is, in a user.propose entry, the new proposal's id; in a
	// user.add entry, the proposal it confirms (a DPO's second signature).
	Proposal string `json:"proposal,omitempty"`
	// ExpiresAt is when a proposal lapses unconfirmed (user.propose).
	ExpiresAt string `json:"expires_at,omitempty"`
	// Rewrap re-seals the DPO key material of a dual-control store for the
	// new set of DPOs, in the same entry that changes it (so that no crash
	// can leave the one without the other).
	Rewrap *RewrapPayload `json:"rewrap,omitempty"`
	Statement
}

// WithdrawPayload is the payload of "user.withdraw": a pending proposal
// taken back.
type WithdrawPayload struct {
	Proposal string `json:"proposal"`
	Name     string `json:"name"`
	Reason   string `json:"reason,omitempty"`
	Statement
}

// UserSpec describes a person to register.
type UserSpec struct {
	Name      string
	Role      string
	Key       string // SSH public key line
	Recipient string // optional age recipient; default the SSH key (ssh-ed25519 only)
	Reason    string
}

// Registration is one "user.add" entry and who signed it: the entry's
// actor and, for a DPO registered by two people, the proposer. A
// registration with one signer is one person's word alone.
type Registration struct {
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Key     string   `json:"key"` // fingerprint
	Seq     uint64   `json:"seq"`
	Signers []string `json:"signers"` // key fingerprints (the station's too)
	Names   []string `json:"signer_names"`
}

// Proposal is a pending registration of a DPO, signed by its proposer; it
// takes effect only when a second person confirms it.
type Proposal struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Role        string `json:"role"`
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint"`
	Recipient   string `json:"recipient"`
	Reason      string `json:"reason,omitempty"`
	ProposedBy  string `json:"proposed_by"`
	ProposerKey string `json:"proposer_key"`
	At          string `json:"at"`
	ExpiresAt   string `json:"expires_at"`
	Status      string `json:"status"` // pending, confirmed, withdrawn (StatusAt adds expired)
	Seq         uint64 `json:"seq"`
}

// Proposal statuses.
const (
	ProposalPending   = "pending"
	ProposalConfirmed = "confirmed"
	ProposalWithdrawn = "withdrawn"
	ProposalExpired   = "expired" // time-dependent: see StatusAt
)

// StatusAt is the proposal's status at t: a pending one past its expiry
// has lapsed.
func (p *Proposal) StatusAt(t time.Time) string {
	if p.Status == ProposalPending {
		if e, err := time.Parse(time.RFC3339Nano, p.ExpiresAt); err != nil || !t.Before(e) {
			return ProposalExpired
		}
	}
	return p.Status
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool {
	return r == RoleDPO || r == RoleClinician || r == RoleInvestigator
}

// check validates a registration and fills in the default recipient.
func (spec *UserSpec) check(ui *plugin.ClientUI) (ssh.PublicKey, error) {
	if !nameRE.MatchString(spec.Name) || strings.EqualFold(spec.Name, "station") {
		return nil, fmt.Errorf("%w: name %q: use letters, digits, '.', '_', '-', '@' (up to 64), and not \"station\"", ErrBadUser, spec.Name)
	}
	if !ValidRole(spec.Role) {
		return nil, fmt.Errorf("%w: role %q: use dpo, clinician or investigator", ErrBadUser, spec.Role)
	}
	pub, err := seal.ParsePublicKey(spec.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v (give the .pub file of `ssh-keygen -t ed25519`)", ErrBadUser, err)
	}
	switch pub.Type() {
	case ssh.KeyAlgoED25519:
		if spec.Recipient == "" {
			spec.Recipient = seal.AuthorizedKey(pub)
		}
	case ssh.KeyAlgoSKED25519:
		if spec.Recipient == "" {
			return nil, fmt.Errorf("%w: a security-key SSH key (%s) can sign but not decrypt: also give --recipient with the token's age plugin recipient", ErrBadUser, pub.Type())
		}
	default:
		return nil, fmt.Errorf("%w: %s keys are not accepted; make one with `ssh-keygen -t ed25519`", ErrBadUser, pub.Type())
	}
	if _, err := seal.ParseRecipient(spec.Recipient, ui); err != nil && !(ui == nil && isPlugin(spec.Recipient)) {
		return nil, fmt.Errorf("%w: recipient: %v", ErrBadUser, err)
	}
	return pub, nil
}

// AddUser registers a person. The station operator registers the people
// init names (InitOptions.People), and people while the store has no DPO
// (a store made without them gets its first DPO so); afterwards only a
// DPO may. A DPO
// takes two people: a person's AddUser of a DPO records a pending
// proposal (the returned User is Pending) that a second person confirms
// with ConfirmUser, and only then do they hold any power.
func (s *Store) AddUser(ctx context.Context, as *Person, spec UserSpec, ui *plugin.ClientUI) (*User, error) {
	pub, err := spec.check(ui)
	if err != nil {
		return nil, err
	}
	var out *User
	err = s.UpdateAs(ctx, as, func(tx *Tx) error {
		var err error
		out, err = tx.addUser(ctx, spec, pub, ui)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addUser registers a person (or proposes a DPO) inside a transaction.
func (tx *Tx) addUser(ctx context.Context, spec UserSpec, pub ssh.PublicKey, ui *plugin.ClientUI) (*User, error) {
	st := Replay(tx.Ledger)
	actor, at := tx.actorKey(), tx.now()
	fp := seal.Fingerprint(pub)
	if spec.Role == RoleDPO && actor != st.stationFP() {
		if err := st.proposer(actor, spec.Role); err != nil {
			return nil, err
		}
		if err := st.newcomer(spec.Name, fp, at); err != nil {
			return nil, err
		}
		return tx.propose(st, spec, fp)
	}
	if err := st.registrar(actor, spec.Role, fp); err != nil {
		return nil, err
	}
	if err := st.newcomer(spec.Name, fp, at); err != nil {
		return nil, err
	}
	p := UserPayload{KeyPayload: manifest.KeyPayload{Name: spec.Name, Role: spec.Role, Key: seal.AuthorizedKey(pub)}, Recipient: spec.Recipient, Reason: spec.Reason}
	var err error
	if p.Statement, err = tx.state("user.add", []string{"name " + spec.Name, "role " + spec.Role, "key " + fp}); err != nil {
		return nil, err
	}
	if err := tx.appendUser(ctx, st, "user.add", &p, ui); err != nil {
		return nil, err
	}
	return Replay(tx.Ledger).Users[spec.Name], nil
}

// propose records a pending registration of a DPO, signed by its proposer.
func (tx *Tx) propose(st *State, spec UserSpec, fp string) (*User, error) {
	p := UserPayload{KeyPayload: manifest.KeyPayload{Name: spec.Name, Role: spec.Role, Key: spec.Key}, Recipient: spec.Recipient, Reason: spec.Reason,
		Proposal: newID(6), ExpiresAt: tx.now().Add(st.Policy.RequestValidity.D()).UTC().Format(time.RFC3339)}
	if pub, err := seal.ParsePublicKey(spec.Key); err == nil {
		p.Key = seal.AuthorizedKey(pub)
	}
	var err error
	if p.Statement, err = tx.state("user.propose", []string{"name " + spec.Name, "role " + spec.Role, "key " + fp,
		"proposal " + p.Proposal, "expires " + p.ExpiresAt, "reason " + oneLine(spec.Reason)}); err != nil {
		return nil, err
	}
	if _, err := tx.appendJSON("user.propose", "", p); err != nil {
		return nil, err
	}
	return Replay(tx.Ledger).Proposals[p.Proposal].asUser(), nil
}

func (pr *Proposal) asUser() *User {
	return &User{Name: pr.Name, Role: pr.Role, Key: pr.Key, Fingerprint: pr.Fingerprint, Recipient: pr.Recipient, AddedAt: pr.At,
		ProposedBy: pr.ProposedBy, Pending: true, Proposal: pr.ID, ExpiresAt: pr.ExpiresAt}
}

// ConfirmUser is the second signature on a proposed DPO: by an active
// DPO, or a person in the role the store names as DPO seconder, other
// than the proposer and not linked to them (neither registered the other
// alone). It registers the DPO; in a dual-control store it re-seals the
// DPO key material for them in the same entry, which takes a DPO's key.
func (s *Store) ConfirmUser(ctx context.Context, as *Person, name string, ui *plugin.ClientUI) (*User, error) {
	if as == nil {
		return nil, fmt.Errorf("%w: a confirmation is signed by the person confirming (use -i with your key)", ErrUnknownPerson)
	}
	var out *User
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		at := tx.now()
		pr := st.proposalFor(name)
		if pr == nil {
			return fmt.Errorf("%w for %q (see custody user list; a DPO proposes one with custody user add --role dpo)", ErrNoProposal, name)
		}
		p := UserPayload{KeyPayload: manifest.KeyPayload{Name: pr.Name, Role: pr.Role, Key: pr.Key}, Recipient: pr.Recipient, Reason: pr.Reason, Proposal: pr.ID}
		if err := st.registrar(tx.actorKey(), pr.Role, pr.Fingerprint); err != nil {
			return err
		}
		if err := st.seconded(tx.actorKey(), &p, at); err != nil {
			return err
		}
		if err := st.newcomer(pr.Name, pr.Fingerprint, time.Time{}); err != nil {
			return err
		}
		var err error
		if p.Statement, err = tx.state("user.add", []string{"name " + pr.Name, "role " + pr.Role, "key " + pr.Fingerprint,
			"proposal " + pr.ID, "proposed-by " + pr.ProposedBy + " " + pr.ProposerKey}); err != nil {
			return err
		}
		if err := tx.appendUser(ctx, st, "user.add", &p, ui); err != nil {
			return err
		}
		out = Replay(tx.Ledger).Users[pr.Name]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WithdrawUser takes back a pending proposal: its proposer or any DPO may.
func (s *Store) WithdrawUser(ctx context.Context, as *Person, name, reason string) (*User, error) {
	if as == nil {
		return nil, fmt.Errorf("%w: a withdrawal is signed by the proposer or a DPO (use -i)", ErrNotDPO)
	}
	var out *User
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		pr := st.proposalFor(name)
		if pr == nil || pr.StatusAt(tx.now()) != ProposalPending {
			return fmt.Errorf("%w for %q (see custody user list)", ErrNoProposal, name)
		}
		if err := st.withdrawer(tx.actorKey(), pr); err != nil {
			return err
		}
		p := WithdrawPayload{Proposal: pr.ID, Name: pr.Name, Reason: reason}
		var err error
		if p.Statement, err = tx.state("user.withdraw", []string{"name " + pr.Name, "proposal " + pr.ID, "reason " + oneLine(reason)}); err != nil {
			return err
		}
		if _, err := tx.appendJSON("user.withdraw", "", p); err != nil {
			return err
		}
		out = pr.asUser()
		out.Pending = false
		return nil
	})
	return out, err
}

// appendUser appends a user.add or user.remove entry. In a dual-control
// store a change of DPOs re-seals their key material in the same entry:
// the new files are staged before, published after.
func (tx *Tx) appendUser(ctx context.Context, st *State, action string, p *UserPayload, ui *plugin.ClientUI) error {
	var sgs []*Sealing
	if st.Policy.DualControl && p.Role == RoleDPO {
		dpos := st.activeDPOs(p.Name)
		if action == "user.add" {
			dpos = append(dpos, &User{Name: p.Name, Role: RoleDPO, Recipient: p.Recipient})
			sort.Slice(dpos, func(i, j int) bool { return dpos[i].Name < dpos[j].Name })
		}
		verb := map[string]string{"user.add": "added", "user.remove": "removed"}[action]
		rw, staged, err := tx.prepareRewrap(ctx, st, dpos, ui, "DPO "+p.Name+" "+verb)
		if err != nil {
			return err
		}
		if len(rw.Shares) > 0 {
			p.Rewrap, sgs = rw, staged
		}
	}
	if _, err := tx.appendJSON(action, "", p); err != nil {
		discardAll(sgs)
		return err
	}
	if len(sgs) == 0 {
		return nil
	}
	if err := tx.s.publishKeys(sgs...); err != nil {
		return err
	}
	_, err := tx.s.sweepDead(Replay(tx.Ledger))
	return err
}

// actorKey is the fingerprint of whoever acts in tx: the person, else the
// station.
func (tx *Tx) actorKey() string {
	if tx.as != nil {
		return tx.as.Fingerprint()
	}
	if tx.s.signer != nil {
		return seal.Fingerprint(tx.s.signer.PublicKey())
	}
	return ""
}

// RemoveUserOptions qualifies a removal.
type RemoveUserOptions struct {
	Reason string
	// Force removes an owner whose live dual-control clips then can never
	// be opened again.
	Force bool
}

// RemoveUser revokes a person's key. Their past entries stay verifiable:
// the ledger authorised the key when they were made. A DPO may not remove
// themselves (their key signs the checkpoint), and a dual-control store
// keeps at least one DPO.
func (s *Store) RemoveUser(ctx context.Context, as *Person, name string, opts RemoveUserOptions, ui *plugin.ClientUI) (*User, error) {
	var out *User
	err := s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		if err := st.remover(tx.actorKey()); err != nil {
			return err
		}
		u := st.Users[name]
		if u == nil || !u.Active {
			return fmt.Errorf("%w: no registered person called %q (see custody user list)", ErrBadUser, name)
		}
		if tx.User() != nil && tx.User().Name == name {
			return fmt.Errorf("%w: you cannot remove yourself; ask another DPO", ErrBadUser)
		}
		if st.Policy.DualControl && u.Role == RoleDPO && len(st.activeDPOs("")) <= 1 {
			return fmt.Errorf("%w: %s is the last DPO of a dual-control store; add another DPO first", ErrBadUser, name)
		}
		if st.Policy.DualControl && !opts.Force {
			var owned []string
			for _, id := range st.Order {
				if c := st.Clips[id]; c.Owner == name && c.Status != StatusPurged && c.Kind == "original" {
					owned = append(owned, id)
				}
			}
			if len(owned) > 0 {
				return fmt.Errorf("%w: %s owns %d live clip(s) (%s) that could never be opened again without their key; wait for them to be purged, or force it", ErrBadUser, name, len(owned), strings.Join(owned, ", "))
			}
		}
		p := UserPayload{KeyPayload: manifest.KeyPayload{Name: u.Name, Role: u.Role, Key: u.Key}, Recipient: u.Recipient, Reason: opts.Reason}
		var err error
		p.Statement, err = tx.state("user.remove", []string{"name " + u.Name, "key " + u.Fingerprint, "reason " + oneLine(opts.Reason)})
		if err != nil {
			return err
		}
		if err := tx.appendUser(ctx, st, "user.remove", &p, ui); err != nil {
			return err
		}
		out = Replay(tx.Ledger).Users[name]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// The rules on people. Each is written once, here: the writers above
// refuse by them, and replay judges every ledger entry by them (see
// rules.go), which is what custody log flags and verify reports.

// stationFP is the fingerprint of the station key.
func (st *State) stationFP() string {
	if st.Station == nil {
		return ""
	}
	return seal.Fingerprint(st.Station)
}

// founding is whether the station may register the person with key fp:
// while the store has no DPO (that is how a store made without --dpo gets
// its first), or one of the people init registered (the genesis policy
// lists them), once, in that init.
func (st *State) founding(fp string) bool {
	if len(st.activeDPOs("")) == 0 {
		return true
	}
	if !slices.Contains(st.Policy.Founders, fp) {
		return false
	}
	for _, r := range st.Registrations {
		if r.Key == fp {
			return false
		}
	}
	return true
}

// maySecond: a person whose signature counts for registering a DPO: an
// active DPO, or an active person in the role the store's genesis policy
// names as DPO seconder.
func (st *State) maySecond(u *User) bool {
	return u != nil && u.Active && (u.Role == RoleDPO || (st.Policy.DPOSeconder != "" && u.Role == st.Policy.DPOSeconder))
}

func (st *State) seconderText() string {
	if st.Policy.DPOSeconder == "" {
		return "another DPO"
	}
	return "another DPO or a " + st.Policy.DPOSeconder
}

// registrar is the rule for who signs a "user.add" of the key fp
// (gov-user-not-dpo): the station at init or while there is no DPO (see
// founding); otherwise a DPO, and for a DPO, as its second signature, a
// DPO or a person in the seconder role (whether it is a valid second
// signature is seconded's rule).
func (st *State) registrar(actor, role, fp string) error {
	if actor == st.stationFP() {
		if st.founding(fp) {
			return nil
		}
		return fmt.Errorf("%w: this store has a DPO, so people are registered and removed by a DPO (use -i with a DPO's key)", ErrNotDPO)
	}
	u := st.UserByKey(actor)
	switch {
	case u == nil:
		return fmt.Errorf("%w: key %s", ErrUnknownPerson, actor)
	case role == RoleDPO && !st.maySecond(u):
		return fmt.Errorf("%w: %s is a %s; a DPO is confirmed by %s", ErrNotDPO, u.Name, u.Role, st.seconderText())
	case role != RoleDPO && u.Role != RoleDPO:
		return fmt.Errorf("%w: %s is a %s; only a DPO registers people", ErrNotDPO, u.Name, u.Role)
	}
	return nil
}

// remover is the rule for who signs a "user.remove" (gov-user-not-dpo).
func (st *State) remover(actor string) error {
	if actor == st.stationFP() {
		return mayManagePeople(st, nil)
	}
	u := st.UserByKey(actor)
	if u == nil {
		return fmt.Errorf("%w: key %s is not a registered person's", ErrNotDPO, actor)
	}
	return mayManagePeople(st, u)
}

// mayManagePeople: the station operator (u nil) until there is a DPO, then
// DPOs. It is the rule for removing people and for the store's other
// standing arrangements.
func mayManagePeople(st *State, u *User) error {
	if u == nil {
		if len(st.activeDPOs("")) > 0 {
			return fmt.Errorf("%w: this store has a DPO, so people are registered and removed by a DPO (use -i with a DPO's key)", ErrNotDPO)
		}
		return nil
	}
	if u.Role != RoleDPO {
		return fmt.Errorf("%w: %s is a %s", ErrNotDPO, u.Name, u.Role)
	}
	return nil
}

// proposer is the rule for who signs a "user.propose" (gov-user-not-dpo):
// only DPOs are proposed, by a DPO or a person in the seconder role.
func (st *State) proposer(actor, role string) error {
	if role != RoleDPO {
		return fmt.Errorf("%w: only a DPO is proposed and confirmed; a %s is registered by one DPO", ErrBadUser, role)
	}
	if u := st.UserByKey(actor); !st.maySecond(u) {
		return fmt.Errorf("%w: a DPO is proposed by a DPO (or a person in the store's DPO seconder role)", ErrNotDPO)
	}
	return nil
}

// withdrawer is the rule for who withdraws a proposal: its proposer or a
// DPO.
func (st *State) withdrawer(actor string, pr *Proposal) error {
	if u := st.UserByKey(actor); u == nil || (u.Role != RoleDPO && actor != pr.ProposerKey) {
		return fmt.Errorf("%w: a proposal is withdrawn by its proposer (%s) or a DPO", ErrNotDPO, pr.ProposedBy)
	}
	return nil
}

// seconded is the two-person rule for DPOs (gov-dpo-unseconded): a
// person's "user.add" of a DPO confirms a pending, unlapsed
// proposal of that very person, made by someone else who still may
// propose; one of the two is a DPO, and neither registered the other
// alone (else one person could be both). The station's registrations are
// registrar's concern.
func (st *State) seconded(actor string, p *UserPayload, at time.Time) error {
	if p.Role != RoleDPO || actor == st.stationFP() {
		return nil
	}
	if p.Proposal == "" {
		return fmt.Errorf("%w: %s was registered as a DPO by one person; a DPO proposes (custody user add --role dpo) and %s confirms (custody user confirm)", ErrUnseconded, p.Name, st.seconderText())
	}
	pr := st.Proposals[p.Proposal]
	fp := ""
	if pub, err := seal.ParsePublicKey(p.Key); err == nil {
		fp = seal.Fingerprint(pub)
	}
	if pr == nil || pr.Name != p.Name || pr.Role != p.Role || pr.Fingerprint != fp || pr.Recipient != p.Recipient {
		return fmt.Errorf("%w: the registration of %s confirms proposal %s, which does not propose that person, role, key and recipient", ErrUnseconded, p.Name, p.Proposal)
	}
	switch pr.StatusAt(at) {
	case ProposalPending:
	case ProposalExpired:
		return fmt.Errorf("%w: the proposal of %s by %s lapsed at %s; propose again", ErrExpired, pr.Name, pr.ProposedBy, pr.ExpiresAt)
	default:
		return fmt.Errorf("%w: the proposal of %s was already %s", ErrReplay, pr.Name, pr.Status)
	}
	prop, conf := st.UserByKey(pr.ProposerKey), st.UserByKey(actor)
	switch {
	case !st.maySecond(prop):
		return fmt.Errorf("%w: %s, who proposed %s, can no longer propose a DPO", ErrUnseconded, pr.ProposedBy, pr.Name)
	case conf == nil:
		return fmt.Errorf("%w: key %s", ErrUnknownPerson, actor)
	case conf.Fingerprint == prop.Fingerprint || conf.Name == prop.Name:
		return fmt.Errorf("%w: %s proposed %s and cannot also confirm; %s must", ErrUnseconded, prop.Name, pr.Name, st.seconderText())
	case conf.Fingerprint == pr.Fingerprint || strings.EqualFold(conf.Name, pr.Name):
		return fmt.Errorf("%w: nobody confirms their own registration", ErrUnseconded)
	case prop.Role != RoleDPO && conf.Role != RoleDPO:
		return fmt.Errorf("%w: neither %s nor %s is a DPO; one of the two must be", ErrUnseconded, prop.Name, conf.Name)
	}
	if reg := st.linkedBy(actor, pr.ProposerKey); reg != nil {
		return fmt.Errorf("%w: %s registered %s alone, so the two count as one person here; %s must confirm", ErrUnseconded, reg.Names[0], reg.Name, st.seconderText())
	}
	return nil
}

// newcomer refuses a registration that clashes with a registered person
// (gov-name-reused): a name is never given to another key, nor a key to
// another name, whether or not the first was removed; and nobody is
// registered twice at once. With a non-zero at, a pending proposal
// counts as registered.
func (st *State) newcomer(name, fp string, at time.Time) error {
	for _, u := range st.Users {
		if u.Active && strings.EqualFold(u.Name, name) {
			return fmt.Errorf("%w: %s is already registered (remove them first to change their role)", ErrBadUser, u.Name)
		}
		if u.Active && u.Fingerprint == fp {
			return fmt.Errorf("%w: key %s is already registered to %s: no shared keys", ErrBadUser, fp, u.Name)
		}
	}
	if err := st.nameRule(name, fp); err != nil {
		return err
	}
	if fp == st.stationFP() {
		return fmt.Errorf("%w: that is the station key", ErrBadUser)
	}
	if at.IsZero() {
		return nil
	}
	for _, pr := range st.Proposals {
		if pr.StatusAt(at) == ProposalPending && (strings.EqualFold(pr.Name, name) || pr.Fingerprint == fp) {
			return fmt.Errorf("%w: %s (key %s) is already proposed, until %s: confirm it (custody user confirm %s) or withdraw it", ErrBadUser, pr.Name, pr.Fingerprint, pr.ExpiresAt, pr.Name)
		}
	}
	return nil
}

// nameRule: a name stays with the key it was first registered with, and a
// key with its name (compared without case: "Nina" is nina), so that
// whatever the ledger says a name did or owns is that key's.
func (st *State) nameRule(name, fp string) error {
	for _, r := range st.Registrations {
		switch {
		case strings.EqualFold(r.Name, name) && r.Key != fp:
			return fmt.Errorf("%w: %s was registered with key %s (entry %d); a new key needs a new name", ErrNameReused, r.Name, r.Key, r.Seq)
		case r.Key == fp && !strings.EqualFold(r.Name, name):
			return fmt.Errorf("%w: key %s was registered to %s (entry %d); it cannot be anyone else's", ErrNameReused, fp, r.Name, r.Seq)
		}
	}
	return nil
}

// linkedBy returns a registration that links a and b (key fingerprints):
// one of them registered the other alone.
func (st *State) linkedBy(a, b string) *Registration {
	for _, r := range st.Registrations {
		if len(r.Signers) == 1 && ((r.Key == a && r.Signers[0] == b) || (r.Key == b && r.Signers[0] == a)) {
			return r
		}
	}
	return nil
}

// sponsors are the keys behind fp: fp itself, and, going back through the
// registrations, whoever registered it alone or proposed it (the station,
// which approves nothing, is left out). A DPO proposed by alice is hers as
// much as a clinician she registered alone: a new key of alice's (a
// rotation, or a puppet a second DPO confirmed in good faith) must not
// approve what alice could not.
func (st *State) sponsors(fp string) map[string]bool {
	out := map[string]bool{}
	var walk func(k string)
	walk = func(k string) {
		if out[k] || k == "" || k == st.stationFP() {
			return
		}
		out[k] = true
		for _, r := range st.Registrations {
			if r.Key == k && len(r.Signers) > 0 {
				walk(r.Signers[0])
			}
		}
	}
	walk(fp)
	return out
}

// commonSponsor is a key behind both a and b, if there is one.
func (st *State) commonSponsor(a, b string) string {
	sb := st.sponsors(b)
	for k := range st.sponsors(a) {
		if sb[k] {
			return k
		}
	}
	return ""
}

func (st *State) nameOf(fp string) string {
	for _, u := range st.Users {
		if u.Fingerprint == fp {
			return u.Name
		}
	}
	return fp
}

// otherApprovers names the DPOs who could approve requester's requests
// instead of approver.
func (st *State) otherApprovers(approver, requester string) string {
	var others []string
	for _, u := range st.activeDPOs("") {
		if u.Fingerprint != approver && u.Fingerprint != requester && st.linkedBy(u.Fingerprint, requester) == nil && st.commonSponsor(u.Fingerprint, requester) == "" {
			others = append(others, u.Name)
		}
	}
	if len(others) == 0 {
		return "another DPO"
	}
	return "another DPO (" + strings.Join(others, ", ") + ")"
}

// approvalLink is the two-person rule for approvals (gov-approval-linked):
// a DPO does not approve the request of someone they registered alone, nor
// of someone who registered them alone. Non-DPOs are registered by one
// DPO, so a clinician's requests go to a DPO other than the one who
// registered them.
func (st *State) approvalLink(approver, requester string) error {
	if approver == requester {
		return nil // self-approval, a rule of its own
	}
	reg := st.linkedBy(approver, requester)
	if reg == nil {
		if x := st.commonSponsor(approver, requester); x != "" {
			return fmt.Errorf("%w: %s goes back to %s, who proposed or registered them, and so does %s, so %s does not approve %s's requests: ask %s", ErrLinked,
				st.nameOf(approver), st.nameOf(x), st.nameOf(requester), st.nameOf(approver), st.nameOf(requester), st.otherApprovers(approver, requester))
		}
		return nil
	}
	regBy, other := reg.Names[0], reg.Name
	who := st.otherApprovers(approver, requester)
	if reg.Key == requester {
		return fmt.Errorf("%w: %s registered %s alone (entry %d), so %s's requests are approved by a DPO other than %s: ask %s", ErrLinked, regBy, other, reg.Seq, other, regBy, who)
	}
	return fmt.Errorf("%w: %s registered %s alone (entry %d), so %s does not approve %s's requests: ask %s", ErrLinked, regBy, other, reg.Seq, other, regBy, who)
}

// proposalFor is the latest proposal of that name.
func (st *State) proposalFor(name string) *Proposal {
	var out *Proposal
	for _, pr := range st.Proposals {
		if pr.Name == name && (out == nil || pr.Seq > out.Seq) {
			out = pr
		}
	}
	return out
}

// PendingUsers lists the DPOs proposed and not yet confirmed, withdrawn
// or lapsed at t.
func (st *State) PendingUsers(t time.Time) []*User {
	var out []*User
	for _, pr := range st.Proposals {
		if pr.StatusAt(t) == ProposalPending {
			out = append(out, pr.asUser())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UserList lists registered people, active first, by name.
func (st *State) UserList() []*User {
	out := make([]*User, 0, len(st.Users))
	for _, u := range st.Users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Active != out[j].Active {
			return out[i].Active
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// UserByKey finds the active person with that key fingerprint.
func (st *State) UserByKey(fp string) *User {
	for _, u := range st.Users {
		if u.Active && u.Fingerprint == fp {
			return u
		}
	}
	return nil
}

// activeDPOs lists active DPOs other than except, by name.
func (st *State) activeDPOs(except string) []*User {
	var out []*User
	for _, u := range st.UserList() {
		if u.Active && u.Role == RoleDPO && u.Name != except {
			out = append(out, u)
		}
	}
	return out
}

func init() {
	rewrapObjects := func(rec *manifest.Record) []Object {
		var p UserPayload
		if rec.Payload(&p) != nil || p.Rewrap == nil {
			return nil
		}
		var out []Object
		for _, sh := range p.Rewrap.Shares {
			out = append(out, sh.New.Object)
		}
		return out
	}
	objectHandlers["user.add"], objectHandlers["user.remove"] = rewrapObjects, rewrapObjects
	actionHandlers["user.add"] = replayUserAdd
	actionHandlers["user.remove"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p UserPayload
		if rec.Payload(&p) != nil {
			return
		}
		if u := st.Users[p.Name]; u != nil {
			u.Active, u.RemovedAt, u.RemovedBy = false, rec.Entry.Time, rec.Entry.Actor.Name
		}
		ev.Summary = fmt.Sprintf("removed %s (%s)", p.Name, reasonOr(p.Reason, "no reason given"))
		if p.Rewrap != nil {
			st.applyRewrap(rec, p.Rewrap)
		}
	}
	actionHandlers["user.propose"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p UserPayload
		if rec.Payload(&p) != nil || p.Proposal == "" || st.Proposals[p.Proposal] != nil {
			return
		}
		pub, err := seal.ParsePublicKey(p.Key)
		if err != nil {
			return
		}
		pr := &Proposal{ID: p.Proposal, Name: p.Name, Role: p.Role, Key: p.Key, Fingerprint: seal.Fingerprint(pub), Recipient: p.Recipient, Reason: p.Reason,
			ProposedBy: rec.Entry.Actor.Name, ProposerKey: rec.Entry.Actor.Key, At: rec.Entry.Time, ExpiresAt: p.ExpiresAt, Status: ProposalPending, Seq: rec.Entry.Seq}
		st.Proposals[pr.ID] = pr
		ev.Summary = fmt.Sprintf("proposed %s as %s (key %s), pending a second signature until %s", pr.Name, pr.Role, pr.Fingerprint, pr.ExpiresAt)
	}
	actionHandlers["user.withdraw"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p WithdrawPayload
		if rec.Payload(&p) != nil {
			return
		}
		if pr := st.Proposals[p.Proposal]; pr != nil && pr.Status == ProposalPending {
			pr.Status = ProposalWithdrawn
		}
		ev.Summary = fmt.Sprintf("withdrew the proposal of %s (%s)", p.Name, reasonOr(p.Reason, "no reason given"))
	}
}

// replayUserAdd registers a person, with who signed the registration: its
// actor and, when it confirms a matching pending proposal, the proposer.
func replayUserAdd(st *State, rec *manifest.Record, ev *Event) {
	var p UserPayload
	if rec.Payload(&p) != nil {
		return
	}
	pub, err := seal.ParsePublicKey(p.Key)
	if err != nil {
		return
	}
	fp := seal.Fingerprint(pub)
	u := &User{Name: p.Name, Role: p.Role, Key: p.Key, Fingerprint: fp, Recipient: p.Recipient,
		AddedAt: rec.Entry.Time, AddedBy: rec.Entry.Actor.Name, Active: true}
	reg := &Registration{Name: p.Name, Role: p.Role, Key: fp, Seq: rec.Entry.Seq, Signers: []string{rec.Entry.Actor.Key}, Names: []string{rec.Entry.Actor.Name}}
	ev.Summary = fmt.Sprintf("registered %s as %s (key %s)", p.Name, p.Role, fp)
	if pr := st.Proposals[p.Proposal]; pr != nil && pr.Status == ProposalPending && pr.Fingerprint == fp && pr.Name == p.Name && pr.ProposerKey != rec.Entry.Actor.Key {
		pr.Status = ProposalConfirmed
		u.ProposedBy = pr.ProposedBy
		reg.Signers, reg.Names = []string{pr.ProposerKey, rec.Entry.Actor.Key}, []string{pr.ProposedBy, rec.Entry.Actor.Name}
		ev.Summary += fmt.Sprintf(", proposed by %s and confirmed by %s", pr.ProposedBy, rec.Entry.Actor.Name)
	}
	st.Users[p.Name] = u
	st.Registrations = append(st.Registrations, reg)
	if p.Rewrap != nil {
		st.applyRewrap(rec, p.Rewrap)
	}
}

// KeyFile is one -i argument: its name and contents.
type KeyFile struct {
	Name string
	Data []byte
}

// PersonOptions supplies what loading a person's keys may need.
type PersonOptions struct {
	// Passphrase is asked for passphrase-protected keys.
	Passphrase func(prompt string) ([]byte, error)
	// PluginUI serves age plugin identities (hardware tokens).
	PluginUI *plugin.ClientUI
	// Agent, if set, signs for SSH public keys given as key files: the
	// private key stays in ssh-agent or on the token behind it.
	Agent agent.Agent
}

// LoadPerson builds the acting person from key files:
//   - an OpenSSH private key (ssh-keygen -t ed25519, passphrase-protected or
//     not) both signs and decrypts (through age's ssh-ed25519 support);
//   - an SSH public key (.pub) signs through ssh-agent, for keys held by a
//     token or an agent;
//   - an age identity file decrypts, including plugin identities such as
//     age-plugin-yubikey's, the "something you have" factor.
//
// Exactly one signing key must be among them.
func LoadPerson(files []KeyFile, opts PersonOptions) (*Person, error) {
	p := &Person{}
	var labels []string
	for _, f := range files {
		labels = append(labels, f.Name)
		trimmed := strings.TrimSpace(string(f.Data))
		switch {
		case strings.HasPrefix(trimmed, "-----BEGIN OPENSSH PRIVATE KEY-----") || strings.HasPrefix(trimmed, "-----BEGIN RSA PRIVATE KEY-----") || strings.HasPrefix(trimmed, "-----BEGIN PRIVATE KEY-----"):
			sg, ids, err := parseSSHPrivate(f.Name, []byte(trimmed), opts)
			if err != nil {
				return nil, err
			}
			if p.Signer != nil {
				return nil, fmt.Errorf("%w: more than one signing key given (%s)", seal.ErrBadKey, f.Name)
			}
			p.Signer = sg
			p.Identities = append(p.Identities, ids...)
		case strings.HasPrefix(trimmed, "ssh-") || strings.HasPrefix(trimmed, "sk-ssh-") || strings.HasPrefix(trimmed, "sk-ecdsa-") || strings.HasPrefix(trimmed, "ecdsa-"):
			pub, err := seal.ParsePublicKey(trimmed)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			if opts.Agent == nil {
				return nil, fmt.Errorf("%w: %s is a public key; its private half must be in ssh-agent (set SSH_AUTH_SOCK), or give the private key file", seal.ErrBadKey, f.Name)
			}
			sg, err := agentSigner(opts.Agent, pub)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			if p.Signer != nil {
				return nil, fmt.Errorf("%w: more than one signing key given (%s)", seal.ErrBadKey, f.Name)
			}
			p.Signer = sg
		default:
			ids, err := seal.ParseIdentityFile(f.Name, f.Data, seal.IdentityOptions{Passphrase: opts.Passphrase, PluginUI: opts.PluginUI})
			if err != nil {
				return nil, err
			}
			p.Identities = append(p.Identities, ids...)
		}
	}
	if p.Signer == nil {
		return nil, fmt.Errorf("%w: no SSH signing key among the identities: give -i with your SSH private key (or its .pub with the key in ssh-agent)", seal.ErrBadKey)
	}
	p.Label = strings.Join(labels, ",")
	return p, nil
}

func parseSSHPrivate(name string, data []byte, opts PersonOptions) (seal.Signer, []age.Identity, error) {
	k, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if opts.Passphrase == nil {
			return nil, nil, fmt.Errorf("%w: %s is passphrase-protected and no passphrase source is available", seal.ErrBadKey, name)
		}
		pass, perr := opts.Passphrase(fmt.Sprintf("Enter passphrase for %q:", name))
		if perr != nil {
			return nil, nil, perr
		}
		k, err = ssh.ParseRawPrivateKeyWithPassphrase(data, pass)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, nil, fmt.Errorf("%w: wrong passphrase for %s", seal.ErrBadKey, name)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", seal.ErrBadKey, name, err)
	}
	var id age.Identity
	switch kk := k.(type) {
	case *ed25519.PrivateKey:
		k = *kk
		id, err = agessh.NewEd25519Identity(*kk)
	case ed25519.PrivateKey:
		id, err = agessh.NewEd25519Identity(kk)
	case *rsa.PrivateKey:
		id, err = agessh.NewRSAIdentity(kk)
	default:
		return nil, nil, fmt.Errorf("%w: %s is a %T key; use `ssh-keygen -t ed25519`", seal.ErrBadKey, name, k)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", seal.ErrBadKey, name, err)
	}
	sg, err := ssh.NewSignerFromKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", seal.ErrBadKey, name, err)
	}
	return seal.NewSigner(sg), []age.Identity{id}, nil
}

func agentSigner(a agent.Agent, pub ssh.PublicKey) (seal.Signer, error) {
	signers, err := a.Signers()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: %w", err)
	}
	want := pub.Marshal()
	for _, sg := range signers {
		if string(sg.PublicKey().Marshal()) == string(want) {
			return seal.NewSigner(sg), nil
		}
	}
	return nil, fmt.Errorf("%w: ssh-agent does not hold the key %s (ssh-add it, or plug in the token)", seal.ErrBadKey, seal.Fingerprint(pub))
}

// checkInitPeople validates the people init registers, before init writes
// anything.
func checkInitPeople(specs []UserSpec) ([]ssh.PublicKey, error) {
	var pubs []ssh.PublicKey
	names, keys := map[string]bool{}, map[string]bool{}
	for i := range specs {
		pub, err := specs[i].check(nil)
		if err != nil {
			return nil, err
		}
		name, fp := strings.ToLower(specs[i].Name), seal.Fingerprint(pub)
		if names[name] || keys[fp] {
			return nil, fmt.Errorf("%w: %s (key %s) is given twice: one name and one key per person", ErrBadUser, specs[i].Name, fp)
		}
		names[name], keys[fp] = true, true
		pubs = append(pubs, pub)
	}
	return pubs, nil
}

// initPeople registers init's people, signed by the station, in the
// ledger that holds only the genesis entry so far. Init writes
// custody.json last, so a crash before leaves no store at all.
func (s *Store) initPeople(ctx context.Context, l *manifest.Ledger, specs []UserSpec, pubs []ssh.PublicKey) error {
	if len(specs) == 0 {
		return nil
	}
	lf, err := os.OpenFile(filepath.Join(s.Dir, LedgerFile), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer lf.Close()
	tx := &Tx{s: s, Ledger: l, lf: lf}
	for i, spec := range specs {
		if _, err := tx.addUser(ctx, spec, pubs[i], nil); err != nil {
			return fmt.Errorf("registering %s: %w", spec.Name, err)
		}
	}
	return nil
}
