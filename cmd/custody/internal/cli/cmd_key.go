package cli

import (
	"fmt"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/spf13/cobra"
)

func newKeyCmd(e *env) *cobra.Command {
	var (
		f    storeFlags
		out  string
		vkey bool
	)
	cmd := &cobra.Command{
		Use:   "key --store DIR [-o FILE] [--vkey]",
		Short: "Print or write the station public key and its fingerprint",
		Long: `Print the station's public signing key (an SSH ed25519 key) and its SHA256
fingerprint. Give the key to whoever receives your bundles, through a channel
you trust, so that they can pin it with verify --key. With -o the key is
written to FILE in authorized_keys form.

With --vkey it prints the same key as a note verifier key for the store's
checkpoints (ORIGIN+HASH+BASE64): what the operator of a C2SP tlog witness
configures so that it accepts this store's checkpoints
(custody witness serve --log-key VKEY).`,
		Example: `  custody key --store /srv/custody
  custody key --store /srv/custody -o station.pub
  custody key --store /srv/custody --vkey`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open()
			if err != nil {
				return err
			}
			line, err := s.StationKey()
			if err != nil {
				return err
			}
			pub, err := seal.ParsePublicKey(line)
			if err != nil {
				return err
			}
			fp := seal.Fingerprint(pub)
			nv, err := manifest.NoteVerifierKey(s.Origin(), pub)
			if err != nil {
				return err
			}
			if vkey {
				if out != "" {
					return usagef("--vkey prints the verifier key; -o writes the SSH public key: give one")
				}
				if f.json {
					return e.json(map[string]string{"vkey": nv, "origin": s.Origin(), "fingerprint": fp, "store": s.Config.ID})
				}
				fmt.Fprintln(e.stdout, nv)
				return nil
			}
			if out != "" {
				if err := writeNewFile(out, []byte(line+"\n"), 0o644); err != nil {
					return err
				}
			}
			if f.json {
				return e.json(map[string]string{"key": line, "fingerprint": fp, "store": s.Config.ID, "vkey": nv})
			}
			if out == "" {
				fmt.Fprintln(e.stdout, line)
			}
			fmt.Fprintln(e.stdout, fp)
			return nil
		},
	}
	f.register(e, cmd, false)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the public key to this file")
	cmd.Flags().BoolVar(&vkey, "vkey", false, "print the station key as a note verifier key, for tlog witness operators")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}
