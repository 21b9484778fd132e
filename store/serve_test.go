package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/peercred"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/media"
)

// TestServeToFFmpeg serves a sealed MP4 (moov atom at the end, so ffmpeg
// must seek) over loopback and checks ffmpeg decodes exactly the original's
// frames, with no plaintext file anywhere.
func TestServeToFFmpeg(t *testing.T) {
	ffmpeg := testenv.Tool(t, "ffmpeg")
	dir := t.TempDir()
	clip := filepath.Join(dir, "c.mp4")
	if out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine",
		"-t", "2", "-c:v", "libx264", "-c:a", "aac", clip).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Init(context.Background(), filepath.Join(dir, "st"), InitOptions{Recipients: []string{id.Recipient().String()}, Passphrase: []byte("pw"), WorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Import(context.Background(), clip, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := s.Serve(context.Background(), c.Object, []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Close()
	info, err := media.Probe(context.Background(), sv.URL)
	if err != nil {
		t.Fatalf("probe over loopback: %v", err)
	}
	if info.Video == nil || info.Video.Width != 320 || info.Audio == nil {
		t.Fatalf("probe over loopback: %+v", info)
	}
	md5 := func(in string) string {
		out, err := exec.Command(ffmpeg, "-v", "error", "-i", in, "-map", "0:v", "-f", "md5", "-").Output()
		if err != nil {
			t.Fatalf("ffmpeg md5 %s: %v", in, err)
		}
		return strings.TrimSpace(string(out))
	}
	if got, want := md5(sv.URL), md5(clip); got != want {
		t.Fatalf("decoded over loopback %s, original %s", got, want)
	}

	other, _ := age.GenerateX25519Identity()
	if _, err := s.Serve(context.Background(), c.Object, []age.Identity{other}); err != ErrAccessDenied {
		t.Fatalf("wrong identity: %v", err)
	}
	// A modified sealed file is refused before anything is served.
	p := filepath.Join(s.Dir, c.Object.Path)
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o600)
	if _, err := s.Serve(context.Background(), c.Object, []age.Identity{id}); err == nil {
		t.Fatal("served a modified sealed file")
	}
}

// TestServeConcurrentRanges: ffmpeg seeks by opening a new connection while
// the first response is still streaming (to find an MP4's moov atom at the
// end). Each response must keep its own position: two overlapping range
// requests, one read slowly, both return exactly the original's bytes.
// Only a child process may connect, so the requests are made by this test
// binary run again as one (TestServeClientHelper).
func TestServeConcurrentRanges(t *testing.T) {
	_, sv, _ := servePlain(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeClientHelper$")
	cmd.Env = append(os.Environ(), "STORE_SERVE_CLIENT="+sv.URL)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child client: %v\n%s", err, out)
	}
	if n, err := sv.Refused(); n != 0 {
		t.Fatalf("%d connection(s) of the child refused: %v", n, err)
	}
}

// servePlain seals 3 MiB of a known pattern and serves it.
func servePlain(t *testing.T) (*Store, *Served, []byte) {
	t.Helper()
	dir := t.TempDir()
	plain := rangePattern()
	id, _ := age.GenerateX25519Identity()
	s, err := Init(context.Background(), filepath.Join(dir, "st"), InitOptions{Recipients: []string{id.Recipient().String()}, Passphrase: []byte("pw"), WorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Seal it directly (Import wants media): a staged, committed object.
	sg, err := s.SealStaged(context.Background(), bytes.NewReader(plain), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.publish(sg); err != nil {
		t.Fatal(err)
	}
	sv, err := s.Serve(context.Background(), sg.Object, []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	return s, sv, plain
}

func rangePattern() []byte {
	plain := make([]byte, 3<<20)
	for i := range plain {
		plain[i] = byte(i*7 + i/251)
	}
	return plain
}

// TestServeClientHelper is the child process of TestServeConcurrentRanges:
// with STORE_SERVE_CLIENT=URL it makes the overlapping range requests.
func TestServeClientHelper(t *testing.T) {
	url := os.Getenv("STORE_SERVE_CLIENT")
	if url == "" {
		return // not the child
	}
	plain := rangePattern()
	get := func(rng string) *http.Response {
		req, _ := http.NewRequest("GET", url, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		// A client of its own per request: separate connections, as ffmpeg.
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for round := 0; round < 20; round++ {
		slow := get("")
		head := make([]byte, 1000)
		if _, err := io.ReadFull(slow.Body, head); err != nil {
			t.Fatal(err)
		}
		tailStart := len(plain) - 4096
		fast := get(fmt.Sprintf("bytes=%d-", tailStart))
		tail, err := io.ReadAll(fast.Body)
		fast.Body.Close()
		if err != nil || !bytes.Equal(tail, plain[tailStart:]) {
			t.Fatalf("round %d: range at the end returned %d bytes, wrong: %v", round, len(tail), err)
		}
		rest, err := io.ReadAll(slow.Body)
		slow.Body.Close()
		if err != nil || !bytes.Equal(append(head, rest...), plain) {
			t.Fatalf("round %d: the first response was disturbed by the second: %d bytes, %v", round, len(head)+len(rest), err)
		}
	}
}

// TestServeOnlyToChildren: the URL is in ffmpeg's command line for anyone
// to read, and knowing it gives nothing. A child process (curl) reads the
// whole clip; this process itself, a grandchild, and another user
// (nobody, when the test runs as root) get not a byte, and each refusal is
// counted.
func TestServeOnlyToChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("served only on Linux")
	}
	curl := testenv.Tool(t, "curl")
	_, sv, plain := servePlain(t)
	fetch := func(cmd *exec.Cmd) []byte {
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		t.Logf("%s: %d bytes, %v %s", strings.Join(cmd.Args, " "), out.Len(), err, strings.TrimSpace(errb.String()))
		return out.Bytes()
	}
	if got := fetch(exec.Command(curl, "-sS", "--max-time", "20", sv.URL)); !bytes.Equal(got, plain) {
		t.Fatalf("a child process (curl) read %d bytes, want the clip's %d", len(got), len(plain))
	}
	refused := int64(0)
	// This process: not a child of itself.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(sv.URL)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("this process (not a child) got %s and %d bytes", resp.Status, len(b))
	}
	refused++
	// A grandchild: sh starts curl and waits for it, so curl is not a
	// direct child.
	if got := fetch(exec.Command("sh", "-c", `"$0" -sS --max-time 10 "$1"; exit 0`, curl, sv.URL)); len(got) != 0 {
		t.Fatalf("a grandchild read %d bytes", len(got))
	}
	refused++
	if os.Geteuid() == 0 {
		if setpriv, err := exec.LookPath("setpriv"); err == nil {
			if got := fetch(exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", curl, "-sS", "--max-time", "10", sv.URL)); len(got) != 0 {
				t.Fatalf("user nobody read %d bytes", len(got))
			}
			refused++
		}
	} else {
		t.Log("not root: the other-user case is left to TestAttackRow02RedactURLReadable's skip message")
	}
	n, last := sv.Refused()
	if n != refused || !errors.Is(last, peercred.ErrRefused) {
		t.Fatalf("refused %d connection(s) (last: %v), want %d", n, last, refused)
	}
	// And a child still reads after the refusals.
	if got := fetch(exec.Command(curl, "-sS", "-r", "100-199", sv.URL)); !bytes.Equal(got, plain[100:200]) {
		t.Fatalf("child range read after refusals: %d bytes", len(got))
	}
}
