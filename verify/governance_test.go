package verify_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

// govFixture is a dual-control store with two DPOs (dana, dave), a
// clinician (nina) and an investigator (ian); clip a is nina's, clip b
// dave's. Every person has a real OpenSSH ed25519 key.
type govFixture struct {
	dir    string
	s      *store.Store
	people map[string]*store.Person
	pubs   map[string]string // authorized_keys lines
	a, b   *store.Clip
	ctx    context.Context
}

const govPass = "verify governance passphrase"

var (
	govOnce     sync.Once
	govTemplate *govFixture
	govErr      error
)

func newGovFixture(t *testing.T) *govFixture {
	t.Helper()
	govOnce.Do(func() { govTemplate, govErr = buildGovTemplate() })
	if govErr != nil {
		t.Fatalf("building the dual-control template: %v", govErr)
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := copyTree(govTemplate.dir, dir); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock([]byte(govPass)); err != nil {
		t.Fatal(err)
	}
	s.Actor = "operator"
	g := *govTemplate
	g.dir, g.s = dir, s
	return &g
}

func buildGovTemplate() (*govFixture, error) {
	ctx := context.Background()
	work := filepath.Join(tmpRoot, "gov")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	g := &govFixture{people: map[string]*store.Person{}, pubs: map[string]string{}, ctx: ctx}
	// Everyone is registered by the station at init, so that either DPO
	// may approve anyone's requests.
	var specs []store.UserSpec
	for _, nr := range [][2]string{{"dana", store.RoleDPO}, {"dave", store.RoleDPO}, {"nina", store.RoleClinician}, {"ian", store.RoleInvestigator}} {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, err := ssh.MarshalPrivateKey(priv, nr[0])
		if err != nil {
			return nil, err
		}
		p, err := store.LoadPerson([]store.KeyFile{{Name: nr[0], Data: pem.EncodeToMemory(block)}}, store.PersonOptions{})
		if err != nil {
			return nil, err
		}
		g.people[nr[0]] = p
		g.pubs[nr[0]] = seal.AuthorizedKey(p.Signer.PublicKey())
		specs = append(specs, store.UserSpec{Name: nr[0], Role: nr[1], Key: g.pubs[nr[0]]})
	}
	s, err := store.Init(ctx, filepath.Join(work, "store"), store.InitOptions{Passphrase: []byte(govPass), WorkFactor: 10, Actor: "operator", DualControl: true, People: specs})
	if err != nil {
		return nil, err
	}
	g.dir, g.s = s.Dir, s
	for i, owner := range []string{"nina", "dave"} {
		path := filepath.Join(work, fmt.Sprintf("%c.mp4", 'a'+i))
		if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "1",
			"-c:v", "libx264", "-preset", "ultrafast", "-metadata", "comment="+owner, "-y", path).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ffmpeg: %v %s", err, out)
		}
		c, err := s.Import(ctx, path, store.ImportOptions{Owner: owner})
		if err != nil {
			return nil, err
		}
		if i == 0 {
			g.a = c
		} else {
			g.b = c
		}
	}
	return g, nil
}

