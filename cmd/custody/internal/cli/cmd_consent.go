package cli

import (
	"fmt"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newConsentCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		rec        store.ConsentRecord
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "consent --store DIR CLIP --state given|declined|withdrawn|not-asked [--by WHO] [--at TIME] [-i KEY]",
		Short: "Record a patient's consent decision about a clip",
		Long: `Record a consent decision. A clip whose consent is declined or withdrawn
and that is not on hold is removed at the next purge, whatever its age.
Only given consent can be withdrawn. The whole history is kept and shown
by custody show and in export reports.

A registered person records it with -i, or the station operator. A refusal
(declined or withdrawn) removes the clip, so once the store has a DPO only a
DPO may record one.`,
		Example: `  custody consent --store /srv/custody 3f5a9c0d12ab --state withdrawn --by "patient (phone call)" -i ~/.ssh/id_ed25519`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rec.State == "" {
				return usagef("give --state given, declined, withdrawn or not-asked")
			}
			if rec.At != "" {
				t, err := time.Parse(time.RFC3339, rec.At)
				if err != nil {
					return usagef("--at %q is not an RFC 3339 time", rec.At)
				}
				rec.At = t.UTC().Format(time.RFC3339)
			}
			s, p, err := f.openActing(e, identities)
			if err != nil {
				return err
			}
			c, err := s.SetConsent(cmd.Context(), p, args[0], rec)
			if err != nil {
				return err
			}
			if f.json {
				return e.json(clipJSON(c))
			}
			fmt.Fprintf(e.stdout, "clip %s: consent %s\n", c.ID, rec.State)
			if rec.Refused() && c.Status != store.StatusHeld {
				fmt.Fprintln(e.stdout, "it is not on hold, so the next purge removes it")
			}
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&rec.State, "state", "", "given, declined, withdrawn or not-asked")
	fl.StringVar(&rec.By, "by", "", "who decided (the patient, next of kin, ...)")
	fl.StringVar(&rec.At, "at", "", "when they decided (RFC 3339)")
	fl.StringVar(&rec.Note, "note", "", "note")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "who records it (default: the station operator): "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the clip as JSON")
	return cmd
}
