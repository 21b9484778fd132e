package cli

import (
	"fmt"
	"io"

	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/store"

	"github.com/spf13/cobra"
)

func newShowCmd(e *env) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "show --store DIR CLIP [--json]",
		Short: "Show a clip's hashes, metadata, status and custody timeline",
		Long: `Show one clip: its hashes, recording metadata, status, and its custody
timeline from the ledger (import, accesses with their reasons, and so on).
CLIP is a clip id or a unique prefix of at least 4 characters.`,
		Example: "  custody show --store /srv/custody 3f5a9c0d12ab\n  custody show --store /srv/custody 3f5a --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.open()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			c, err := st.Find(args[0])
			if err != nil {
				return err
			}
			if f.json {
				return e.json(clipJSON(c))
			}
			w := e.stdout
			fmt.Fprintf(w, "clip          %s\n", c.ID)
			fmt.Fprintf(w, "status        %s\n", c.Status)
			showDamage(w, c)
			fmt.Fprintf(w, "file          %s\n", c.Filename)
			fmt.Fprintf(w, "sha256        %s\n", c.Object.SHA256)
			fmt.Fprintf(w, "size          %d bytes\n", c.Object.Size)
			fmt.Fprintf(w, "sealed        %s\n", c.Object.Path)
			fmt.Fprintf(w, "sealed sha256 %s (%d bytes)\n", c.Object.CipherSHA256, c.Object.CipherSize)
			fmt.Fprintf(w, "recorded at   %s (from %s)\n", c.RecordedAt, c.RecordedAtSource)
			for _, kv := range [][2]string{{"device", c.Device}, {"wearer", c.Wearer}, {"location", c.Location}, {"note", c.Note}} {
				if kv[1] != "" {
					fmt.Fprintf(w, "%-13s %s\n", kv[0], kv[1])
				}
			}
			if m := c.Media; m != nil {
				if d := damageOf(c); d != nil {
					fmt.Fprintf(w, "container     %s, %.2fs decodable (declared %s)\n", m.Container, m.Duration, declared(d))
				} else {
					fmt.Fprintf(w, "container     %s, %.2fs\n", m.Container, m.Duration)
				}
				if v := m.Video; v != nil {
					fmt.Fprintf(w, "video         %s %dx%d %s fps\n", v.Codec, v.Width, v.Height, v.FrameRate)
				}
				if a := m.Audio; a != nil {
					fmt.Fprintf(w, "audio         %s %d Hz %d ch\n", a.Codec, a.SampleRate, a.Channels)
				}
				if m.Created != nil {
					fmt.Fprintf(w, "creation_time %s\n", m.Created.Format("2006-01-02T15:04:05Z07:00"))
				}
				for k, v := range m.DeviceTags {
					fmt.Fprintf(w, "tag           %s=%s\n", k, v)
				}
			}
			fmt.Fprintln(w, "\ncustody timeline:")
			for _, ev := range c.Timeline {
				fmt.Fprintf(w, "  #%-5d %s  %-14s %s\n", ev.Seq, ev.Time, ev.Action, ev.Summary)
			}
			return nil
		},
	}
	f.register(e, cmd, false)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the clip as JSON")
	return cmd
}

// showDamage prints a damaged recording's damage, under its status: what
// is wrong, what could be read and what could not.
func showDamage(w io.Writer, c *store.Clip) {
	d := damageOf(c)
	if d == nil {
		return
	}
	fmt.Fprintf(w, "DAMAGED       %s\n", d.Summary())
	fmt.Fprintf(w, "              sealed exactly as received; the duration shown is what decodes\n")
	for _, l := range d.Read {
		fmt.Fprintf(w, "  could read  %s\n", l)
	}
	for _, l := range d.Unreadable {
		fmt.Fprintf(w, "  could not   %s\n", l)
	}
}

func declared(d *media.Damage) string {
	if d.DeclaredDuration <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.2fs", d.DeclaredDuration)
}
