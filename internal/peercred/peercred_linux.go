package peercred

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Supported reports whether CheckChild can work here: it needs /proc with
// the socket tables and this process's descriptors.
func Supported() error {
	for _, p := range []string{"/proc/net/tcp", "/proc/self/fd"} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: %v (is /proc mounted?)", ErrUnsupported, err)
		}
	}
	return nil
}

// CheckChild returns the pid of the process at the other end of c, an
// accepted loopback TCP connection, if it is a live direct child of this
// process running as this user; otherwise an error wrapping ErrRefused
// that says why (or ErrUnsupported). The peer's socket exists in its file
// table before connect() returns, so a child that connects the instant it
// starts is found.
func CheckChild(c net.Conn) (int, error) {
	l, ok1 := c.LocalAddr().(*net.TCPAddr)
	r, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return 0, refusedf("not a TCP connection")
	}
	local, remote := unmapped(l.AddrPort()), unmapped(r.AddrPort())
	if !remote.Addr().IsLoopback() {
		return 0, refusedf("from %s, not loopback", remote)
	}
	// The peer's socket has our remote address as its local one.
	e, err := findSocket(remote, local)
	if err != nil {
		return 0, err
	}
	if e.uid != uint32(os.Geteuid()) {
		return 0, refusedf("from %s, a socket of uid %d", remote, e.uid)
	}
	pid, err := childHolding(e.inode)
	if err != nil {
		return 0, err
	}
	if pid == 0 {
		return 0, refusedf("from %s, a socket no child process of custody holds", remote)
	}
	return pid, nil
}

func unmapped(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// findSocket finds the live socket (inode not 0: not TIME_WAIT, not
// orphaned) whose local and remote addresses are these.
func findSocket(local, remote netip.AddrPort) (netEntry, error) {
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if errors.Is(err, os.ErrNotExist) && table != "/proc/net/tcp" {
			continue // no IPv6
		}
		if err != nil {
			return netEntry{}, fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			e, err := parseNetLine(sc.Text())
			if err == nil && e.inode != 0 && e.local == local && e.remote == remote {
				f.Close()
				return e, nil
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return netEntry{}, err
		}
	}
	return netEntry{}, refusedf("from %s, a socket not in /proc/net/tcp (closed already, or in another network namespace)", local)
}

// childHolding returns the pid of a live direct child of this process that
// holds the socket with this inode, or 0. It asks the kernel's children
// lists first, and scans every process only if they do not name it (they
// may miss a child that is being created).
func childHolding(inode uint64) (int, error) {
	self := os.Getpid()
	link := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	tried := map[int]bool{}
	kids, _ := filepath.Glob("/proc/self/task/*/children")
	for _, k := range kids {
		b, _ := os.ReadFile(k)
		for _, s := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(s); err == nil && !tried[pid] {
				tried[pid] = true
				if holds(pid, self, link) {
					return pid, nil
				}
			}
		}
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || tried[pid] || pid == self {
			continue
		}
		if holds(pid, self, link) {
			return pid, nil
		}
	}
	return 0, nil
}

// holds reports whether process pid is a child of parent with an open
// descriptor whose link is link. Everything is read through one open
// handle on /proc/PID, which refers to that process and no other even if
// it exits and its pid is reused meanwhile.
func holds(pid, parent int, link string) bool {
	dfd, err := unix.Open("/proc/"+strconv.Itoa(pid), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(dfd)
	stat, err := readAt(dfd, "stat")
	if err != nil {
		return false
	}
	if ppid, err := parseStatPPID(stat); err != nil || ppid != parent {
		return false
	}
	fdDir, err := unix.Openat(dfd, "fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	d := os.NewFile(uintptr(fdDir), "fd")
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return false
	}
	buf := make([]byte, 64)
	for _, n := range names {
		if k, err := unix.Readlinkat(fdDir, n, buf); err == nil && string(buf[:k]) == link {
			return true
		}
	}
	return false
}

func readAt(dfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	buf := make([]byte, 4096)
	n, err := f.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
