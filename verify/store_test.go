package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

func TestCleanStoreVerifies(t *testing.T) {
	f := newFixture(t)
	r, err := verify.Store(context.Background(), f.dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Verified || r.Err() != nil || len(r.Problems) != 0 || len(r.Notes) != 0 {
		t.Fatalf("clean store: %+v", r)
	}
	var total int64
	for _, c := range f.clips {
		total += c.Object.CipherSize
	}
	if r.Kind != "store" || r.Entries != 5 || r.Checkpoint != 5 || r.Objects != 3 || r.Bytes != total || !r.Trusted ||
		r.StationKey != seal.Fingerprint(f.station.PublicKey()) {
		t.Fatalf("report %+v", r)
	}
	// Pinned to the right key.
	r, err = verify.Store(context.Background(), f.dir, verify.StoreOptions{PinnedKey: f.station.PublicKey()})
	if err != nil || !r.Verified || !r.Trusted {
		t.Fatalf("pinned to the station key: %+v %v", r, err)
	}
	// The report is JSON for scripts.
	j, _ := json.Marshal(r)
	if !bytes.Contains(j, []byte(`"verified":true`)) || !bytes.Contains(j, []byte(`"problems":[]`)) {
		t.Fatalf("JSON %s", j)
	}
}

// tamperCase damages a copy of the fixture; verification must then fail
// with exactly the listed problem codes.
type tamperCase struct {
	name   string
	tamper func(t *testing.T, f *fixture) verify.StoreOptions
	codes  []string
}

func tamperCases() []tamperCase {
	none := verify.StoreOptions{}
	return []tamperCase{
		{"flipped byte in a sealed file", func(t *testing.T, f *fixture) verify.StoreOptions {
			b, _ := os.ReadFile(f.object(1))
			b[len(b)/2] ^= 0x01
			os.WriteFile(f.object(1), b, 0o600)
			return none
		}, []string{"object-hash"}},
		{"flipped byte in a sealed file's header", func(t *testing.T, f *fixture) verify.StoreOptions {
			b, _ := os.ReadFile(f.object(0))
			b[30] ^= 0x01
			os.WriteFile(f.object(0), b, 0o600)
			return none
		}, []string{"object-hash"}},
		{"deleted sealed file", func(t *testing.T, f *fixture) verify.StoreOptions {
			os.Remove(f.object(2))
			return none
		}, []string{"object-missing"}},
		{"truncated sealed file", func(t *testing.T, f *fixture) verify.StoreOptions {
			b, _ := os.ReadFile(f.object(0))
			os.WriteFile(f.object(0), b[:len(b)-1000], 0o600)
			return none
		}, []string{"object-size"}},
		{"sealed file appended to", func(t *testing.T, f *fixture) verify.StoreOptions {
			fh, _ := os.OpenFile(f.object(0), os.O_APPEND|os.O_WRONLY, 0)
			fh.Write([]byte("x"))
			fh.Close()
			return none
		}, []string{"object-size"}},
		{"sealed files swapped", func(t *testing.T, f *fixture) verify.StoreOptions {
			a, b := f.object(0), f.object(1)
			os.Rename(a, a+".tmp")
			os.Rename(b, a)
			os.Rename(a+".tmp", b)
			return none
		}, []string{"object-hash"}},
		{"sealed file re-sealed to another key", func(t *testing.T, f *fixture) verify.StoreOptions {
			// Someone with the recipient key decrypts and re-encrypts the
			// same plaintext to themselves: the ciphertext hash changes.
			other, _ := age.GenerateX25519Identity()
			in, _ := os.Open(f.object(1))
			var plain bytes.Buffer
			if _, err := seal.Open(context.Background(), &plain, in, []age.Identity{f.id}, f.clips[1].Object.SHA256, nil); err != nil {
				t.Fatal(err)
			}
			in.Close()
			out, _ := os.Create(f.object(1))
			if _, err := seal.Seal(context.Background(), out, &plain, []age.Recipient{other.Recipient()}, nil); err != nil {
				t.Fatal(err)
			}
			out.Close()
			return none
		}, []string{"object-hash"}},
		{"sealed file replaced by a directory", func(t *testing.T, f *fixture) verify.StoreOptions {
			os.Remove(f.object(0))
			os.Mkdir(f.object(0), 0o700)
			return none
		}, []string{"object-not-regular"}},
		{"sealed file replaced by a symlink to a copy outside", func(t *testing.T, f *fixture) verify.StoreOptions {
			outside := filepath.Join(t.TempDir(), "copy.age")
			os.Rename(f.object(0), outside)
			os.Symlink(outside, f.object(0))
			return none
		}, []string{"object-not-regular"}},
		{"keys/ replaced by a symlink to a directory elsewhere", func(t *testing.T, f *fixture) verify.StoreOptions {
			os.Symlink(t.TempDir(), f.path(store.KeysDir))
			return none
		}, []string{"object-not-regular"}},
		{"stray unreferenced sealed file", func(t *testing.T, f *fixture) verify.StoreOptions {
			b, _ := os.ReadFile(f.object(0))
			os.WriteFile(f.path(store.ObjectsDir+"/0badc0ffee00.age"), b, 0o600)
			return none
		}, []string{"object-stray"}},
		{"stray file named like a temporary file", func(t *testing.T, f *fixture) verify.StoreOptions {
			// custody writes no temporary files in objects/: a name does
			// not excuse a sealed file the ledger does not register.
			b, _ := os.ReadFile(f.object(0))
			os.WriteFile(f.path(store.ObjectsDir+"/.checkpoint.tmp-1"), b, 0o600)
			return none
		}, []string{"object-stray"}},
		{"stray file of another kind", func(t *testing.T, f *fixture) verify.StoreOptions {
			os.WriteFile(f.path(store.ObjectsDir+"/notes.txt"), []byte("x"), 0o600)
			return none
		}, []string{"object-stray"}},
		{"edited ledger entry", func(t *testing.T, f *fixture) verify.StoreOptions {
			ls := f.lines(t)
			ls[2] = bytes.Replace(ls[2], []byte(`"note":"clip 2"`), []byte(`"note":"clip X"`), 1)
			f.writeLines(t, ls)
			return none
		}, []string{"checkpoint-root", "ledger-actor", "ledger-chain", "ledger-signature"}},
		{"edited last ledger entry", func(t *testing.T, f *fixture) verify.StoreOptions {
			ls := f.lines(t)
			ls[4] = bytes.Replace(ls[4], []byte("SAR 2026/7"), []byte("SAR 2026/8"), 1)
			f.writeLines(t, ls)
			return none
		}, []string{"checkpoint-root", "ledger-actor", "ledger-signature"}},
		{"ledger entry edited out of canonical form", func(t *testing.T, f *fixture) verify.StoreOptions {
			ls := f.lines(t)
			ls[2] = bytes.Replace(ls[2], []byte(`"seq":2,`), []byte(`"seq": 2,`), 1)
			f.writeLines(t, ls)
			return none
		}, []string{"ledger-malformed"}},
		{"ledger entry signed with a duplicate payload key", func(t *testing.T, f *fixture) verify.StoreOptions {
			// Whoever holds the station key signs an access whose reason
			// encoding/json reads as "SAR 2026/7" and most other parsers as
			// "routine": canonical in form, validly signed, ambiguous.
			ls := f.lines(t)
			rec, err := manifest.ParseLine(ls[4])
			if err != nil {
				t.Fatal(err)
			}
			e := rec.Entry
			e.Payload = bytes.Replace(e.Payload, []byte(`"reason":"SAR 2026/7"`), []byte(`"reason":"routine","reason":"SAR 2026/7"`), 1)
			if bytes.Equal(e.Payload, rec.Entry.Payload) {
				t.Fatalf("no reason in %s", e.Payload)
			}
			forged, err := manifest.NewRecord(e, f.station)
			if err != nil {
				t.Fatal(err)
			}
			ls[4] = forged.Line
			f.writeLines(t, ls)
			return none
		}, []string{"ledger-duplicate-key"}},
		{"deleted ledger entry", func(t *testing.T, f *fixture) verify.StoreOptions {
			// The import of clip 2 disappears; its sealed file is then stray.
			f.writeLines(t, slices.Delete(f.lines(t), 2, 3))
			return none
		}, []string{"ledger-chain", "ledger-seq", "ledger-truncated", "object-stray"}},
		{"reordered ledger entries", func(t *testing.T, f *fixture) verify.StoreOptions {
			ls := f.lines(t)
			ls[2], ls[3] = ls[3], ls[2]
			f.writeLines(t, ls)
			return none
		}, []string{"checkpoint-root", "ledger-chain", "ledger-seq", "ledger-time"}},
		{"swapped signatures", func(t *testing.T, f *fixture) verify.StoreOptions {
			ls := f.lines(t)
			s2, s3 := sigsPart(t, ls[2]), sigsPart(t, ls[3])
			ls[2] = bytes.Replace(ls[2], s2, s3, 1)
			ls[3] = bytes.Replace(ls[3], s3, s2, 1)
			f.writeLines(t, ls)
			return none
		}, []string{"checkpoint-root", "ledger-actor", "ledger-chain", "ledger-signature"}},
		{"ledger truncated by a whole entry", func(t *testing.T, f *fixture) verify.StoreOptions {
			f.writeLines(t, f.lines(t)[:4])
			return none
		}, []string{"ledger-truncated"}},
		{"ledger truncated by several entries", func(t *testing.T, f *fixture) verify.StoreOptions {
			// Only the genesis is left; the imports' files are then stray.
			f.writeLines(t, f.lines(t)[:1])
			return none
		}, []string{"ledger-truncated", "object-stray"}},
		{"ledger cut mid-line within the checkpoint", func(t *testing.T, f *fixture) verify.StoreOptions {
			b := f.read(t, store.LedgerFile)
			f.write(t, store.LedgerFile, b[:len(b)-200])
			return none
		}, []string{"ledger-truncated"}},
		{"ledger missing", func(t *testing.T, f *fixture) verify.StoreOptions {
			os.Remove(f.path(store.LedgerFile))
			return none
		}, []string{"ledger-missing"}},
		{"checkpoint missing", func(t *testing.T, f *fixture) verify.StoreOptions {
			os.Remove(f.path(store.CheckpointFile))
			return none
		}, []string{"checkpoint-missing"}},
		{"checkpoint damaged", func(t *testing.T, f *fixture) verify.StoreOptions {
			cp := f.read(t, store.CheckpointFile)
			f.write(t, store.CheckpointFile, bytes.Replace(cp, []byte("\n5\n"), []byte("\n4\n"), 1))
			return none
		}, []string{"checkpoint-signature"}},
		{"text after the checkpoint's signature", func(t *testing.T, f *fixture) verify.StoreOptions {
			f.write(t, store.CheckpointFile, append(f.read(t, store.CheckpointFile), "size 9\n"...))
			return none
		}, []string{"checkpoint-signature"}},
		{"text before the checkpoint's signature", func(t *testing.T, f *fixture) verify.StoreOptions {
			cp := f.read(t, store.CheckpointFile)
			f.write(t, store.CheckpointFile, bytes.Replace(cp, []byte("\n\n-----BEGIN"), []byte("\n\nsize 9\n-----BEGIN"), 1))
			return none
		}, []string{"checkpoint-signature"}},
		{"checkpoint signed by another key", func(t *testing.T, f *fixture) verify.StoreOptions {
			l := f.ledger(t)
			s, _ := store.Open(f.dir)
			c, err := manifest.NewCheckpoint(l, s.Origin(), l.Len(), time.Now(), newKey(t))
			if err != nil {
				t.Fatal(err)
			}
			f.write(t, store.CheckpointFile, c.Marshal())
			return none
		}, []string{"checkpoint-signer"}},
		{"checkpoint of another store", func(t *testing.T, f *fixture) verify.StoreOptions {
			l := f.ledger(t)
			c, err := manifest.NewCheckpoint(l, "custody/store/ffffffffffffffffffffffffffffffff", l.Len(), time.Now(), f.station)
			if err != nil {
				t.Fatal(err)
			}
			f.write(t, store.CheckpointFile, c.Marshal())
			return none
		}, []string{"checkpoint-origin"}},
		{"ledger rewritten with a fresh signing key", func(t *testing.T, f *fixture) verify.StoreOptions {
			// Every entry re-signed, the access reason changed; the old
			// checkpoint and station.pub are left as they were.
			f.rewrite(t, newKey(t), func(e *manifest.Entry) {
				if e.Action == "access" {
					e.Payload = bytes.Replace(e.Payload, []byte("SAR 2026/7"), []byte("routine"), 1)
				}
			})
			return none
		}, []string{"checkpoint-root", "checkpoint-signer", "station-key-file"}},
		{"whole store re-signed, station key pinned", func(t *testing.T, f *fixture) verify.StoreOptions {
			// A complete, consistent forgery with a new station key only
			// fails against the key a third party pinned.
			key := newKey(t)
			l := f.rewrite(t, key, nil)
			s, _ := store.Open(f.dir)
			c, _ := manifest.NewCheckpoint(l, s.Origin(), l.Len(), time.Now(), key)
			f.write(t, store.CheckpointFile, c.Marshal())
			f.write(t, store.StationPubFile, []byte(seal.AuthorizedKey(key.PublicKey())+"\n"))
			return verify.StoreOptions{PinnedKey: f.station.PublicKey()}
		}, []string{"station-key-pin"}},
		{"pinned key mismatch", func(t *testing.T, f *fixture) verify.StoreOptions {
			return verify.StoreOptions{PinnedKey: newKey(t).PublicKey()}
		}, []string{"station-key-pin"}},
		{"station.pub replaced", func(t *testing.T, f *fixture) verify.StoreOptions {
			f.write(t, store.StationPubFile, []byte(seal.AuthorizedKey(newKey(t).PublicKey())+" custody-station\n"))
			return none
		}, []string{"station-key-file"}},
		{"store id changed", func(t *testing.T, f *fixture) verify.StoreOptions {
			cfg := f.read(t, store.ConfigFile)
			var c store.Config
			json.Unmarshal(cfg, &c)
			f.write(t, store.ConfigFile, bytes.Replace(cfg, []byte(c.ID), []byte(strings.Repeat("e", len(c.ID))), 1))
			return none
		}, []string{"checkpoint-origin", "store-id"}},
	}
}

func TestTamper(t *testing.T) {
	for _, c := range tamperCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			opts := c.tamper(t, f)
			r, err := verify.Store(context.Background(), f.dir, opts)
			if err != nil {
				t.Fatalf("could not verify: %v", err)
			}
			if r.Verified {
				t.Fatalf("tampered store verified: %+v", r)
			}
			if err := r.Err(); !errors.Is(err, verify.ErrFailed) {
				t.Fatalf("Err() = %v, want ErrFailed", err)
			}
			var got []string
			for _, p := range r.Problems {
				if !slices.Contains(got, p.Code) {
					got = append(got, p.Code)
				}
				if p.Message == "" {
					t.Errorf("problem %s has no message", p.Code)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.codes) {
				for _, p := range r.Problems {
					t.Logf("%s %s: %s", p.Code, p.Subject, p.Message)
				}
				t.Fatalf("problem codes %s, want %s", codes(got), codes(c.codes))
			}
			for _, code := range c.codes {
				if !r.HasCode(code) {
					t.Errorf("HasCode(%q) is false", code)
				}
			}
		})
	}
}

