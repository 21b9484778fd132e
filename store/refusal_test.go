package store_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/store"
)

// TestAttemptsBounded: however many failed attempts are counted, and
// whatever they carry, the entry that ledgers them stays small, the store
// stays writable and verifiable, and a fold is never counted twice.
func TestAttemptsBounded(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	long := make([]string, 1100)
	for i := range long {
		long[i] = strings.Repeat("x", 300)
	}
	actx := store.WithAttempt(ctx, store.Attempted{Attempt: "custody import " + strings.Repeat("y", 5000), Args: long})
	for i := 0; i < 500; i++ {
		if err := s.RecordAttempt(actx, store.AttemptPassphrase, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Lines nobody should have written: too long, and not JSON.
	f, err := os.OpenFile(filepath.Join(s.Dir, store.AttemptsFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(strings.Repeat("z", 200000) + "\n" + "not json\n")
	f.Close()
	if fi, _ := os.Stat(filepath.Join(s.Dir, store.AttemptsFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("attempts file mode %v", fi.Mode().Perm())
	}

	// A crash after the fold and before the file is emptied: keep a copy
	// of the file, fold, then put the copy back.
	saved := readFile(t, filepath.Join(s.Dir, store.AttemptsFile))
	if err := s.Update(ctx, func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	l := ledger(t, s)
	var last *manifest.Record
	for _, rec := range l.Records {
		if rec.Entry.Action == "refused" {
			last = rec
		}
	}
	if n := len(last.Line); n > 64<<10 {
		t.Fatalf("the fold entry is %d bytes", n)
	}
	var p store.RefusedPayload
	if err := json.Unmarshal(last.Entry.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Counts[store.AttemptPassphrase] != 500 || p.Counts[store.AttemptMalformed] != 2 || len(p.Unsigned) > 20 {
		t.Fatalf("fold counts %v, %d samples", p.Counts, len(p.Unsigned))
	}
	if err := os.WriteFile(filepath.Join(s.Dir, store.AttemptsFile), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if pend, err := s.PendingAttempts(st); err != nil || len(pend) != 0 {
		t.Fatalf("after a crash between fold and truncation: %d pending, %v", len(pend), err)
	}
	n := ledger(t, s).Len()
	if err := s.Update(ctx, func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ledger(t, s).Len() != n {
		t.Fatal("the same attempts were ledgered twice")
	}
	if r := verified(t, s.Dir); !r.Verified {
		t.Fatalf("%+v", r.Problems)
	}
}
