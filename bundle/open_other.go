//go:build !unix

package bundle

import "os"

// openNoFollow opens a file; Reader.Open then checks it is the file the
// walk saw.
func openNoFollow(p string) (*os.File, error) { return os.Open(p) }