// sigsPart returns the `"sigs":[...]` part of a ledger line.
func sigsPart(t *testing.T, line []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(line, []byte(`,"sigs":[`))
	if i < 0 {
		t.Fatalf("no sigs in %s", line)
	}
	return line[i:]
}

// States a crash leaves behind are not tampering: the store verifies, with
// a note saying what the next write will do.
func TestInterruptedWritesVerify(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, f *fixture)
		note  string
	}{
		{"torn append after the checkpoint", func(t *testing.T, f *fixture) {
			fh, _ := os.OpenFile(f.path(store.LedgerFile), os.O_APPEND|os.O_WRONLY, 0)
			fh.Write([]byte(`{"entry":{"v":1,"seq":5,"ti`))
			fh.Close()
		}, "interrupted append"},
		{"entry after the checkpoint", func(t *testing.T, f *fixture) {
			l := f.ledger(t)
			s, _ := store.Open(f.dir)
			c, _ := manifest.NewCheckpoint(l, s.Origin(), 4, time.Now(), f.station)
			f.write(t, store.CheckpointFile, c.Marshal())
		}, "after the latest checkpoint"},
		{"committed import still in staging", func(t *testing.T, f *fixture) {
			os.Rename(f.object(1), f.path(store.StagingDir+"/"+f.clips[1].ID+".age.partial"))
		}, "still in staging"},
		{"uncommitted staging file", func(t *testing.T, f *fixture) {
			os.WriteFile(f.path(store.StagingDir+"/123456789abc.age.partial"), []byte("age-encryption.org/v1\n"), 0o600)
		}, "never committed"},
		{"checkpoint write cut short", func(t *testing.T, f *fixture) {
			f.write(t, ".checkpoint.tmp-2830417", f.read(t, store.CheckpointFile)[:40])
		}, ".checkpoint.tmp-2830417 is a temporary file left by an interrupted write"},
		{"export statement save cut short", func(t *testing.T, f *fixture) {
			os.Mkdir(f.path(store.ExportsDir), 0o700)
			f.write(t, store.ExportsDir+"/.5.statement.txt.tmp-99", []byte("custody-bundle-statement"))
		}, "exports/.5.statement.txt.tmp-99 is a temporary file left by an interrupted write"},
		{"station.pub missing", func(t *testing.T, f *fixture) {
			os.Remove(f.path(store.StationPubFile))
		}, "station.pub is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			c.setup(t, f)
			r, err := verify.Store(context.Background(), f.dir, verify.StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Verified {
				t.Fatalf("does not verify: %+v", r.Problems)
			}
			if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, c.note) }) {
				t.Fatalf("notes %q, want one about %q", r.Notes, c.note)
			}
		})
	}
}

