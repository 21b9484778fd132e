package cli

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

// statusJSON is one clip in custody status --json.
type statusJSON struct {
	ID         string               `json:"id"`
	Status     string               `json:"status"`
	Kind       string               `json:"kind"`
	RecordedAt string               `json:"recorded_at"`
	ExpiresAt  string               `json:"expires_at"`
	Due        string               `json:"due,omitempty"` // why the next purge removes it (or would, but for a hold)
	Owner      string               `json:"owner,omitempty"`
	Consent    *store.ConsentRecord `json:"consent,omitempty"`
	Holds      []store.Hold         `json:"holds,omitempty"`
	Requests   []statusRequestJSON  `json:"requests,omitempty"`
	Purge      *store.PurgePayload  `json:"purge,omitempty"`
}

type statusRequestJSON struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Requester string `json:"requester"`
	Incident  string `json:"incident"`
}

func newStatusCmd(e *env) *cobra.Command {
	var (
		f      storeFlags
		all    bool
		policy bool
	)
	cmd := &cobra.Command{
		Use:   "status --store DIR [CLIP...] [--all] [--json]",
		Short: "What expires when, and why each held clip is held",
		Long: `Show each live original with its status at the policy clock: sealed (and
when it expires), expired (the next purge removes it, and why: retention,
or consent declined or withdrawn), held (for which incidents, by whom,
why), with its owner, consent decision and open requests. --all includes
purged clips and redacted versions.

The policy clock is the current time, or $CUSTODY_NOW (RFC 3339) to ask
what the picture will be at another time, e.g. before a weekend.`,
		Example: `  custody status --store /srv/custody
  CUSTODY_NOW=2026-11-24T09:00:00Z custody status --store /srv/custody --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			now, _, err := policyNow()
			if err != nil {
				return err
			}
			s, err := f.open()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			var clips []*store.Clip
			if len(args) > 0 {
				for _, a := range args {
					c, err := st.Find(a)
					if err != nil {
						return err
					}
					clips = append(clips, c)
				}
			} else {
				for _, id := range st.Order {
					c := st.Clips[id]
					if all || (c.Kind == "original" && c.Status != store.StatusPurged) {
						clips = append(clips, c)
					}
				}
			}
			sort.SliceStable(clips, func(i, j int) bool { return clips[i].ExpiresAt < clips[j].ExpiresAt })
			var out []statusJSON
			for _, c := range clips {
				sj := statusJSON{ID: c.ID, Status: c.StatusAt(now), Kind: c.Kind, RecordedAt: c.RecordedAt, ExpiresAt: c.ExpiresAt,
					Owner: c.Owner, Consent: c.Consent(), Holds: c.Holds, Purge: c.Purge}
				if c.Status != store.StatusPurged {
					if why, due := c.DueAt(now); due {
						sj.Due = why
					}
				}
				for _, r := range requestsOf(st, c.ID) {
					if rs := r.StatusAt(now); rs == store.RequestPending || rs == store.RequestApproved {
						sj.Requests = append(sj.Requests, statusRequestJSON{ID: r.ID, Status: rs, Requester: r.Requester, Incident: r.Incident})
					}
				}
				out = append(out, sj)
			}
			if f.json {
				if out == nil {
					out = []statusJSON{}
				}
				return e.json(map[string]any{"policy_time": now.UTC().Format(time.RFC3339), "policy": st.Policy, "clips": out})
			}
			if policy {
				fmt.Fprintf(e.stdout, "policy: retention %s after recording; grants valid %s; requests lapse after %s\n", st.Policy.Retention, st.Policy.GrantValidity, st.Policy.RequestValidity)
			}
			fmt.Fprintf(e.stdout, "at %s (retention %s):\n", now.UTC().Format(time.RFC3339), st.Policy.Retention)
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIP\tSTATUS\tRECORDED\tEXPIRES\tWHY")
			for _, sj := range out {
				exp := sj.ExpiresAt
				if t, err := time.Parse(time.RFC3339, sj.ExpiresAt); err == nil {
					exp += " (" + until(t, now) + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sj.ID, sj.Status, sj.RecordedAt, exp, why(sj))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(out) == 0 {
				fmt.Fprintln(e.stdout, "no live clips")
			}
			return nil
		},
	}
	f.register(e, cmd, false)
	cmd.Flags().BoolVar(&all, "all", false, "include purged clips and redacted versions")
	cmd.Flags().BoolVar(&policy, "policy", false, "also print the policy")
	cmd.Flags().BoolVar(&f.json, "json", false, "print as JSON")
	return cmd
}

// why explains a clip's status in a few words.
func why(sj statusJSON) string {
	var parts []string
	for _, h := range sj.Holds {
		s := fmt.Sprintf("held for %s by %s: %s", h.Incident, h.By, h.Reason)
		parts = append(parts, s)
	}
	switch {
	case sj.Status == store.StatusPurged && sj.Purge != nil:
		parts = append(parts, "purged ("+sj.Purge.Reason+")")
	case sj.Due != "" && len(sj.Holds) > 0:
		parts = append(parts, "would be purged ("+sj.Due+") but for the hold")
	case sj.Due != "":
		parts = append(parts, "purged at the next purge ("+sj.Due+")")
	}
	if sj.Consent != nil {
		parts = append(parts, "consent "+sj.Consent.State)
	}
	if sj.Owner != "" {
		parts = append(parts, "owner "+sj.Owner)
	}
	for _, r := range sj.Requests {
		parts = append(parts, fmt.Sprintf("request %s %s", r.ID, r.Status))
	}
	return strings.Join(parts, "; ")
}

func requestsOf(st *store.State, clip string) []*store.Request {
	var out []*store.Request
	for _, r := range st.Requests {
		if r.Clip == clip {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}
