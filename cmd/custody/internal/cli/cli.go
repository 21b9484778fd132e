// Package cli is the custody command line: thin cobra wiring over the
// library packages, plus the one place where errors become exit codes.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/custody-evidence/custody/store"
	"github.com/spf13/cobra"
)

// Exit codes. Keep in sync with exitCodesHelp and the README.
const (
	ExitOK          = 0
	ExitFailed      = 1 // verification failed, or content failed its integrity check
	ExitUsage       = 2 // could not run: bad usage, unreadable input, not a store
	ExitRefused     = 3 // input refused: not media, empty, duplicate, changed while read
	ExitDenied      = 4 // access denied: wrong key or passphrase, policy refusal
	ExitIncomplete  = 5 // work stopped part way (e.g. a corrupt video): output marked incomplete
	ExitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0    success; for verify: verified, and signed by a trusted key
  1    verification failed, or content failed its integrity check
  2    could not run: bad usage, unreadable input, not a store, I/O error
  3    input refused: not a recording, empty, already in the store, changed while read
  4    access denied: no matching key, wrong passphrase, refused by policy
  5    stopped part way (a corrupt or truncated video): output marked incomplete
  130  interrupted (Ctrl-C); nothing half-done is left behind`

// Main runs the command line and returns the exit code.
func Main() int {
	return Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// Run is Main with its environment passed in.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// All text for people goes through a termWriter (termsafe.go): the one
	// place where what others wrote is kept from driving the terminal.
	out, errText := newTermWriter(stdout), newTermWriter(stderr)
	defer out.Flush()
	defer errText.Flush()
	e := &env{stdin: stdin, stdout: out, stderr: stderr, errText: errText, rawStdout: stdout, secrets: takeSecrets()}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(out)
	root.SetErr(errText)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		err = usageErr(err)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "custody: interrupted; nothing was left half-done")
		return ExitInterrupted
	}
	var se silentError
	if !errors.As(err, &se) {
		printError(stderr, err)
	}
	return exitCode(err)
}

// env carries the process's streams to every command. stdout and errText
// escape control and bidi characters (termWriter); stderr is the raw
// stream, for progress bars only, and rawStdout for data a command
// outputs byte for byte (a signed receipt).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	errText        io.Writer
	rawStdout      io.Writer
	secrets        secrets
}

func (e *env) json(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) warnf(format string, a ...any) {
	fmt.Fprintf(e.errText, "custody: warning: "+format+"\n", a...)
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "custody",
		Short: "Keep body-worn-camera and CCTV footage as evidence",
		Long: `custody imports body-worn-camera and CCTV recordings into an evidence store,
seals them with age encryption under a signed, hash-chained ledger, redacts
faces and name badges, and verifies the chain of custody offline.

The store directory comes from --store or $CUSTODY_STORE. The station
passphrase comes from --passphrase-file, $CUSTODY_PASSPHRASE, or a prompt
on the terminal.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			HiddenDefaultCmd: true,
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	// Refusals are ledgered with what was tried: the command and its
	// arguments (clip, request or person ids).
	root.PersistentPreRun = func(cmd *cobra.Command, args []string) {
		cmd.SetContext(store.WithAttempt(cmd.Context(), store.Attempted{Attempt: cmd.CommandPath(), Args: args}))
	}
	root.SetUsageTemplate(root.UsageTemplate() + "\n" + exitCodesHelp + "\n")
	root.AddCommand(
		newInitCmd(e),
		newKeyCmd(e),
		newImportCmd(e),
		newListCmd(e),
		newShowCmd(e),
		newOpenCmd(e),
		newVerifyCmd(e),
		newVersionCmd(e),
	)
	root.AddCommand(exportCommands(e)...)
	root.AddCommand(governanceCommands(e)...)
	addMediaCommands(root, e)
	markUsageErrors(root)
	return root
}

// markUsageErrors makes cobra's argument-count errors usage errors (exit 2,
// with a hint) for every command, wherever it is defined.
func markUsageErrors(c *cobra.Command) {
	if a := c.Args; a != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := a(cmd, args); err != nil {
				return usageErr(err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}

// silentError has already been reported (e.g. a verify report).
type silentError struct {
	code int
	err  error
}

func (s silentError) Error() string { return s.err.Error() }
func (s silentError) Unwrap() error { return s.err }
