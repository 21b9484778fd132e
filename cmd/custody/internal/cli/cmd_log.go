package cli

import (
	"errors"
	"fmt"
	"io"
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
prints only flagged entries, or a line saying none were found in how many
entries (with --json: "entries": [] and "examined": N).`,
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
			s, err := f.open()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			r, err := buildLogReport(st, filter, anomalies)
			if err != nil {
				return err
			}
			// A ledger that lost entries refuses every write, so nothing
			// in it can say so: the log checks, as the writers do.
			if err := s.Check(cmd.Context()); errors.Is(err, store.ErrRolledBack) {
				r.Integrity = err.Error()
			} else if err != nil {
				return err
			}
			// Failed attempts nobody could sign for wait outside the
			// ledger until the next write; they are anomalies all the same.
			if r.Pending, err = s.PendingAttempts(st); err != nil {
				return err
			}
			if f.json {
				return e.json(r.jsonOut())
			}
			writeLogText(e.stdout, r)
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

// logReport is what custody log prints.
type logReport struct {
	Lines         []store.LogLine // the entries to print
	Examined      int             // entries the filter (--clip, --actor, --since) selected
	Flagged       int             // of those, the flagged ones
	AnomaliesOnly bool
	Integrity     string // the rollback, if the ledger no longer extends its checkpoint
	Pending       []store.Attempt
}

// buildLogReport selects the entries, and only the flagged ones with
// anomaliesOnly, counting how many the filter selected.
func buildLogReport(st *store.State, filter store.LogFilter, anomaliesOnly bool) (logReport, error) {
	filter.AnomaliesOnly = false
	all, err := st.Log(filter)
	if err != nil {
		return logReport{}, err
	}
	r := logReport{Examined: len(all), AnomaliesOnly: anomaliesOnly, Lines: []store.LogLine{}}
	for _, ln := range all {
		if len(ln.Flags) > 0 {
			r.Flagged++
		}
		if len(ln.Flags) > 0 || !anomaliesOnly {
			r.Lines = append(r.Lines, ln)
		}
	}
	return r, nil
}

func (r logReport) jsonOut() map[string]any {
	pending := r.Pending
	if pending == nil {
		pending = []store.Attempt{}
	}
	out := map[string]any{"entries": r.Lines, "examined": r.Examined, "flagged": r.Flagged, "pending_attempts": pending}
	if r.Integrity != "" {
		out["rolled_back"] = r.Integrity
	}
	return out
}

// writeLogText prints the report as text; with --anomalies and nothing to
// flag it says so, rather than printing nothing.
func writeLogText(w io.Writer, r logReport) {
	if r.Integrity != "" {
		fmt.Fprintf(w, "!! LEDGER-ROLLED-BACK: %s (writes are refused; see custody verify --store and custody recover-ledger)\n", r.Integrity)
	}
	for _, ln := range r.Lines {
		clip := ln.Clip
		if clip == "" {
			clip = "-"
		}
		fmt.Fprintf(w, "#%-5d %s  %-10s %-12s %-12s %s\n", ln.Seq, ln.Time, ln.Actor, ln.Action, clip, ln.Summary)
		for _, a := range ln.Flags {
			fmt.Fprintf(w, "       !! %s: %s\n", strings.ToUpper(a.Code), a.Msg)
		}
	}
	if r.Flagged > 0 {
		fmt.Fprintf(w, "%d entr(ies) flagged\n", r.Flagged)
	}
	for _, a := range r.Pending {
		fmt.Fprintf(w, "pending %s  %-10s !! FAILED-ATTEMPT: %s%s (not ledgered yet: the next write ledgers it)\n", a.Time, a.User, a.Kind, keyOf(a.Key))
	}
	if r.AnomaliesOnly && r.Flagged == 0 && len(r.Pending) == 0 && r.Integrity == "" {
		fmt.Fprintf(w, "no anomalies found in %d %s\n", r.Examined, plural(r.Examined, "entry", "entries"))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
