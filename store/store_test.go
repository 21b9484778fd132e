package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
)

func TestInit(t *testing.T) {
	t.Parallel()
	s, id := newStore(t)
	for _, name := range []string{store.ConfigFile, store.LedgerFile, store.CheckpointFile, store.StationKeyFile, store.StationPubFile, store.ObjectsDir, store.StagingDir} {
		if _, err := os.Stat(filepath.Join(s.Dir, name)); err != nil {
			t.Errorf("init did not create %s: %v", name, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(s.Dir, store.StationKeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("station key mode %v", fi.Mode().Perm())
	}
	l := ledger(t, s)
	if l.Len() != 1 || l.Records[0].Entry.Action != "genesis" || l.Records[0].Entry.Actor.Name != "tester" {
		t.Fatalf("ledger after init: %v", actions(l))
	}
	g, err := l.Genesis()
	if err != nil {
		t.Fatal(err)
	}
	if g.Store != s.Config.ID || len(g.Recipients) != 1 || g.Recipients[0] != id.Recipient().String() {
		t.Fatalf("genesis %+v", g)
	}
	if g.StationKey != seal.AuthorizedKey(s.Signer().PublicKey()) {
		t.Fatal("genesis names another station key")
	}
	pub, err := s.StationKey()
	if err != nil || !strings.HasPrefix(pub, g.StationKey) {
		t.Fatalf("station.pub %q, %v", pub, err)
	}
	c, cpub, err := manifest.ParseCheckpoint(readFile(t, filepath.Join(s.Dir, store.CheckpointFile)))
	if err != nil || c.Size != 1 || c.Origin != s.Origin() || seal.Fingerprint(cpub) != seal.Fingerprint(s.Signer().PublicKey()) {
		t.Fatalf("checkpoint %+v %v", c, err)
	}
	verified(t, s.Dir)

	// Open and Unlock from scratch.
	o, err := store.Open(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if o.Config != s.Config || o.Signer() != nil {
		t.Fatalf("opened %+v", o.Config)
	}
	if err := o.Unlock([]byte("wrong")); !errors.Is(err, seal.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if err := o.Unlock([]byte(testPass)); err != nil {
		t.Fatal(err)
	}
	if seal.Fingerprint(o.Signer().PublicKey()) != seal.Fingerprint(s.Signer().PublicKey()) {
		t.Fatal("unlocked another key")
	}
}

func TestInitRefusals(t *testing.T) {
	t.Parallel()
	id, _ := newStore(t)
	rec := func() string { g, _ := ledger(t, id).Genesis(); return g.Recipients[0] }()
	opts := func(mut func(*store.InitOptions)) store.InitOptions {
		o := store.InitOptions{Recipients: []string{rec}, Passphrase: []byte(testPass), WorkFactor: testWorkFactor}
		mut(&o)
		return o
	}

	t.Run("non-empty directory", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "holiday.jpg"), []byte("x"), 0o644)
		before := snapshot(t, dir)
		_, err := store.Init(context.Background(), dir, opts(func(*store.InitOptions) {}))
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("got %v, want ErrExists", err)
		}
		if snapshot(t, dir) != before {
			t.Fatal("refused init changed the directory")
		}
	})
	t.Run("existing store", func(t *testing.T) {
		before := snapshot(t, id.Dir)
		if _, err := store.Init(context.Background(), id.Dir, opts(func(*store.InitOptions) {})); !errors.Is(err, store.ErrExists) {
			t.Fatalf("got %v, want ErrExists", err)
		}
		if snapshot(t, id.Dir) != before {
			t.Fatal("refused init changed the store")
		}
	})
	for name, c := range map[string]struct {
		mut  func(*store.InitOptions)
		want error
	}{
		"no recipients":         {func(o *store.InitOptions) { o.Recipients = nil }, nil},
		"bad recipient":         {func(o *store.InitOptions) { o.Recipients = append(o.Recipients, "age1nope") }, seal.ErrBadKey},
		"private key recipient": {func(o *store.InitOptions) { o.Recipients = []string{"AGE-SECRET-KEY-1QQQ"} }, seal.ErrBadKey},
		"empty passphrase":      {func(o *store.InitOptions) { o.Passphrase = nil }, nil},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new")
			_, err := store.Init(context.Background(), dir, opts(c.mut))
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("got %v, want an error (%v)", err, c.want)
			}
			if _, err := store.Open(dir); !errors.Is(err, store.ErrNoStore) {
				t.Fatalf("a failed init left something Open accepts: %v", err)
			}
		})
	}
	t.Run("ssh recipient and nested new directory", func(t *testing.T) {
		s := ed25519Recipient(t)
		dir := filepath.Join(t.TempDir(), "a", "b", "store")
		if _, err := store.Init(context.Background(), dir, opts(func(o *store.InitOptions) { o.Recipients = []string{s} })); err != nil {
			t.Fatal(err)
		}
		verified(t, dir)
	})
}

