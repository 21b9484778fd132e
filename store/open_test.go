package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
)

func openOpts(id age.Identity, out string) store.OpenOptions {
	return store.OpenOptions{Identities: []age.Identity{id}, Identity: "dpo.key", Reason: "SAR 2026/114", Out: out}
}

// importOne makes a store holding one clip.
func importOne(t *testing.T) (*store.Store, *age.X25519Identity, *store.Clip, string) {
	t.Helper()
	s, id := newStore(t)
	clip := makeClip(t, filepath.Join(t.TempDir(), "a.mp4"))
	c, err := s.Import(context.Background(), clip, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s, id, c, clip
}

func TestOpenClip(t *testing.T) {
	t.Parallel()
	s, id, c, orig := importOne(t)
	out := filepath.Join(t.TempDir(), "opened.mp4")
	var progressed int64
	o := openOpts(id, out)
	o.Progress = func(n int64) { progressed += n }
	got, err := s.OpenClip(context.Background(), c.ID[:8], o)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || fileSHA256(t, out) != fileSHA256(t, orig) || progressed != c.Object.Size {
		t.Fatalf("opened %s to content %s (progress %d)", got.ID, fileSHA256(t, out), progressed)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("plaintext output mode %v, want 0600", fi.Mode().Perm())
	}
	if names := dirNames(t, filepath.Dir(out)); len(names) != 1 {
		t.Errorf("output directory holds %v: temporary files left", names)
	}
	l := ledger(t, s)
	last := l.Last()
	var p store.AccessPayload
	if last.Entry.Action != "access" || last.Entry.Clip != c.ID || last.Payload(&p) != nil ||
		p.Reason != "SAR 2026/114" || p.Identity != "dpo.key" || p.Output != "opened.mp4" || p.Outcome != "" {
		t.Fatalf("last entry %s %s", last.Entry.Action, last.Entry.Payload)
	}
	tl := store.Replay(l).Clips[c.ID].Timeline
	if len(tl) != 2 || !strings.Contains(tl[1].Summary, "SAR 2026/114") {
		t.Fatalf("timeline %+v", tl)
	}
	verified(t, s.Dir)
}

// A clip sealed to an SSH key opens with the SSH private key.
func TestOpenClipSSHIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
	s, err := store.Init(context.Background(), filepath.Join(dir, "store"), store.InitOptions{
		Recipients: []string{strings.TrimSpace(string(readFile(t, key+".pub")))}, Passphrase: []byte(testPass), WorkFactor: testWorkFactor})
	if err != nil {
		t.Fatal(err)
	}
	clip := makeClip(t, filepath.Join(dir, "a.mp4"))
	c, err := s.Import(context.Background(), clip, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := seal.ParseIdentityFile(key, readFile(t, key), seal.IdentityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	if _, err := s.OpenClip(context.Background(), c.ID, store.OpenOptions{Identities: ids, Identity: key, Reason: "review", Out: out}); err != nil {
		t.Fatal(err)
	}
	if fileSHA256(t, out) != fileSHA256(t, clip) {
		t.Fatal("wrong content")
	}
}

// Refusals write no plaintext and no access; a refusal by a governance
// rule (a key that cannot open the clip) is ledgered as "refused", and
// nothing else is.
func TestOpenClipRefusals(t *testing.T) {
	t.Parallel()
	s, id, c, _ := importOne(t)
	other, _ := age.GenerateX25519Identity()
	outDir := t.TempDir()
	existing := filepath.Join(outDir, "existing.mp4")
	os.WriteFile(existing, []byte("do not overwrite"), 0o644)

	cases := []struct {
		name    string
		id      string
		opts    store.OpenOptions
		want    error
		refused string // the rule a "refused" entry names, if any
	}{
		{"wrong identity", c.ID, openOpts(other, filepath.Join(outDir, "a.mp4")), store.ErrAccessDenied, "wrong-key"},
		{"no reason", c.ID, store.OpenOptions{Identities: []age.Identity{id}, Out: filepath.Join(outDir, "b.mp4")}, store.ErrNoReason, ""},
		{"output exists", c.ID, openOpts(id, existing), store.ErrOutputExists, ""},
		{"no such clip", "0000ffff0000", openOpts(id, filepath.Join(outDir, "c.mp4")), store.ErrNoClip, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s.Dir)
			n := ledger(t, s).Len()
			_, err := s.OpenClip(context.Background(), tc.id, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.refused == "" && snapshot(t, s.Dir) != before {
				t.Fatal("the refusal changed the store (ledgered something?)")
			}
			if got := refusedRules(t, s, n); strings.Join(got, ",") != tc.refused {
				t.Fatalf("ledgered refusals %v, want %q", got, tc.refused)
			}
			if names := dirNames(t, outDir); len(names) != 1 {
				t.Fatalf("output directory now holds %v", names)
			}
		})
	}
	if string(readFile(t, existing)) != "do not overwrite" {
		t.Fatal("existing output overwritten")
	}
}

// A sealed file that was tampered with fails its integrity check: the
// output is discarded and the failure is ledgered after the access.
func TestOpenClipTampered(t *testing.T) {
	t.Parallel()
	for _, damage := range []string{"flipped byte", "truncated"} {
		t.Run(damage, func(t *testing.T) {
			s, id, c, _ := importOne(t)
			sealed := filepath.Join(s.Dir, c.Object.Path)
			if damage == "flipped byte" {
				flipByte(t, sealed, -100)
			} else {
				b := readFile(t, sealed)
				os.WriteFile(sealed, b[:len(b)-17], 0o600)
			}
			outDir := t.TempDir()
			n := ledger(t, s).Len()
			_, err := s.OpenClip(context.Background(), c.ID, openOpts(id, filepath.Join(outDir, "out.mp4")))
			if !errors.Is(err, seal.ErrHashMismatch) {
				t.Fatalf("got %v, want ErrHashMismatch", err)
			}
			if names := dirNames(t, outDir); len(names) != 0 {
				t.Fatalf("output kept after an integrity failure: %v", names)
			}
			l := ledger(t, s)
			if got := actions(l)[n:]; len(got) != 2 || got[0] != "access" || got[1] != "access.denied" {
				t.Fatalf("ledgered %v, want access then access.denied", got)
			}
			var p store.AccessPayload
			if err := l.Last().Payload(&p); err != nil || p.Outcome != "integrity-failure" || p.Reason != "SAR 2026/114" || l.Last().Entry.Clip != c.ID {
				t.Fatalf("access.denied payload %+v", p)
			}
			tl := store.Replay(l).Clips[c.ID].Timeline
			if !strings.Contains(tl[len(tl)-1].Summary, "integrity-failure") {
				t.Fatalf("timeline %+v", tl)
			}
		})
	}
}

// A committed import whose sealed file is still in staging (a crash between
// the ledger append and the rename) opens all the same.
func TestOpenClipFromStaging(t *testing.T) {
	t.Parallel()
	s, id, c, orig := importOne(t)
	staged := filepath.Join(s.Dir, store.StagingDir, c.ID+".age.partial")
	if err := os.Rename(filepath.Join(s.Dir, c.Object.Path), staged); err != nil {
		t.Fatal(err)
	}
	p, err := s.ObjectPath(c.Object)
	if err != nil || p != staged {
		t.Fatalf("ObjectPath %q %v", p, err)
	}
	out := filepath.Join(t.TempDir(), "out.mp4")
	if _, err := s.OpenClip(context.Background(), c.ID, openOpts(id, out)); err != nil {
		t.Fatal(err)
	}
	if fileSHA256(t, out) != fileSHA256(t, orig) {
		t.Fatal("wrong content")
	}
	// The access's write transaction also published the file.
	if _, err := os.Stat(filepath.Join(s.Dir, c.Object.Path)); err != nil {
		t.Fatalf("not published: %v", err)
	}
	os.Remove(filepath.Join(s.Dir, c.Object.Path))
	if _, err := s.ObjectPath(c.Object); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("missing sealed file: %v, want ErrCorrupt", err)
	}
}

