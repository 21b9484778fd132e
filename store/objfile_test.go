//go:build unix

package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
)

// notRegular asserts err is a *store.NotRegularError (an ErrCorrupt) naming
// path and saying what is there.
func notRegular(t *testing.T, what string, err error, path, kind string) {
	t.Helper()
	var nr *store.NotRegularError
	if !errors.As(err, &nr) || !errors.Is(err, store.ErrCorrupt) || nr.Path != path || !strings.Contains(nr.What, kind) {
		t.Fatalf("%s: got %v, want a NotRegularError for %s (%s)", what, err, path, kind)
	}
}

// verifyFails asserts verify reports object-not-regular for subject.
func verifyFails(t *testing.T, dir, subject, kind string) {
	t.Helper()
	r, err := verify.Store(context.Background(), dir, verify.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		if p.Code == "object-not-regular" && p.Subject == subject && strings.Contains(p.Message, kind) {
			return
		}
	}
	t.Fatalf("verify did not report %s as %s: verified=%v %+v", subject, kind, r.Verified, r.Problems)
}

// TestSealedFileNotRegular replaces a sealed original with each thing that
// is not a regular file of the store, and checks that open, ObjectPath and
// purge refuse it, that purge destroys nothing and ledgers nothing, and
// that verify names it. Then, put back, the clip purges for real.
func TestSealedFileNotRegular(t *testing.T) {
	cases := []struct {
		name, kind string
		subject    func(c *store.Clip) string
		plant      func(t *testing.T, s *store.Store, c *store.Clip, outside string)
		restore    func(t *testing.T, s *store.Store, c *store.Clip, outside string)
	}{
		{name: "symlink to a copy outside", kind: "a symbolic link to",
			subject: func(c *store.Clip) string { return c.Object.Path },
			plant: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				p := filepath.Join(s.Dir, c.Object.Path)
				noErr(t, os.Rename(p, outside))
				noErr(t, os.Symlink(outside, p))
			},
			restore: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				noErr(t, os.Remove(filepath.Join(s.Dir, c.Object.Path)))
				noErr(t, os.Rename(outside, filepath.Join(s.Dir, c.Object.Path)))
			}},
		{name: "hidden in staging as a symlink", kind: "a symbolic link to",
			subject: func(c *store.Clip) string { return store.StagedPath(c.Object) },
			plant: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				noErr(t, os.Rename(filepath.Join(s.Dir, c.Object.Path), outside))
				noErr(t, os.Symlink(outside, filepath.Join(s.Dir, store.StagedPath(c.Object))))
			},
			restore: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				noErr(t, os.Remove(filepath.Join(s.Dir, store.StagedPath(c.Object))))
				noErr(t, os.Rename(outside, filepath.Join(s.Dir, c.Object.Path)))
			}},
		{name: "directory", kind: "a directory",
			subject: func(c *store.Clip) string { return c.Object.Path },
			plant: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				p := filepath.Join(s.Dir, c.Object.Path)
				noErr(t, os.Rename(p, outside))
				noErr(t, os.Mkdir(p, 0o700))
			},
			restore: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				noErr(t, os.Remove(filepath.Join(s.Dir, c.Object.Path)))
				noErr(t, os.Rename(outside, filepath.Join(s.Dir, c.Object.Path)))
			}},
		{name: "named pipe", kind: "a named pipe",
			subject: func(c *store.Clip) string { return c.Object.Path },
			plant: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				p := filepath.Join(s.Dir, c.Object.Path)
				noErr(t, os.Rename(p, outside))
				noErr(t, syscall.Mkfifo(p, 0o600))
			},
			restore: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				noErr(t, os.Remove(filepath.Join(s.Dir, c.Object.Path)))
				noErr(t, os.Rename(outside, filepath.Join(s.Dir, c.Object.Path)))
			}},
		{name: "objects/ a symlink to a directory elsewhere", kind: "where the directory should be",
			subject: func(*store.Clip) string { return store.ObjectsDir },
			plant: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				p := filepath.Join(s.Dir, store.ObjectsDir)
				noErr(t, os.Rename(p, outside))
				noErr(t, os.Symlink(outside, p))
			},
			restore: func(t *testing.T, s *store.Store, c *store.Clip, outside string) {
				noErr(t, os.Remove(filepath.Join(s.Dir, store.ObjectsDir)))
				noErr(t, os.Rename(outside, filepath.Join(s.Dir, store.ObjectsDir)))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, id, c, _ := importOne(t)
			outside := filepath.Join(t.TempDir(), "copy")
			tc.plant(t, s, c, outside)
			subject := tc.subject(c)
			kind := tc.kind

			_, err := s.ObjectPath(c.Object)
			notRegular(t, "ObjectPath", err, subject, kind)
			out := filepath.Join(t.TempDir(), "out.mp4")
			done := make(chan error, 1)
			go func() { _, err := s.OpenClip(context.Background(), c.ID, openOpts(id, out)); done <- err }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("open hangs on what stands in for the sealed file")
			}
			notRegular(t, "open", err, subject, kind)
			if _, err := os.Lstat(out); !os.IsNotExist(err) {
				t.Fatal("open wrote an output")
			}
			_, err = s.Serve(context.Background(), c.Object, nil)
			notRegular(t, "serve (redact --store)", err, subject, kind)
			verifyFails(t, s.Dir, subject, kind)

			before := len(ledger(t, s).Records)
			rep, err := purgeAYearOn(s)
			notRegular(t, "purge", err, subject, kind)
			if rep != nil && len(rep.Purged) != 0 {
				t.Fatalf("purge reports %+v destroyed", rep.Purged)
			}
			if got := len(ledger(t, s).Records); got != before {
				t.Fatalf("purge refused but the ledger grew from %d to %d entries", before, got)
			}
			if _, err := os.Lstat(outside); err != nil {
				t.Fatalf("the evidence outside the store is gone: %v", err)
			}

			tc.restore(t, s, c, outside)
			verified(t, s.Dir)
			rep, err = purgeAYearOn(s)
			if err != nil || len(rep.Purged) != 1 {
				t.Fatalf("purge after restoring: %+v %v", rep, err)
			}
			if _, err := os.Lstat(filepath.Join(s.Dir, c.Object.Path)); !os.IsNotExist(err) {
				t.Fatalf("purged, but %s is still there: %v", c.Object.Path, err)
			}
		})
	}
}

