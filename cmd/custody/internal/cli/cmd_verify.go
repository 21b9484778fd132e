package cli

import (
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/verify"
	"github.com/custody-evidence/custody/witness"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
)

func newVerifyCmd(e *env) *cobra.Command {
	var (
		f           storeFlags
		keyFile     string
		trustedFile string
		checkpoints []string
		witnesses   []string
		witnessKey  string
		identities  []string
	)
	cmd := &cobra.Command{
		Use:   "verify BUNDLE [--key PUBKEY | --trusted-keys FILE] [--checkpoint FILE] [--json]\n  custody verify --store DIR [--key PUBKEY] [--json]",
		Short: "Verify an export bundle, or a store (offline, no private keys needed)",
		Long: `With BUNDLE (a bundle directory or .zip, read in place and never
extracted), verify re-hashes every file, checks the BagIt manifests, the
station's signed statement listing every file, each ledger entry's
signatures and Merkle inclusion proof against the signed checkpoint, and
every derivation link (a redacted file's parent must be the sealed
original's recorded hash). It refuses unsafe bundles: missing, extra or
duplicate files, fetch.txt, absolute paths, "..", symlinks, Unicode and
percent-encoding tricks, zip entries outside the bag.

Trust comes only from a key you pinned: --key (the station's public key,
a file or the key itself) or --trusted-keys (a file of keys, one a line).
The key inside the bundle is information only. Without a pinned key the
best result is "integrity checked, signer not trusted", with the
fingerprint to compare out of band; that is exit status 1, never 0.

--checkpoint FILE is custody/checkpoint saved from an earlier bundle of the
same store: the bundle's ledger must extend it, which catches rollback and
forks. It works for checkpoints of earlier bundles (whose sizes the store's
export entries record), not for arbitrary checkpoints.

-i IDENTITY also decrypts re-encrypted originals in a stream and checks
their plaintext hash against the ledger.

With --store DIR, verify checks a whole store instead: it re-hashes every
sealed file, checks every ledger entry's signature and chain link, the
Merkle root against the latest signed checkpoint, and that every sealed
file is registered and every registered file exists. With --key, the
store's station key must be the pinned one.

A store's own checkpoint cannot reveal a rollback (whoever rewrote the
ledger can put back an older checkpoint), so verify --store also checks
the ledger extends every checkpoint its witnesses hold (custody witness),
every --witness LOCATION you name (a witness directory, or a tlog
witness's URL with --witness-key; for a store rolled back to before it
registered them), and every --checkpoint FILE you kept (from a bundle, a
witness or an earlier verify; repeatable). It names any witness that is
behind or that the ledger contradicts. Witness directories are only read;
a tlog witness is asked, in the protocol's own terms, to cosign the
checkpoint it already holds, which changes nothing.

Verifying a bundle contains no network code.

Exit status: 0 verified (for a bundle: and signed by a pinned key),
1 verification failed or signer not trusted, 2 could not run.`,
		Example: `  custody verify NPT-2026-1142.zip --key station.pub
  custody verify bundle/ --trusted-keys stations.txt --checkpoint NPT-2026-1001.checkpoint --json
  custody verify --store /srv/custody`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pinned, err := pinnedKeys(keyFile, trustedFile)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				if cmd.Flags().Changed("store") {
					return usagef("give a BUNDLE or --store DIR, not both")
				}
				if len(checkpoints) > 1 || len(witnesses) > 0 {
					return usagef("a bundle is checked against one --checkpoint, and --witness is for --store")
				}
				return verifyBundle(cmd, e, args[0], pinned, strings.Join(checkpoints, ""), identities, f.json)
			}
			if trustedFile != "" || len(identities) > 0 {
				return usagef("--trusted-keys and -i are for verifying a BUNDLE")
			}
			if f.dir == "" {
				return usagef("give a BUNDLE to verify, or --store DIR (or set CUSTODY_STORE)")
			}
			var pin ssh.PublicKey
			if len(pinned) > 0 {
				pin = pinned[0]
			}
			opts, err := storeVerifyOptions(checkpoints, witnesses, witnessKey)
			if err != nil {
				return err
			}
			prog, done := e.progress(-1, "verifying")
			opts.PinnedKey, opts.Progress = pin, prog
			r, err := verify.Store(cmd.Context(), f.dir, opts)
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
	f.register(e, cmd, false)
	cmd.Flags().StringVar(&keyFile, "key", "", "the station public key you pinned (a file, or the key itself)")
	cmd.Flags().StringVar(&trustedFile, "trusted-keys", "", "file of trusted station keys, one a line (bundles only)")
	cmd.Flags().StringArrayVar(&checkpoints, "checkpoint", nil, "a checkpoint you kept (from a bundle, a witness, an earlier verify): the ledger must extend it (one for a bundle; repeatable for --store)")
	cmd.Flags().StringArrayVar(&witnesses, "witness", nil, "--store: also check against this witness (a directory, or a tlog witness URL); repeatable")
	cmd.Flags().StringVar(&witnessKey, "witness-key", "", "--store: the cosigning key of the tlog witness given with --witness")
	cmd.Flags().StringArrayVarP(&identities, "identity", "i", nil, "your key, to also check re-encrypted originals (bundles only)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the report as JSON")
	return cmd
}

