package peercred

import (
	"net/netip"
	"testing"
)

func TestParseNetLine(t *testing.T) {
	for _, tc := range []struct {
		line  string
		want  netEntry
		valid bool
	}{
		{"   0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 20 4 30 10 -1",
			netEntry{netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:8080"), 1000, 123456}, true},
		// tcp6: an IPv6 socket connected to an IPv4 address (v4-mapped).
		{"   3: 0000000000000000FFFF00000100007F:C350 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 987 1 0000000000000000 20 4 0 10 -1",
			netEntry{netip.MustParseAddrPort("127.0.0.1:50000"), netip.MustParseAddrPort("127.0.0.1:8080"), 0, 987}, true},
		{"   4: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 55 1",
			netEntry{netip.MustParseAddrPort("[::1]:22"), netip.MustParseAddrPort("[::]:0"), 0, 55}, true},
		// TIME_WAIT: inode 0.
		{"   5: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 03:00000F9A 00000000     0        0 0 3",
			netEntry{netip.MustParseAddrPort("127.0.0.1:40001"), netip.MustParseAddrPort("127.0.0.1:8080"), 0, 0}, true},
		{"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode", netEntry{}, false},
		{"", netEntry{}, false},
		{"   0: 0100007F:9C40 0100007F:1F90 01", netEntry{}, false},
		{"   0: 0100007:9C40 0100007F:1F90 01 0 0 0 1000 0 1", netEntry{}, false},
		{"   0: 0100007F:9C4 0100007F:1F90 01 0 0 0 1000 0 1", netEntry{}, false},
		{"   0: 0100007G:9C40 0100007F:1F90 01 0 0 0 1000 0 1", netEntry{}, false},
		{"   0: 0100007F:9C40 0100007F:1F90 01 0 0 0 -1 0 1", netEntry{}, false},
		{"   0: 0100007F:9C40 0100007F:1F90 01 0 0 0 99999999999 0 1", netEntry{}, false},
		{"   0: 0100007F:9C40 0100007F:1F90 01 0 0 0 1 0 x", netEntry{}, false},
		{"   0 0100007F:9C40 0100007F:1F90 01 0 0 0 1 0 1", netEntry{}, false},
	} {
		got, err := parseNetLine(tc.line)
		if (err == nil) != tc.valid || got != tc.want {
			t.Errorf("parseNetLine(%q) = %+v, %v; want %+v (valid %v)", tc.line, got, err, tc.want, tc.valid)
		}
	}
}

func TestParseStatPPID(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want int
		ok   bool
	}{
		{"4242 (ffmpeg) S 4100 4242 4100 0 -1 4194304 ...", 4100, true},
		// A command name can hold spaces and parentheses (a process names
		// itself): the name ends at the last ')'.
		{"4242 (a) S 1 (b) R 77 5 6 7) S 4100 1 1", 4100, true},
		{"4242 (x y) Z 1 0", 1, true},
		{"4242 (ffmpeg S 4100", 0, false},
		{"4242 (ffmpeg) S", 0, false},
		{"4242 (ffmpeg) S -3", 0, false},
		{"4242 (ffmpeg) S x", 0, false},
		{"", 0, false},
	} {
		got, err := parseStatPPID([]byte(tc.stat))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseStatPPID(%q) = %d, %v; want %d (ok %v)", tc.stat, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseNetLine(f *testing.F) {
	f.Add("   0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0 20 4 30 10 -1")
	f.Add("   3: 0000000000000000FFFF00000100007F:C350 0000000000000000FFFF00000100007F:1F90 01 0 0 0 0 0 987")
	f.Add("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseNetLine(line)
		if err != nil {
			if e != (netEntry{}) {
				t.Fatalf("error %v with a result %+v", err, e)
			}
			return
		}
		// A parsed address is IPv4 or real IPv6, never v4-mapped, so it
		// compares equal to net.TCPAddr's unmapped form.
		for _, a := range []netip.AddrPort{e.local, e.remote} {
			if !a.IsValid() || a.Addr().Is4In6() {
				t.Fatalf("parsed address %v from %q", a, line)
			}
		}
	})
}

func FuzzParseStatPPID(f *testing.F) {
	f.Add([]byte("4242 (ffmpeg) S 4100 4242 4100 0 -1"))
	f.Add([]byte("1 (a) b) S 0"))
	f.Fuzz(func(t *testing.T, stat []byte) {
		if ppid, err := parseStatPPID(stat); err == nil && ppid < 0 {
			t.Fatalf("negative ppid %d from %q", ppid, stat)
		}
	})
}
