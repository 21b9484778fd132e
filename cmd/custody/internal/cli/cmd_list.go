package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newListCmd(e *env) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:     "list --store DIR [--json]",
		Short:   "List the clips in the store",
		Example: "  custody list --store /srv/custody\n  custody list --store /srv/custody --json | jq '.[].id'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			if f.json {
				out := make([]any, 0, len(st.Order))
				for _, id := range st.Order {
					out = append(out, clipJSON(st.Clips[id]))
				}
				return e.json(out)
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tKIND\tRECORDED\tDURATION\tSIZE\tDEVICE\tFILE")
			var damaged []string
			for _, id := range st.Order {
				c := st.Clips[id]
				dur := ""
				if c.Media != nil && c.Media.Duration > 0 {
					dur = fmt.Sprintf("%.1fs", c.Media.Duration)
				}
				// A damaged clip's duration is what decodes; the mark
				// points to the note under the table.
				if d := damageOf(c); d != nil {
					dur = fmt.Sprintf("%.1fs*", c.Media.Duration)
					damaged = append(damaged, fmt.Sprintf("* DAMAGED %s: %s", c.ID, d.Summary()))
				}
				kind := c.Kind
				if c.Parent != "" {
					kind += " of " + c.Parent
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Status, kind, c.RecordedAt, dur, humanBytes(c.Object.Size), c.Device, c.Filename)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, l := range damaged {
				fmt.Fprintln(e.stdout, l)
			}
			return nil
		},
	}
	f.register(e, cmd, false)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the clips as JSON")
	return cmd
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
