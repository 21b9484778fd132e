package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/custody-evidence/custody/witness"
	"github.com/spf13/cobra"
)

func newWitnessCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "witness",
		Short: "Keep copies of the store's checkpoints where its attacker cannot rewrite them",
		Long: `A witness keeps every checkpoint the store signs somewhere that whoever can
rewrite the store cannot: a directory on another host or mount (best made
append-only there: chattr +a, a WORM share, an Object Lock bucket), or a
C2SP transparency-log witness. Every write checks the witnesses first and
refuses to go on over a ledger that no longer reaches what they hold, then
hands them the new checkpoint; verify --store names any witness that is
behind or that the ledger contradicts.

Witnesses are registered in the ledger, by the station operator while the
store has no DPO and by a DPO after, so verify consults the same ones.`,
	}
	cmd.AddCommand(newWitnessAddCmd(e), newWitnessRemoveCmd(e), newWitnessListCmd(e))
	return cmd
}

// witnessSpec reads a witness location: a directory path, or the URL
// prefix of a tlog witness with its key.
func witnessSpec(name, location, key string) (witness.Spec, error) {
	spec := witness.Spec{Name: name, Location: location, Key: key}
	switch {
	case strings.HasPrefix(location, "https://") || strings.HasPrefix(location, "http://"):
		spec.Kind = witness.KindTlog
	default:
		abs, err := filepath.Abs(location)
		if err != nil {
			return spec, err
		}
		spec.Kind, spec.Location = witness.KindDir, abs
	}
	return spec, spec.Validate()
}

// envWitnesses reads $CUSTODY_WITNESSES: witnesses the station knows of
// outside the store, one per line or separated by ';', each a directory
// or a tlog witness URL followed by a space and its key.
func envWitnesses() ([]witness.Spec, error) {
	var out []witness.Spec
	for i, item := range strings.FieldsFunc(os.Getenv("CUSTODY_WITNESSES"), func(r rune) bool { return r == ';' || r == '\n' }) {
		loc, key, _ := strings.Cut(strings.TrimSpace(item), " ")
		if loc == "" {
			continue
		}
		spec, err := witnessSpec(fmt.Sprintf("env-%d", i+1), loc, strings.TrimSpace(key))
		if err != nil {
			return nil, usageErr(fmt.Errorf("$CUSTODY_WITNESSES: %s: %w", loc, err))
		}
		out = append(out, spec)
	}
	return out, nil
}

func newWitnessAddCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		key        string
		reason     string
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "add --store DIR NAME LOCATION [--key VKEY] --reason TEXT [-i DPOKEY]",
		Short: "Register a witness and hand it the current checkpoint",
		Long: `Register a witness. LOCATION is a directory (on another host or mount) or
the URL of a C2SP tlog witness, whose cosigning key --key gives (a note
verifier key, name+hash+key). The witness is checked first: it must be
reachable and must not hold checkpoints this ledger contradicts. It gets
the current checkpoint at once.`,
		Example: `  custody witness add --store /srv/custody nas /mnt/records-nas/custody-witness --reason "trust NAS, append-only share"
  custody witness add --store /srv/custody it-witness https://witness.trust.nhs.example/ --key it-witness+3a4b5c6d+BE... --reason "trust IT witness" -i dana.key`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := witnessSpec(args[0], args[1], key)
			if err != nil {
				return usageErr(err)
			}
			p, err := loadPerson(e, identities)
			if err != nil {
				return err
			}
			s, err := f.openAs(e, p)
			if err != nil {
				return err
			}
			if err := s.AddWitness(cmd.Context(), p, spec, reason); err != nil {
				return err
			}
			if f.json {
				return e.json(spec)
			}
			fmt.Fprintf(e.stdout, "added witness %s (%s %s); it holds the current checkpoint\n", spec.Name, spec.Kind, spec.Location)
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "a tlog witness's cosigning key (note verifier key)")
	fl.StringVar(&reason, "reason", "", "why (recorded in the ledger)")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the DPO adding it: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the witness as JSON")
	return cmd
}

func newWitnessRemoveCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		reason     string
		identities []string
	)
	cmd := &cobra.Command{
		Use:     "remove --store DIR NAME --reason TEXT [-i DPOKEY]",
		Short:   "Unregister a witness (what it holds stays there)",
		Example: `  custody witness remove --store /srv/custody nas --reason "NAS retired; replaced by it-witness" -i dana.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPerson(e, identities)
			if err != nil {
				return err
			}
			s, err := f.openAs(e, p)
			if err != nil {
				return err
			}
			if err := s.RemoveWitness(cmd.Context(), p, args[0], reason); err != nil {
				return err
			}
			if f.json {
				return e.json(map[string]any{"removed": args[0]})
			}
			fmt.Fprintf(e.stdout, "removed witness %s\n", args[0])
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&reason, "reason", "", "why (recorded in the ledger; required)")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the DPO removing it: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}

func newWitnessListCmd(e *env) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:     "list --store DIR [--json]",
		Short:   "List the store's witnesses",
		Example: "  custody witness list --store /srv/custody",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open()
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			ws := st.WitnessList()
			if f.json {
				return e.json(ws)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tLOCATION")
			for _, w := range ws {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", w.Name, w.Kind, w.Location)
			}
			return tw.Flush()
		},
	}
	f.register(e, cmd, false)
	cmd.Flags().BoolVar(&f.json, "json", false, "print as JSON")
	return cmd
}

func newRecoverLedgerCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		reason     string
		identities []string
	)
	cmd := &cobra.Command{
		Use:   "recover-ledger --store DIR --reason TEXT [-i DPOKEY]",
		Short: "Record, for good, that ledger entries were lost, so the store can be written again",
		Long: `A store whose ledger no longer extends a checkpoint it signed (entries
removed from the end, or rewritten; the checkpoint or a witness shows it)
refuses every write, with exit status 1, so that the next write cannot
sign a checkpoint that hides the loss.

First try to undo it: restore ledger.jsonl (and any sealed files missing
with it) from a backup, and run custody verify --store until it passes.

If the entries are lost for good, a DPO (the station operator while the
store has no DPO) records the loss with this command: a signed
"ledger.loss" entry names every checkpoint the ledger contradicts, how
many entries it still agrees with, and why; the store can then be written
again. The loss stays in the ledger: custody log --anomalies flags it and
verify reports it, and a witness's checkpoints of the lost history are
accounted for instead of reported as a rollback.`,
		Example: `  custody recover-ledger --store /srv/custody --reason "ledger.jsonl restored from the 02:00 backup; entries 4812-4817 lost (INC-0091)" -i dana.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPerson(e, identities)
			if err != nil {
				return err
			}
			s, err := f.openAs(e, p)
			if err != nil {
				return err
			}
			loss, err := s.RecordLoss(cmd.Context(), p, reason)
			if err != nil {
				return err
			}
			if f.json {
				return e.json(loss)
			}
			fmt.Fprintf(e.stdout, "recorded the loss: the ledger has %d entries and agrees with its checkpoints up to %d; %d checkpoint(s) it contradicts are named in the ledger\n", loss.Entries, loss.Kept, len(loss.Lost))
			for _, x := range loss.Lost {
				fmt.Fprintf(e.stdout, "  %s: %d entries: %s\n", x.Where, x.Size, x.Problem)
			}
			return nil
		},
	}
	f.register(e, cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&reason, "reason", "", "what happened and what was done (recorded in the ledger; required)")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "the DPO recording it: "+identityHelp)
	fl.BoolVar(&f.json, "json", false, "print the loss record as JSON")
	return cmd
}
