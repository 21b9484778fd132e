package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
)

func newReceiptCmd(e *env) *cobra.Command {
	var (
		identity, keyFile, trustedFile, name, out string
		asJSON                                    bool
	)
	cmd := &cobra.Command{
		Use:   "receipt BUNDLE --identity KEY [--key PUBKEY | --trusted-keys FILE] [-o RECEIPT]",
		Short: "Countersign a bundle you received and verified (receiver side)",
		Long: `Receipt verifies BUNDLE exactly as custody verify does, against the station
key you pinned, and only if it verifies signs a receipt with your SSH key
(--identity, an ed25519 or RSA private key): the bundle digest (the SHA-256
of its signed statement, which commits to every file), the time, and your
name and key. Send the receipt back to the station, which records it with
custody import-receipt.

The station accepts a receipt only from the receiver it sent the bundle to
(custody export --receiver; custody verify shows it). Receipt refuses to
sign with another key, and warns when the bundle names no receiver.

The receipt is text with an SSH signature (namespace
custody-bundle-receipt-v1) that ssh-keygen -Y verify can check. It is
written to RECEIPT, or printed.`,
		Example: `  custody receipt NPT-2026-1142.zip --key station.pub --identity ~/.ssh/id_ed25519 --name "DC 1234 Smith" -o receipt.txt`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if identity == "" {
				return usagef("--identity KEY is required: the SSH private key you sign the receipt with")
			}
			if keyFile == "" && trustedFile == "" {
				return usagef("--key or --trusted-keys is required: a receipt says the bundle verified against the station key you pinned")
			}
			signer, err := loadSSHSigner(e, identity)
			if err != nil {
				return err
			}
			if name == "" {
				name = os.Getenv("CUSTODY_ACTOR")
			}
			if name == "" {
				name = os.Getenv("USER")
			}
			pinned, err := pinnedKeys(keyFile, trustedFile)
			if err != nil {
				return err
			}
			prog, done := e.progress(-1, "verifying")
			r, err := verify.Bundle(cmd.Context(), args[0], verify.BundleOptions{TrustedKeys: pinned, Progress: prog})
			done()
			if err != nil {
				return err
			}
			if !r.Verified {
				printBundleReport(e, r)
				return fmt.Errorf("not signing a receipt for a bundle that did not verify: %w", r.Err())
			}
			if err := checkAddressee(e, r.Receiver, signer); err != nil {
				return err
			}
			st, body, err := bundle.ReadStatement(args[0])
			if err != nil {
				return err
			}
			rc, err := bundle.NewReceipt(st, body, name, time.Now(), signer)
			if err != nil {
				return err
			}
			data := rc.Marshal()
			if out != "" {
				if err := writeNewFile(out, data, 0o644); err != nil {
					return err
				}
			}
			switch {
			case asJSON:
				return e.json(map[string]any{"statement_sha256": rc.StatementSHA256, "store": rc.Store, "export_entry": rc.Export,
					"incident": rc.Incident, "station": rc.Station, "receiver": rc.Receiver, "receiver_key": rc.ReceiverKey,
					"received": rc.Received.Format(time.RFC3339), "output": out, "receipt": string(data)})
			case out == "":
				_, err := e.rawStdout.Write(data) // signed bytes, not text to escape
				return err
			}
			fmt.Fprintf(e.stdout, "bundle verified; receipt for incident %s (bundle digest %s) signed by %s and written to %s\n", rc.Incident, rc.StatementSHA256, rc.ReceiverKey, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&identity, "identity", "", "your SSH private key, to sign the receipt")
	cmd.Flags().StringVar(&keyFile, "key", "", "the station public key you pinned")
	cmd.Flags().StringVar(&trustedFile, "trusted-keys", "", "file of trusted station keys, one a line")
	cmd.Flags().StringVar(&name, "name", "", "your name as the receiver (default $CUSTODY_ACTOR, else $USER)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the receipt to this file (default: print it)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// checkAddressee refuses to sign a receipt with a key other than the one
// the bundle was sent to (receiver, a fingerprint from the verified export
// entry): the station would refuse it.
func checkAddressee(e *env, receiver string, signer seal.Signer) error {
	mine := seal.Fingerprint(signer.PublicKey())
	switch {
	case receiver == "":
		e.warnf("the bundle names no receiver: the station will not record a receipt for it (ask the sender to export it again with --receiver and your public key)")
	case receiver != mine:
		return withHint(fmt.Errorf("%w: the bundle was sent to %s, and --identity is %s", store.ErrNotReceiver, receiver, mine),
			"sign with the key the bundle was sent to (custody verify names it), or ask the sender to export it again to your key")
	}
	return nil
}

// loadSSHSigner reads an SSH private key, asking for its passphrase if it
// has one ($CUSTODY_IDENTITY_PASSPHRASE, else the terminal).
func loadSSHSigner(e *env, path string) (seal.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading --identity: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pass, perr := e.ttyPassphrase(fmt.Sprintf("Enter passphrase for %q:", path))
		if perr != nil {
			return nil, perr
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(data, pass)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a usable SSH private key: %v", seal.ErrBadKey, path, err)
	}
	return seal.NewSigner(s), nil
}