// A sealed file whose age header was tampered with cannot be told from a
// wrong key by age alone; OpenClip must still call it an integrity
// failure, not "access denied", and write no plaintext.
func TestOpenClipTamperedHeader(t *testing.T) {
	t.Parallel()
	s, id, c, _ := importOne(t)
	sealed := filepath.Join(s.Dir, c.Object.Path)
	orig := readFile(t, sealed)
	hdr, err := age.ExtractHeader(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	// Replace a character in the middle of a base64 run with another valid
	// one, so that the header still parses but no longer authenticates.
	stanza := bytes.Index(hdr, []byte("\n-> X25519 "))
	body := bytes.Index(hdr[stanza+1:], []byte("\n")) + stanza + 2
	mac := bytes.Index(hdr, []byte("\n--- ")) + 6
	for name, off := range map[string]int{
		"ephemeral share":  stanza + 20,
		"wrapped file key": body + 10,
		"header MAC":       mac + 10,
		"unparsable":       -1,
	} {
		t.Run(name, func(t *testing.T) {
			b := bytes.Clone(orig)
			want := seal.ErrHashMismatch
			if off < 0 {
				b[mac+10] = '!'
				want = store.ErrCorrupt
			} else if b[off] == 'A' {
				b[off] = 'B'
			} else {
				b[off] = 'A'
			}
			os.WriteFile(sealed, b, 0o600)
			before := snapshot(t, s.Dir)
			outDir := t.TempDir()
			_, err := s.OpenClip(context.Background(), c.ID, openOpts(id, filepath.Join(outDir, "out.mp4")))
			if !errors.Is(err, want) || errors.Is(err, store.ErrAccessDenied) {
				t.Fatalf("got %v, want %v", err, want)
			}
			if names := dirNames(t, outDir); len(names) != 0 {
				t.Fatalf("output written: %v", names)
			}
			if snapshot(t, s.Dir) != before {
				t.Fatal("a refused open changed the store")
			}
		})
	}
	// The intact file still opens: the refusals were about the damage.
	os.WriteFile(sealed, orig, 0o600)
	if _, err := s.OpenClip(context.Background(), c.ID, openOpts(id, filepath.Join(t.TempDir(), "ok.mp4"))); err != nil {
		t.Fatal(err)
	}
}

func ed25519Recipient(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "k")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
	return strings.TrimSpace(string(readFile(t, key+".pub")))
}
