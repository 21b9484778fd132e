//go:build cgo

package cli

import "github.com/spf13/cobra"

// mediaCommands returns the commands that need OpenCV.
func mediaCommands(e *env) []*cobra.Command { return nil }
