package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

// person is a test user with a real OpenSSH ed25519 key on disk, the kind
// `ssh-keygen -t ed25519` makes.
type person struct {
	name, role string
	keyPath    string // private key (OpenSSH format)
	pub        string // authorized_keys line
	p          *store.Person
}

func newPerson(t testing.TB, dir, name, role string) *person {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(block)
	path := filepath.Join(dir, name+".key")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sg, _ := ssh.NewSignerFromKey(priv)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sg.PublicKey())))
	if err := os.WriteFile(path+".pub", []byte(pub+" "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := store.LoadPerson([]store.KeyFile{{Name: path, Data: data}}, store.PersonOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &person{name: name, role: role, keyPath: path, pub: pub, p: p}
}

// clock is a settable clock for the store's ledger times.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// mkclip makes a real H.264 clip with ffmpeg; seed makes its bytes unique.
func mkclip(t testing.TB, path string, seed int) {
	t.Helper()
	testenv.Tool(t, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-metadata", "comment="+filepath.Base(path)+strings.Repeat("x", seed), "-y", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// fixture is a store with people.
type fixture struct {
	t     testing.TB
	dir   string
	s     *store.Store
	clock *clock
	ctx   context.Context
	users map[string]*person
}

const govPass = "test-station-passphrase"

// newFixture makes a store; dual selects dual control. Everyone is
// registered by the station at init (as init --dpo does for DPOs), so
// that any DPO may approve anyone's requests (a DPO does not approve those
// of a person they registered alone).
func newFixture(t testing.TB, dual bool, people ...[2]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, clock: &clock{t: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)}, ctx: context.Background(), users: map[string]*person{}}
	keys := filepath.Join(dir, "keys")
	os.Mkdir(keys, 0o700)
	var recips []string
	if !dual {
		recips = []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}
	}
	var specs []store.UserSpec
	for _, nr := range people {
		pp := newPerson(t, keys, nr[0], nr[1])
		f.users[nr[0]] = pp
		specs = append(specs, store.UserSpec{Name: pp.name, Role: pp.role, Key: pp.pub})
	}
	s, err := store.Init(f.ctx, filepath.Join(dir, "st"), store.InitOptions{Recipients: recips, Passphrase: []byte(govPass), WorkFactor: 10, Actor: "operator", Now: f.clock.now, DualControl: dual, People: specs})
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	return f
}

func (f *fixture) u(name string) *person { return f.users[name] }

// importClip imports a fresh clip recorded at rec.
func (f *fixture) importClip(name string, rec time.Time, opts store.ImportOptions) *store.Clip {
	f.t.Helper()
	path := filepath.Join(f.dir, name)
	mkclip(f.t, path, len(name)+int(rec.Unix()%97))
	opts.RecordedAt = rec
	c, err := f.s.Import(f.ctx, path, opts)
	if err != nil {
		f.t.Fatalf("import %s: %v", name, err)
	}
	return c
}

func (f *fixture) state() *store.State {
	f.t.Helper()
	l, _, err := f.s.ReadLedger()
	if err != nil {
		f.t.Fatal(err)
	}
	return store.Replay(l)
}

func (f *fixture) clip(id string) *store.Clip {
	f.t.Helper()
	c, err := f.state().Find(id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// verified fails the test unless verify passes on the store.
func (f *fixture) verified() {
	f.t.Helper()
	rep, err := verify.Store(f.ctx, f.s.Dir, verify.StoreOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	if !rep.Verified {
		for _, p := range rep.Problems {
			f.t.Errorf("verify: %s %s: %s", p.Code, p.Subject, p.Message)
		}
		f.t.FailNow()
	}
}

// files lists every regular file under the store.
func (f *fixture) files() []string {
	var out []string
	filepath.Walk(f.s.Dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// decodeSig turns a ledger signature into the armored form ssh-keygen reads.
func decodeSig(b64 string) (string, error) {
	blob, err := seal.DecodeSig(b64)
	if err != nil {
		return "", err
	}
	return string(seal.ArmorSignature(blob)), nil
}

// refusedRules lists the rules of the "refused" entries after entry from.
func refusedRules(t testing.TB, s *store.Store, from uint64) []string {
	t.Helper()
	var out []string
	for _, rec := range ledger(t, s).Records[from:] {
		if rec.Entry.Action != "refused" {
			if rec.Entry.Action != "access.denied" {
				t.Fatalf("entry %d (%s) after a refusal", rec.Entry.Seq, rec.Entry.Action)
			}
			continue
		}
		var p store.RefusedPayload
		if err := rec.Payload(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Rule)
	}
	return out
}

// splitAnomalies separates the flags refusals raise (each refusal is
// ledgered) from those that mean a rule was broken or strained.
func splitAnomalies(st *store.State) (refused []string, other []store.Anomaly) {
	for _, a := range st.Anomalies {
		if a.Code == "refused" || a.Code == "failed-attempts" {
			refused = append(refused, a.Code+":"+ruleOf(a.Msg))
			continue
		}
		other = append(other, a)
	}
	return refused, other
}

func ruleOf(msg string) string {
	_, r, ok := strings.Cut(msg, "(rule ")
	if !ok {
		return ""
	}
	r, _, _ = strings.Cut(r, ")")
	return r
}
