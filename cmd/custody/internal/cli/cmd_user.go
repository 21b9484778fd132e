package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newUserCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Register, list and remove the people who act on the store",
		Long: `People are registered with their SSH Ed25519 public key. The same key
signs everything they do (each ledger entry names them and carries their
SSH signature) and, through age's ssh-ed25519 support, decrypts the key
shares of dual-control clips. Roles: dpo (approves access, releases holds,
sets the policy, manages people), clinician (records footage, owns and may
request their own clips), investigator (places holds, reads the log).

The station operator registers the first DPOs at init (init --dpo), or
people while the store has no DPO; after that only a DPO may. A DPO takes two people: one proposes (user add --role
dpo), a second confirms (user confirm): another DPO, or a person in the
role init named with --dpo-seconder. Everyone else is registered by one
DPO, and that DPO then cannot approve their requests: another DPO does.
A name is never given to another key, nor a key to another name.`,
	}
	cmd.AddCommand(newUserAddCmd(e), newUserConfirmCmd(e), newUserWithdrawCmd(e), newUserListCmd(e), newUserRemoveCmd(e))
	return cmd
}

func newUserAddCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		role, key  string
		recipient  string
		reason     string
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "add --store DIR NAME --role dpo|clinician|investigator --key PUBKEY [-i DPOKEY]",
		Short: "Register a person with their SSH Ed25519 public key",
		Long: `Register a person. --key is the public key (the line of the .pub file
that ssh-keygen -t ed25519 wrote, or the file's path).

The first DPOs are registered by the station operator (init --dpo, or,
in a store made without, the first one by user add with the station
passphrase); afterwards a DPO signs registrations with -i. A DPO is registered by two
people: user add --role dpo by a DPO (or a person in the store's DPO
seconder role) only proposes them; they have no powers until a second,
different person confirms with custody user confirm NAME within the
request validity (7 days by default). In a dual-control store, the
confirmation re-seals every live clip's DPO key share so the new DPO can
approve, which the confirming DPO's key does.

A name once registered stays with its key: after user remove, the same
person may be added again with the same key, never a new key under the
old name (choose a new name, e.g. nina2).

For a hardware token: register the token's SSH key (for example an
sk-ssh-ed25519 key, or a PIV key exposed through ssh-agent) with --key, and
the token's age plugin recipient (age-plugin-yubikey) with --recipient;
then act with -i KEY.pub (signing through ssh-agent) -i PLUGIN-IDENTITY.`,
		Example: `  custody user add --store /srv/custody dana --role dpo --key ~/dana.pub
  custody user add --store /srv/custody nina --role clinician --key "$(cat nina.pub)" -i ~/.ssh/dana_ed25519`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if role == "" || key == "" {
				return usagef("give --role and --key")
			}
			if b, err := os.ReadFile(key); err == nil {
				key = strings.TrimSpace(string(b))
			}
			s, p, err := f.openActing(e, identities)
			if err != nil {
				return err
			}
			u, err := s.AddUser(cmd.Context(), p, store.UserSpec{Name: args[0], Role: role, Key: key, Recipient: recipient, Reason: reason}, e.pluginUI())
			if err != nil {
				return err
			}
			if f.json {
				return e.json(u)
			}
			if u.Pending {
				fmt.Fprintf(e.stdout, "proposed %s as %s (key %s), pending until %s: they have no powers until someone else confirms with `custody user confirm %s -i KEY`\n", u.Name, u.Role, u.Fingerprint, u.ExpiresAt, u.Name)
				return nil
			}
			fmt.Fprintf(e.stdout, "registered %s as %s (key %s)\n", u.Name, u.Role, u.Fingerprint)
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&role, "role", "", "dpo, clinician or investigator")
	fl.StringVar(&key, "key", "", "SSH public key: the .pub line or file")
	fl.StringVar(&recipient, "recipient", "", "age recipient for key shares (default: the SSH key; needed for token keys)")
	fl.StringVar(&reason, "reason", "", "why (recorded in the ledger)")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the DPO registering them: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the person as JSON")
	return cmd
}

