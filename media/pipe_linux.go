package media

import (
	"os"
	"syscall"
)

// growPipe enlarges a pipe's kernel buffer (F_SETPIPE_SZ) to up to 1 MiB, or
// the system maximum, so that a raw frame of a few megabytes crosses in a
// few large writes instead of dozens of 64 KiB ones, each a context switch
// between ffmpeg and custody. Best effort: the default size only costs
// time.
func growPipe(f *os.File) {
	const setPipeSize = 1031 // F_SETPIPE_SZ
	for size := 1 << 20; size >= 1<<16; size >>= 1 {
		_, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), setPipeSize, uintptr(size))
		if errno == 0 {
			return
		}
	}
}

// inheritedPath is the name by which a child opens the file it inherits
// as its first extra file (descriptor 3). /proc/self/fd reopens the file
// itself, named or not.
func inheritedPath(*os.File) string { return "/proc/self/fd/3" }
