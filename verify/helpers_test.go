package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
)

const testPass = "verify test passphrase"

// tmpRoot holds what several tests share: the template store and the
// custody binary. TestMain removes it.
var tmpRoot string

func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "custody-verify-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// fixture is a store with three imported clips and one access: ledger
// entries genesis(0), import(1), import(2), import(3), access(4), with the
// clock pinned one minute apart.
type fixture struct {
	dir     string
	clips   []*store.Clip // in import order
	station seal.Signer
	id      *age.X25519Identity
}

var (
	templateOnce sync.Once
	template     *fixture
	templateErr  error
)

// newFixture copies the template store into a fresh directory.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	templateOnce.Do(func() { template, templateErr = buildTemplate() })
	if templateErr != nil {
		t.Fatalf("building the template store: %v", templateErr)
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := copyTree(template.dir, dir); err != nil {
		t.Fatal(err)
	}
	f := *template
	f.dir = dir
	return &f
}

func buildTemplate() (*fixture, error) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, fmt.Errorf("ffmpeg not installed: run `make deps`")
	}
	work := filepath.Join(tmpRoot, "template")
	os.MkdirAll(work, 0o700)
	clock := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Minute); return clock }
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	s, err := store.Init(context.Background(), filepath.Join(work, "store"), store.InitOptions{
		Recipients: []string{id.Recipient().String()}, Passphrase: []byte(testPass), WorkFactor: 10, Actor: "station-operator", Now: now})
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: s.Dir, station: s.Signer(), id: id}
	base := filepath.Join(work, "base.mp4")
	if out, err := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i", "sine",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", base).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ffmpeg: %v %s", err, out)
	}
	for i := 1; i <= 3; i++ {
		v := filepath.Join(work, fmt.Sprintf("clip%d.mp4", i))
		if out, err := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-i", base, "-c", "copy", "-metadata", fmt.Sprintf("comment=clip %d", i), v).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ffmpeg: %v %s", err, out)
		}
		c, err := s.Import(context.Background(), v, store.ImportOptions{Device: "BWC-0042", Note: fmt.Sprintf("clip %d", i)})
		if err != nil {
			return nil, err
		}
		f.clips = append(f.clips, c)
	}
	_, err = s.OpenClip(context.Background(), f.clips[0].ID, store.OpenOptions{Identities: []age.Identity{id}, Identity: "dpo.key", Reason: "SAR 2026/7", Out: filepath.Join(work, "opened.mp4")})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		fi, _ := in.Stat()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

func (f *fixture) path(rel string) string { return filepath.Join(f.dir, filepath.FromSlash(rel)) }

func (f *fixture) object(i int) string { return f.path(f.clips[i].Object.Path) }

func (f *fixture) read(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(f.path(rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) write(t *testing.T, rel string, data []byte) {
	t.Helper()
	if err := os.WriteFile(f.path(rel), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// lines returns the ledger's lines without newlines.
func (f *fixture) lines(t *testing.T) [][]byte {
	t.Helper()
	data := f.read(t, store.LedgerFile)
	ls := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(ls) != 5 {
		t.Fatalf("fixture ledger has %d lines", len(ls))
	}
	return ls
}

func (f *fixture) writeLines(t *testing.T, ls [][]byte) {
	t.Helper()
	var b bytes.Buffer
	for _, l := range ls {
		b.Write(l)
		b.WriteByte('\n')
	}
	f.write(t, store.LedgerFile, b.Bytes())
}

func (f *fixture) ledger(t *testing.T) *manifest.Ledger {
	t.Helper()
	l, _, err := manifest.Parse(bytes.NewReader(f.read(t, store.LedgerFile)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// rewrite re-signs the whole ledger with key (a new station key named in a
// new genesis), passing each entry through edit: what someone holding the
// files but not the station key could do.
func (f *fixture) rewrite(t *testing.T, key seal.Signer, edit func(*manifest.Entry)) *manifest.Ledger {
	t.Helper()
	old := f.ledger(t)
	l, _, _ := manifest.Parse(bytes.NewReader(nil))
	var b bytes.Buffer
	for _, rec := range old.Records {
		e := rec.Entry
		if e.Action == "genesis" {
			var g manifest.GenesisPayload
			json.Unmarshal(e.Payload, &g)
			g.StationKey = seal.AuthorizedKey(key.PublicKey())
			e.Payload, _ = json.Marshal(g)
		}
		if edit != nil {
			edit(&e)
		}
		e.Actor.Key = ""
		nr, err := l.Next(e, rec.Entry.When(), key)
		if err != nil {
			t.Fatal(err)
		}
		l.Add(nr)
		b.Write(manifest.Encode(nr))
	}
	f.write(t, store.LedgerFile, b.Bytes())
	return l
}

func newKey(t *testing.T) seal.Signer {
	t.Helper()
	s, err := seal.NewStationKey(io.Discard, []byte("x"), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// custodyBin is the CGO-free custody binary.
func custodyBin(t *testing.T) string { return testenv.StaticBinary(t) }

func codes(ps []string) string { return strings.Join(ps, ",") }
