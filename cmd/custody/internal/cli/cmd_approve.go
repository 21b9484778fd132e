package cli

import (
	"fmt"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newApproveCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		opts       store.ApproveOptions
		valid      string
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "approve --store DIR REQUEST -i DPOKEY",
		Short: "Approve a request: signed, and releases the DPO's key share to the requester",
		Long: `Approve a request to open (or redact) a dual-control original. The approval is signed
by the DPO (a ledger entry, and a statement in the SSH signature namespace
custody-approve-v1 that ssh-keygen -Y verify can check) and unwraps the
clip's DPO key share with the DPO's key, re-sealing it to the requester as
a one-time grant bound to this request, clip, requester and expiry.

Refused: approval by anyone but a DPO, approval of one's own request, of a
request for another clip than --clip, of a request already approved or
used, and of a lapsed request. Dual control means two people, so a DPO
does not approve the request of someone they registered alone (every
clinician and investigator is registered by one DPO), nor of someone who
registered them alone: another DPO approves.`,
		Example: `  custody approve --store /srv/custody 9c1e2f3a4b5d --clip 3f5a9c0d12ab -i ~/.ssh/dpo_ed25519
  custody approve --store /srv/custody 9c1e2f3a4b5d --valid 2h -i dpo.pub -i yubikey-identity.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if valid != "" {
				d, err := store.ParseDuration(valid)
				if err != nil || d <= 0 {
					return usagef("--valid %q: give a positive duration like 2h", valid)
				}
				opts.Valid = d
			}
			p, err := needPerson(e, identities, "an approval")
			if err != nil {
				return err
			}
			now, _, err := policyNow()
			if err != nil {
				return err
			}
			opts.Now, opts.PluginUI = now, e.pluginUI()
			s, err := f.open()
			if err != nil {
				return err
			}
			r, err := s.Approve(cmd.Context(), p, args[0], opts)
			if err != nil {
				return err
			}
			if f.json {
				return e.json(r)
			}
			fmt.Fprintf(e.stdout, "request %s approved by %s: %s may %s clip %s once, until %s\n", r.ID, r.ApprovedBy, r.Requester, r.Purpose, r.Clip, r.GrantExpires)
			return nil
		},
	}
	f.register(e, cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&opts.Clip, "clip", "", "the clip you mean to approve: refuse if the request is for another")
	fl.StringVar(&valid, "valid", "", "grant lifetime, at most the policy's (default: the policy's, 24h)")
	fl.StringVar(&opts.Note, "note", "", "note recorded with the approval")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the approving DPO: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the request as JSON")
	return cmd
}