func TestOpenNotAStore(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	badCfg := filepath.Join(base, "badcfg")
	os.Mkdir(badCfg, 0o700)
	os.WriteFile(filepath.Join(badCfg, store.ConfigFile), []byte(`{"format":"something-else"}`), 0o644)
	garbage := filepath.Join(base, "garbage")
	os.Mkdir(garbage, 0o700)
	os.WriteFile(filepath.Join(garbage, store.ConfigFile), []byte("not json"), 0o644)
	file := filepath.Join(base, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	for name, dir := range map[string]string{
		"empty dir":    t.TempDir(),
		"missing":      filepath.Join(base, "missing"),
		"other format": badCfg,
		"garbage":      garbage,
		"a file":       file,
		"under a file": filepath.Join(file, "store"),
	} {
		if _, err := store.Open(dir); !errors.Is(err, store.ErrNoStore) {
			t.Errorf("%s: got %v, want ErrNoStore", name, err)
		}
	}
}

// Without the station key unlocked nothing can be written.
func TestWritesNeedUnlock(t *testing.T) {
	t.Parallel()
	s, id := newStore(t)
	clip := makeClip(t, filepath.Join(t.TempDir(), "a.mp4"))
	c, err := s.Import(context.Background(), clip, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.Dir)
	clip2 := variant(t, clip, filepath.Join(t.TempDir(), "b.mp4"), 2)
	if _, err := ro.Import(context.Background(), clip2, store.ImportOptions{}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Import: %v, want ErrLocked", err)
	}
	out := filepath.Join(t.TempDir(), "out.mp4")
	if _, err := ro.OpenClip(context.Background(), c.ID, openOpts(id, out)); !errors.Is(err, store.ErrLocked) {
		t.Errorf("OpenClip: %v, want ErrLocked", err)
	}
	if err := ro.Update(context.Background(), func(*store.Tx) error { return nil }); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Update: %v, want ErrLocked", err)
	}
	if snapshot(t, s.Dir) != before {
		t.Fatal("a locked store was written to")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("plaintext written by a locked store")
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	st := &store.State{Clips: map[string]*store.Clip{
		"abcd12345678": {ID: "abcd12345678"},
		"abcd98765432": {ID: "abcd98765432"},
		"ffff00000000": {ID: "ffff00000000"},
	}}
	for in, want := range map[string]string{"abcd12345678": "abcd12345678", "ABCD1234": "abcd12345678", " ffff ": "ffff00000000", "abcd9": "abcd98765432"} {
		c, err := st.Find(in)
		if err != nil || c.ID != want {
			t.Errorf("Find(%q) = %v, %v; want %s", in, c, err, want)
		}
	}
	for in, want := range map[string]error{"abcd": store.ErrAmbiguous, "abc": store.ErrNoClip, "": store.ErrNoClip, "0000": store.ErrNoClip} {
		if _, err := st.Find(in); !errors.Is(err, want) {
			t.Errorf("Find(%q): %v, want %v", in, err, want)
		}
	}
}

// The genesis payload records who may open originals, and Recipients reads
// them from the ledger.
func TestRecipientsFromLedger(t *testing.T) {
	t.Parallel()
	s, id := newStore(t)
	recs, strs, err := s.Recipients(ledger(t, s))
	if err != nil || len(recs) != 1 || strs[0] != id.Recipient().String() {
		t.Fatalf("recipients %q %v", strs, err)
	}
	var g map[string]any
	json.Unmarshal(ledger(t, s).Records[0].Entry.Payload, &g)
	if _, ok := g["recipients"]; !ok {
		t.Fatal("genesis payload has no recipients")
	}
}
