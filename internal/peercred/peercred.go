// Package peercred tells whether a loopback TCP connection comes from a
// child process of this one. custody serves a decrypted clip to the ffmpeg
// it started over HTTP on 127.0.0.1 (ffmpeg needs HTTP range requests to
// seek); any local process can connect to that port and read the URL in
// ffmpeg's command line, so every connection is authenticated by the
// process at its other end before a byte of it is read.
//
// On Linux the peer's socket is found in /proc/net/tcp (or tcp6, for an
// IPv6 socket connected to an IPv4 address) by the connection's address
// pair, which gives its owner's uid and its inode; the connection is
// accepted only if the uid is this process's and a live direct child of
// this process holds that socket (/proc/PID/fd -> socket:[INODE]). There
// is no such check elsewhere: CheckChild then always fails with
// ErrUnsupported.
package peercred

import (
	"errors"
	"fmt"
)

// ErrUnsupported means the peer of a connection cannot be identified on
// this system.
var ErrUnsupported = errors.New("telling which process is at the other end of a loopback connection needs Linux")

// ErrRefused means the peer is not a child process of this one.
var ErrRefused = errors.New("connection not from a child process of custody")

func refusedf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, a...)...)
}