// forge appends an entry signed by who (or the station, for "station")
// through the library: a key the ledger authorises, writing an entry that
// custody itself would refuse to write.
func (g *govFixture) forge(t *testing.T, who, action, clip string, payload any) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	err = g.s.Update(g.ctx, func(tx *store.Tx) error {
		e := manifest.Entry{Action: action, Clip: clip, Payload: b}
		if who == "station" {
			_, err := tx.Append(e)
			return err
		}
		e.Actor.Name = who
		_, err := tx.Append(e, g.people[who].Signer)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stmt is a statement signed by signer (a person, or the station for
// "station") in the namespace of action, as custody writes them.
func (g *govFixture) stmt(t *testing.T, who, action string, lines ...string) store.Statement {
	t.Helper()
	sg := g.s.Signer()
	name := "operator"
	if who != "station" {
		sg, name = g.people[who].Signer, who
	}
	text := fmt.Sprintf("%s\nstore %s\nactor %s %s\nsigned-at %s\n", store.StatementNamespace(action), g.s.Config.ID, name,
		seal.Fingerprint(sg.PublicKey()), time.Now().UTC().Format(time.RFC3339))
	for _, l := range lines {
		text += l + "\n"
	}
	blob, err := sg.Sign(store.StatementNamespace(action), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return store.Statement{Text: text, Sig: string(seal.ArmorSignature(blob))}
}

func (g *govFixture) request(t *testing.T, who string, c *store.Clip, purpose string) *store.Request {
	t.Helper()
	r, err := g.s.Request(g.ctx, g.people[who], c.ID, store.RequestOptions{Reason: "review", Incident: "INC-9", Purpose: purpose})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (g *govFixture) approve(t *testing.T, who string, r *store.Request, valid time.Duration) *store.Request {
	t.Helper()
	r, err := g.s.Approve(g.ctx, g.people[who], r.ID, store.ApproveOptions{Valid: valid})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (g *govFixture) verify(t *testing.T) *verify.Report {
	t.Helper()
	rep, err := verify.Store(g.ctx, g.dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (g *govFixture) fp(who string) string { return g.people[who].Fingerprint() }

// newKey makes a fresh ed25519 key for name, held by the test (an
// attacker's second key, say), and returns its authorized_keys line.
func (g *govFixture) newKey(t *testing.T, name string) string {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := store.LoadPerson([]store.KeyFile{{Name: name, Data: pem.EncodeToMemory(block)}}, store.PersonOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.people = maps.Clone(g.people)
	g.pubs = maps.Clone(g.pubs)
	g.people[name], g.pubs[name] = p, seal.AuthorizedKey(p.Signer.PublicKey())
	return g.pubs[name]
}

// addUser forges a user.add of name (key line key) by who, with its
// statement, proposal id and all, as custody writes one.
func (g *govFixture) addUser(t *testing.T, who, name, role, key, proposal string) {
	t.Helper()
	pub, err := seal.ParsePublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	g.forge(t, who, "user.add", "", store.UserPayload{KeyPayload: manifest.KeyPayload{Name: name, Role: role, Key: key}, Recipient: key, Proposal: proposal,
		Statement: g.stmt(t, who, "user.add", "name "+name, "role "+role, "key "+seal.Fingerprint(pub))})
}

func problemCodes(rep *verify.Report) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range rep.Problems {
		if !seen[p.Code] {
			seen[p.Code] = true
			out = append(out, p.Code)
		}
	}
	sort.Strings(out)
	return out
}

// TestGovernanceRules forges, with real authorised keys, one entry per
// governance rule that custody refuses to write, and checks verify fails
// with exactly that rule's code.
func TestGovernanceRules(t *testing.T) {
	hourOn := func() string { return time.Now().Add(time.Hour).UTC().Format(time.RFC3339) }
	cases := []struct {
		name  string
		forge func(t *testing.T, g *govFixture)
		codes []string
	}{
		{"approval by a non-DPO", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			g.forge(t, "ian", "approve", g.a.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: hourOn(),
				Statement: g.stmt(t, "ian", "approve", "request "+r.ID, "clip "+g.a.ID)})
		}, []string{"gov-approval-not-dpo"}},
		{"approval by the station operator", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			g.forge(t, "station", "approve", g.a.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: hourOn(),
				Statement: g.stmt(t, "station", "approve", "request "+r.ID, "clip "+g.a.ID)})
		}, []string{"gov-approval-not-dpo"}},
		{"approval by a removed DPO", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			if _, err := g.s.RemoveUser(g.ctx, g.people["dana"], "dave", store.RemoveUserOptions{Reason: "left", Force: true}, nil); err != nil {
				t.Fatal(err)
			}
			g.forge(t, "dave", "approve", g.a.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: hourOn(),
				Statement: g.stmt(t, "dave", "approve", "request "+r.ID, "clip "+g.a.ID)})
		}, []string{"gov-approval-not-dpo", "ledger-actor", "ledger-signer"}},
		{"self-approval", func(t *testing.T, g *govFixture) {
			r := g.request(t, "dave", g.b, "")
			g.forge(t, "dave", "approve", g.b.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: hourOn(),
				Statement: g.stmt(t, "dave", "approve", "request "+r.ID, "clip "+g.b.ID)})
		}, []string{"gov-self-approval"}},
		{"approval for another clip", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			g.forge(t, "dana", "approve", g.b.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: hourOn(),
				Statement: g.stmt(t, "dana", "approve", "request "+r.ID, "clip "+g.b.ID)})
		}, []string{"gov-approval-wrong-clip"}},
		{"approval of no request", func(t *testing.T, g *govFixture) {
			g.forge(t, "dana", "approve", g.a.ID, store.ApprovePayload{Request: "00000000dead", Requester: g.fp("nina"), ExpiresAt: hourOn(),
				Statement: g.stmt(t, "dana", "approve", "request 00000000dead", "clip "+g.a.ID)})
		}, []string{"gov-approval-no-request"}},
		{"grant sealed for someone else", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			g.forge(t, "dana", "approve", g.a.ID, store.ApprovePayload{Request: r.ID, Requester: g.fp("ian"), ExpiresAt: hourOn(),
				Statement: g.stmt(t, "dana", "approve", "request "+r.ID, "clip "+g.a.ID)})
		}, []string{"gov-approval-requester"}},
		{"replayed approval", func(t *testing.T, g *govFixture) {
			r := g.approve(t, "dana", g.request(t, "nina", g.a, ""), 0)
			g.forge(t, "dave", "approve", g.a.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: hourOn(),
				Statement: g.stmt(t, "dave", "approve", "request "+r.ID, "clip "+g.a.ID)})
		}, []string{"gov-approval-replayed"}},
		{"approval of a lapsed request", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			g.s.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
			g.forge(t, "dana", "approve", g.a.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: time.Now().Add(9 * 24 * time.Hour).UTC().Format(time.RFC3339),
				Statement: g.stmt(t, "dana", "approve", "request "+r.ID, "clip "+g.a.ID)})
		}, []string{"gov-approval-expired"}},
		{"grant used twice", func(t *testing.T, g *govFixture) {
			r := g.approve(t, "dana", g.request(t, "nina", g.a, ""), 0)
			if _, err := g.s.OpenClip(g.ctx, g.a.ID, store.OpenOptions{As: g.people["nina"], Out: filepath.Join(t.TempDir(), "a.mp4")}); err != nil {
				t.Fatal(err)
			}
			g.forge(t, "nina", "access", g.a.ID, store.AccessPayload{Reason: "again", Request: r.ID, Grant: r.Grant.ID})
		}, []string{"gov-grant-reused"}},
		{"open with no request", func(t *testing.T, g *govFixture) {
			g.forge(t, "nina", "access", g.a.ID, store.AccessPayload{Reason: "just looking"})
		}, []string{"gov-open-outside-request"}},
		{"open by the station", func(t *testing.T, g *govFixture) {
			g.forge(t, "station", "access", g.a.ID, store.AccessPayload{Reason: "maintenance"})
		}, []string{"gov-open-outside-request"}},
		{"open under a pending request", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			g.forge(t, "nina", "access", g.a.ID, store.AccessPayload{Reason: "r", Request: r.ID})
		}, []string{"gov-open-unapproved"}},
		{"open after the approval expired", func(t *testing.T, g *govFixture) {
			r := g.approve(t, "dana", g.request(t, "nina", g.a, ""), time.Hour)
			g.s.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			g.forge(t, "nina", "access", g.a.ID, store.AccessPayload{Reason: "r", Request: r.ID, Grant: r.Grant.ID})
		}, []string{"gov-open-expired"}},
		{"open under someone else's request", func(t *testing.T, g *govFixture) {
			r := g.approve(t, "dana", g.request(t, "nina", g.a, ""), 0)
			g.forge(t, "dave", "access", g.a.ID, store.AccessPayload{Reason: "r", Request: r.ID, Grant: r.Grant.ID})
		}, []string{"gov-open-wrong-request"}},
		{"open under an approval to redact", func(t *testing.T, g *govFixture) {
			r := g.approve(t, "dana", g.request(t, "nina", g.a, store.PurposeRedact), 0)
			g.forge(t, "nina", "access", g.a.ID, store.AccessPayload{Reason: "r", Request: r.ID, Grant: r.Grant.ID})
		}, []string{"gov-open-wrong-request"}},
		{"request by someone not the owner", func(t *testing.T, g *govFixture) {
			g.forge(t, "ian", "request", g.a.ID, store.RequestPayload{ID: "0000000000aa", Reason: "r", Incident: "i", ExpiresAt: hourOn(),
				Statement: g.stmt(t, "ian", "request", "request 0000000000aa", "clip "+g.a.ID)})
		}, []string{"gov-request-not-owner"}},
		{"request id reused", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			g.forge(t, "nina", "request", g.a.ID, store.RequestPayload{ID: r.ID, Reason: "r", Incident: "i", ExpiresAt: hourOn(),
				Statement: g.stmt(t, "nina", "request", "request "+r.ID, "clip "+g.a.ID)})
		}, []string{"gov-request-duplicate"}},
		{"release by a non-DPO", func(t *testing.T, g *govFixture) {
			out, err := g.s.Hold(g.ctx, nil, store.HoldRequest{Clips: []string{g.a.ID}, Incident: "INC-1", Reason: "alarm"})
			if err != nil {
				t.Fatal(err)
			}
			g.forge(t, "nina", "release", g.a.ID, store.ReleasePayload{Holds: []string{out[0].Hold}, Reason: "done",
				Statement: g.stmt(t, "nina", "release", "clip "+g.a.ID)})
		}, []string{"gov-release-not-dpo"}},
		{"consent refusal by a non-DPO", func(t *testing.T, g *govFixture) {
			g.forge(t, "nina", "consent", g.a.ID, store.ConsentPayload{ConsentRecord: store.ConsentRecord{State: store.ConsentWithdrawn, By: "patient"},
				Statement: g.stmt(t, "nina", "consent", "clip "+g.a.ID, "state withdrawn", "by patient", "at ")})
		}, []string{"gov-consent-not-dpo"}},
		{"policy change by a non-DPO", func(t *testing.T, g *govFixture) {
			p := store.DefaultPolicy()
			old := p
			p.Retention = store.Duration(1000 * time.Hour)
			g.forge(t, "nina", "policy.set", "", store.PolicyPayload{Policy: p, Old: old, Reason: "keep my footage",
				Statement: g.stmt(t, "nina", "policy", "retention 1000h")})
		}, []string{"gov-policy-not-dpo"}},
		{"user added by a non-DPO", func(t *testing.T, g *govFixture) {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			sp, _ := ssh.NewPublicKey(pub)
			g.forge(t, "nina", "user.add", "", store.UserPayload{KeyPayload: manifest.KeyPayload{Name: "zed", Role: store.RoleInvestigator, Key: seal.AuthorizedKey(sp)},
				Recipient: seal.AuthorizedKey(sp), Statement: g.stmt(t, "nina", "user.add", "name zed")})
		}, []string{"gov-user-not-dpo"}},
		{"user removed by the station once a DPO exists", func(t *testing.T, g *govFixture) {
			g.forge(t, "station", "user.remove", "", store.UserPayload{KeyPayload: manifest.KeyPayload{Name: "ian", Role: store.RoleInvestigator, Key: g.pubs["ian"]},
				Statement: g.stmt(t, "station", "user.remove", "name ian")})
		}, []string{"gov-user-not-dpo"}},
		{"key shares re-sealed by a non-DPO", func(t *testing.T, g *govFixture) {
			g.forge(t, "nina", "keys.rewrap", "", store.RewrapPayload{Reason: "mine now"})
		}, []string{"gov-rewrap-not-dpo"}},
		{"redaction without a redaction approval", func(t *testing.T, g *govFixture) {
			// A redacted version registered by the owner with no request:
			// its files do not exist and it has no derived key either.
			g.forge(t, "nina", "redact", "0123456789ab", store.DerivePayload{Parent: g.a.ID, ParentSHA256: g.a.Object.SHA256, Redaction: []byte(`{}`),
				Object: store.Object{ID: "0123456789ab", Path: "objects/0123456789ab.age", SHA256: g.a.Object.SHA256, Size: 1, CipherSHA256: g.a.Object.CipherSHA256, CipherSize: 1}})
		}, []string{"gov-redact-outside-request", "object-missing", "share-missing"}},
		{"redaction under an approval to open", func(t *testing.T, g *govFixture) {
			r := g.approve(t, "dana", g.request(t, "nina", g.a, ""), 0)
			if _, err := g.s.OpenClip(g.ctx, g.a.ID, store.OpenOptions{As: g.people["nina"], Out: filepath.Join(t.TempDir(), "a.mp4")}); err != nil {
				t.Fatal(err)
			}
			g.forge(t, "nina", "redact", "0123456789ab", store.DerivePayload{Parent: g.a.ID, Request: r.ID, Redaction: []byte(`{}`),
				Object: store.Object{ID: "0123456789ab", Path: "objects/0123456789ab.age"}})
		}, []string{"gov-redact-outside-request", "object-missing", "share-missing"}},
		{"purge of a held clip", func(t *testing.T, g *govFixture) {
			if _, err := g.s.Hold(g.ctx, nil, store.HoldRequest{Clips: []string{g.b.ID}, Incident: "INC-1", Reason: "alarm"}); err != nil {
				t.Fatal(err)
			}
			g.s.Now = func() time.Time { return time.Now().Add(72 * time.Hour) } // past retention
			g.forge(t, "station", "purge", g.b.ID, store.PurgePayload{Reason: store.PurgeRetention, PolicyTime: time.Now().UTC().Format(time.RFC3339), SHA256: g.b.Object.SHA256})
		}, []string{"gov-purge-while-held"}},
		{"purge by a clinician", func(t *testing.T, g *govFixture) {
			g.s.Now = func() time.Time { return time.Now().Add(72 * time.Hour) } // past retention
			g.forge(t, "nina", "purge", g.a.ID, store.PurgePayload{Reason: store.PurgeRetention, PolicyTime: time.Now().UTC().Format(time.RFC3339), SHA256: g.a.Object.SHA256})
		}, []string{"gov-purge-not-dpo"}},
		{"DPO registered by one DPO", func(t *testing.T, g *govFixture) {
			g.addUser(t, "dana", "zed", store.RoleDPO, g.newKey(t, "zed"), "")
		}, []string{"gov-dpo-unseconded", "share-holders"}},
		{"DPO confirmed by their proposer", func(t *testing.T, g *govFixture) {
			key := g.newKey(t, "zed")
			u, err := g.s.AddUser(g.ctx, g.people["dana"], store.UserSpec{Name: "zed", Role: store.RoleDPO, Key: key}, nil)
			if err != nil || !u.Pending {
				t.Fatalf("proposing: %+v %v", u, err)
			}
			g.addUser(t, "dana", "zed", store.RoleDPO, key, u.Proposal)
		}, []string{"gov-dpo-unseconded", "share-holders"}},
		{"DPO confirmed after the proposal lapsed", func(t *testing.T, g *govFixture) {
			key := g.newKey(t, "zed")
			u, err := g.s.AddUser(g.ctx, g.people["dana"], store.UserSpec{Name: "zed", Role: store.RoleDPO, Key: key}, nil)
			if err != nil {
				t.Fatal(err)
			}
			g.s.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
			g.addUser(t, "dave", "zed", store.RoleDPO, key, u.Proposal)
		}, []string{"gov-dpo-unseconded", "share-holders"}},
		{"approval by the DPO who registered the requester alone", func(t *testing.T, g *govFixture) {
			g.newKey(t, "cara")
			if _, err := g.s.AddUser(g.ctx, g.people["dave"], store.UserSpec{Name: "cara", Role: store.RoleClinician, Key: g.pubs["cara"]}, nil); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "c.mp4")
			if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10", "-t", "1",
				"-c:v", "libx264", "-preset", "ultrafast", "-metadata", "comment=cara", "-y", path).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v %s", err, out)
			}
			c, err := g.s.Import(g.ctx, path, store.ImportOptions{Owner: "cara"})
			if err != nil {
				t.Fatal(err)
			}
			r := g.request(t, "cara", c, "")
			if _, err := g.s.Approve(g.ctx, g.people["dave"], r.ID, store.ApproveOptions{}); !errors.Is(err, store.ErrLinked) {
				t.Fatalf("custody let dave approve: %v", err)
			}
			g.forge(t, "dave", "approve", c.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: hourOn(),
				Statement: g.stmt(t, "dave", "approve", "request "+r.ID, "clip "+c.ID)})
		}, []string{"gov-approval-linked"}},
		{"name given to a new key", func(t *testing.T, g *govFixture) {
			if _, err := g.s.RemoveUser(g.ctx, g.people["dana"], "ian", store.RemoveUserOptions{Reason: "left"}, nil); err != nil {
				t.Fatal(err)
			}
			g.addUser(t, "dana", "ian", store.RoleInvestigator, g.newKey(t, "ian2"), "")
		}, []string{"gov-name-reused"}},
		{"key given to a new name", func(t *testing.T, g *govFixture) {
			if _, err := g.s.RemoveUser(g.ctx, g.people["dana"], "ian", store.RemoveUserOptions{Reason: "left"}, nil); err != nil {
				t.Fatal(err)
			}
			g.addUser(t, "dana", "ivan", store.RoleInvestigator, g.pubs["ian"], "")
		}, []string{"gov-name-reused"}},
		{"request of a clip by a reused name", func(t *testing.T, g *govFixture) {
			if _, err := g.s.RemoveUser(g.ctx, g.people["dana"], "nina", store.RemoveUserOptions{Reason: "left", Force: true}, nil); err != nil {
				t.Fatal(err)
			}
			g.addUser(t, "dave", "nina", store.RoleClinician, g.newKey(t, "nina-new"), "")
			if _, err := g.s.Request(g.ctx, g.people["nina-new"], g.a.ID, store.RequestOptions{Reason: "r", Incident: "i"}); !errors.Is(err, store.ErrNotOwner) {
				t.Fatalf("custody let the new key request the old clip: %v", err)
			}
			g.forge(t, "nina-new", "request", g.a.ID, store.RequestPayload{ID: "0000000000dd", Reason: "r", Incident: "i", ExpiresAt: hourOn(),
				Statement: g.stmt(t, "nina-new", "request", "request 0000000000dd", "clip "+g.a.ID)})
		}, []string{"gov-name-reused", "gov-request-not-owner", "key-recipients"}},
		{"purge before retention ends", func(t *testing.T, g *govFixture) {
			g.forge(t, "station", "purge", g.a.ID, store.PurgePayload{Reason: store.PurgeRetention, PolicyTime: time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), SHA256: g.a.Object.SHA256})
		}, []string{"gov-purge-early"}},
		{"grant destroyed before it expired", func(t *testing.T, g *govFixture) {
			r := g.approve(t, "dana", g.request(t, "nina", g.a, ""), 0)
			g.forge(t, "station", "grant.shred", g.a.ID, store.ShredPayload{Request: r.ID, Grant: *r.Grant, Why: "expired", PolicyTime: time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)})
		}, []string{"gov-shred-early"}},
		{"sealed file outside the store", func(t *testing.T, g *govFixture) {
			r := g.request(t, "nina", g.a, "")
			g.forge(t, "dana", "approve", g.a.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: hourOn(),
				Grant:     store.Object{ID: "k0123456789ab", Path: "../../outside.age"},
				Statement: g.stmt(t, "dana", "approve", "request "+r.ID, "clip "+g.a.ID)})
		}, []string{"object-path"}},
		{"statement signed by someone else", func(t *testing.T, g *govFixture) {
			g.forge(t, "nina", "hold", g.a.ID, store.HoldPayload{Hold: store.Hold{ID: "0000000000bb", Incident: "I", Reason: "r"},
				Statement: g.stmt(t, "dana", "hold", "clip "+g.a.ID)})
		}, []string{"gov-statement"}},
		{"statement in another namespace", func(t *testing.T, g *govFixture) {
			g.forge(t, "nina", "hold", g.a.ID, store.HoldPayload{Hold: store.Hold{ID: "0000000000bb", Incident: "I", Reason: "r"},
				Statement: g.stmt(t, "nina", "consent", "clip "+g.a.ID)})
		}, []string{"gov-statement"}},
		{"statement for another clip", func(t *testing.T, g *govFixture) {
			g.forge(t, "nina", "request", g.a.ID, store.RequestPayload{ID: "0000000000cc", Reason: "r", Incident: "i", ExpiresAt: hourOn(),
				Statement: g.stmt(t, "nina", "request", "request 0000000000cc", "clip "+g.b.ID)})
		}, []string{"gov-statement"}},
		{"no statement", func(t *testing.T, g *govFixture) {
			g.forge(t, "dana", "policy.set", "", store.PolicyPayload{Policy: store.DefaultPolicy(), Old: store.DefaultPolicy(), Reason: "r"})
		}, []string{"gov-statement"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGovFixture(t)
			if rep := g.verify(t); !rep.Verified {
				t.Fatalf("fixture does not verify: %+v", rep.Problems)
			}
			tc.forge(t, g)
			rep := g.verify(t)
			got := problemCodes(rep)
			if rep.Verified || strings.Join(got, ",") != strings.Join(tc.codes, ",") {
				t.Fatalf("problems %v, want %v:\n%+v", got, tc.codes, rep.Problems)
			}
			for _, p := range rep.Problems {
				if strings.HasPrefix(p.Code, "gov-") && !strings.HasPrefix(p.Subject, "entry ") {
					t.Errorf("problem %s does not name the entry: %+v", p.Code, p)
				}
			}
		})
	}
}

