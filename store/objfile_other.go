//go:build !unix

package store

import "os"

// openNoFollow opens a file; openSealed then checks it is the regular file
// that Lstat saw.
func openNoFollow(p string) (*os.File, error) { return os.Open(p) }

// noFollow: Windows has no such flag; a symlink there needs privileges
// to make, and the store's files are checked with Lstat where it counts.
const noFollow = 0
