package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
)

// TestAttackRow02RedactURLReadable: during `redact --store`, ffmpeg reads
// the decrypted original from a loopback URL that is in its command line,
// which every local user can read. The attacker finds it as anyone would,
// in /proc/PID/cmdline of the ffmpeg child, and downloads it while the
// redaction runs: (a) as user nobody, (b) as the same user, from a process
// that is not custody's child (this test). Both must get nothing, and the
// redaction must still succeed.
func TestAttackRow02RedactURLReadable(t *testing.T) {
	if !cgoEnabled {
		t.Skip("redaction needs the full build with OpenCV")
	}
	curl := testenv.Tool(t, "curl")
	clip := testenv.Shared(t, "data/video/gen1_demo_assets_test_video.mp4") // 20 s: the redaction takes seconds
	original, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	c := newCLIRun(t)
	key := c.ageKey("dpo.key")
	c.ok("init", "--store", "st", "--recipient", key, "--kdf-work-factor", "10")
	id := c.jsonField("id", "import", "--store", "st", clip, "--json")

	red := c.cmd("redact", "--store", "st", id, "-i", "dpo.key", "--every", "6", "--json")
	var out, errb bytes.Buffer
	red.Stdout, red.Stderr = &out, &errb
	if err := red.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- red.Wait() }()
	defer func() { red.Process.Kill() }()

	// The attacker's view: an ffmpeg whose command line names the URL.
	var url string
	var ffmpeg int
	deadline := time.Now().Add(60 * time.Second)
	for url == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no ffmpeg reading a loopback URL appeared\n%s", errb.String())
		}
		for _, pid := range descendants(red.Process.Pid) {
			for _, a := range procCmdline(pid) {
				if strings.HasPrefix(a, "http://127.0.0.1:") {
					url, ffmpeg = a, pid
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ffmpeg (pid %d) reads %s", ffmpeg, url)

	judge := func(who string, got []byte) {
		t.Helper()
		switch {
		case len(got) == 0:
			t.Logf("%s got nothing", who)
		case bytes.Equal(got, original):
			t.Errorf("%s downloaded the whole decrypted original (%d bytes, identical to the clip)", who, len(got))
		default:
			t.Errorf("%s downloaded %d bytes of the decrypted original", who, len(got))
		}
	}
	// (a) another user.
	if os.Geteuid() != 0 {
		t.Log("SKIPPED the other-user half: it needs root to run curl as nobody (setpriv)")
	} else {
		setpriv := testenv.Tool(t, "setpriv")
		dl := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", curl, "-sS", "--max-time", "20", url)
		var got, cerr bytes.Buffer
		dl.Stdout, dl.Stderr = &got, &cerr
		err := dl.Run()
		t.Logf("curl as nobody: %v %s", err, strings.TrimSpace(cerr.String()))
		judge("user nobody (curl)", got.Bytes())
	}
	// (b) the same user, not a child of custody.
	var got []byte
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(url)
	if err == nil {
		got, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("same user: %s, %v", resp.Status, err)
	} else {
		t.Logf("same user: %v", err)
	}
	judge("the same user from another process", got)

	// The window was real: the redaction was still reading.
	if len(procCmdline(ffmpeg)) == 0 {
		select {
		case <-done:
			t.Fatal("the redaction finished before the attack was over: use a longer clip")
		default:
		}
	}
	select {
	case err = <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("redaction did not finish")
	}
	if err != nil || !strings.Contains(out.String(), `"id"`) {
		t.Fatalf("the redaction failed: %v\n%s\n%s", err, out.String(), errb.String())
	}
	c.ok("verify", "--store", "st")
	// The refused readers are in the ledger, signed, for the DPO to see.
	if log := c.ok("log", "--store", "st", "--anomalies"); !strings.Contains(log, "FOREIGN-READER: while") || !strings.Contains(log, "were refused because they did not come from custody's own ffmpeg") {
		t.Errorf("the refused readers were not ledgered:\n%s", log)
	}
}