// TestGovernanceKeyMaterial checks what verify says about keys/: stray
// files, missing shares, shares held by the wrong people or sealed to an
// extra key, and the leftovers an interrupted write may leave (noted, not
// failed, as the next write removes them).
func TestGovernanceKeyMaterial(t *testing.T) {
	share := func(c *store.Clip, kind string) store.Share {
		for _, sh := range c.Shares {
			if sh.Kind == kind {
				return sh
			}
		}
		t.Fatalf("clip %s has no %s share", c.ID, kind)
		return store.Share{}
	}
	cases := []struct {
		name  string
		do    func(t *testing.T, g *govFixture)
		codes []string // nil: verifies
		note  string
	}{
		{"stray file in keys/", func(t *testing.T, g *govFixture) {
			if err := os.WriteFile(filepath.Join(g.dir, store.KeysDir, "k0000deadbeef.age"), []byte("age-encryption.org/v1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"key-stray"}, ""},
		{"owner share deleted", func(t *testing.T, g *govFixture) {
			if err := os.Remove(filepath.Join(g.dir, share(g.a, store.ShareOwner).Object.Path)); err != nil {
				t.Fatal(err)
			}
		}, []string{"object-missing", "share-missing"}, ""},
		{"DPO share held by fewer DPOs than the rules say", func(t *testing.T, g *govFixture) {
			// dana re-registers the same share file as held by her alone.
			sh := share(g.a, store.ShareDPO)
			g.forge(t, "dana", "keys.rewrap", "", store.RewrapPayload{Reason: "r", Shares: []store.RewrapShare{{Clip: g.a.ID, Old: sh.Object.ID,
				New: store.Share{Kind: store.ShareDPO, Holders: []string{"dana"}, Object: sh.Object}}}})
		}, []string{"key-recipients", "share-holders"}, ""},
		{"DPO share re-sealed to the owner too", func(t *testing.T, g *govFixture) {
			// A DPO re-seals the DPO share to the DPOs and, secretly, to the
			// owner, who could then open the clip alone.
			sh := share(g.a, store.ShareDPO)
			plain, err := openWith(g, sh.Object, "dana")
			if err != nil {
				t.Fatal(err)
			}
			var recips []age.Recipient
			for _, who := range []string{"dana", "dave", "nina"} {
				r, err := agessh.ParseRecipient(g.pubs[who])
				if err != nil {
					t.Fatal(err)
				}
				recips = append(recips, r)
			}
			var buf bytes.Buffer
			w, err := age.Encrypt(&buf, recips...)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(plain)
			w.Close()
			sum := sha256.Sum256(buf.Bytes())
			id := "k00000000bad1"
			o := store.Object{ID: id, Path: store.KeysDir + "/" + id + ".age", CipherSHA256: hex.EncodeToString(sum[:]), CipherSize: int64(buf.Len())}
			if err := os.WriteFile(filepath.Join(g.dir, o.Path), buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			g.forge(t, "dana", "keys.rewrap", "", store.RewrapPayload{Reason: "r", Shares: []store.RewrapShare{{Clip: g.a.ID, Old: sh.Object.ID,
				New: store.Share{Kind: store.ShareDPO, Holders: []string{"dana", "dave"}, Object: o}}}})
			os.Remove(filepath.Join(g.dir, sh.Object.Path)) // as custody would
		}, []string{"key-recipients"}, ""},
		{"used grant left by an interrupted open", func(t *testing.T, g *govFixture) {
			r := g.approve(t, "dana", g.request(t, "nina", g.a, ""), 0)
			grant, err := os.ReadFile(filepath.Join(g.dir, r.Grant.Path))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.s.OpenClip(g.ctx, g.a.ID, store.OpenOptions{As: g.people["nina"], Out: filepath.Join(t.TempDir(), "a.mp4")}); err != nil {
				t.Fatal(err)
			}
			// The open's access entry is durable; a crash before the grant
			// file was removed leaves it behind.
			if err := os.WriteFile(filepath.Join(g.dir, r.Grant.Path), grant, 0o600); err != nil {
				t.Fatal(err)
			}
		}, nil, "the next write removes it"},
		{"unused grant past its expiry", func(t *testing.T, g *govFixture) {
			g.approve(t, "dana", g.request(t, "nina", g.a, ""), time.Nanosecond)
		}, nil, "the next purge destroys it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGovFixture(t)
			tc.do(t, g)
			rep := g.verify(t)
			got := problemCodes(rep)
			if strings.Join(got, ",") != strings.Join(tc.codes, ",") || rep.Verified != (tc.codes == nil) {
				t.Fatalf("problems %v, want %v:\n%+v", got, tc.codes, rep.Problems)
			}
			if tc.note != "" && !strings.Contains(strings.Join(rep.Notes, "\n"), tc.note) {
				t.Fatalf("notes %q lack %q", rep.Notes, tc.note)
			}
		})
	}
}

// openWith decrypts a small sealed file with a person's SSH key, as stock
// age would.
func openWith(g *govFixture, o store.Object, who string) ([]byte, error) {
	f, err := os.Open(filepath.Join(g.dir, o.Path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := age.Decrypt(f, g.people[who].Identities...)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(r)
	return b.Bytes(), err
}

// TestRuleCodesDocumented: every code of the store's rule table, which
// verify reports, is in the list of codes at the top of governance.go.
func TestRuleCodesDocumented(t *testing.T) {
	src, err := os.ReadFile("governance.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range store.RuleCodes() {
		if !strings.Contains(string(src), "//\t"+code+" ") {
			t.Errorf("%s is not documented in verify/governance.go", code)
		}
	}
}
