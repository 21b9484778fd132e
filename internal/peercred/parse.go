package peercred

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// netEntry is one socket of /proc/net/tcp or /proc/net/tcp6.
type netEntry struct {
	local, remote netip.AddrPort
	uid           uint32
	inode         uint64
}

var errNetLine = errors.New("malformed /proc/net/tcp line")

// parseNetLine reads a line of /proc/net/tcp{,6}:
//
//	sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
//	0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 1000 0 123456 ...
//
// Addresses are hex of the address's 32-bit words as the kernel holds them
// (network order read in host order), ports hex in host order. The
// header line is malformed.
func parseNetLine(line string) (netEntry, error) {
	f := strings.Fields(line)
	if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
		return netEntry{}, errNetLine
	}
	var e netEntry
	var err error
	if e.local, err = parseNetAddr(f[1]); err != nil {
		return netEntry{}, err
	}
	if e.remote, err = parseNetAddr(f[2]); err != nil {
		return netEntry{}, err
	}
	uid, err := strconv.ParseUint(f[7], 10, 32)
	if err != nil {
		return netEntry{}, errNetLine
	}
	if e.inode, err = strconv.ParseUint(f[9], 10, 64); err != nil {
		return netEntry{}, errNetLine
	}
	e.uid = uint32(uid)
	return e, nil
}

// parseNetAddr reads "0100007F:1F90" (IPv4) or 32 hex digits and a port
// (IPv6). IPv4-mapped IPv6 addresses are returned as IPv4.
func parseNetAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(p) != 4 || (len(a) != 8 && len(a) != 32) {
		return netip.AddrPort{}, errNetLine
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, errNetLine
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, errNetLine
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}

var errStat = errors.New("malformed /proc/PID/stat")

// parseStatPPID reads the parent's pid from /proc/PID/stat:
// "PID (COMM) STATE PPID ...". COMM may hold spaces and parentheses: it
// ends at the last ')'.
func parseStatPPID(stat []byte) (int, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errStat
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, errStat
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil || ppid < 0 {
		return 0, errStat
	}
	return ppid, nil
}
