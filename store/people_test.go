package store_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age/plugin"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"golang.org/x/crypto/ssh/agent"
)

// startAgent runs a real ssh-agent holding key and returns a client.
func startAgent(t *testing.T, key string) agent.Agent {
	t.Helper()
	testenv.Tool(t, "ssh-agent")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 100 {
			t.Fatal("ssh-agent did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", "-q", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return agent.NewClient(conn)
}

// TestHardwareTokenPerson stands in for a person whose keys live on a
// token: their SSH key signs through ssh-agent (the private key is not in
// any file custody reads) and their key shares are sealed to an age plugin
// recipient, unwrapped by the plugin (here a test plugin wrapping X25519,
// in place of age-plugin-yubikey). They own a dual-control clip, request,
// and open it after a DPO's approval.
func TestHardwareTokenPerson(t *testing.T) {
	bindir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bindir, "age-plugin-custodytest"), "./store/testdata/age-plugin-custodytest")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the test plugin: %v %s", err, out)
	}
	t.Setenv("PATH", bindir+string(os.PathListSeparator)+os.Getenv("PATH"))
	gen, err := exec.Command(filepath.Join(bindir, "age-plugin-custodytest"), "--generate").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(gen))
	pluginIdentity, pluginRecipient := lines[0], lines[1]
	ui := &plugin.ClientUI{DisplayMessage: func(string, string) error { return nil }}

	f := newFixture(t, true, [2]string{"dana", store.RoleDPO}, [2]string{"dave", store.RoleDPO})
	tok := newPerson(t, t.TempDir(), "tok", store.RoleClinician)
	ag := startAgent(t, tok.keyPath)
	pub, _ := os.ReadFile(tok.keyPath + ".pub")
	idFile := filepath.Join(t.TempDir(), "token-identity.txt")
	os.WriteFile(idFile, []byte("# token\n"+pluginIdentity+"\n"), 0o600)

	// The person: an SSH public key (signing through the agent) and the
	// plugin identity (decrypting); no private key file.
	person, err := store.LoadPerson([]store.KeyFile{{Name: "tok.pub", Data: pub}, {Name: idFile, Data: must(os.ReadFile(idFile))}}, store.PersonOptions{Agent: ag, PluginUI: ui})
	if err != nil {
		t.Fatal(err)
	}
	if person.Fingerprint() != tok.p.Fingerprint() || len(person.Identities) != 1 {
		t.Fatalf("person from token: %s, %d identities", person.Fingerprint(), len(person.Identities))
	}
	// Without an agent a public key cannot sign.
	if _, err := store.LoadPerson([]store.KeyFile{{Name: "tok.pub", Data: pub}}, store.PersonOptions{}); !errors.Is(err, seal.ErrBadKey) {
		t.Fatalf("public key without an agent: %v", err)
	}
	if _, err := f.s.AddUser(f.ctx, f.u("dana").p, store.UserSpec{Name: "tok", Role: store.RoleClinician, Key: tok.pub, Recipient: pluginRecipient}, ui); err != nil {
		t.Fatal(err)
	}
	c := f.importClip("a.mp4", f.clock.t.Add(-time.Hour), store.ImportOptions{Owner: "tok", PluginUI: ui})
	// The owner's own SSH key file cannot unwrap the owner share: it is
	// sealed to the token.
	r, err := f.s.Request(f.ctx, person, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	if err != nil {
		t.Fatal(err)
	}
	// dana registered tok alone, so dave approves.
	if _, err := f.s.Approve(f.ctx, f.u("dave").p, r.ID, store.ApproveOptions{PluginUI: ui}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "o.mp4")
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: tok.p, Out: out}); !errors.Is(err, store.ErrAccessDenied) {
		t.Fatalf("opening with the SSH key file instead of the token: %v", err)
	}
	if _, err := f.s.OpenClip(f.ctx, c.ID, store.OpenOptions{As: person, Out: out}); err != nil {
		t.Fatal(err)
	}
	if string(must(os.ReadFile(out))) != string(must(os.ReadFile(filepath.Join(f.dir, "a.mp4")))) {
		t.Fatal("opened clip differs")
	}
	// Stock age with the plugin opens the owner share only, never the clip.
	for _, file := range f.files() {
		got, err := exec.Command("age", "-d", "-i", idFile, file).Output()
		if err == nil && len(got) > 4096 {
			t.Fatalf("stock age with the token opens %s (%d bytes)", file, len(got))
		}
	}
	f.verified()
}
