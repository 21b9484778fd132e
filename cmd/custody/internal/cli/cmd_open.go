package cli

import (
	"fmt"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

func newOpenCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		identities []string
		out        string
		reason     string
		request    string
	)
	cmd := &cobra.Command{
		Use:   "open --store DIR CLIP -i IDENTITY -o OUT --reason TEXT",
		Short: "Decrypt a sealed original, checking its hash, and log the access",
		Long: `Decrypt a clip to OUT in a stream and check the plaintext's SHA-256 against
the ledger, failing loudly (exit 1) and discarding the output on mismatch.
The access is appended to the ledger, with who, when and why, before any
plaintext is written. OUT must not exist.

IDENTITY is an age identity file, an SSH private key, or an age plugin
identity (hardware token). Sealed files also open with stock age:
  age -d -i IDENTITY STORE/objects/ID.age > clip.mp4
but only custody records the access and checks the hash.

In a dual-control store an original opens only for its owner, with a
request a DPO approved (custody request, custody approve): -i is the
owner's SSH key, which unwraps the owner's key share and the DPO's share
the approval released; custody recombines the clip key in memory, records
the access (using up the approval) and decrypts. No station passphrase is
needed. --reason defaults to the request's.

Anywhere else, if -i holds the SSH key of a person registered in the store
(a DPO opening a redacted version, say), that person opens it: the access
entry names them and is signed by their key, and no station passphrase is
needed. Other keys (age identities, SSH keys of recipients who are not
registered people) open as the station operator, with its passphrase.`,
		Example: `  custody open --store /srv/custody 3f5a9c0d12ab -i dpo.key -o clip.mp4 --reason "SAR 2026/114"
  custody open --store /srv/custody 3f5a9c0d12ab -i ~/.ssh/id_ed25519 -o clip.mp4 --request 9c1e2f3a4b5d`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("-o OUT is required: custody writes plaintext only where you ask")
			}
			s, err := f.open()
			if err != nil {
				return err
			}
			c, err := findClip(s, args[0])
			if err != nil {
				return err
			}
			o := store.OpenOptions{Reason: reason, Out: out, Request: request}
			if c.DualControl() {
				if o.As, err = needPerson(e, identities, "opening a dual-control clip"); err != nil {
					return err
				}
				now, _, err := policyNow()
				if err != nil {
					return err
				}
				o.Identity, o.Now = o.As.Label, now
			} else {
				if reason == "" {
					return usagef("--reason is required: every access is logged with why")
				}
				if len(identities) == 0 {
					return usagef("no identity given: use -i FILE")
				}
				if s, o.As, o.Identities, o.Identity, err = f.personOrStation(e, s, identities); err != nil {
					return err
				}
			}
			var done func()
			o.Progress, done = e.progress(c.Object.Size, "opening "+c.ID)
			clip, err := s.OpenClip(cmd.Context(), c.ID, o)
			done()
			if err != nil {
				return err
			}
			if f.json {
				return e.json(map[string]any{"id": clip.ID, "output": out, "sha256": clip.Object.SHA256, "size": clip.Object.Size, "verified": true})
			}
			fmt.Fprintf(e.stdout, "opened clip %s to %s (sha256 %s verified)\n", clip.ID, out, clip.Object.SHA256)
			return nil
		},
	}
	f.register(e, cmd, true)
	cmd.Flags().StringArrayVarP(&identities, "identity", "i", nil, "identity file (age, SSH or plugin); repeatable")
	cmd.Flags().StringVarP(&out, "output", "o", "", "where to write the plaintext (must not exist)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the clip is being opened (recorded in the ledger)")
	cmd.Flags().StringVar(&request, "request", "", "dual control: the approved request to use (default: your only one for the clip)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}

func findClip(s *store.Store, id string) (*store.Clip, error) {
	st, err := s.State()
	if err != nil {
		return nil, err
	}
	return st.Find(id)
}
