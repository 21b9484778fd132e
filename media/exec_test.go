package media

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
)

func TestChildEnv(t *testing.T) {
	in := []string{
		"PATH=/usr/bin:/bin", "LANG=en_GB.UTF-8", "LC_ALL=C.UTF-8", "LC_TIME=en_GB.UTF-8", "TZ=Europe/London",
		"LD_LIBRARY_PATH=/opt/ffmpeg/lib",
		"CUSTODY_PASSPHRASE=station secret", "CUSTODY_IDENTITY_PASSPHRASE=key secret", "CUSTODY_STORE=/srv/custody",
		"http_proxy=http://proxy:3128", "HTTPS_PROXY=http://proxy:3128", "no_proxy=", "FFREPORT=file=/tmp/ff.log",
		"AV_LOG_FORCE_COLOR=1", "HOME=/home/dpo", "AWS_SECRET_ACCESS_KEY=x", "SSH_AUTH_SOCK=/run/agent",
		"LC_=odd", "=C:=C:\\", "NOEQUALS",
	}
	want := []string{"PATH=/usr/bin:/bin", "LANG=en_GB.UTF-8", "LC_ALL=C.UTF-8", "LC_TIME=en_GB.UTF-8", "TZ=Europe/London",
		"LD_LIBRARY_PATH=/opt/ffmpeg/lib", "LC_=odd"}
	if got := childEnv(in); !slices.Equal(got, want) {
		t.Fatalf("childEnv kept\n%q\nwant\n%q", got, want)
	}
	if got := childEnv(nil); got == nil || len(got) != 0 {
		// A nil Env would mean "inherit everything" to os/exec.
		t.Fatalf("childEnv(nil) = %#v, want an empty, non-nil list", got)
	}
}

// TestChildEnvReal reads the environment of a real, running ffmpeg that
// command started, as another process would see it in /proc: no secret,
// no proxy, no report file; the locale and PATH are kept.
func TestChildEnvReal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/environ")
	}
	ffmpeg := testenv.Tool(t, "ffmpeg")
	t.Setenv("CUSTODY_PASSPHRASE", "station-secret-123")
	t.Setenv("CUSTODY_IDENTITY_PASSPHRASE", "identity-secret-456")
	t.Setenv("http_proxy", "http://127.0.0.1:9")
	t.Setenv("FFREPORT", "file="+t.TempDir()+"/report.log")
	t.Setenv("LC_ALL", "C.UTF-8")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := command(ctx, ffmpeg, "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "30", "-f", "null", "-")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	// The parent learns the exec succeeded when the child's close-on-exec
	// files close, a moment before the kernel records where the new
	// environment is: until then environ reads empty.
	var b []byte
	for deadline := time.Now().Add(5 * time.Second); len(b) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		if b, err = os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/environ"); err != nil {
			t.Fatal(err)
		}
	}
	env := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "CUSTODY_") || strings.Contains(strings.ToLower(name), "proxy") || name == "FFREPORT" {
			t.Errorf("ffmpeg child inherited %s", kv)
		}
	}
	if !slices.Contains(env, "LC_ALL=C.UTF-8") || !slices.Contains(env, "PATH="+os.Getenv("PATH")) {
		t.Errorf("ffmpeg child lost PATH or the locale: %q", env)
	}
	if strings.Contains(string(b), "secret") {
		t.Errorf("a secret is in the child's environment: %q", env)
	}
}
