//go:build cgo

package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/custody-evidence/custody/redact"
	"github.com/spf13/cobra"
)

func newDetectCmd(e *env) *cobra.Command {
	var (
		d      detectFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "detect FILE... [--json]",
		Short: "Show the regions redact would mask, per image or video frame",
		Long: `Detect faces and badges in images and videos. With --json it prints one JSON
line per image or per video frame that has something to mask:

  {"file","frame","time","width","height","boxes":[{"x","y","w","h","score","label"}]}

label is "face", "head" (a person whose face was not found: see --heads)
or "text". The boxes are exactly the regions redact would
mask with the same flags, after margins and tracking: this is how recall is
measured.`,
		Example: `  custody detect --json photo.jpg ward3.mp4 > detections.jsonl
  custody detect --detector haar --every 3 ward3.mp4`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			det, scan, err := d.open(e, cmd, false)
			if err != nil {
				return err
			}
			defer det.Close()
			enc := json.NewEncoder(e.stdout)
			if !asJSON {
				fmt.Fprintf(e.stdout, "detector %s\n", det.Name())
			}
			for _, file := range args {
				var frames, boxes int
				emit := func(r redact.Record) error {
					frames++
					boxes += len(r.Boxes)
					if asJSON {
						return enc.Encode(r)
					}
					return nil
				}
				o := scan
				var done func()
				if !redact.IsImage(file) {
					o.Progress, done = e.frameBar(filepath.Base(file))
				}
				err := redact.DetectFile(cmd.Context(), file, o, emit)
				if done != nil {
					done()
				}
				if err != nil {
					return mediaErr(err)
				}
				if !asJSON {
					fmt.Fprintf(e.stdout, "%s: %d box(es) on %d frame(s)\n", file, boxes, frames)
				}
			}
			return nil
		},
	}
	d.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line per image or frame with something to mask")
	return cmd
}
