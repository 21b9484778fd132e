//go:build !linux

package media

import "os"

func growPipe(*os.File) {}

// inheritedPath is the name by which a child opens the file it inherits:
// without Linux's /proc/self/fd, its own name (files here always have one:
// atomicfile's fallback names them).
func inheritedPath(f *os.File) string { return f.Name() }
