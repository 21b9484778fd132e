package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
)

// touch runs an empty write transaction: it recovers whatever a crashed
// writer left, and nothing else.
func touch(t *testing.T, s *store.Store) {
	t.Helper()
	if err := s.Update(context.Background(), func(*store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// recoversOnce runs another (empty) transaction and checks that it adds
// no entry to the n the ledger has: recovery is done once.
func recoversOnce(t *testing.T, s *store.Store, n uint64) {
	t.Helper()
	touch(t, s)
	if ledger(t, s).Len() != n {
		t.Fatal("a second transaction recovered again")
	}
}

func lastRecover(t *testing.T, l *manifest.Ledger) store.RecoverPayload {
	t.Helper()
	last := l.Last()
	if last.Entry.Action != "recover" {
		t.Fatalf("last entry is %q, not recover", last.Entry.Action)
	}
	var p store.RecoverPayload
	if err := last.Payload(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRecoverTornTail(t *testing.T) {
	t.Parallel()
	s, _, _, _ := importOne(t)
	ledgerPath := filepath.Join(s.Dir, store.LedgerFile)
	good := readFile(t, ledgerPath)
	goodLedger := ledger(t, s)

	// What an append cut short leaves: part of a real next line.
	next, err := goodLedger.Next(manifest.Entry{Action: "access", Clip: "x"}, time.Now(), s.Signer())
	if err != nil {
		t.Fatal(err)
	}
	torn := manifest.Encode(next)[:150]
	os.WriteFile(ledgerPath, append(bytes.Clone(good), torn...), 0o644)

	// Before recovery: readers see every complete entry, and verify passes
	// with a note (the torn entry was never covered by a checkpoint).
	l, tt, err := s.ReadLedger()
	if err != nil || tt == nil || !bytes.Equal(tt.Bytes, torn) || l.Len() != goodLedger.Len() {
		t.Fatalf("ReadLedger: %d entries, torn %v, %v", l.Len(), tt, err)
	}
	r := verified(t, s.Dir)
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "interrupted append") }) {
		t.Errorf("no note about the torn tail: %q", r.Notes)
	}

	touch(t, s)
	after := readFile(t, ledgerPath)
	if !bytes.HasPrefix(after, good) {
		t.Fatal("recovery changed complete entries")
	}
	l = ledger(t, s)
	if l.Len() != goodLedger.Len()+1 {
		t.Fatalf("%d entries after recovery, want %d", l.Len(), goodLedger.Len()+1)
	}
	p := lastRecover(t, l)
	h := sha256.Sum256(torn)
	if p.TornTailBytes != len(torn) || p.TornTailSHA256 != hex.EncodeToString(h[:]) || len(p.Published)+len(p.Discarded) != 0 {
		t.Fatalf("recover payload %+v", p)
	}
	r = verified(t, s.Dir)
	if len(r.Notes) != 0 || r.Checkpoint != l.Len() {
		t.Fatalf("after recovery: notes %q, checkpoint %d of %d", r.Notes, r.Checkpoint, l.Len())
	}
	recoversOnce(t, s, l.Len())
}

// A crash after the import entry was durable but before the sealed file was
// renamed into objects/: the next writer publishes it.
func TestRecoverPublishesCommittedStaging(t *testing.T) {
	t.Parallel()
	s, _, c, _ := importOne(t)
	obj := filepath.Join(s.Dir, c.Object.Path)
	staged := filepath.Join(s.Dir, store.StagingDir, c.ID+".age.partial")
	// A copy, not a rename: a child process forked by a parallel test
	// while the import held the file's lock may still hold that lock for
	// a moment (until its exec), and recovery rightly skips a locked file.
	if err := os.WriteFile(staged, readFile(t, obj), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(obj); err != nil {
		t.Fatal(err)
	}
	r := verified(t, s.Dir)
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "still in staging") }) {
		t.Errorf("no note about the staged file: %q", r.Notes)
	}
	n := ledger(t, s).Len()
	touch(t, s)
	if _, err := os.Stat(obj); err != nil {
		t.Fatalf("not published: %v", err)
	}
	if _, err := os.Stat(staged); !os.IsNotExist(err) {
		t.Fatal("still in staging")
	}
	l := ledger(t, s)
	if l.Len() != n+1 {
		t.Fatalf("%d entries", l.Len())
	}
	if p := lastRecover(t, l); !slices.Equal(p.Published, []string{c.ID}) || len(p.Discarded) != 0 || p.TornTailBytes != 0 {
		t.Fatalf("recover payload %+v", p)
	}
	if r := verified(t, s.Dir); len(r.Notes) != 0 {
		t.Fatalf("notes %q", r.Notes)
	}
}

