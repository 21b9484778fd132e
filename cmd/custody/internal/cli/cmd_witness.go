package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/custody-evidence/custody/witness"
	"github.com/spf13/cobra"
	tnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
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
	cmd.AddCommand(newWitnessAddCmd(e), newWitnessRemoveCmd(e), newWitnessListCmd(e),
		newWitnessKeygenCmd(e), newWitnessServeCmd(e))
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
			s, p, err := f.openActing(e, identities)
			if err != nil {
				return err
			}
			if spec.Kind == witness.KindTlog && p != nil {
				// The witness cosigns what the station signs: unlock it too.
				if s, err = f.openWritable(e); err != nil {
					return err
				}
			}
			// Publishing to the new witness reports through WitnessError.
			handed := true
			warn := s.WitnessError
			s.WitnessError = func(name string, err error) {
				handed = handed && name != spec.Name
				if warn != nil {
					warn(name, err)
				}
			}
			if err := s.AddWitness(cmd.Context(), p, spec, reason); err != nil {
				return err
			}
			if f.json {
				return e.json(map[string]any{"witness": spec, "holds_current_checkpoint": handed})
			}
			if !handed {
				fmt.Fprintf(e.stdout, "added witness %s (%s %s); it could not be given the current checkpoint yet (see the warning): the next write that reaches it will\n", spec.Name, spec.Kind, spec.Location)
				return nil
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
			s, p, err := f.openActing(e, identities)
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
			s, p, err := f.openActing(e, identities)
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
			if loss.CheckpointOnly {
				fmt.Fprintf(e.stdout, "re-signed the checkpoint: witnesses confirm all %d entries, so only the checkpoint file was lost or replaced (recorded in the ledger)\n", loss.Entries)
				return nil
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

func newWitnessKeygenCmd(e *env) *cobra.Command {
	var (
		name, out string
		jsonOut   bool
	)
	cmd := &cobra.Command{
		Use:   "keygen --name NAME -o KEYFILE [--json]",
		Short: "Make a tlog witness's cosigning key",
		Long: `Make the Ed25519 key a tlog witness (custody witness serve) cosigns with.
The private key is written to KEYFILE (mode 0600, in the signed-note form
PRIVATE+KEY+NAME+HASH+BASE64); keep it on the witness's host only. The
verifier key is printed: give it to each store that registers the witness
(custody witness add ... --key VKEY).

NAME identifies the witness in its cosignatures: a schema-less URL such as
witness.trust.example/custody is the convention.`,
		Example: `  custody witness keygen --name witness.trust.example/custody -o /etc/custody-witness/witness.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || out == "" {
				return usagef("give the witness's --name and the key file to write (-o)")
			}
			badName := usagef("--name %q: a witness name has no spaces or '+' (e.g. witness.trust.example/custody)", name)
			if strings.ContainsFunc(name, unicode.IsSpace) || !utf8.ValidString(name) {
				return badName
			}
			skey, vkey, err := note.GenerateKey(rand.Reader, name)
			if err != nil {
				return badName
			}
			cvkey, err := tnote.VKeyToCosignatureV1(vkey)
			if err != nil {
				return badName
			}
			if err := writeNewFile(out, []byte(skey+"\n"), 0o600); err != nil {
				return err
			}
			if jsonOut {
				return e.json(map[string]string{"name": name, "vkey": cvkey, "key_file": out})
			}
			fmt.Fprintln(e.stdout, cvkey)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "the witness's name (e.g. witness.trust.example/custody)")
	fl.StringVarP(&out, "output", "o", "", "write the private key to this file (never overwritten)")
	fl.BoolVar(&jsonOut, "json", false, "print the name and verifier key as JSON")
	return cmd
}

// witnessServeOptions are the flags of custody witness serve.
type witnessServeOptions struct {
	keyFile, state, addr, logKeysFile string
	logKeys                           []string
	json                              bool
}

func newWitnessServeCmd(e *env) *cobra.Command {
	var o witnessServeOptions
	cmd := &cobra.Command{
		Use:   "serve --key KEYFILE --state DIR --log-key VKEY... [--addr HOST:PORT]",
		Short: "Run a C2SP tlog witness for custody stores (on another host)",
		Long: `Run a transparency-log witness (c2sp.org/tlog-witness) that custody stores
publish their checkpoints to. For each store it keeps the latest checkpoint
it cosigned (size and root, written durably to --state, one file per
store); it accepts a new one only if the store's station key signed it and
a consistency proof shows it extends the one it holds, and answers with a
cosignature (c2sp.org/tlog-cosignature). A store that is rolled back, or
whose ledger is rewritten, can no longer show it extends what the witness
holds: its next write refuses and custody verify fails.

Run it on a host that whoever can write the store cannot reach, under an
account of its own. Give it each store's key with --log-key (custody key
--store DIR --vkey prints it; the key's name is the store's origin) or in
--log-keys FILE, one per line. Its own key comes from custody witness
keygen; the verifier key printed here is what stores register.

Requests carry no token or password: the protocol authenticates each
request by the store's signature on the checkpoint, and the witness only
ever moves a store forward along a consistency proof, so anyone may submit.
It listens on 127.0.0.1 with a free port unless --addr says otherwise; put
it behind TLS (a reverse proxy) when it is reached over a network. The
first line printed is its URL, for custody witness add. Ctrl-C stops it
after the requests in progress.

It never moves a store backwards. If a store's DPO records a loss of
ledger entries (custody recover-ledger), the witness keeps refusing that
store's checkpoints until its operator, having checked the loss record,
stops it and removes the store's file (named after the store's origin)
from --state; it then takes the store's next checkpoint afresh.`,
		Example: `  custody witness serve --key witness.key --state /var/lib/custody-witness \
      --log-key custody/store/3f2a...+1a2b3c4d+AQ... --addr 0.0.0.0:8470`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWitnessServe(cmd.Context(), e, o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.keyFile, "key", "", "the witness's private key file (custody witness keygen)")
	fl.StringVar(&o.state, "state", "", "directory where it keeps each store's latest cosigned checkpoint")
	fl.StringArrayVar(&o.logKeys, "log-key", nil, "a store's note verifier key (custody key --vkey); repeatable")
	fl.StringVar(&o.logKeysFile, "log-keys", "", "a file of store verifier keys, one per line ('#' starts a comment)")
	fl.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on")
	fl.BoolVar(&o.json, "json", false, "print the URL, key and stores as JSON")
	return cmd
}

func runWitnessServe(ctx context.Context, e *env, o witnessServeOptions) error {
	if o.keyFile == "" || o.state == "" {
		return usagef("give the witness's key (--key) and its state directory (--state)")
	}
	skey, err := readWitnessKey(o.keyFile)
	if err != nil {
		return err
	}
	keys := o.logKeys
	if o.logKeysFile != "" {
		more, err := readKeyLines(o.logKeysFile)
		if err != nil {
			return err
		}
		keys = append(keys, more...)
	}
	srv, err := witness.NewServer(witness.ServerConfig{Key: skey, LogKeys: keys, State: o.state,
		Logf: func(format string, a ...any) {
			fmt.Fprintf(e.stderr, "custody: witness: %s "+format+"\n", append([]any{time.Now().UTC().Format(time.RFC3339)}, a...)...)
		}})
	if errors.Is(err, witness.ErrServerConfig) {
		return usageErr(err)
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return usageErr(fmt.Errorf("--addr %s: %v", o.addr, err))
	}
	url := "http://" + ln.Addr().String()
	if o.json {
		err = e.json(map[string]any{"url": url, "key": srv.VerifierKey(), "logs": srv.Origins()})
	} else {
		_, err = fmt.Fprintf(e.stdout, "%s\nkey %s\n", url, srv.VerifierKey())
		for _, origin := range srv.Origins() {
			fmt.Fprintf(e.stdout, "log %s\n", origin)
		}
	}
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: srv.Handler(""), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "custody: witness stopped")
	return nil
}

// readWitnessKey reads a witness private key file, which only its owner
// may read.
func readWitnessKey(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", withHint(fmt.Errorf("witness key %s can be read by others (mode %04o)", path, fi.Mode().Perm()), "chmod 600 "+path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(data)), nil
}

// readKeyLines reads verifier keys, one per line, skipping blank lines
// and '#' comments.
func readKeyLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}
