package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newLogCmd(e *env) *cobra.Command {
	var (
		f         storeFlags
		filter    store.LogFilter
		since     string
		anomalies bool
	)
	cmd := &cobra.Command{
		Use:   "log --store DIR [--clip ID] [--actor NAME] [--since T] [--json]",
		Short: "Who did what, when and why, with anomalies flagged",
		Long: `Print the ledger as an access log: every entry's time, the person who
acted (and signed), the action, the clip, and what it was about: imports,
requests with their reasons and incidents, approvals, opens, holds and
releases, consent decisions, purges, policy and people changes.

Entries that break a governance rule or look like misuse are flagged:
  open-outside-request    an open of a dual-control original without a usable
                          approved request (impossible through custody itself:
                          it means the ledger was written some other way)
  request-burst           more requests by one person than the policy allows
                          within its window (default 3 per hour)
  release-without-reason  a hold lifted with no reason given
  ...-by-non-dpo, self-approval, purge-while-held, clock-override
  and the breaks of the rules verify applies (custody refuses them; a
  ledger written some other way, or by an older custody, may hold them):
  user-not-dpo, dpo-unseconded (a DPO registered by one person),
  name-reused, approval-linked (approver and requester linked by a
  registration one of them made alone), request-not-owner, purge-early
  (a clip purged before it was due, at the time the entry carries: a
  clock override), shred-early

--since takes an RFC 3339 time or a duration ago (24h, 7d). --anomalies
prints only flagged entries.`,
		Example: `  custody log --store /srv/custody --clip 3f5a9c0d12ab
  custody log --store /srv/custody --actor nina --since 7d --json
  custody log --store /srv/custody --anomalies`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since != "" {
				t, err := parseWhen(since, time.Now())
				if err != nil {
					return err
				}
				filter.Since = t
			}
			filter.AnomaliesOnly = anomalies
			s, err := f.open()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			lines, err := st.Log(filter)
			if err != nil {
				return err
			}
			flagged := 0
			for _, ln := range lines {
				if len(ln.Flags) > 0 {
					flagged++
				}
			}
			// A ledger that lost entries refuses every write, so nothing
			// in it can say so: the log checks, as the writers do.
			integrity := ""
			if err := s.Check(cmd.Context()); errors.Is(err, store.ErrRolledBack) {
				integrity = err.Error()
			} else if err != nil {
				return err
			}
			// Failed attempts nobody could sign for wait outside the
			// ledger until the next write; they are anomalies all the same.
			pending, err := s.PendingAttempts(st)
			if err != nil {
				return err
			}
			if f.json {
				if lines == nil {
					lines = []store.LogLine{}
				}
				if pending == nil {
					pending = []store.Attempt{}
				}
				out := map[string]any{"entries": lines, "flagged": flagged, "pending_attempts": pending}
				if integrity != "" {
					out["rolled_back"] = integrity
				}
				return e.json(out)
			}
			if integrity != "" {
				fmt.Fprintf(e.stdout, "!! LEDGER-ROLLED-BACK: %s (writes are refused; see custody verify --store and custody recover-ledger)\n", integrity)
			}
			for _, ln := range lines {
				clip := ln.Clip
				if clip == "" {
					clip = "-"
				}
				fmt.Fprintf(e.stdout, "#%-5d %s  %-10s %-12s %-12s %s\n", ln.Seq, ln.Time, ln.Actor, ln.Action, clip, ln.Summary)
				for _, a := range ln.Flags {
					fmt.Fprintf(e.stdout, "       !! %s: %s\n", strings.ToUpper(a.Code), a.Msg)
				}
			}
			if flagged > 0 {
				fmt.Fprintf(e.stdout, "%d entr(ies) flagged\n", flagged)
			}
			for _, a := range pending {
				fmt.Fprintf(e.stdout, "pending %s  %-10s !! FAILED-ATTEMPT: %s%s (not ledgered yet: the next write ledgers it)\n", a.Time, a.User, a.Kind, keyOf(a.Key))
			}
			return nil
		},
	}
	f.register(e, cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&filter.Clip, "clip", "", "only this clip (with its redacted versions and requests)")
	fl.StringVar(&filter.Actor, "actor", "", "only this person (name or key fingerprint)")
	fl.StringVar(&since, "since", "", "only entries since this time, or this long ago")
	fl.BoolVar(&anomalies, "anomalies", false, "only flagged entries")
	fl.BoolVar(&f.json, "json", false, "print as JSON")
	return cmd
}

func keyOf(fp string) string {
	if fp == "" {
		return ""
	}
	return " by key " + fp
}
