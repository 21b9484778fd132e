package cli

import (
	"fmt"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newPolicyCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show or change the retention and access policy",
		Long: `The policy lives in the ledger: retention (how long after recording a
clip is kept unless held; default 48h), how long an approval stays usable
(24h), how long a request waits for approval (7d), and the burst threshold
custody log flags (3 requests per hour). Only a DPO may change it, and each
change is ledgered with the old and new values and a reason. Dual
control and the DPO seconder role (who besides a DPO may give the second
signature that registers a DPO) are set at init and never change.`,
	}
	var sf storeFlags
	show := &cobra.Command{
		Use:     "show --store DIR [--json]",
		Short:   "Print the policy in force",
		Example: "  custody policy show --store /srv/custody",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := sf.open()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			p := st.Policy
			if sf.json {
				return e.json(p)
			}
			seconder := "DPOs only"
			if p.DPOSeconder != "" {
				seconder = "DPOs or a " + p.DPOSeconder
			}
			fmt.Fprintf(e.stdout, "retention         %s after recording\ndual control      %v\ngrant validity    %s\nrequest validity  %s (and DPO proposals)\nburst threshold   %d requests per %s\nDPO seconders     %s\n",
				p.Retention, p.DualControl, p.GrantValidity, p.RequestValidity, p.BurstRequests, p.BurstWindow, seconder)
			return nil
		},
	}
	sf.register(e, show, false)
	show.Flags().BoolVar(&sf.json, "json", false, "print as JSON")

	var (
		f                                 storeFlags
		retention, grant, request, window string
		burst                             int
		reason                            string
		identities                        []string
	)
	set := &cobra.Command{
		Use:     "set --store DIR [--retention DUR] [--grant-validity DUR] [--request-validity DUR] [--burst N --burst-window DUR] --reason TEXT -i DPOKEY",
		Short:   "Change the policy (DPO only, ledgered)",
		Example: `  custody policy set --store /srv/custody --retention 72h --reason "Board decision 2026/41" -i dpo.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ch store.PolicyChange
			dur := func(name, v string, dst **time.Duration) error {
				if v == "" {
					return nil
				}
				d, err := store.ParseDuration(v)
				if err != nil {
					return usagef("--%s: %v", name, err)
				}
				*dst = &d
				return nil
			}
			for _, x := range []struct {
				name, v string
				dst     **time.Duration
			}{{"retention", retention, &ch.Retention}, {"grant-validity", grant, &ch.GrantValidity}, {"request-validity", request, &ch.RequestValidity}, {"burst-window", window, &ch.BurstWindow}} {
				if err := dur(x.name, x.v, x.dst); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("burst") {
				ch.BurstRequests = &burst
			}
			if reason == "" {
				return usagef("a policy change needs --reason")
			}
			ch.Reason = reason
			s, p, err := f.openPerson(e, identities, "a policy change")
			if err != nil {
				return err
			}
			np, err := s.SetPolicy(cmd.Context(), p, ch)
			if err != nil {
				return err
			}
			if f.json {
				return e.json(np)
			}
			fmt.Fprintf(e.stdout, "policy changed: retention %s, grants valid %s, requests lapse after %s\n", np.Retention, np.GrantValidity, np.RequestValidity)
			return nil
		},
	}
	f.register(e, set, false)
	fl := set.Flags()
	fl.StringVar(&retention, "retention", "", "keep clips this long after recording (e.g. 48h, 3d)")
	fl.StringVar(&grant, "grant-validity", "", "how long an approval stays usable")
	fl.StringVar(&request, "request-validity", "", "how long a request waits for approval")
	fl.IntVar(&burst, "burst", 0, "requests per window before custody log flags a burst")
	fl.StringVar(&window, "burst-window", "", "the burst window")
	fl.StringVar(&reason, "reason", "", "why (recorded in the ledger)")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the DPO: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the new policy as JSON")
	cmd.AddCommand(show, set)
	return cmd
}
