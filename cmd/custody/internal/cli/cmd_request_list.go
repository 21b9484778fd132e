package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

// The states request list shows. "used" is the ledger's "opened" (an open
// or a redaction under the approval); "expired" includes an approval whose
// unused grant was destroyed ("shredded").
const (
	reqStateUsed = "used"
	reqStateAll  = "all"
)

var requestListStates = []string{store.RequestPending, store.RequestApproved, reqStateUsed, store.RequestExpired, reqStateAll}

// requestListOptions are the flags of custody request list.
type requestListOptions struct {
	Clip  string    // only this clip's requests ("" for all); a prefix of its id will do
	State string    // one of requestListStates
	JSON  bool      // print as JSON
	Now   time.Time // when the states are judged
}

// requestApprovalJSON is one approval of a request.
type requestApprovalJSON struct {
	By           string `json:"by"`
	Key          string `json:"key,omitempty"`
	At           string `json:"at"`
	GrantExpires string `json:"grant_expires,omitempty"`
}

// requestJSON is one request in custody request list.
type requestJSON struct {
	ID        string                `json:"id"`
	Clip      string                `json:"clip"`
	Requester string                `json:"requester"`
	Purpose   string                `json:"purpose"`
	Reason    string                `json:"reason"`
	Incident  string                `json:"incident"`
	Created   string                `json:"created"`
	ExpiresAt string                `json:"expires_at"` // when an unapproved request lapses
	Approvals []requestApprovalJSON `json:"approvals"`
	UsedAt    string                `json:"used_at,omitempty"`
	Derived   string                `json:"derived,omitempty"`
	State     string                `json:"state"`
	Seq       uint64                `json:"seq"`
}

// requestState is a request's state as request list names it, at now.
func requestState(r *store.Request, now time.Time) string {
	switch s := r.StatusAt(now); s {
	case store.RequestOpened:
		return reqStateUsed
	case store.RequestShredded:
		return store.RequestExpired
	default:
		return s
	}
}

// listRequests selects and describes the replayed requests, oldest first.
func listRequests(st *store.State, opts requestListOptions) ([]requestJSON, error) {
	if !stringIn(opts.State, requestListStates) {
		return nil, usagef("--state %q: use one of %s", opts.State, strings.Join(requestListStates, ", "))
	}
	clip := ""
	if opts.Clip != "" {
		c, err := st.Find(opts.Clip)
		if err != nil {
			return nil, err
		}
		clip = c.ID
	}
	out := []requestJSON{}
	for _, r := range st.Requests {
		state := requestState(r, opts.Now)
		if (clip != "" && r.Clip != clip) || (opts.State != reqStateAll && state != opts.State) {
			continue
		}
		rj := requestJSON{ID: r.ID, Clip: r.Clip, Requester: r.Requester, Purpose: r.Purpose, Reason: r.Reason,
			Incident: r.Incident, Created: r.At, ExpiresAt: r.ExpiresAt, Approvals: []requestApprovalJSON{},
			UsedAt: r.OpenedAt, Derived: r.Derived, State: state, Seq: r.Seq}
		if r.ApprovedBy != "" {
			rj.Approvals = append(rj.Approvals, requestApprovalJSON{By: r.ApprovedBy, Key: r.ApprovedKey, At: r.ApprovedAt, GrantExpires: r.GrantExpires})
		}
		out = append(out, rj)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

func stringIn(s string, list []string) bool {
	for _, v := range list {
		if s == v {
			return true
		}
	}
	return false
}

// runRequestList prints the requests of st that opts selects.
func runRequestList(st *store.State, opts requestListOptions, stdout io.Writer) error {
	rows, err := listRequests(st, opts)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(stdout, map[string]any{"at": opts.Now.UTC().Format(time.RFC3339), "state": opts.State, "requests": rows})
	}
	if len(rows) == 0 {
		what := "no requests"
		if opts.State != reqStateAll {
			what = "no " + opts.State + " requests"
		}
		if opts.Clip != "" {
			what += " for clip " + opts.Clip
		}
		fmt.Fprintf(stdout, "%s at %s (--state all lists every request)\n", what, opts.Now.UTC().Format(time.RFC3339))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tCLIP\tSTATE\tPURPOSE\tREQUESTER\tCREATED\tEXPIRES\tAPPROVALS\tREASON")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s (incident %s)\n", r.ID, r.Clip, r.State, r.Purpose, r.Requester,
			seconds(r.Created), requestExpiry(r, opts.Now), requestApprovals(r), r.Reason, r.Incident)
	}
	return tw.Flush()
}

// requestExpiry is what runs out next: the request while it waits, the
// grant once approved; a used request has nothing left to run out.
func requestExpiry(r requestJSON, now time.Time) string {
	t := r.ExpiresAt
	if len(r.Approvals) > 0 && r.Approvals[0].GrantExpires != "" {
		t = r.Approvals[0].GrantExpires
	}
	if r.State == reqStateUsed {
		return "used " + seconds(r.UsedAt)
	}
	if at, err := time.Parse(time.RFC3339Nano, t); err == nil {
		return at.UTC().Format(time.RFC3339) + " (" + until(at, now) + ")"
	}
	return t
}

// seconds shortens a ledger time to the second for a table.
func seconds(t string) string {
	if at, err := time.Parse(time.RFC3339Nano, t); err == nil {
		return at.UTC().Format(time.RFC3339)
	}
	return t
}

func requestApprovals(r requestJSON) string {
	if len(r.Approvals) == 0 {
		return "-"
	}
	var parts []string
	for _, a := range r.Approvals {
		parts = append(parts, a.By+" "+seconds(a.At))
	}
	return strings.Join(parts, ", ")
}

func newRequestListCmd(e *env) *cobra.Command {
	var (
		f    storeFlags
		opts requestListOptions
	)
	cmd := &cobra.Command{
		Use:   "list --store DIR [--clip ID] [--state pending|approved|used|expired|all] [--json]",
		Short: "List requests to open or redact, with their approvals and state",
		Long: `List the requests filed with custody request, oldest first: who asked, for
which clip and purpose, why, when, when it runs out, who approved it and
its state, as the ledger records them:
  pending   waiting for a DPO's approval (until the request lapses)
  approved  approved: the requester may open or redact once, until the grant expires
  used      the approval was used (the clip was opened or redacted)
  expired   lapsed unapproved, or approved but not used in time
--state picks one (default pending: what waits for a DPO), or all.

States are judged at the current time, or at $CUSTODY_NOW if that is
later: an override can show what will have lapsed, never revive one.`,
		Example: `  custody request list --store /srv/custody
  custody request list --store /srv/custody --clip 3f5a9c0d12ab --state all --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open()
			if err != nil {
				return err
			}
			policy, _, err := policyNow()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			opts.JSON, opts.Now = f.json, s.GrantClock(policy)
			return runRequestList(st, opts, e.stdout)
		},
	}
	f.register(e, cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&opts.Clip, "clip", "", "only this clip's requests")
	fl.StringVar(&opts.State, "state", store.RequestPending, "pending, approved, used, expired or all")
	fl.BoolVar(&f.json, "json", false, "print as JSON")
	return cmd
}

// writeJSON prints v as indented JSON, as env.json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