// storeVerifyOptions reads --checkpoint files and --witness locations.
func storeVerifyOptions(checkpoints, witnesses []string, key string) (verify.StoreOptions, error) {
	var opts verify.StoreOptions
	var err error
	if opts.Witnesses, err = envWitnesses(); err != nil {
		return opts, err
	}
	for _, p := range checkpoints {
		b, err := os.ReadFile(p)
		if err != nil {
			return opts, fmt.Errorf("reading --checkpoint: %w", err)
		}
		opts.Checkpoints = append(opts.Checkpoints, verify.KeptCheckpoint{Name: "--checkpoint " + p, Data: b})
	}
	for i, loc := range witnesses {
		spec, err := witnessSpec(fmt.Sprintf("given-%d", i+1), loc, "")
		if spec.Kind == witness.KindTlog {
			spec, err = witnessSpec(spec.Name, loc, key)
		}
		if err != nil {
			return opts, usageErr(fmt.Errorf("--witness %s: %w", loc, err))
		}
		opts.Witnesses = append(opts.Witnesses, spec)
	}
	return opts, nil
}

func verifyBundle(cmd *cobra.Command, e *env, path string, pinned []ssh.PublicKey, checkpoint string, identities []string, asJSON bool) error {
	opts := verify.BundleOptions{TrustedKeys: pinned}
	if checkpoint != "" {
		b, err := os.ReadFile(checkpoint)
		if err != nil {
			return fmt.Errorf("reading --checkpoint: %w", err)
		}
		opts.Checkpoint = b
	}
	if len(identities) > 0 {
		var ids []age.Identity
		var err error
		if ids, _, err = loadIdentities(e, identities); err != nil {
			return err
		}
		opts.Identities = ids
	}
	prog, done := e.progress(-1, "verifying")
	opts.Progress = prog
	r, err := verify.Bundle(cmd.Context(), path, opts)
	done()
	if err != nil {
		return err
	}
	if asJSON {
		if err := e.json(r); err != nil {
			return err
		}
	} else {
		printBundleReport(e, r)
	}
	if err := r.Err(); err != nil {
		return silentError{code: ExitFailed, err: err}
	}
	return nil
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

func printBundleReport(e *env, r *verify.Report) {
	w := e.stdout
	for _, p := range r.Problems {
		fmt.Fprintf(w, "FAIL %-24s %s\n", p.Code, p)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note %s\n", n)
	}
	fmt.Fprintf(w, "bundle %s: %d files, %s hashed; %d ledger entries proven against a checkpoint of %d; signed by %s\n",
		r.Path, r.Objects, humanBytes(r.Bytes), r.Entries, r.Checkpoint, orNone(r.Signer))
	if r.Receiver != "" {
		fmt.Fprintf(w, "sent to receiver %s: the station accepts a receipt signed with this key only\n", r.Receiver)
	}
	switch {
	case r.Verified:
		fmt.Fprintf(w, "verified: every file is as the station signed it, and the signer %s is a key you pinned\n", r.Signer)
	case len(r.Problems) == 0:
		fmt.Fprintf(w, "integrity checked, signer NOT trusted: the bundle is signed by %s\n", r.Signer)
	default:
		fmt.Fprintf(w, "verification FAILED: %d problem(s)\n", len(r.Problems))
	}
}

// pinnedKeys reads --key (a key file, or the key itself) or --trusted-keys.
func pinnedKeys(keyFile, trustedFile string) ([]ssh.PublicKey, error) {
	switch {
	case keyFile != "" && trustedFile != "":
		return nil, usagef("use --key or --trusted-keys, not both")
	case keyFile != "":
		data := []byte(keyFile)
		if !strings.HasPrefix(keyFile, "ssh-") {
			b, err := os.ReadFile(keyFile)
			if err != nil {
				return nil, fmt.Errorf("reading --key: %w", err)
			}
			data = b
		}
		pub, err := seal.ParsePublicKey(string(data))
		if err != nil {
			return nil, fmt.Errorf("--key %s: %w", keyFile, err)
		}
		return []ssh.PublicKey{pub}, nil
	case trustedFile != "":
		b, err := os.ReadFile(trustedFile)
		if err != nil {
			return nil, fmt.Errorf("reading --trusted-keys: %w", err)
		}
		keys, err := verify.ParseTrustedKeys(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", trustedFile, err)
		}
		return keys, nil
	}
	return nil, nil
}

func orNone(s string) string {
	if s == "" {
		return "(no valid signature)"
	}
	return s
}
