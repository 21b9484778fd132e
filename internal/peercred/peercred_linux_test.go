package peercred

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain doubles as the connecting process: with PEERCRED_DIAL=NET,ADDR
// it connects and waits for the server to close; with
// PEERCRED_SPAWN=NET,ADDR it runs a copy of itself that connects (a
// grandchild of the test) and waits for it.
func TestMain(m *testing.M) {
	if spec := os.Getenv("PEERCRED_DIAL"); spec != "" {
		network, addr := split(spec)
		if network == "mapped6" {
			os.Exit(dialMapped6(addr))
		}
		c, err := net.Dial(network, addr)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		io.Copy(io.Discard, c)
		os.Exit(0)
	}
	if spec := os.Getenv("PEERCRED_SPAWN"); spec != "" {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "PEERCRED_SPAWN=", "PEERCRED_DIAL="+spec)
		cmd.Run()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dialMapped6 connects an AF_INET6 socket to the IPv4 address at port
// (as ::ffff:127.0.0.1), which Go's net package will not do, and waits.
func dialMapped6(port string) int {
	p, _ := strconv.Atoi(port)
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		sa := &unix.SockaddrInet6{Port: p}
		copy(sa.Addr[10:], []byte{0xff, 0xff, 127, 0, 0, 1})
		err = unix.Connect(fd, sa)
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 3
	}
	unix.Read(fd, make([]byte, 1))
	return 0
}

func split(spec string) (string, string) {
	for i := range spec {
		if spec[i] == ',' {
			return spec[:i], spec[i+1:]
		}
	}
	return "tcp", spec
}

// accept takes the next connection on ln, within a few seconds.
func accept(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheckChild connects to a loopback listener from real processes: a
// direct child is accepted with its pid (also over an IPv6 socket, which
// /proc lists in tcp6), while this process, a grandchild, and another
// user (when running as root) are refused.
func TestCheckChild(t *testing.T) {
	if err := Supported(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port

	run := func(env string) *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), env)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	for _, tc := range []struct{ name, env string }{
		{"child", "PEERCRED_DIAL=tcp4," + addr},
		{"child over an IPv6 socket", "PEERCRED_DIAL=mapped6," + itoa(port)},
	} {
		cmd := run(tc.env)
		c := accept(t, ln)
		pid, err := CheckChild(c)
		c.Close()
		if err != nil || pid != cmd.Process.Pid {
			t.Errorf("%s (pid %d): CheckChild = %d, %v", tc.name, cmd.Process.Pid, pid, err)
		}
	}

	refused := func(name string, c net.Conn) {
		t.Helper()
		pid, err := CheckChild(c)
		c.Close()
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: CheckChild = %d, %v; want ErrRefused", name, pid, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// This process itself.
	self, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	refused("this process", accept(t, ln))

	run("PEERCRED_SPAWN=tcp4," + addr)
	refused("a grandchild", accept(t, ln))

	if os.Geteuid() != 0 {
		t.Log("not root: cannot connect as another user")
		return
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Log("no setpriv: cannot connect as another user")
		return
	}
	other := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/"+itoa(port)+"; cat <&3")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	refused("user nobody", accept(t, ln))
}

func itoa(n int) string { return strconv.Itoa(n) }
