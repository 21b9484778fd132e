package cli

import (
	"filippo.io/age"
	"fmt"
	"os"
	"strings"

	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/seal"
	"github.com/spf13/cobra"
)

func newExportCmd(e *env) *cobra.Command {
	var (
		f            storeFlags
		o            bundle.ExportOptions
		out          string
		identities   []string
		organization string
		contact      string
		toFile       string
		receiver     string
		noReceiver   bool
	)
	cmd := &cobra.Command{
		Use:   "export --store DIR --incident REF [--exhibit-prefix P] -i IDENTITY CLIP... -o OUT (--receiver KEY | --no-receiver)",
		Short: "Make a court-ready bundle of redacted clips that anyone can verify offline",
		Long: `Export makes an evidence bundle for the police or a court: a BagIt bag
(RFC 8493) holding the redacted clips as playable video, the ledger entries
about those clips only (so other patients and staff stay private) with
Merkle proofs against a signed checkpoint, the station public key, a
statement signed by the station listing every file's digest and size, and a
report (report.html and report.txt) with exhibit numbers, hashes, each
clip's custody timeline and step-by-step verification instructions.

OUT is a directory, or a zip file when it ends in .zip; it must not exist.
The bundle is built beside it and renamed into place when complete, so an
interrupted export leaves nothing that looks like a bundle. The export is
recorded in the ledger first, so the bundle's timeline includes it.

CLIP is a clip id (or unique prefix): an original, whose newest complete
redacted version is exported, or a redacted version itself. -i names a key
that can open the sealed redacted clips. With --include-originals, each
clip's sealed original is added too, re-encrypted in one stream to the
receiver's key (--to, any age recipient); no plaintext touches the disk.

--receiver names whom the bundle is for: their SSH public key (a .pub
file, or the key itself). It is recorded in the signed export entry and the
report, and only a receipt signed with it (custody receipt) is accepted by
custody import-receipt. When --to gives exactly one SSH recipient, that key
is the receiver unless --receiver says otherwise. An export needs one or
the other, or --no-receiver for a bundle no receipt will be accepted for.

Give the receiver the station key (custody key) through a channel you
trust; they pin it with custody verify --key.`,
		Example: `  custody export --store /srv/custody --incident "NPT-2026-1142" -i dpo.key 3f5a9c0d12ab 77e1 -o NPT-2026-1142.zip \
      --organization "St Elsewhere NHS Trust" --contact "J. Doe, DPO" --receiver dc1234_ed25519.pub
  custody export --store /srv/custody --incident INC-42 --exhibit-prefix JD/ -i dpo.key 3f5a -o bundle \
      --include-originals --to "$(cat police_ed25519.pub)"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("-o OUT is required: a directory, or a file ending in .zip")
			}
			if o.Incident == "" {
				return usagef("--incident is required: the police or case reference the bundle is for")
			}
			if organization == "" {
				return usagef("--organization is required (or set CUSTODY_ORGANIZATION): it goes into bag-info.txt as Source-Organization")
			}
			if toFile != "" {
				fh, err := os.Open(toFile)
				if err != nil {
					return err
				}
				_, strs, err := seal.ParseRecipientLines(fh, e.pluginUI())
				fh.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", toFile, err)
				}
				o.To = append(o.To, strs...)
			}
			if o.IncludeOriginals && len(o.To) == 0 {
				return usagef("--include-originals needs --to RECIPIENT: originals are re-encrypted to the receiver's key")
			}
			if !o.IncludeOriginals && len(o.To) > 0 {
				return usagef("--to is only used with --include-originals")
			}
			recv, err := exportReceiver(receiver, noReceiver, o.To)
			if err != nil {
				return err
			}
			o.Receiver = recv
			s, err := f.openWritable(e)
			if err != nil {
				return err
			}
			// The station signs the bundle; a registered person's key in -i
			// also names them in the export entry, with their signature.
			var ids []age.Identity
			var label string
			if o.As, ids, label, err = f.personWithStation(e, s, identities); err != nil {
				return err
			}
			o.Out, o.Clips, o.Identities, o.Identity, o.Organization = out, args, ids, label, organization
			o.Contact = contact
			if o.Contact == "" {
				o.Contact = s.Actor
			}
			if o.Contact == "" {
				o.Contact = os.Getenv("USER")
			}
			if o.Contact == "" {
				return usagef("--contact is required (or set CUSTODY_CONTACT): it goes into bag-info.txt as Contact-Name")
			}
			prog, done := e.progress(-1, "exporting")
			o.Progress = prog
			res, err := bundle.Export(cmd.Context(), s, o)
			done()
			if err != nil {
				return err
			}
			if f.json {
				return e.json(res)
			}
			w := e.stdout
			fmt.Fprintf(w, "exported %d exhibit(s) for incident %s to %s (%s): %d files, %s\n", len(res.Exhibits), res.Incident, res.Path, res.Format, res.Files, humanBytes(res.Bytes))
			for _, x := range res.Exhibits {
				fmt.Fprintf(w, "  %-8s %-9s clip %s  %s\n", x.Exhibit, x.Kind, x.Clip, x.Path)
			}
			fmt.Fprintf(w, "export entry #%d, checkpoint of %d entries\n", res.Export, res.Checkpoint)
			fmt.Fprintf(w, "bundle digest (statement sha256) %s\n", res.StatementSHA256)
			if res.Receiver != "" {
				fmt.Fprintf(w, "sent to receiver %s: only a receipt signed with this key is accepted\n", res.Receiver)
			} else {
				fmt.Fprintf(w, "no receiver named: no receipt for this bundle will be accepted\n")
			}
			fmt.Fprintf(w, "station key %s: give it to the receiver through a channel you trust (custody key -o station.pub)\n", res.Station)
			return nil
		},
	}
	f.register(e, cmd, true)
	cmd.Flags().StringVar(&o.Incident, "incident", "", "police or case reference (bag-info External-Identifier)")
	cmd.Flags().StringVar(&o.ExhibitPrefix, "exhibit-prefix", "EX-", "exhibit numbers are PREFIX1, PREFIX2, ... (e.g. JD/ for JD/1)")
	cmd.Flags().StringArrayVarP(&identities, "identity", "i", nil, "identity file that can open the sealed clips (age, SSH or plugin); repeatable")
	cmd.Flags().StringVarP(&out, "output", "o", "", "bundle to create: a directory, or a .zip file")
	cmd.Flags().BoolVar(&o.IncludeOriginals, "include-originals", false, "also include the sealed originals, re-encrypted to --to")
	cmd.Flags().StringArrayVar(&o.To, "to", nil, "receiver's age recipient for originals (age1..., ssh-ed25519 ...); repeatable")
	cmd.Flags().StringVar(&toFile, "to-file", "", "file of receiver recipients, one a line")
	cmd.Flags().StringVar(&receiver, "receiver", "", "the receiver's SSH public key (a .pub file, or the key): only their receipt is accepted")
	cmd.Flags().BoolVar(&noReceiver, "no-receiver", false, "name no receiver: no receipt for this bundle will be accepted")
	cmd.Flags().StringVar(&organization, "organization", os.Getenv("CUSTODY_ORGANIZATION"), "source organisation for bag-info.txt (default $CUSTODY_ORGANIZATION)")
	cmd.Flags().StringVar(&contact, "contact", os.Getenv("CUSTODY_CONTACT"), "contact name for bag-info.txt (default $CUSTODY_CONTACT, else the actor)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}

// exportReceiver decides whom a bundle is for: --receiver (a key file or the
// key itself), else the one SSH recipient of --to, else nobody if
// --no-receiver says so. It returns the key as one line.
func exportReceiver(flag string, none bool, to []string) (string, error) {
	var ssh []string
	for _, t := range to {
		if strings.HasPrefix(strings.TrimSpace(t), "ssh-") {
			ssh = append(ssh, strings.TrimSpace(t))
		}
	}
	switch {
	case flag != "" && none:
		return "", usagef("use --receiver or --no-receiver, not both")
	case none:
		return "", nil
	case flag == "" && len(ssh) == 1:
		return ssh[0], nil
	case flag == "":
		return "", withHint(usagef("say whom the bundle is for: --receiver KEY (their SSH public key), or --no-receiver"),
			"only a receipt signed with the receiver's key is accepted by custody import-receipt; with --no-receiver, none is")
	}
	line := flag
	if !strings.HasPrefix(strings.TrimSpace(flag), "ssh-") && !strings.HasPrefix(strings.TrimSpace(flag), "ecdsa-") {
		b, err := os.ReadFile(flag)
		if err != nil {
			return "", fmt.Errorf("reading --receiver: %w", err)
		}
		line = string(b)
	}
	pub, err := seal.ParsePublicKey(line)
	if err != nil {
		return "", fmt.Errorf("--receiver %s: %w", flag, err)
	}
	return seal.AuthorizedKey(pub), nil
}
