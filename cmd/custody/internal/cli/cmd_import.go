package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newImportCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		opts       store.ImportOptions
		recordedAt string
		consent    store.ConsentRecord
	)
	cmd := &cobra.Command{
		Use:   "import --store DIR FILE|DIR...",
		Short: "Seal recordings into the store",
		Long: `Import each recording in one streaming pass: the original is read once,
read-only; its SHA-256 is computed while it is encrypted to the store's
recipients as a standard age file; the ciphertext is hashed as it is
written; ffprobe metadata is recorded; and a signed import entry is appended
to the ledger. Directories are walked for files.

Damaged recordings are evidence too, and are sealed exactly as received:
a camera file cut off by a dead battery (an MP4 whose moov was never
written), a file truncated in a copy. A file is damaged when ffprobe cannot
read it but its bytes carry a recording's signature (an ftyp box, MPEG-TS
sync bytes, RIFF/AVI, Matroska, ...), or when demuxing every packet shows
that it stops short of what its container declares. The clip is then
marked DAMAGED, with what could and could not be read, and the duration
recorded is the part that decodes, not the declared one.

Refused, with nothing written: files that are not video or audio recordings
at all, empty files, and files whose content is already in the store.

--recorded-at defaults to the container's creation_time, else the file's
modification time; the ledger records which source was used.

--owner names the registered person who recorded the clip; a dual-control
store requires it (only the owner may later request to open the clip).
--consent records the patient's decision (given, declined or not-asked),
with --consent-by and --consent-at; a declined clip is removed at the next
purge unless held.`,
		Example: `  custody import --store /srv/custody --device BWC-0042 --wearer "J. Smith" clip.mp4
  custody import --store /srv/custody --json /media/camera/DCIM/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if recordedAt != "" {
				t, err := time.Parse(time.RFC3339, recordedAt)
				if err != nil {
					return usagef("--recorded-at %q is not an RFC 3339 time like 2026-11-22T09:00:00Z", recordedAt)
				}
				opts.RecordedAt = t
			}
			if consent.State != "" {
				if consent.At != "" {
					t, err := time.Parse(time.RFC3339, consent.At)
					if err != nil {
						return usagef("--consent-at %q is not an RFC 3339 time", consent.At)
					}
					consent.At = t.UTC().Format(time.RFC3339)
				}
				if err := consent.Check(true); err != nil {
					return usageErr(err)
				}
				opts.Consent = &consent
			} else if consent.By != "" || consent.At != "" {
				return usagef("--consent-by and --consent-at go with --consent")
			}
			opts.PluginUI = e.pluginUI()
			files, err := expandInputs(args)
			if err != nil {
				return err
			}
			s, err := f.openWritable(e)
			if err != nil {
				return err
			}
			var results []*store.Clip
			var firstErr error
			for _, path := range files {
				fi, _ := os.Stat(path)
				var size int64
				if fi != nil {
					size = fi.Size()
				}
				o := opts
				var done func()
				o.Progress, done = e.progress(size, filepath.Base(path))
				clip, err := s.Import(cmd.Context(), path, o)
				done()
				if err != nil {
					if errors.Is(err, cmd.Context().Err()) && cmd.Context().Err() != nil {
						return err
					}
					if len(files) == 1 {
						return err
					}
					printError(e.stderr, err)
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				results = append(results, clip)
				if !f.json {
					fmt.Fprintf(e.stdout, "imported %s as clip %s (sha256 %s)\n", path, clip.ID, clip.Object.SHA256)
					if d := damageOf(clip); d != nil {
						fmt.Fprintf(e.stdout, "  DAMAGED: %s; sealed as received (custody show %s)\n", d.Summary(), clip.ID)
					}
				}
			}
			if f.json {
				if len(args) == 1 && len(files) == 1 && len(results) == 1 {
					if err := e.json(clipJSON(results[0])); err != nil {
						return err
					}
				} else {
					out := make([]any, len(results))
					for i, c := range results {
						out[i] = clipJSON(c)
					}
					if err := e.json(out); err != nil {
						return err
					}
				}
			}
			if firstErr != nil {
				return silentError{code: exitCode(firstErr), err: fmt.Errorf("%d of %d file(s) not imported", len(files)-len(results), len(files))}
			}
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&opts.Device, "device", "", "camera or device id")
	fl.StringVar(&opts.Wearer, "wearer", "", "who wore or operated the camera")
	fl.StringVar(&recordedAt, "recorded-at", "", "when the recording started (RFC 3339)")
	fl.StringVar(&opts.Location, "location", "", "where it was recorded")
	fl.StringVar(&opts.Note, "note", "", "free-text note for the ledger")
	fl.StringVar(&opts.Owner, "owner", "", "registered person who recorded it (required under dual control)")
	fl.StringVar(&consent.State, "consent", "", "patient's consent: given, declined or not-asked")
	fl.StringVar(&consent.By, "consent-by", "", "who gave or refused consent")
	fl.StringVar(&consent.At, "consent-at", "", "when consent was decided (RFC 3339)")
	fl.BoolVar(&f.json, "json", false, "print the imported clip(s) as JSON")
	return cmd
}

// expandInputs turns arguments into a sorted list of regular files,
// walking directories (hidden files skipped).
func expandInputs(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Name()[0] == '.' && p != a {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, usagef("no files to import")
	}
	return files, nil
}

// clipJSON is the JSON shape of a clip for import, list and show.
func clipJSON(c *store.Clip) map[string]any {
	return map[string]any{
		"id":                 c.ID,
		"sha256":             c.Object.SHA256,
		"size":               c.Object.Size,
		"cipher_sha256":      c.Object.CipherSHA256,
		"cipher_size":        c.Object.CipherSize,
		"object":             c.Object.Path,
		"filename":           c.Filename,
		"status":             c.Status,
		"recorded_at":        c.RecordedAt,
		"recorded_at_source": c.RecordedAtSource,
		"device":             c.Device,
		"wearer":             c.Wearer,
		"location":           c.Location,
		"note":               c.Note,
		"imported_at":        c.ImportedAt,
		"imported_by":        c.ImportedBy,
		"media":              c.Media,
		"damaged":            damageOf(c) != nil,
		"damage":             damageOf(c),
		"duration_s":         durationOf(c),
		"timeline":           c.Timeline,
		"kind":               c.Kind,
		"parent":             c.Parent,
		"owner":              c.Owner,
		"dual_control":       c.DualControl(),
		"expires_at":         c.ExpiresAt,
		"holds":              nonNil(c.Holds),
		"consent":            c.Consent(),
		"consent_history":    nonNil(c.ConsentHistory),
		"purge":              c.Purge,
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// damageOf is what is wrong with a damaged recording (nil when it is whole).
func damageOf(c *store.Clip) *media.Damage {
	if c.Media == nil || !c.Media.Damaged {
		return nil
	}
	if c.Media.Damage == nil {
		return &media.Damage{Reason: "damaged"}
	}
	return c.Media.Damage
}

// durationOf is the clip's duration in seconds: for a damaged recording,
// the part that decodes.
func durationOf(c *store.Clip) float64 {
	if c.Media == nil {
		return 0
	}
	return c.Media.Duration
}
