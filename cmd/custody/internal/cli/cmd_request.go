package cli

import (
	"fmt"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newRequestCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		opts       store.RequestOptions
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "request --store DIR CLIP --reason TEXT --incident REF [--purpose open|redact] -i KEY [--json]",
		Short: "Ask to open or redact a dual-control original (signed; a DPO must approve)",
		Long: `File a signed request to open a clip of a dual-control store. Only the
clip's owner (the person who recorded it) may. A DPO other than the
requester then approves it with custody approve, and the owner opens the
clip with custody open. Unapproved requests lapse after the policy's
request validity (default 7 days). Requests are logged and bursts of them
are flagged by custody log.

--purpose redact asks to run the redactor on the original instead
(custody redact --store): the plaintext then goes only to ffmpeg, and the
redacted version is sealed for the DPOs. An approval is good for its
purpose only: an approved redaction does not open the clip.

custody request list shows the requests, pending ones by default, with
their approvals and state.`,
		Example: `  custody request --store /srv/custody 3f5a9c0d12ab --reason "patient complaint" --incident INC-2211 -i ~/.ssh/id_ed25519 --json
  custody request --store /srv/custody 3f5a9c0d12ab --purpose redact --reason "police request" --incident NPT-1142 -i ~/.ssh/id_ed25519
  custody request list --store /srv/custody --state all`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Reason == "" || opts.Incident == "" {
				return usagef("a request needs --reason and --incident")
			}
			s, p, err := f.openPerson(e, identities, "a request")
			if err != nil {
				return err
			}
			r, err := s.Request(cmd.Context(), p, args[0], opts)
			if err != nil {
				return err
			}
			if f.json {
				return e.json(r)
			}
			fmt.Fprintf(e.stdout, "request %s to %s clip %s filed by %s; a DPO approves it with:\n  custody approve --store %s %s -i DPOKEY\n", r.ID, r.Purpose, r.Clip, r.Requester, f.dir, r.ID)
			return nil
		},
	}
	cmd.AddCommand(newRequestListCmd(e))
	f.register(e, cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&opts.Reason, "reason", "", "why you need the original")
	fl.StringVar(&opts.Incident, "incident", "", "incident or case reference")
	fl.StringVar(&opts.Purpose, "purpose", store.PurposeOpen, "what the approval is for: open (a plaintext copy) or redact (custody redact --store)")
	fl.StringArrayVarP(&identities, "identity", "i", nil, identityHelp)
	fl.BoolVar(&f.json, "json", false, `print {"id": ...} and the request as JSON`)
	return cmd
}
