package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
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
func TestServeConcurrentRanges(t *testing.T) {
	dir := t.TempDir()
	plain := make([]byte, 3<<20)
	for i := range plain {
		plain[i] = byte(i*7 + i/251)
	}
	clip := filepath.Join(dir, "c.bin")
	os.WriteFile(clip, plain, 0o600)
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
	defer sv.Close()
	get := func(rng string) *http.Response {
		req, _ := http.NewRequest("GET", sv.URL, nil)
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
