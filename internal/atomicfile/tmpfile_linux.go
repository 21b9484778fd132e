package atomicfile

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// errNoTmpfile means unnamed files are not available here.
var errNoTmpfile = errors.New("no O_TMPFILE")

// openUnnamed opens an O_TMPFILE in dir: a file with no name, freed by the
// kernel when the last descriptor closes, whoever dies. It must be
// linkable later, through /proc/self/fd (linkat with AT_SYMLINK_FOLLOW,
// which needs no privilege): without /proc, the fallback is used.
func openUnnamed(dir string, perm os.FileMode) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, uint32(perm.Perm()))
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		// Filesystems without O_TMPFILE (and kernels before 3.11, which
		// read O_TMPFILE as O_DIRECTORY) refuse it in one of these ways.
		return nil, errNoTmpfile
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), dir)
	if _, err := os.Stat(procFD(f)); err != nil {
		f.Close()
		return nil, errNoTmpfile
	}
	return f, nil
}

func procFD(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// linkUnnamed gives an O_TMPFILE the name path. linkat never replaces an
// existing name (EEXIST).
func linkUnnamed(f *os.File, path string) error {
	err := unix.Linkat(unix.AT_FDCWD, procFD(f), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	if err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: path, Err: err}
	}
	return nil
}