// Staging files of imports that never committed are removed, whatever
// their names.
func TestRecoverDiscardsUncommittedStaging(t *testing.T) {
	t.Parallel()
	s, _, _, _ := importOne(t)
	staging := filepath.Join(s.Dir, store.StagingDir)
	os.WriteFile(filepath.Join(staging, "0123456789ab.age.partial"), []byte("age-encryption.org/v1\n-> half"), 0o600)
	os.WriteFile(filepath.Join(staging, "leftover"), []byte("x"), 0o600)
	r := verified(t, s.Dir)
	if len(r.Notes) != 2 {
		t.Errorf("notes %q, want one per leftover", r.Notes)
	}
	touch(t, s)
	if names := dirNames(t, staging); len(names) != 0 {
		t.Fatalf("staging still holds %v", names)
	}
	p := lastRecover(t, ledger(t, s))
	slices.Sort(p.Discarded)
	if !slices.Equal(p.Discarded, []string{"0123456789ab.age.partial", "leftover"}) || len(p.Published) != 0 {
		t.Fatalf("recover payload %+v", p)
	}
	verified(t, s.Dir)
}

// A staging file locked by a live process (an import in progress in another
// process) is left alone; once that process is gone it is swept.
func TestRecoverKeepsLiveStaging(t *testing.T) {
	t.Parallel()
	s, _, _, _ := importOne(t)
	staged := filepath.Join(s.Dir, store.StagingDir, "aaaabbbbcccc.age.partial")
	os.WriteFile(staged, []byte("being written"), 0o600)
	flock := testenv.Tool(t, "flock")
	// flock(1) holds the lock while its child sleeps, and the child
	// inherits it: the whole process group is the "live import".
	holder := exec.Command(flock, "--exclusive", staged, "sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() {
		syscall.Kill(-holder.Process.Pid, syscall.SIGKILL)
		holder.Wait()
	}
	defer kill()
	waitLocked(t, staged, true)

	n := ledger(t, s).Len()
	touch(t, s)
	if _, err := os.Stat(staged); err != nil {
		t.Fatalf("recovery removed a live staging file: %v", err)
	}
	if ledger(t, s).Len() != n {
		t.Fatal("recovery ledgered something while the file was live")
	}

	kill()
	// SIGKILL is asynchronous: wait until the kernel has released the lock
	// with the last process that held it.
	waitLocked(t, staged, false)
	touch(t, s)
	if _, err := os.Stat(staged); !os.IsNotExist(err) {
		t.Fatalf("staging file survived its writer: %v", err)
	}
	if p := lastRecover(t, ledger(t, s)); !slices.Equal(p.Discarded, []string{"aaaabbbbcccc.age.partial"}) {
		t.Fatalf("recover payload %+v", p)
	}
}

// waitLocked waits until another process holds an exclusive flock on path
// (locked) or until nobody does (!locked).
func waitLocked(t *testing.T, path string, locked bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		f.Close() // also releases our lock, if we got it
		if (err != nil) == locked {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the lock on %s never became %v", path, map[bool]string{true: "held", false: "free"}[locked])
}

// A checkpoint older than the ledger (a crash after an append, before the
// checkpoint was rewritten) is brought up to date by the next writer.
func TestRecoverStaleCheckpoint(t *testing.T) {
	t.Parallel()
	s, _, _, _ := importOne(t)
	cpPath := filepath.Join(s.Dir, store.CheckpointFile)
	l := ledger(t, s)
	old, err := manifest.NewCheckpoint(l, s.Origin(), l.Len()-1, time.Now(), s.Signer())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cpPath, old.Marshal(), 0o644)
	r := verified(t, s.Dir)
	if r.Checkpoint != l.Len()-1 || len(r.Notes) != 1 {
		t.Fatalf("checkpoint %d, notes %q", r.Checkpoint, r.Notes)
	}
	touch(t, s)
	rep, err := verify.Store(context.Background(), s.Dir, verify.StoreOptions{})
	if err != nil || !rep.Verified || rep.Checkpoint != l.Len() {
		t.Fatalf("after the next write: %+v %v", rep, err)
	}
	if ledger(t, s).Len() != l.Len() {
		t.Fatal("refreshing the checkpoint appended an entry")
	}
}

