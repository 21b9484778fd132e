package cli

import (
	"fmt"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newPurgeCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		opts       store.PurgeOptions
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "purge --store DIR [--dry-run] [--json]",
		Short: "Delete clips past retention (or with consent refused) that are not held",
		Long: `Remove every clip past retention (default 48 hours after it was recorded),
and every clip whose consent was declined or withdrawn whatever its age,
unless it is on hold: the original, its redacted versions, their review
material and, in a dual-control store, its key shares (crypto-shredding).
Unused approvals past their expiry are destroyed too. Each removal appends
a tombstone entry that keeps every destroyed file's hashes; no ledger entry
is ever removed, so custody verify passes afterwards.

Purge is idempotent and crash-safe: after a kill -9 at any point the store
verifies, and the next purge (or any write) finishes the job.

It is meant to run unattended, as the station (station passphrase from
--passphrase-file) or as a DPO (-i). From cron, hourly:

  17 * * * *  custody purge --store /srv/custody --passphrase-file /etc/custody/passphrase --json >>/var/log/custody-purge.jsonl

or with systemd, custody-purge.service:

  [Service]
  Type=oneshot
  User=custody
  Environment=CUSTODY_STORE=/srv/custody
  ExecStart=/usr/local/bin/custody purge --passphrase-file /etc/custody/passphrase --json

and custody-purge.timer:

  [Timer]
  OnCalendar=hourly
  Persistent=true
  [Install]
  WantedBy=timers.target

The policy clock is $CUSTODY_NOW if set (see custody status); a purge
records the time it decided for. It never purges ahead of the real clock:
a clip due at a later policy time but not yet is kept (and reported), and
custody verify fails on a purge of a clip not due at the time its entry
carries.`,
		Example: `  custody purge --store /srv/custody --dry-run
  custody purge --store /srv/custody --passphrase-file /etc/custody/passphrase --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now, override, err := policyNow()
			if err != nil {
				return err
			}
			if override {
				opts.Now = now
				e.warnf("policy clock set by CUSTODY_NOW to %s; the purge records it", now.UTC().Format(time.RFC3339))
			}
			p, err := loadPerson(e, identities)
			if err != nil {
				return err
			}
			var s *store.Store
			if opts.DryRun {
				s, err = f.open()
			} else {
				s, err = f.openAs(e, p)
			}
			if err != nil {
				return err
			}
			rep, err := s.Purge(cmd.Context(), p, opts)
			if f.json && rep != nil {
				if jerr := e.json(rep); jerr != nil && err == nil {
					err = jerr
				}
			}
			if err != nil {
				return err
			}
			if f.json {
				return nil
			}
			verb := "purged"
			if opts.DryRun {
				verb = "would purge"
			}
			for _, c := range rep.Purged {
				fmt.Fprintf(e.stdout, "%s clip %s (%s; recorded %s, expired %s): %d file(s), %d bytes\n", verb, c.Clip, c.Reason, c.RecordedAt, c.ExpiresAt, c.Files, c.Bytes)
			}
			for _, k := range rep.Kept {
				fmt.Fprintf(e.stdout, "kept clip %s (%s) on hold for %v\n", k.Clip, k.Reason, k.Incidents)
			}
			for _, k := range rep.NotYetDue {
				fmt.Fprintf(e.stdout, "kept clip %s: due (%s) at the policy time, not by the real clock (until %s); a purge never runs ahead of it\n", k.Clip, k.Reason, k.ExpiresAt)
			}
			for _, g := range rep.Grants {
				fmt.Fprintf(e.stdout, "%s the expired approval of request %s\n", map[bool]string{true: "would destroy", false: "destroyed"}[opts.DryRun], g)
			}
			for _, sw := range rep.Swept {
				fmt.Fprintf(e.stdout, "removed %s, left by an interrupted purge\n", sw)
			}
			if len(rep.Purged) == 0 && len(rep.Grants) == 0 {
				fmt.Fprintf(e.stdout, "nothing to purge at %s\n", rep.PolicyTime)
			}
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.BoolVar(&opts.DryRun, "dry-run", false, "say what would be removed; change nothing")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "purge as this DPO instead of the station: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the report as JSON")
	return cmd
}
