package cli

import "github.com/spf13/cobra"

// exportCommands are the bundle commands (export, receipt, import-receipt).
func exportCommands(e *env) []*cobra.Command {
	return []*cobra.Command{newExportCmd(e), newReceiptCmd(e), newImportReceiptCmd(e)}
}
