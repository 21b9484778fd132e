package cli

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/custody-evidence/custody/media"
	"github.com/spf13/cobra"
)

// versionInfo is what `custody version` reports: enough to say exactly
// which build made a redaction, with which libraries and models.
type versionInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	// Build is "full" (OpenCV: redact and detect) or "static"
	// (CGO_ENABLED=0: seal, manifest, verify; no OpenCV, no models).
	Build  string `json:"build"`
	OpenCV string `json:"opencv,omitempty"`
	FFmpeg string `json:"ffmpeg,omitempty"`
	// Models are the models the defaults need and whether this binary
	// carries them (none in a static build).
	Models []modelInfo `json:"models"`
}

// modelInfo is one model built into the binary.
type modelInfo struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256,omitempty"`
	Present bool   `json:"present"`
	// Error says why a model is missing or not the known file.
	Error       string `json:"error,omitempty"`
	License     string `json:"license"`
	LicenseFile string `json:"license_file"`
	Origin      string `json:"origin"`
	LicenseText string `json:"license_text,omitempty"`
}

func newVersionCmd(e *env) *cobra.Command {
	var asJSON, licenses bool
	cmd := &cobra.Command{
		Use:   "version [--licenses] [--json]",
		Short: "Print the version, the libraries it uses and the models built in",
		Long: `Print custody's version (module version and source revision), the Go
version, the OpenCV version it was built with, the ffmpeg it runs, and the
models built into it, each with its sha256 and licence.

The full build carries the models the default detectors need (make copies
them from ../shared/models), so a redaction never depends on a directory
being configured; --models DIR or CUSTODY_MODELS reads models from a
directory instead. A static build (CGO_ENABLED=0) verifies but cannot
redact, and carries no models.

With --licenses it prints each built-in model's licence text and source.`,
		Example: `  custody version
  custody version --licenses
  custody version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			if ff, err := media.FFmpegVersion(cmd.Context()); err == nil {
				v.FFmpeg = ff
			}
			if !licenses {
				for i := range v.Models {
					v.Models[i].LicenseText = ""
				}
			}
			var err error
			for _, m := range v.Models {
				if m.Present && m.Error != "" {
					err = errors.Join(err, fmt.Errorf("built-in model %s: %s", m.Name, m.Error))
				}
			}
			if asJSON {
				if jerr := e.json(v); jerr != nil {
					return jerr
				}
			} else {
				printVersion(e, v, licenses)
			}
			if err != nil {
				return silentError{ExitFailed, err}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&licenses, "licenses", false, "print the licence text and source of every model built in")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// stampedVersion is the source version make stamps into its builds
// (-ldflags -X, from git describe): the build information's own VCS stamp
// is missing wherever -buildvcs is off or git cannot be run.
var stampedVersion string

// buildVersion reads the build information; the OpenCV version and the
// models come from the cgo build (versionMedia).
func buildVersion() versionInfo {
	v := versionInfo{Version: "(unknown)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if stampedVersion != "" {
		v.Version = stampedVersion
	}
	v.Build, v.OpenCV, v.Models = versionMedia()
	return v
}

func printVersion(e *env, v versionInfo, licenses bool) {
	line := "custody " + v.Version
	if v.Revision != "" {
		line += ", revision " + v.Revision
		if v.Modified {
			line += " (modified)"
		}
		if v.Time != "" {
			line += " of " + v.Time
		}
	}
	fmt.Fprintln(e.stdout, line)
	build := v.Build + " build"
	if v.OpenCV != "" {
		build += ", OpenCV " + v.OpenCV
	}
	fmt.Fprintf(e.stdout, "%s %s, %s\n", v.Go, v.Platform, build)
	if v.FFmpeg == "" {
		v.FFmpeg = "ffmpeg not found"
	}
	fmt.Fprintln(e.stdout, v.FFmpeg)
	switch {
	case v.Build == "static":
		fmt.Fprintln(e.stdout, "models: none (this build verifies; it cannot redact)")
		return
	case !anyPresent(v.Models):
		fmt.Fprintln(e.stdout, "models built in: none: this custody was built without them (`make build` embeds them); "+
			"redact and detect need --models DIR or CUSTODY_MODELS")
		return
	}
	fmt.Fprintln(e.stdout, "models built in (--models DIR or CUSTODY_MODELS reads a directory instead):")
	for _, m := range v.Models {
		state := "sha256 " + m.SHA256
		if m.Error != "" {
			state = "NOT USABLE: " + m.Error
		}
		fmt.Fprintf(e.stdout, "  %-24s %-40s %8d bytes  %s  (%s)\n", m.Name, m.File, m.Size, state, m.License)
	}
	if licenses {
		printLicenses(e, v.Models)
	}
}

// printLicenses prints each licence text once, after the models and
// sources it covers.
func printLicenses(e *env, models []modelInfo) {
	var files []string
	by := map[string][]modelInfo{}
	for _, m := range models {
		if !m.Present {
			continue
		}
		if _, ok := by[m.LicenseFile]; !ok {
			files = append(files, m.LicenseFile)
		}
		by[m.LicenseFile] = append(by[m.LicenseFile], m)
	}
	for _, f := range files {
		ms := by[f]
		fmt.Fprintf(e.stdout, "\n== %s (%s)\n", f, ms[0].License)
		for _, m := range ms {
			fmt.Fprintf(e.stdout, "%s (%s): from %s\n", m.Name, m.File, m.Origin)
		}
		fmt.Fprintln(e.stdout)
		fmt.Fprintln(e.stdout, strings.TrimRight(ms[0].LicenseText, "\n"))
	}
}

func anyPresent(ms []modelInfo) bool {
	for _, m := range ms {
		if m.Present {
			return true
		}
	}
	return false
}
