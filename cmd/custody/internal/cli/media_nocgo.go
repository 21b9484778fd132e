//go:build !cgo

package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// This build has no OpenCV: the redaction commands exist so that users get
// a clear answer rather than "unknown command".
func addMediaCommands(root *cobra.Command, e *env) {
	for _, name := range []string{"redact", "detect"} {
		root.AddCommand(&cobra.Command{
			Use:                name,
			Short:              "(needs the full build with OpenCV)",
			DisableFlagParsing: true,
			RunE: func(*cobra.Command, []string) error {
				return withHint(errors.New(name+" needs the full build of custody, with OpenCV; this is the static verification build"),
					"build with `make build` on a machine with libopencv-dev, or use a full custody binary")
			},
		})
	}
}