func newUserListCmd(e *env) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:     "list --store DIR [--json]",
		Short:   "List registered people, including removed ones",
		Example: "  custody user list --store /srv/custody",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			users := append(st.UserList(), st.PendingUsers(time.Now())...)
			if f.json {
				if users == nil {
					users = []*store.User{}
				}
				return e.json(users)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tKEY\tADDED\tBY")
			for _, u := range users {
				status, by := "active", u.AddedBy
				if !u.Active {
					status = "removed " + u.RemovedAt
				}
				if u.ProposedBy != "" {
					by = u.ProposedBy + "+" + u.AddedBy
				}
				if u.Pending {
					status, by = "pending until "+u.ExpiresAt, u.ProposedBy
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, status, u.Fingerprint, u.AddedAt, by)
			}
			return tw.Flush()
		},
	}
	f.register(e, cmd, false)
	cmd.Flags().BoolVar(&f.json, "json", false, "print as JSON")
	return cmd
}

func newUserRemoveCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		reason     string
		force      bool
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "remove --store DIR NAME --reason TEXT -i DPOKEY",
		Short: "Revoke a person's key (their past entries stay verifiable)",
		Long: `Revoke a person's key. The removal is ledgered; entries they made before
stay verifiable, because the ledger authorised their key at the time. A
DPO cannot remove themselves, and a dual-control store keeps at least one
DPO. Removing a DPO re-seals the DPO key shares without them. Removing the
owner of live dual-control clips is refused unless --force: those clips
could then never be opened.`,
		Example: `  custody user remove --store /srv/custody ian --reason "left the trust" -i dana.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := f.openActing(e, identities)
			if err != nil {
				return err
			}
			u, err := s.RemoveUser(cmd.Context(), p, args[0], store.RemoveUserOptions{Reason: reason, Force: force}, e.pluginUI())
			if err != nil {
				return err
			}
			if f.json {
				return e.json(u)
			}
			fmt.Fprintf(e.stdout, "removed %s (%s); their past entries stay verifiable\n", u.Name, u.Fingerprint)
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&reason, "reason", "", "why (recorded in the ledger)")
	fl.BoolVar(&force, "force", false, "remove an owner of live dual-control clips, which then can never be opened")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the DPO removing them: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the person as JSON")
	return cmd
}

func newUserConfirmCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "confirm --store DIR NAME -i KEY",
		Short: "Give the second signature that registers a proposed DPO",
		Long: `Confirm a DPO that someone else proposed (custody user add --role dpo):
the second of the two signatures a DPO's registration takes. The
confirmer is an active DPO, or a person in the role the store names as
DPO seconder (init --dpo-seconder), and is not the proposer, not the
person proposed, and not linked to the proposer (neither registered the
other alone). One of the two is a DPO. The proposal must not have lapsed.

In a dual-control store with clips, confirming re-seals every DPO key
share for the new DPO, so the confirmer must be a DPO (then have the
seconder propose, and a DPO confirm).`,
		Example: `  custody user confirm --store /srv/custody omar -i ~/.ssh/dave_ed25519`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := f.openPerson(e, identities, "a confirmation")
			if err != nil {
				return err
			}
			u, err := s.ConfirmUser(cmd.Context(), p, args[0], e.pluginUI())
			if err != nil {
				return err
			}
			if f.json {
				return e.json(u)
			}
			fmt.Fprintf(e.stdout, "registered %s as %s (key %s), proposed by %s and confirmed by %s\n", u.Name, u.Role, u.Fingerprint, u.ProposedBy, u.AddedBy)
			return nil
		},
	}
	f.register(e, cmd, false)
	fl := cmd.Flags()
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the person confirming: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the person as JSON")
	return cmd
}

func newUserWithdrawCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		reason     string
		identities []string
	)
	cmd := &cobra.Command{
		Use:     "withdraw --store DIR NAME --reason TEXT -i KEY",
		Short:   "Take back a pending DPO proposal (its proposer or a DPO)",
		Example: `  custody user withdraw --store /srv/custody omar --reason "wrong key" -i ~/.ssh/dana_ed25519`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := f.openPerson(e, identities, "a withdrawal")
			if err != nil {
				return err
			}
			u, err := s.WithdrawUser(cmd.Context(), p, args[0], reason)
			if err != nil {
				return err
			}
			if f.json {
				return e.json(u)
			}
			fmt.Fprintf(e.stdout, "withdrew the proposal of %s (key %s)\n", u.Name, u.Fingerprint)
			return nil
		},
	}
	f.register(e, cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&reason, "reason", "", "why (recorded in the ledger)")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the proposer or a DPO: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the proposal as JSON")
	return cmd
}
