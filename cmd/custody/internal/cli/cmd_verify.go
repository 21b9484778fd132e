package cli

import (
	"fmt"
	"os"

	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/verify"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
)

func newVerifyCmd(e *env) *cobra.Command {
	var (
		f       storeFlags
		keyFile string
	)
	cmd := &cobra.Command{
		Use:   "verify --store DIR [--key PUBKEY] [--json]",
		Short: "Check the store's integrity and chain of custody (no private keys needed)",
		Long: `Verify re-hashes every sealed file, checks every ledger entry's signature and
chain link, checks the ledger's Merkle root against the latest signed
checkpoint, and checks that every sealed file is registered and every
registered file exists. It needs no private key and reports every problem
it finds, in words.

With --key, the store's station key must be the pinned one.

Exit status: 0 verified, 1 verification failed, 2 could not run.`,
		Example: "  custody verify --store /srv/custody\n  custody verify --store /srv/custody --key station.pub --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.dir == "" {
				return usagef("no store given: use --store DIR or set CUSTODY_STORE")
			}
			var pinned ssh.PublicKey
			if keyFile != "" {
				b, err := os.ReadFile(keyFile)
				if err != nil {
					return err
				}
				if pinned, err = seal.ParsePublicKey(string(b)); err != nil {
					return err
				}
			}
			prog, done := e.progress(-1, "verifying")
			r, err := verify.Store(cmd.Context(), f.dir, verify.StoreOptions{PinnedKey: pinned, Progress: prog})
			done()
			if err != nil {
				return err
			}
			if f.json {
				if err := e.json(r); err != nil {
					return err
				}
			} else {
				printReport(e, r)
			}
			if err := r.Err(); err != nil {
				return silentError{code: ExitFailed, err: err}
			}
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&keyFile, "key", "", "station public key the store must be signed by")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the report as JSON")
	return cmd
}

func printReport(e *env, r *verify.Report) {
	w := e.stdout
	for _, p := range r.Problems {
		fmt.Fprintf(w, "FAIL %-20s %s\n", p.Code, p)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note %s\n", n)
	}
	fmt.Fprintf(w, "%s %s: %d ledger entries (checkpoint %d), %d sealed files, %s hashed, station key %s\n",
		r.Kind, r.Path, r.Entries, r.Checkpoint, r.Objects, humanBytes(r.Bytes), r.StationKey)
	if r.Verified {
		fmt.Fprintln(w, "verified")
	} else {
		fmt.Fprintf(w, "verification FAILED: %d problem(s)\n", len(r.Problems))
	}
}
