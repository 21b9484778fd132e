//go:build !linux

package peercred

import "net"

// Supported fails: see the package comment.
func Supported() error { return ErrUnsupported }

// CheckChild always fails with ErrUnsupported here.
func CheckChild(net.Conn) (int, error) { return 0, ErrUnsupported }