// Verification cannot run at all on something that is not a store: that is
// an error, not a failed report.
func TestVerifyNotAStore(t *testing.T) {
	if r, err := verify.Store(context.Background(), t.TempDir(), verify.StoreOptions{}); !errors.Is(err, store.ErrNoStore) || r != nil {
		t.Fatalf("got %+v, %v; want ErrNoStore", r, err)
	}
}

func TestVerifyCancelled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := verify.Store(ctx, f.dir, verify.StoreOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// The same tamper cases through the CGO-free custody binary: exit status 1
// and a FAIL line naming each problem code; a clean store exits 0.
func TestVerifyCLI(t *testing.T) {
	bin := custodyBin(t)
	runVerify := func(dir string, pin ssh.PublicKey) (int, string) {
		args := []string{"verify", "--store", dir}
		if pin != nil {
			kf := dir + ".pin.pub"
			os.WriteFile(kf, []byte(seal.AuthorizedKey(pin)+"\n"), 0o644)
			args = append(args, "--key", kf)
		}
		out, err := exec.Command(bin, args...).CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	f := newFixture(t)
	if code, out := runVerify(f.dir, nil); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("clean store: exit %d\n%s", code, out)
	}
	if code, out := runVerify(t.TempDir(), nil); code != 2 {
		t.Fatalf("not a store: exit %d, want 2\n%s", code, out)
	}
	for _, c := range tamperCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			opts := c.tamper(t, f)
			code, out := runVerify(f.dir, opts.PinnedKey)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, out)
			}
			for _, want := range c.codes {
				if !strings.Contains(out, "FAIL "+want+" ") {
					t.Errorf("output does not report %s:\n%s", want, out)
				}
			}
			if !strings.Contains(out, "verification FAILED") {
				t.Errorf("no verdict line:\n%s", out)
			}
		})
	}
}
