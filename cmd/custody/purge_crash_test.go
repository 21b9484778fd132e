package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

// TestPurgeCrashSafety kills the real binary with SIGKILL at random points
// of a purge, over and over, and checks after every kill that the store
// verifies, and after the purge is run again to the end that every clip is
// either wholly there or wholly gone (tombstoned, no file left anywhere),
// and that the outcome is the same as an uninterrupted purge's.
func TestPurgeCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds the binary and runs many purges")
	}
	testenv.Tool(t, "ffmpeg")
	work := t.TempDir()
	bin := testenv.StaticBinary(t)
	template := filepath.Join(work, "template")
	want := makePurgeStore(t, work, template)

	const policyTime = "2026-11-24T12:00:00Z"
	env := append(os.Environ(), "CUSTODY_PASSPHRASE=crash-pass", "CUSTODY_NOW="+policyTime)
	purge := func(dir string) *exec.Cmd {
		cmd := exec.Command(bin, "purge", "--store", dir, "--actor", "crash-test")
		cmd.Env = env
		return cmd
	}
	// An uninterrupted purge, to time it and to know the outcome.
	ref := filepath.Join(work, "ref")
	copyTree(t, template, ref)
	start := time.Now()
	if out, err := purge(ref).CombinedOutput(); err != nil {
		t.Fatalf("reference purge: %v\n%s", err, out)
	}
	full := time.Since(start)
	refPurged := checkPurgeOutcome(t, ref, want)
	if len(refPurged) != len(want.purged) {
		t.Fatalf("reference purge removed %v, want %v", refPurged, want.purged)
	}

	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, 1))
	t.Logf("uninterrupted purge takes %v; seed %d", full, seed)
	iterations := 24
	killedMidway := 0 // the process had not finished
	partial := 0      // some clips tombstoned and not others, or files in flight
	for i := 0; i < iterations; i++ {
		dir := filepath.Join(work, fmt.Sprintf("run%02d", i))
		copyTree(t, template, dir)
		// One or two kills at random points, then a purge to the end.
		for k := 0; k < 1+i%2; k++ {
			cmd := purge(dir)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			delay := time.Duration(rng.Int64N(int64(full)))
			time.Sleep(delay)
			cmd.Process.Kill()
			err := cmd.Wait()
			if err != nil {
				killedMidway++
			}
			if n := tombstones(t, dir); n > 0 && n < len(want.purged) || stagingCount(dir) > 0 {
				partial++
			}
			rep, verr := verify.Store(context.Background(), dir, verify.StoreOptions{})
			if verr != nil {
				t.Fatal(verr)
			}
			if !rep.Verified {
				t.Fatalf("run %d kill %d after %v: verify fails straight after the crash: %+v\n%s", i, k, delay, rep.Problems, out.String())
			}
		}
		if out, err := purge(dir).CombinedOutput(); err != nil {
			t.Fatalf("run %d: purge after the crash: %v\n%s", i, err, out)
		}
		got := checkPurgeOutcome(t, dir, want)
		if strings.Join(got, ",") != strings.Join(refPurged, ",") {
			t.Fatalf("run %d: purged %v, an uninterrupted purge purged %v", i, got, refPurged)
		}
		// And purging again changes nothing.
		out, err := purge(dir).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "nothing to purge") {
			t.Fatalf("run %d: purge is not idempotent: %v\n%s", i, err, out)
		}
		os.RemoveAll(dir)
	}
	if killedMidway < iterations/2 || partial < 3 {
		t.Fatalf("only %d kills landed before the purge finished, %d with the purge half done: the delays are not exercising it", killedMidway, partial)
	}
	t.Logf("%d runs: %d kills before the purge finished, %d of them with the purge half done; every crash left a verifying store and every rerun completed it", iterations, killedMidway, partial)
}

type purgeWant struct {
	purged []string // clip ids an uninterrupted purge removes, in import order
	kept   []string
}