// TestSweepRefusesLinkedDeadFile: a file of a purged object that comes back
// as a link (in objects/ or staging/) is never "swept": every write
// refuses, naming it, and verify fails, until a person looks.
func TestSweepRefusesLinkedDeadFile(t *testing.T) {
	t.Parallel()
	s, _, c, _ := importOne(t)
	sealed := readFile(t, filepath.Join(s.Dir, c.Object.Path))
	if _, err := purgeAYearOn(s); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "kept.age")
	noErr(t, os.WriteFile(outside, sealed, 0o600))
	staged := store.StagedPath(c.Object)
	noErr(t, os.Symlink(outside, filepath.Join(s.Dir, staged)))
	before := len(ledger(t, s).Records)
	_, err := s.Purge(context.Background(), nil, store.PurgeOptions{})
	notRegular(t, "the next write", err, staged, "a symbolic link")
	if got := len(ledger(t, s).Records); got != before {
		t.Fatalf("ledger grew from %d to %d: the link was recorded as swept", before, got)
	}
	if _, err := os.Lstat(filepath.Join(s.Dir, staged)); err != nil {
		t.Fatalf("the link was removed: %v", err)
	}
	verifyFails(t, s.Dir, staged, "a symbolic link")
}

// TestRecoveryIgnoresPipeInStaging: recovery opens every staging file; a
// named pipe planted there must not hang every later write. It is left in
// place for verify to report.
func TestRecoveryIgnoresPipeInStaging(t *testing.T) {
	t.Parallel()
	s, _, _, clip := importOne(t)
	pipe := filepath.Join(s.Dir, store.StagingDir, "0123456789ab.age.partial")
	noErr(t, syscall.Mkfifo(pipe, 0o600))
	b := variant(t, clip, filepath.Join(t.TempDir(), "b.mp4"), 1)
	done := make(chan error, 1)
	go func() {
		_, err := s.Import(context.Background(), b, store.ImportOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("a write hangs on a named pipe in staging/")
	}
	verifyFails(t, s.Dir, store.StagingDir+"/0123456789ab.age.partial", "a named pipe")
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestKeyShareNotRegular: a dual-control key share in keys/ replaced by a
// link to a copy elsewhere is refused by approve (which unwraps it) and by
// purge, which would otherwise "shred" only the link; verify names it.
func TestKeyShareNotRegular(t *testing.T) {
	f := newFixture(t, true, dualPeople...)
	c := f.importClip("a.mp4", f.clock.t.Add(-50*time.Hour), store.ImportOptions{Owner: "nina"})
	var dpo store.Share
	for _, sh := range c.Shares {
		if sh.Kind == store.ShareDPO {
			dpo = sh
		}
	}
	p := filepath.Join(f.s.Dir, dpo.Object.Path)
	outside := filepath.Join(t.TempDir(), "share.age")
	noErr(t, os.Rename(p, outside))
	noErr(t, os.Symlink(outside, p))
	r, err := f.s.Request(f.ctx, f.u("nina").p, c.ID, store.RequestOptions{Reason: "r", Incident: "i"})
	noErr(t, err)
	_, err = f.s.Approve(f.ctx, f.u("dave").p, r.ID, store.ApproveOptions{})
	notRegular(t, "approve", err, dpo.Object.Path, "a symbolic link")
	_, err = f.s.Purge(f.ctx, nil, store.PurgeOptions{})
	notRegular(t, "purge", err, dpo.Object.Path, "a symbolic link")
	if _, err := os.Stat(outside); err != nil {
		t.Fatal(err)
	}
	verifyFails(t, f.s.Dir, dpo.Object.Path, "a symbolic link")
}

// purgeAYearOn purges with the store's own clock a year ahead: purge never
// acts ahead of the real clock, so the clock itself is moved.
func purgeAYearOn(s *store.Store) (*store.PurgeReport, error) {
	s.Now = func() time.Time { return time.Now().Add(365 * 24 * time.Hour) }
	defer func() { s.Now = time.Now }()
	return s.Purge(context.Background(), nil, store.PurgeOptions{})
}
