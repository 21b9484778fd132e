package cli

import (
	"fmt"

	"filippo.io/age"
	"net"
	"os"
	"strings"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh/agent"
)

// governanceCommands are the people, access, retention and consent commands.
func governanceCommands(e *env) []*cobra.Command {
	return []*cobra.Command{
		newUserCmd(e),
		newRequestCmd(e),
		newApproveCmd(e),
		newHoldCmd(e),
		newReleaseCmd(e),
		newPurgeCmd(e),
		newStatusCmd(e),
		newConsentCmd(e),
		newLogCmd(e),
		newPolicyCmd(e),
		newWitnessCmd(e),
		newRecoverLedgerCmd(e),
	}
}

// identityHelp is the -i flag's help for commands a person signs.
const identityHelp = "your SSH private key (ssh-keygen -t ed25519), or its .pub with the key in ssh-agent, plus any age identity file (e.g. a hardware token's plugin identity); repeatable"

// loadPerson reads -i files as the person acting. It returns nil when none
// were given. Passphrase-protected keys ask on the terminal (or read
// $CUSTODY_IDENTITY_PASSPHRASE); SSH public keys sign through ssh-agent.
func loadPerson(e *env, paths []string) (*store.Person, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	var files []store.KeyFile
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading identity: %w", err)
		}
		files = append(files, store.KeyFile{Name: p, Data: data})
	}
	return store.LoadPerson(files, store.PersonOptions{Passphrase: e.ttyPassphrase, PluginUI: e.pluginUI(), Agent: sshAgent()})
}

// needPerson is loadPerson for commands only a person may run.
func needPerson(e *env, paths []string, what string) (*store.Person, error) {
	if len(paths) == 0 {
		return nil, usagef("%s is signed by the person doing it: give -i with your SSH key", what)
	}
	return loadPerson(e, paths)
}

// sshAgent connects to $SSH_AUTH_SOCK, if there is one.
func sshAgent() agent.Agent {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil
	}
	return agent.NewClient(conn)
}

// personOrStation reads -i for a command that opens sealed material. If -i
// holds the SSH key of a person registered in the store, that person acts:
// their key signs the entries, under their name, and no station
// passphrase is asked. Otherwise the keys are identities only, and the
// station operator acts, with the station passphrase.
func (f *storeFlags) personOrStation(e *env, s *store.Store, paths []string) (*store.Store, *store.Person, []age.Identity, string, error) {
	p, perr := loadPerson(e, paths)
	if perr != nil || p == nil {
		ids, label, err := loadIdentities(e, paths)
		if err != nil {
			return nil, nil, nil, "", err
		}
		s, err = f.openWritable(e)
		return s, nil, ids, label, err
	}
	st, err := s.State()
	if err != nil {
		return nil, nil, nil, "", err
	}
	if st.UserByKey(p.Fingerprint()) != nil {
		return s, p, p.Identities, p.Label, nil
	}
	e.warnf("key %s is not a registered person's: acting as the station operator, which needs the station passphrase", p.Fingerprint())
	s, err = f.openWritable(e)
	return s, nil, p.Identities, p.Label, err
}

// personWithStation reads -i for a command the station must sign for
// (export signs the bundle) that a person may also sign: a registered
// person's SSH key among them names that person in the entry.
func (f *storeFlags) personWithStation(e *env, s *store.Store, paths []string) (*store.Person, []age.Identity, string, error) {
	p, perr := loadPerson(e, paths)
	if perr != nil || p == nil {
		ids, label, err := loadIdentities(e, paths)
		return nil, ids, label, err
	}
	st, err := s.State()
	if err != nil {
		return nil, nil, "", err
	}
	if st.UserByKey(p.Fingerprint()) == nil {
		return nil, p.Identities, p.Label, nil
	}
	return p, p.Identities, p.Label, nil
}

// openPerson loads -i as the person who must do what (needPerson) and
// opens the store; their key signs, so the station stays locked.
func (f *storeFlags) openPerson(e *env, paths []string, what string) (*store.Store, *store.Person, error) {
	p, err := needPerson(e, paths, what)
	if err != nil {
		return nil, nil, err
	}
	s, err := f.open()
	return s, p, err
}

// openActing loads -i as the person acting (none given: the station
// operator) and opens the store for their write.
func (f *storeFlags) openActing(e *env, paths []string) (*store.Store, *store.Person, error) {
	p, err := loadPerson(e, paths)
	if err != nil {
		return nil, nil, err
	}
	s, err := f.openAs(e, p)
	return s, p, err
}

// openAs opens the store for a write by person p, or by the station
// operator (unlocking the station key) when p is nil.
func (f *storeFlags) openAs(e *env, p *store.Person) (*store.Store, error) {
	if p != nil {
		return f.open()
	}
	return f.openWritable(e)
}

// policyNow is the policy clock: $CUSTODY_NOW (RFC 3339) if set, else the
// real time. It decides what has expired (status, purge) and when grants
// lapse, and can be set to ask "what will have expired on Friday?" or to
// test. It never dates a ledger entry: entries carry the real time, a purge
// records the policy time it used, and custody log flags a purge whose
// policy time is far from when it ran. For grants and requests only the
// later of it and the real time counts, so it can never revive an expired
// approval.
func policyNow() (time.Time, bool, error) {
	v := strings.TrimSpace(os.Getenv("CUSTODY_NOW"))
	if v == "" {
		return time.Now(), false, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false, usagef("CUSTODY_NOW=%q is not an RFC 3339 time like 2026-11-24T09:00:00Z", v)
	}
	return t, true, nil
}

// parseWhen takes an RFC 3339 time, or a duration meaning that long ago.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := store.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, usagef("%q is neither an RFC 3339 time (2026-11-22T09:00:00Z) nor a duration ago (24h, 7d)", s)
}

// until describes t relative to now: "in 3h20m" or "2d1h ago".
func until(t, now time.Time) string {
	d := t.Sub(now).Round(time.Minute)
	if d >= 0 {
		return "in " + store.FormatDuration(d)
	}
	return store.FormatDuration(-d) + " ago"
}
