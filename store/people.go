package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

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

var (
	// ErrUnknownPerson means the acting key is not a registered person.
	ErrUnknownPerson = errors.New("not a registered person")
	// ErrNotDPO refuses an action only a DPO may take.
	ErrNotDPO = errors.New("refused: only a DPO may do this")
	// ErrBadUser refuses a malformed or conflicting registration.
	ErrBadUser = errors.New("bad user")
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
	RemovedAt string `json:"removed_at,omitempty"`
	RemovedBy string `json:"removed_by,omitempty"`
	Active    bool   `json:"active"`
}

// UserPayload is the payload of "user.add" and "user.remove". The embedded
// manifest.KeyPayload is what the ledger's keyring reads to authorise keys.
type UserPayload struct {
	manifest.KeyPayload
	Recipient string `json:"recipient,omitempty"`
	Reason    string `json:"reason,omitempty"`
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

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool {
	return r == RoleDPO || r == RoleClinician || r == RoleInvestigator
}

// AddUser registers a person. While the store has no DPO the station
// operator may register people (that is how the first DPO is added);
// afterwards only a DPO may. In a dual-control store, adding a DPO also
// re-seals every live clip's DPO share to the new set of DPOs, which needs
// the acting DPO's identity.
func (s *Store) AddUser(ctx context.Context, as *Person, spec UserSpec, ui *plugin.ClientUI) (*User, error) {
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
	var out *User
	err = s.UpdateAs(ctx, as, func(tx *Tx) error {
		st := Replay(tx.Ledger)
		if err := mayManagePeople(st, tx.User()); err != nil {
			return err
		}
		fp := seal.Fingerprint(pub)
		for _, u := range st.Users {
			if !u.Active {
				continue
			}
			if u.Name == spec.Name {
				return fmt.Errorf("%w: %s is already registered (remove them first to change their key or role)", ErrBadUser, spec.Name)
			}
			if u.Fingerprint == fp {
				return fmt.Errorf("%w: key %s is already registered to %s: no shared keys", ErrBadUser, fp, u.Name)
			}
		}
		if st.Station != nil && seal.Fingerprint(st.Station) == fp {
			return fmt.Errorf("%w: that is the station key", ErrBadUser)
		}
		p := UserPayload{KeyPayload: manifest.KeyPayload{Name: spec.Name, Role: spec.Role, Key: seal.AuthorizedKey(pub)}, Recipient: spec.Recipient, Reason: spec.Reason}
		var err error
		p.Statement, err = tx.state("user.add", []string{"name " + spec.Name, "role " + spec.Role, "key " + fp})
		if err != nil {
			return err
		}
		// Re-seal the DPO shares before anything is appended, so that a
		// failure leaves the store as it was.
		var rw *RewrapPayload
		var sgs []*Sealing
		if st.Policy.DualControl && spec.Role == RoleDPO {
			dpos := append(st.activeDPOs(""), &User{Name: spec.Name, Role: RoleDPO, Recipient: spec.Recipient})
			if rw, sgs, err = tx.prepareRewrap(ctx, st, dpos, ui, "DPO "+spec.Name+" added"); err != nil {
				return err
			}
		}
		if _, err := tx.appendJSON("user.add", "", p); err != nil {
			discardAll(sgs)
			return err
		}
		if err := tx.commitRewrap(rw, sgs); err != nil {
			return err
		}
		out = Replay(tx.Ledger).Users[spec.Name]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
		if err := mayManagePeople(st, tx.User()); err != nil {
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
		var rw *RewrapPayload
		var sgs []*Sealing
		if st.Policy.DualControl && u.Role == RoleDPO {
			if rw, sgs, err = tx.prepareRewrap(ctx, st, st.activeDPOs(name), ui, "DPO "+name+" removed"); err != nil {
				return err
			}
		}
		if _, err := tx.appendJSON("user.remove", "", p); err != nil {
			discardAll(sgs)
			return err
		}
		if err := tx.commitRewrap(rw, sgs); err != nil {
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

// mayManagePeople: the station operator until there is a DPO, then DPOs.
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

// Users lists registered people, active first, by name.
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
	actionHandlers["user.add"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p UserPayload
		if rec.Payload(&p) != nil {
			return
		}
		pub, err := seal.ParsePublicKey(p.Key)
		if err != nil {
			return
		}
		st.Users[p.Name] = &User{Name: p.Name, Role: p.Role, Key: p.Key, Fingerprint: seal.Fingerprint(pub), Recipient: p.Recipient,
			AddedAt: rec.Entry.Time, AddedBy: rec.Entry.Actor.Name, Active: true}
		ev.Summary = fmt.Sprintf("registered %s as %s (key %s)", p.Name, p.Role, seal.Fingerprint(pub))
	}
	actionHandlers["user.remove"] = func(st *State, rec *manifest.Record, ev *Event) {
		var p UserPayload
		if rec.Payload(&p) != nil {
			return
		}
		if u := st.Users[p.Name]; u != nil {
			u.Active, u.RemovedAt, u.RemovedBy = false, rec.Entry.Time, rec.Entry.Actor.Name
		}
		ev.Summary = fmt.Sprintf("removed %s (%s)", p.Name, reasonOr(p.Reason, "no reason given"))
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
