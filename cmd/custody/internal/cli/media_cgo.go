//go:build cgo

package cli

import "github.com/spf13/cobra"

func addMediaCommands(root *cobra.Command, e *env) {
	for _, c := range mediaCommands(e) {
		root.AddCommand(c)
	}
}
