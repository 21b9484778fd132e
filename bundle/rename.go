package bundle

import (
	"fmt"
	"os"
)

// renameChecked is the portable fallback: check, then rename (a window in
// which another process could create the target remains).
func renameChecked(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("%w: %s", ErrOutputExists, to)
	}
	return os.Rename(from, to)
}