// makePurgeStore builds a dual-control store with clips in every purge
// situation: expired, held, consent declined, fresh, one with a redacted
// derivative and review material, and an unused approval.
func makePurgeStore(t *testing.T, work, dir string) purgeWant {
	ctx := context.Background()
	s, err := store.Init(ctx, dir, store.InitOptions{Passphrase: []byte("crash-pass"), WorkFactor: 10, Actor: "setup", DualControl: true})
	if err != nil {
		t.Fatal(err)
	}
	dpo, nurse := testPerson(t, work, "dpo"), testPerson(t, work, "nurse")
	// The station registers both while the store has no DPO (the DPO, who
	// approves the nurse's requests, must not be the one who registered her
	// alone).
	if _, err := s.AddUser(ctx, nil, store.UserSpec{Name: "nurse", Role: store.RoleClinician, Key: nurse.pub}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, nil, store.UserSpec{Name: "dpo", Role: store.RoleDPO, Key: dpo.pub}, nil); err != nil {
		t.Fatal(err)
	}
	var want purgeWant
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		path := filepath.Join(work, fmt.Sprintf("c%d.mp4", i))
		if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "1",
			"-c:v", "libx264", "-preset", "ultrafast", "-metadata", fmt.Sprintf("comment=clip %d", i), "-y", path).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v %s", err, out)
		}
		opts := store.ImportOptions{Owner: "nurse", RecordedAt: day.Add(time.Duration(i) * time.Hour)}
		expired := i < 7 // recorded before 12:00 on the 22nd: past 48 h at the policy time
		if i == 8 {
			opts.Consent = &store.ConsentRecord{State: store.ConsentDeclined, By: "patient"}
		}
		if i >= 7 {
			opts.RecordedAt = day.Add(36 * time.Hour)
		}
		c, err := s.Import(ctx, path, opts)
		if err != nil {
			t.Fatal(err)
		}
		held := i == 3
		if held {
			if _, err := s.Hold(ctx, nil, store.HoldRequest{Clips: []string{c.ID}, Incident: "INC", Reason: "keep"}); err != nil {
				t.Fatal(err)
			}
		}
		if i == 1 {
			// A redacted derivative with review material and its derived
			// key, made under an approved redaction request.
			r, err := s.Request(ctx, nurse.p, c.ID, store.RequestOptions{Reason: "r", Incident: "i", Purpose: store.PurposeRedact})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Approve(ctx, dpo.p, r.ID, store.ApproveOptions{}); err != nil {
				t.Fatal(err)
			}
			d, err := s.BeginDerive(ctx, c.ID, store.DeriveOptions{As: nurse.p})
			if err != nil {
				t.Fatal(err)
			}
			v, err := d.Seal(ctx, strings.NewReader("redacted video bytes"), nil)
			if err != nil {
				t.Fatal(err)
			}
			rv, err := d.Seal(ctx, strings.NewReader("review tracks"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Commit(ctx, v, []*store.Sealing{rv}, store.DerivePayload{Redaction: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
			d.Close()
		}
		if i == 2 {
			// An approved, unused request: its grant goes with the clip.
			r, err := s.Request(ctx, nurse.p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Approve(ctx, dpo.p, r.ID, store.ApproveOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if (expired && !held) || i == 8 {
			want.purged = append(want.purged, c.ID)
		} else {
			want.kept = append(want.kept, c.ID)
		}
	}
	return want
}

// checkPurgeOutcome checks that every clip is wholly there or wholly gone
// and that the store verifies; it returns the purged originals.
func checkPurgeOutcome(t *testing.T, dir string, want purgeWant) []string {
	t.Helper()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := s.ReadLedger()
	if err != nil {
		t.Fatal(err)
	}
	st := store.Replay(l)
	exists := func(o store.Object) []string {
		var where []string
		for _, p := range []string{filepath.Join(dir, o.Path), filepath.Join(dir, store.StagingDir, o.ID+".age.partial")} {
			if _, err := os.Stat(p); err == nil {
				where = append(where, p)
			}
		}
		return where
	}
	var purged []string
	for _, id := range st.Order {
		c := st.Clips[id]
		if c.Status == store.StatusPurged {
			if c.Kind == "original" {
				purged = append(purged, id)
			}
			for _, o := range c.Purge.Objects {
				if w := exists(o); len(w) > 0 {
					t.Fatalf("clip %s is purged but %v is still there", id, w)
				}
			}
			continue
		}
		objs := []store.Object{c.Object}
		for _, sh := range c.Shares {
			objs = append(objs, sh.Object)
		}
		if c.Derivation != nil {
			objs = append(objs, c.Derivation.Review...)
		}
		for _, o := range objs {
			if _, err := os.Stat(filepath.Join(dir, o.Path)); err != nil {
				t.Fatalf("clip %s is live but its file %s is not in place: %v", id, o.Path, err)
			}
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, store.StagingDir)); len(ents) != 0 {
		t.Fatalf("staging not empty after a completed purge: %v", ents)
	}
	rep, err := verify.Store(context.Background(), dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verified {
		t.Fatalf("verify fails after purge: %+v", rep.Problems)
	}
	return purged
}

type crashPerson struct {
	pub string
	p   *store.Person
}

func testPerson(t *testing.T, dir, name string) crashPerson {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(block)
	p, err := store.LoadPerson([]store.KeyFile{{Name: name, Data: data}}, store.PersonOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return crashPerson{pub: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p.Signer.PublicKey()))), p: p}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

// tombstones counts purge entries in the store's ledger.
func tombstones(t *testing.T, dir string) int {
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := s.ReadLedger()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range l.Records {
		if r.Entry.Action == "purge" {
			n++
		}
	}
	return n
}

func stagingCount(dir string) int {
	ents, _ := os.ReadDir(filepath.Join(dir, store.StagingDir))
	return len(ents)
}
