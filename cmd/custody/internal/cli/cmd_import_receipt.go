package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/custody-evidence/custody/bundle"
	"github.com/spf13/cobra"
)

func newImportReceiptCmd(e *env) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "import-receipt --store DIR RECEIPT",
		Short: "Record a receiver's signed receipt for a bundle in the ledger",
		Long: `Import-receipt checks a receipt made by custody receipt: its SSH signature
must verify, it must be for this store and station, it must be signed by
the receiver the export named (custody export --receiver; any other signer
is refused, exit 4, and so is any receipt for an export that named none),
and its bundle digest must be that of the bundle this station produced for
that export. It then
appends a "receipt" entry to the ledger, which shows on the timeline of
every clip in the bundle.`,
		Example: `  custody import-receipt --store /srv/custody receipt.txt`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fh, err := os.Open(args[0])
			if err != nil {
				return err
			}
			data, err := io.ReadAll(io.LimitReader(fh, 64<<10+1))
			fh.Close()
			if err != nil {
				return err
			}
			s, err := f.openWritable(e)
			if err != nil {
				return err
			}
			p, rec, err := bundle.ImportReceipt(cmd.Context(), s, data)
			if err != nil {
				return err
			}
			if f.json {
				return e.json(map[string]any{"entry": rec.Entry.Seq, "export_entry": p.Export, "incident": p.Incident,
					"receiver": p.Receiver, "received": p.Received, "statement_sha256": p.StatementSHA256, "clips": p.Clips})
			}
			fmt.Fprintf(e.stdout, "recorded the receipt from %s for export #%d (incident %s, %d clip(s)) as ledger entry #%d\n",
				p.Receiver, p.Export, p.Incident, len(p.Clips), rec.Entry.Seq)
			return nil
		},
	}
	f.register(e, cmd, true)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}
