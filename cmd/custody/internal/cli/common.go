package cli

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// storeFlags are the flags every store command shares.
type storeFlags struct {
	dir            string
	passphraseFile string
	actor          string
	json           bool
	e              *env
	cmd            *cobra.Command
}

func (f *storeFlags) register(e *env, cmd *cobra.Command, writes bool) {
	f.e, f.cmd = e, cmd
	cmd.Flags().StringVar(&f.dir, "store", os.Getenv("CUSTODY_STORE"), "evidence store directory (default $CUSTODY_STORE)")
	if writes {
		cmd.Flags().StringVar(&f.passphraseFile, "passphrase-file", "", "read the station key passphrase from this file (else $CUSTODY_PASSPHRASE, else a terminal prompt)")
		cmd.Flags().StringVar(&f.actor, "actor", "", "name of the person operating the station, recorded in the ledger (default $CUSTODY_ACTOR, else $USER)")
	}
}

func (f *storeFlags) open() (*store.Store, error) {
	if f.dir == "" {
		return nil, usagef("no store given: use --store DIR or set CUSTODY_STORE")
	}
	s, err := store.Open(f.dir)
	if err != nil {
		return nil, err
	}
	s.Actor = f.actorName()
	if s.ExtraWitnesses, err = envWitnesses(); err != nil {
		return nil, err
	}
	if f.e != nil {
		e := f.e
		s.WitnessError = func(name string, err error) {
			e.warnf("witness %s: %v", name, err)
		}
	}
	return s, nil
}

func (f *storeFlags) actorName() string {
	if f.actor != "" {
		return f.actor
	}
	return os.Getenv("CUSTODY_ACTOR")
}

// openWritable opens the store and unlocks the station key.
func (f *storeFlags) openWritable(e *env) (*store.Store, error) {
	s, err := f.open()
	if err != nil {
		return nil, err
	}
	pass, err := e.passphrase(f.passphraseFile, "Enter the station key passphrase:", false)
	if err != nil {
		return nil, err
	}
	if err := s.Unlock(pass); err != nil {
		if errors.Is(err, seal.ErrWrongPassphrase) {
			// Nobody can sign for a wrong passphrase: it is counted, and
			// the next write ledgers the count.
			return nil, errors.Join(err, s.RecordAttempt(f.cmd.Context(), store.AttemptPassphrase, ""))
		}
		return nil, err
	}
	return s, nil
}

// passphrase reads a passphrase from a file, $CUSTODY_PASSPHRASE, or
// /dev/tty, in that order. It never reads standard input, which carries
// data. confirm asks twice on a terminal.
func (e *env) passphrase(file, prompt string, confirm bool) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading passphrase file: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, usagef("passphrase file %s is empty", file)
		}
		return b, nil
	}
	if p := e.secrets.passphrase; p != "" {
		return []byte(p), nil
	}
	p, err := readTTY(prompt)
	if err != nil {
		return nil, err
	}
	if confirm {
		again, err := readTTY("Confirm passphrase:")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			return nil, usagef("the passphrases do not match")
		}
	}
	if len(p) == 0 {
		return nil, usagef("empty passphrase")
	}
	return p, nil
}

// readTTY prompts on /dev/tty, like age: standard input and output may be
// carrying data.
func readTTY(prompt string) ([]byte, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, withHint(errors.New("a passphrase is needed and there is no terminal to ask on"),
			"set CUSTODY_PASSPHRASE or use --passphrase-file")
	}
	defer tty.Close()
	fmt.Fprintf(tty, "%s ", prompt)
	defer fmt.Fprintln(tty)
	return term.ReadPassword(int(tty.Fd()))
}

// ttyPassphrase adapts readTTY to the seal.IdentityOptions callback.
func (e *env) ttyPassphrase(prompt string) ([]byte, error) {
	if p := e.secrets.identityPassphrase; p != "" {
		return []byte(p), nil
	}
	return readTTY(prompt)
}

// isTTY reports whether w is a terminal.
func isTTY(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress returns a byte-progress callback drawing a bar on a terminal,
// and a function to finish it. Off a terminal it does nothing.
func (e *env) progress(total int64, what string) (func(int64), func()) {
	if !isTTY(e.stderr) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
	)
	return func(n int64) { bar.Add64(n) }, func() { bar.Finish() }
}

// loadIdentities reads -i files and names them for the ledger.
func loadIdentities(e *env, paths []string) ([]age.Identity, string, error) {
	var out []age.Identity
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, "", fmt.Errorf("reading identity: %w", err)
		}
		ids, err := seal.ParseIdentityFile(p, data, seal.IdentityOptions{Passphrase: e.ttyPassphrase, PluginUI: e.pluginUI()})
		if err != nil {
			return nil, "", err
		}
		out = append(out, ids...)
	}
	if len(out) == 0 {
		return nil, "", usagef("no identity given: use -i FILE")
	}
	return out, strings.Join(paths, ","), nil
}

// pluginUI lets age plugins (hardware tokens) talk to the user on stderr.
func (e *env) pluginUI() *plugin.ClientUI {
	return plugin.NewTerminalUI(func(format string, v ...any) {
		fmt.Fprintf(e.errText, "custody: "+format+"\n", v...)
	}, func(format string, v ...any) {
		e.warnf(format, v...)
	})
}

// writeNewFile writes a file atomically, refusing to replace one.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	err := atomicfile.WriteNew(path, data, perm)
	if errors.Is(err, atomicfile.ErrExists) {
		return withHint(err, "choose another output name; custody never overwrites files")
	}
	return err
}

// secrets are the passphrases custody takes from its environment.
type secrets struct {
	passphrase         string // $CUSTODY_PASSPHRASE: the station key's
	identityPassphrase string // $CUSTODY_IDENTITY_PASSPHRASE: a person's key file's
}

// takeSecrets reads the passphrase variables and removes them from the
// process environment, so that nothing custody starts (ffmpeg, age
// plugins, ssh-agent helpers) inherits them.
func takeSecrets() secrets {
	s := secrets{passphrase: os.Getenv("CUSTODY_PASSPHRASE"), identityPassphrase: os.Getenv("CUSTODY_IDENTITY_PASSPHRASE")}
	os.Unsetenv("CUSTODY_PASSPHRASE")
	os.Unsetenv("CUSTODY_IDENTITY_PASSPHRASE")
	return s
}
