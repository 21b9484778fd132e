package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newHoldCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		req        store.HoldRequest
		at, window string
		alarmsFile string
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "hold --store DIR (CLIP... | --at TIME [--window DUR] | --alarms FILE) --incident REF [--reason TEXT] [-i KEY]",
		Short: "Keep clips past retention for an incident",
		Long: `Place a hold: a held clip is never purged until a DPO releases it.

  hold CLIP...            holds the named clips (--reason required)
  hold --at TIME          holds every clip whose recording overlaps the
                          panic-alarm time ± --window (default 30m), from any
                          camera or place: a hold errs on keeping evidence
  hold --alarms FILE      the same for each alarm in a CSV (header:
                          time,location,device[,incident]) or JSON file
                          ([{"time":..., "location":..., "device":...}])

Any registered person may place a hold (-i), or the station operator
(station passphrase), for instance from an alarm system's feed. Holding a
clip again for the same incident does nothing.`,
		Example: `  custody hold --store /srv/custody 3f5a9c0d12ab --incident INC-2211 --reason "assault on staff" -i ~/.ssh/id_ed25519
  custody hold --store /srv/custody --at 2026-11-22T09:20:00Z --window 20m --incident INC-2211
  custody hold --store /srv/custody --alarms panic-alarms.csv --incident NIGHT-2026-11-22 --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Clips = args
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usagef("--at %q is not an RFC 3339 time like 2026-11-22T09:20:00Z", at)
				}
				req.Alarms = append(req.Alarms, store.Alarm{Time: t.UTC().Format(time.RFC3339)})
			}
			if window != "" {
				d, err := store.ParseDuration(window)
				if err != nil || d <= 0 {
					return usagef("--window %q: give a positive duration like 30m", window)
				}
				req.Window = d
			}
			if alarmsFile != "" {
				fh, err := os.Open(alarmsFile)
				if err != nil {
					return err
				}
				alarms, err := store.ParseAlarms(fh)
				fh.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", alarmsFile, err)
				}
				req.Alarms = append(req.Alarms, alarms...)
			}
			if len(req.Clips) == 0 && len(req.Alarms) == 0 {
				return usagef("name clips to hold, or give --at TIME or --alarms FILE")
			}
			if len(req.Clips) > 0 && (req.Reason == "" || req.Incident == "") {
				return usagef("holding a clip needs --incident and --reason")
			}
			s, p, err := f.openActing(e, identities)
			if err != nil {
				return err
			}
			out, err := s.Hold(cmd.Context(), p, req)
			if err != nil {
				return err
			}
			if f.json {
				if out == nil {
					out = []store.HoldOutcome{}
				}
				return e.json(out)
			}
			placed := 0
			for _, o := range out {
				if o.Skipped != "" {
					fmt.Fprintf(e.stdout, "clip %s: not held again: %s\n", o.Clip, o.Skipped)
					continue
				}
				placed++
				what := ""
				if o.Alarm != nil {
					what = " (alarm at " + o.Alarm.Time + ")"
				}
				fmt.Fprintf(e.stdout, "clip %s held for incident %s%s\n", o.Clip, o.Incident, what)
			}
			if placed == 0 && len(req.Clips) == 0 {
				fmt.Fprintln(e.stdout, "no clip's recording overlaps the alarm window; nothing held")
			}
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&req.Incident, "incident", "", "incident reference")
	fl.StringVar(&req.Reason, "reason", "", "why (for alarms, defaults to the alarm's time, place and device)")
	fl.StringVar(&at, "at", "", "panic-alarm time (RFC 3339): hold clips recorded around it")
	fl.StringVar(&window, "window", "", "how far either side of an alarm to hold (default 30m)")
	fl.StringVar(&alarmsFile, "alarms", "", "CSV or JSON file of alarm events (time, location, device[, incident])")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "who places the hold (default: the station operator): "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print what was held as JSON")
	return cmd
}
