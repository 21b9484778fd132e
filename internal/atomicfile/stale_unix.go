//go:build unix

package atomicfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on f, waiting for a cleaner that is
// looking at it. The lock goes with the open file: a killed writer's is
// released by the kernel. On a filesystem without flock the file stays
// unlocked, and is safe all the same: a cleaner cannot lock it either, so
// removes nothing there.
func lockFile(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOLCK), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
			return nil
		}
		return err
	}
}

// removeIfDead removes path, a temporary file or directory made by
// Create or TempDir, if no live writer holds its lock. It never follows a
// symlink, never opens anything but a regular file or directory, and
// leaves what another user owns.
func removeIfDead(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || int(st.Uid) != os.Geteuid() {
		return false
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if !isDir && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false // a live writer's
	}
	// The name must still be the file locked: entries are never renamed
	// to a temporary name, but check rather than assume.
	var now unix.Stat_t
	if unix.Lstat(path, &now) != nil || now.Dev != st.Dev || now.Ino != st.Ino {
		return false
	}
	if isDir {
		return os.RemoveAll(path) == nil
	}
	return unix.Unlink(path) == nil
}
