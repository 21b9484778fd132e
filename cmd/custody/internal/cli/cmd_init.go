package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newInitCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		recipients []string
		recipFile  string
		workFactor int
		dual       bool
		retention  string
		dpos       []string
		seconder   string
	)
	cmd := &cobra.Command{
		Use:   "init --store DIR --recipient KEY [--recipient KEY...] [--recipients-file FILE]",
		Short: "Create an evidence store",
		Long: `Create an evidence store in DIR (absent or empty).

Recipients are the people whose keys can open sealed originals: age X25519
keys (age1...), SSH keys (ssh-ed25519, ssh-rsa), or age plugin recipients
for hardware tokens. init also creates the station signing key (Ed25519),
encrypted at rest with a passphrase using age's scrypt mode, and writes the
genesis ledger entry and the first signed checkpoint.

With --dual-control no single key can open an original: each import needs
--owner (a registered person), and the clip is sealed to a key of its own
that is split between the owner and the DPOs; opening it takes the owner's
request, a DPO's approval and the owner's key (see custody request,
approve, open). It takes no recipients: redacted versions and review files
are sealed to keys of their own that only the DPOs hold.

--retention sets the initial retention policy (default 48h after
recording); afterwards only a DPO changes it (custody policy set).

--dpo NAME=PUBKEY registers a first DPO in the same init (repeatable;
PUBKEY is an SSH Ed25519 .pub file or its line). Dual control means two
people, so after init a DPO is registered by two: one proposes (custody
user add --role dpo), another confirms (custody user confirm). Give two
or more --dpo, or name with --dpo-seconder a role (clinician or
investigator) whose members may give that second signature besides the
DPOs; only init sets it.`,
		Example: `  age-keygen -o dpo.key
  custody init --store /srv/custody --recipient "$(age-keygen -y dpo.key)"
  custody init --store /srv/custody --recipients-file keys.txt --passphrase-file /etc/custody/pass
  custody init --store /srv/custody --dual-control --retention 48h --dpo dana=dana.pub --dpo dave=dave.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.dir == "" {
				return usagef("no store given: use --store DIR or set CUSTODY_STORE")
			}
			var all []string
			for _, r := range recipients {
				if _, err := seal.ParseRecipient(r, e.pluginUI()); err != nil {
					return err
				}
				all = append(all, r)
			}
			if recipFile != "" {
				fh, err := os.Open(recipFile)
				if err != nil {
					return err
				}
				_, strs, err := seal.ParseRecipientLines(fh, e.pluginUI())
				fh.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", recipFile, err)
				}
				all = append(all, strs...)
			}
			if len(all) == 0 && !dual {
				return usagef("a store needs at least one --recipient or --recipients-file (or --dual-control)")
			}
			if len(all) > 0 && dual {
				return usagef("--dual-control takes no --recipient: nothing in such a store is sealed to a store-wide key (redacted versions are sealed for the DPOs)")
			}
			var policy *store.Policy
			if retention != "" || seconder != "" {
				p := store.DefaultPolicy()
				if retention != "" {
					d, err := store.ParseDuration(retention)
					if err != nil || d <= 0 {
						return usagef("--retention %q: give a positive duration like 48h or 3d", retention)
					}
					p.Retention = store.Duration(d)
				}
				if p.DPOSeconder = seconder; p.Validate() != nil {
					return usagef("--dpo-seconder %q: give clinician or investigator (DPOs always second)", seconder)
				}
				policy = &p
			}
			people, err := initDPOs(dpos)
			if err != nil {
				return err
			}
			pass, err := e.passphrase(f.passphraseFile, "Choose a passphrase for the station key:", true)
			if err != nil {
				return err
			}
			s, err := store.Init(cmd.Context(), f.dir, store.InitOptions{Recipients: all, Passphrase: pass, WorkFactor: workFactor, Actor: f.actorName(), DualControl: dual, Policy: policy, People: people})
			if err != nil {
				return err
			}
			fp := seal.Fingerprint(s.Signer().PublicKey())
			if f.json {
				names := []string{}
				for _, p := range people {
					names = append(names, p.Name)
				}
				return e.json(map[string]any{"store": s.Dir, "id": s.Config.ID, "station_key": seal.AuthorizedKey(s.Signer().PublicKey()), "fingerprint": fp, "recipients": all, "dual_control": dual, "dpos": names})
			}
			fmt.Fprintf(e.stdout, "created store %s\nstation key %s\n%d recipient(s)\n", s.Dir, fp, len(all))
			for _, p := range people {
				fmt.Fprintf(e.stdout, "registered %s as dpo\n", p.Name)
			}
			if dual {
				fmt.Fprintf(e.stdout, "dual control: every import needs --owner\n")
			}
			if dual && len(people) < 2 && seconder == "" {
				e.warnf("fewer than two DPOs (--dpo) and no --dpo-seconder: the station registers at most the first DPO, and a second needs two people's signatures, so this store can never have two; a DPO approves only requests of people another DPO registered")
			}
			return nil
		},
	}
	f.register(e, cmd, true)
	cmd.Flags().StringArrayVarP(&recipients, "recipient", "r", nil, "age, SSH or plugin recipient who can open originals (repeatable)")
	cmd.Flags().StringVarP(&recipFile, "recipients-file", "R", "", "file with one recipient per line")
	cmd.Flags().IntVar(&workFactor, "kdf-work-factor", seal.DefaultWorkFactor, "scrypt cost (log2) protecting the station key")
	cmd.Flags().BoolVar(&dual, "dual-control", false, "no single key opens an original: the owner's key and a DPO's approval are both needed")
	cmd.Flags().StringVar(&retention, "retention", "", "initial retention after recording (default 48h)")
	cmd.Flags().StringArrayVar(&dpos, "dpo", nil, "NAME=PUBKEY: register a first DPO with their SSH Ed25519 public key (file or line; repeatable)")
	cmd.Flags().StringVar(&seconder, "dpo-seconder", "", "a role (clinician or investigator) that may give the second signature registering a DPO; fixed at init")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}

// initDPOs parses --dpo NAME=PUBKEY arguments; PUBKEY is a .pub file or
// an authorized_keys line.
func initDPOs(args []string) ([]store.UserSpec, error) {
	var out []store.UserSpec
	for _, a := range args {
		name, key, ok := strings.Cut(a, "=")
		name, key = strings.TrimSpace(name), strings.TrimSpace(key)
		if !ok || name == "" || key == "" {
			return nil, usagef("--dpo %q: give NAME=PUBKEY, e.g. --dpo dana=dana.pub", a)
		}
		if b, err := os.ReadFile(key); err == nil {
			key = strings.TrimSpace(string(b))
		} else if !strings.Contains(key, " ") {
			return nil, usagef("--dpo %s: %v (give the .pub file or its line)", name, err)
		}
		out = append(out, store.UserSpec{Name: name, Role: store.RoleDPO, Key: key})
	}
	return out, nil
}
