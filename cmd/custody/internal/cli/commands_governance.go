package cli

import "github.com/spf13/cobra"

// governanceCommands are the people, access, retention and consent commands.
func governanceCommands(e *env) []*cobra.Command { return nil }
