package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
)

// usageError is bad usage: wrong flags or arguments.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usageErr(err error) error { return usageError{err} }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// hinted attaches "hint:" lines to an error.
type hinted struct {
	err   error
	hints []string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func withHint(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return hinted{err, hints}
}

// coded carries an exit code decided by cgo-only command files (redact,
// detect), whose packages this file cannot import in the static build.
type coded struct {
	code int
	err  error
}

func (c coded) Error() string { return c.err.Error() }
func (c coded) Unwrap() error { return c.err }

// exitCode maps an error to the documented exit codes. It is the only
// place that does so.
func exitCode(err error) int {
	var se silentError
	if errors.As(err, &se) && se.code != 0 {
		return se.code
	}
	var cd coded
	if errors.As(err, &cd) {
		return cd.code
	}
	var dup *store.DuplicateError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, verify.ErrFailed),
		errors.Is(err, seal.ErrHashMismatch),
		errors.Is(err, store.ErrCorrupt),
		errors.Is(err, manifest.ErrMalformed),
		errors.Is(err, manifest.ErrBadCheckpoint),
		errors.Is(err, bundle.ErrBadReceipt),
		errors.Is(err, store.ErrReceiptMismatch):
		return ExitFailed
	case errors.Is(err, store.ErrAccessDenied),
		errors.Is(err, seal.ErrWrongPassphrase),
		errors.Is(err, store.ErrNotReceiver):
		return ExitDenied
	case isGovernanceRefusal(err):
		return ExitDenied
	case errors.As(err, &dup),
		errors.Is(err, media.ErrNotMedia),
		errors.Is(err, store.ErrEmpty),
		errors.Is(err, store.ErrNotRegular),
		errors.Is(err, store.ErrChanged),
		errors.Is(err, bundle.ErrNotRedacted),
		errors.Is(err, bundle.ErrPurged),
		errors.Is(err, store.ErrDuplicateReceipt):
		return ExitRefused
	case isIncomplete(err):
		return ExitIncomplete
	}
	return ExitUsage
}

// printError writes "custody: error: ..." and any hints, one line each,
// with control and bidi characters escaped (termWriter): messages quote
// names and paths that others chose.
func printError(stderr io.Writer, err error) {
	w := newTermWriter(stderr)
	defer w.Flush()
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(w, "custody: error: %s\n", msg)
	var h hinted
	if errors.As(err, &h) {
		for _, line := range h.hints {
			fmt.Fprintf(w, "custody: hint: %s\n", line)
		}
	}
	for _, line := range autoHints(err) {
		fmt.Fprintf(w, "custody: hint: %s\n", line)
	}
}

// autoHints gives the usual next step for common errors.
func autoHints(err error) []string {
	var u usageError
	var h hinted
	var nd *atomicfile.NoDirError
	if errors.As(err, &h) {
		return nil
	}
	switch {
	case errors.As(err, &nd) && nd.NotDir:
		return []string{fmt.Sprintf("%s is a file: choose an output path in an existing folder", nd.Dir)}
	case errors.As(err, &nd):
		return []string{fmt.Sprintf("create the folder first (mkdir -p %s), or choose an output path in an existing folder", nd.Dir)}
	case errors.As(err, &u):
		return []string{"run the command with --help for usage and examples"}
	case errors.Is(err, store.ErrNoStore):
		return []string{"create one with `custody init --store DIR --recipient KEY`, or point --store / CUSTODY_STORE at an existing store"}
	case errors.Is(err, seal.ErrWrongPassphrase):
		return []string{"the passphrase comes from --passphrase-file, $CUSTODY_PASSPHRASE, or the terminal prompt"}
	case errors.Is(err, store.ErrAccessDenied):
		return []string{"use -i with a private key whose public key was a recipient when the clip was imported"}
	case errors.Is(err, store.ErrUnknownPerson):
		return []string{"see `custody user list`; a DPO registers people with `custody user add`"}
	case errors.Is(err, store.ErrNotDPO):
		return []string{"ask a DPO to do it with their key (-i)"}
	case errors.Is(err, store.ErrUnaddressed):
		return []string{"export the clips again with --receiver KEY (the receiver's SSH public key), and have that receiver sign the receipt"}
	case errors.Is(err, store.ErrNotReceiver):
		return []string{"only the receiver named at export (custody export --receiver) can acknowledge a bundle: ask them to sign the receipt with that key"}
	case errors.Is(err, media.ErrNotMedia):
		return []string{"only video and audio recordings can be imported; check the file plays with ffprobe"}
	case errors.Is(err, media.ErrToolMissing):
		return []string{"install ffmpeg (apt-get install ffmpeg, or `make deps`)"}
	case errors.Is(err, store.ErrRolledBack):
		return []string{"run `custody verify --store DIR` for a full report",
			"restore ledger.jsonl (and any sealed files missing with it) from a backup until verify passes",
			"if the entries are lost for good, a DPO records the loss with `custody recover-ledger --reason TEXT -i DPOKEY`"}
	case errors.Is(err, store.ErrCorrupt), errors.Is(err, seal.ErrHashMismatch):
		return []string{"run `custody verify --store DIR` for a full report"}
	case errors.Is(err, fs.ErrNotExist):
		return []string{"check the path"}
	}
	return nil
}

func isIncomplete(err error) bool {
	var ie interface{ Incomplete() bool }
	return errors.As(err, &ie) && ie.Incomplete()
}

// isGovernanceRefusal: refused by a governance rule (roles, dual control,
// one-time expiring approvals, retention).
func isGovernanceRefusal(err error) bool {
	_, ok := store.RefusalRule(err)
	return ok
}
