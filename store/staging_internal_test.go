package store

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCreateStaging(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a"+stagingSuffix)
	f, err := createStaging(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	other, _ := os.Open(p)
	if tryFlock(other) {
		t.Fatal("the staging file is not locked")
	}
	other.Close()
	if !linkedAt(f, p) {
		t.Fatal("linkedAt is false for the file just made")
	}
	if _, err := createStaging(p); err == nil {
		t.Fatal("createStaging replaced an existing file")
	}
	// linkedAt notices the name going away or naming another file.
	os.Remove(p)
	if linkedAt(f, p) {
		t.Fatal("linkedAt true after the file was unlinked")
	}
	os.WriteFile(p, nil, 0o600)
	if linkedAt(f, p) {
		t.Fatal("linkedAt true for another file at the same path")
	}
}

// Writers create staging files while a sweeper applies recovery's rule
// (remove every staging file it can lock) as fast as it can. A staging
// file createStaging returned must stay in place for as long as its writer
// holds it; a file swept in the moment between its creation and its lock
// must be reported, not handed out.
func TestCreateStagingRacesRecovery(t *testing.T) {
	dir := t.TempDir()
	stop := make(chan struct{})
	var sweeps atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				p := filepath.Join(dir, e.Name())
				f, err := os.Open(p)
				if err != nil {
					continue
				}
				if tryFlock(f) {
					os.Remove(p)
					sweeps.Add(1)
				}
				f.Close()
			}
		}
	}()
	var made, refused int
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		p := filepath.Join(dir, newID(6)+stagingSuffix)
		f, err := createStaging(p)
		if err != nil {
			refused++
			continue
		}
		made++
		// The sweeper gets a chance at it while it is held.
		for range 3 {
			time.Sleep(10 * time.Microsecond)
		}
		if !linkedAt(f, p) {
			t.Fatalf("staging file %s was swept while its writer held it", p)
		}
		f.Close()
		os.Remove(p)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d staging files made, %d refused because the sweeper took them first, %d sweeps", made, refused, sweeps.Load())
	if made == 0 {
		t.Fatal("no staging file was ever made")
	}
}
