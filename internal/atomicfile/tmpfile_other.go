//go:build !linux

package atomicfile

import (
	"errors"
	"os"
)

// errNoTmpfile means unnamed files are not available here: O_TMPFILE is
// Linux's.
var errNoTmpfile = errors.New("no O_TMPFILE")

func openUnnamed(string, os.FileMode) (*os.File, error) { return nil, errNoTmpfile }

func linkUnnamed(*os.File, string) error { return errNoTmpfile }
