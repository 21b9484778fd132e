package cli

import (
	"fmt"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newReleaseCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		req        store.ReleaseRequest
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "release --store DIR CLIP [--incident REF] --reason TEXT -i DPOKEY",
		Short: "Lift a hold (DPO only)",
		Long: `Lift the holds on a clip (only those for --incident, if given). Only a DPO
may. Once no hold is left, retention applies again: a clip already past it
goes at the next purge. A release without --reason is carried out but
flagged by custody log.`,
		Example: `  custody release --store /srv/custody 3f5a9c0d12ab --incident INC-2211 --reason "case closed, no further action" -i dpo.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Clip = args[0]
			s, p, err := f.openPerson(e, identities, "a release")
			if err != nil {
				return err
			}
			c, err := s.Release(cmd.Context(), p, req)
			if err != nil {
				return err
			}
			if req.Reason == "" {
				e.warnf("released without a reason: custody log flags this")
			}
			if f.json {
				return e.json(clipJSON(c))
			}
			fmt.Fprintf(e.stdout, "released; clip %s is now %s\n", c.ID, c.Status)
			return nil
		},
	}
	f.register(e, cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&req.Incident, "incident", "", "release only the hold for this incident")
	fl.StringVar(&req.Reason, "reason", "", "why the hold is lifted")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the releasing DPO: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the clip as JSON")
	return cmd
}
