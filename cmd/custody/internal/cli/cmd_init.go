package cli

import (
	"fmt"
	"os"

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
	)
	cmd := &cobra.Command{
		Use:   "init --store DIR --recipient KEY [--recipient KEY...] [--recipients-file FILE]",
		Short: "Create an evidence store",
		Long: `Create an evidence store in DIR (absent or empty).

Recipients are the people whose keys can open sealed originals: age X25519
keys (age1...), SSH keys (ssh-ed25519, ssh-rsa), or age plugin recipients
for hardware tokens. init also creates the station signing key (Ed25519),
encrypted at rest with a passphrase using age's scrypt mode, and writes the
genesis ledger entry and the first signed checkpoint.`,
		Example: `  age-keygen -o dpo.key
  custody init --store /srv/custody --recipient "$(age-keygen -y dpo.key)"
  custody init --store /srv/custody --recipients-file keys.txt --passphrase-file /etc/custody/pass`,
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
			if len(all) == 0 {
				return usagef("a store needs at least one --recipient or --recipients-file")
			}
			pass, err := passphrase(f.passphraseFile, "Choose a passphrase for the station key:", true)
			if err != nil {
				return err
			}
			s, err := store.Init(cmd.Context(), f.dir, store.InitOptions{Recipients: all, Passphrase: pass, WorkFactor: workFactor, Actor: f.actorName()})
			if err != nil {
				return err
			}
			fp := seal.Fingerprint(s.Signer().PublicKey())
			if f.json {
				return e.json(map[string]any{"store": s.Dir, "id": s.Config.ID, "station_key": seal.AuthorizedKey(s.Signer().PublicKey()), "fingerprint": fp, "recipients": all})
			}
			fmt.Fprintf(e.stdout, "created store %s\nstation key %s\n%d recipient(s)\n", s.Dir, fp, len(all))
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringArrayVarP(&recipients, "recipient", "r", nil, "age, SSH or plugin recipient who can open originals (repeatable)")
	cmd.Flags().StringVarP(&recipFile, "recipients-file", "R", "", "file with one recipient per line")
	cmd.Flags().IntVar(&workFactor, "kdf-work-factor", seal.DefaultWorkFactor, "scrypt cost (log2) protecting the station key")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}