// A crash while a checkpoint or an export statement was being written
// (internal/atomicfile: a synced temporary file beside the target, then a
// rename) leaves the temporary file. It holds nothing the store needs: the
// checkpoint is re-signed from the ledger, and the statement was never
// saved (the bundle carries it). verify notes it; the next writer removes
// it and records that, and nothing else with a similar name.
func TestRecoverSweepsTempFiles(t *testing.T) {
	t.Parallel()
	s, _, _, _ := importOne(t)
	cp := readFile(t, filepath.Join(s.Dir, store.CheckpointFile))
	if err := os.MkdirAll(filepath.Join(s.Dir, store.ExportsDir), 0o700); err != nil {
		t.Fatal(err)
	}
	temps := []string{
		".checkpoint.tmp-1234567",         // a whole checkpoint, not yet renamed
		".checkpoint.tmp-89",              // a checkpoint cut short
		"exports/.4.statement.txt.tmp-77", // an export statement
	}
	for i, p := range temps {
		os.WriteFile(filepath.Join(s.Dir, filepath.FromSlash(p)), cp[:len(cp)/(i+1)], 0o644)
	}
	// Not what atomicfile leaves behind: kept.
	keep := []string{".checkpoint.tmp-", "checkpoint.tmp-1", ".checkpoint.tmp", ".ledger.jsonl.tmp-1", "exports/.x.statement.txt.tmp-1", "exports/4.statement.txt"}
	for _, p := range keep {
		os.WriteFile(filepath.Join(s.Dir, filepath.FromSlash(p)), []byte("x"), 0o644)
	}

	r := verified(t, s.Dir)
	for _, p := range temps {
		if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, p) && strings.Contains(n, "interrupted write") }) {
			t.Errorf("no note about %s: %q", p, r.Notes)
		}
	}
	if len(r.Notes) != len(temps) {
		t.Errorf("notes %q, want one per temporary file", r.Notes)
	}

	n := ledger(t, s).Len()
	touch(t, s)
	for _, p := range temps {
		if _, err := os.Lstat(filepath.Join(s.Dir, filepath.FromSlash(p))); !os.IsNotExist(err) {
			t.Errorf("%s survived recovery: %v", p, err)
		}
	}
	for _, p := range keep {
		if _, err := os.Lstat(filepath.Join(s.Dir, filepath.FromSlash(p))); err != nil {
			t.Errorf("recovery removed %s: %v", p, err)
		}
	}
	l := ledger(t, s)
	if l.Len() != n+1 {
		t.Fatalf("%d entries after recovery, want %d", l.Len(), n+1)
	}
	p := lastRecover(t, l)
	want := slices.Sorted(slices.Values(temps))
	if !slices.Equal(p.Temps, want) || len(p.Published)+len(p.Discarded)+len(p.Swept) != 0 || p.TornTailBytes != 0 {
		t.Fatalf("recover payload %+v, want temps %q", p, want)
	}
	if r := verified(t, s.Dir); len(r.Notes) != 0 {
		t.Fatalf("notes after recovery: %q", r.Notes)
	}
	recoversOnce(t, s, l.Len())
}

// Saving an export statement happens after the export's transaction, so it
// takes the store lock itself: otherwise another writer's recovery could
// sweep its temporary file between write and rename.
func TestSaveExportStatementTakesTheLock(t *testing.T) {
	t.Parallel()
	s, _, _, _ := importOne(t)
	lock := filepath.Join(s.Dir, store.LockFile)
	holder := exec.Command(testenv.Tool(t, "flock"), "--exclusive", lock, "sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() {
		syscall.Kill(-holder.Process.Pid, syscall.SIGKILL)
		holder.Wait()
	}
	defer kill()
	waitLocked(t, lock, true)

	done := make(chan error, 1)
	go func() { done <- s.SaveExportStatement(7, []byte("statement")) }()
	select {
	case err := <-done:
		t.Fatalf("saved while another writer held the lock (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	kill()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting after the lock was released")
	}
	if b, err := s.ExportStatement(7); err != nil || string(b) != "statement" {
		t.Fatalf("saved statement %q, %v", b, err)
	}
}
