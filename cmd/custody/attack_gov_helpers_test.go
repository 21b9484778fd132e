package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

// govAttack is a store for the governance attacks (issue 11 rows 3, 4 and
// 7), made through the library as custody makes it: the station registers
// dana as the first DPO. Attackers act with the keys they hold: custody's
// own API where it lets them, and entries they sign themselves (as an
// older custody wrote them) where it does not. Only library calls that
// custody had before the fixes are used, so the tests also run on that
// build.
type govAttack struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	s      *store.Store
	people map[string]*store.Person
	pubs   map[string]string
}

func newGovAttack(t *testing.T, dual bool) *govAttack {
	t.Helper()
	testenv.Tool(t, "ffmpeg")
	g := &govAttack{t: t, ctx: context.Background(), dir: t.TempDir(), people: map[string]*store.Person{}, pubs: map[string]string{}}
	opts := store.InitOptions{Passphrase: []byte("attack-pass"), WorkFactor: 10, Actor: "operator", DualControl: dual}
	if !dual {
		id, _ := age.GenerateX25519Identity()
		opts.Recipients = []string{id.Recipient().String()}
	}
	s, err := store.Init(g.ctx, filepath.Join(g.dir, "st"), opts)
	if err != nil {
		t.Fatal(err)
	}
	g.s = s
	if _, err := s.AddUser(g.ctx, nil, store.UserSpec{Name: "dana", Role: store.RoleDPO, Key: g.key("dana")}, nil); err != nil {
		t.Fatal(err)
	}
	return g
}

// key makes a fresh ed25519 key for name and returns its public line.
func (g *govAttack) key(name string) string {
	g.t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		g.t.Fatal(err)
	}
	p, err := store.LoadPerson([]store.KeyFile{{Name: name, Data: pem.EncodeToMemory(block)}}, store.PersonOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	g.people[name], g.pubs[name] = p, seal.AuthorizedKey(p.Signer.PublicKey())
	return g.pubs[name]
}

// statement is a statement signed by who ("" for the station) as custody
// writes them.
func (g *govAttack) statement(who, action string, lines ...string) store.Statement {
	g.t.Helper()
	sg, name := g.s.Signer(), "operator"
	if who != "" {
		sg, name = g.people[who].Signer, who
	}
	text := fmt.Sprintf("%s\nstore %s\nactor %s %s\nsigned-at %s\n", store.StatementNamespace(action), g.s.Config.ID, name,
		seal.Fingerprint(sg.PublicKey()), time.Now().UTC().Format(time.RFC3339))
	for _, l := range lines {
		text += l + "\n"
	}
	blob, err := sg.Sign(store.StatementNamespace(action), []byte(text))
	if err != nil {
		g.t.Fatal(err)
	}
	return store.Statement{Text: text, Sig: string(seal.ArmorSignature(blob))}
}

// sign appends an entry signed by who ("" for the station), through the
// library's ordinary write path.
func (g *govAttack) sign(who, action, clip string, payload any) {
	g.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		g.t.Fatal(err)
	}
	var as *store.Person
	if who != "" {
		as = g.people[who]
	}
	err = g.s.UpdateAs(g.ctx, as, func(tx *store.Tx) error {
		_, err := tx.Append(manifest.Entry{Action: action, Clip: clip, Payload: b})
		return err
	})
	if err != nil {
		g.t.Fatal(err)
	}
}

// registration is the user.add entry custody before the fix wrote when
// by registered name, with the key made for holder, alone.
func (g *govAttack) registration(by, name, role, holder string) store.UserPayload {
	g.t.Helper()
	pub, err := seal.ParsePublicKey(g.pubs[holder])
	if err != nil {
		g.t.Fatal(err)
	}
	return store.UserPayload{KeyPayload: manifest.KeyPayload{Name: name, Role: role, Key: g.pubs[holder]}, Recipient: g.pubs[holder],
		Statement: g.statement(by, "user.add", "name "+name, "role "+role, "key "+seal.Fingerprint(pub))}
}

// importClip imports a fresh real clip recorded at rec.
func (g *govAttack) importClip(owner string, rec time.Time) *store.Clip {
	g.t.Helper()
	path := filepath.Join(g.dir, fmt.Sprintf("clip-%d.mp4", time.Now().UnixNano()))
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-metadata", "comment="+path, "-y", path).CombinedOutput(); err != nil {
		g.t.Fatalf("ffmpeg: %v %s", err, out)
	}
	c, err := g.s.Import(g.ctx, path, store.ImportOptions{Owner: owner, RecordedAt: rec})
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

func (g *govAttack) state() *store.State {
	g.t.Helper()
	st, err := g.s.State()
	if err != nil {
		g.t.Fatal(err)
	}
	return st
}

// verifyCodes runs verify --store and returns its problem codes.
func (g *govAttack) verifyCodes() (codes []string, verified bool) {
	g.t.Helper()
	rep, err := verify.Store(g.ctx, g.s.Dir, verify.StoreOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range rep.Problems {
		if !seen[p.Code] {
			seen[p.Code] = true
			codes = append(codes, p.Code)
		}
	}
	sort.Strings(codes)
	return codes, rep.Verified
}

// flagged lists the codes custody log --anomalies gives.
func (g *govAttack) flagged() map[string]bool {
	out := map[string]bool{}
	for _, a := range g.state().Anomalies {
		out[a.Code] = true
	}
	return out
}
