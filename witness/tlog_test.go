package witness_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/witness"
	tnote "github.com/transparency-dev/formats/note"
	"golang.org/x/crypto/ssh"
	"golang.org/x/mod/sumdb/note"
)

// A real witness server on loopback (httptest starts a real HTTP server),
// with the real client, real keys and real state directories.

type tlogEnv struct {
	t        *testing.T
	station  seal.Signer
	skey     string // the witness's private key
	vkey     string // its cosignature verifier key
	dir      string // the witness's state
	srv      *witness.Server
	hs       *httptest.Server
	requests atomic.Int64
	storeDir string // the store's witnessed/ directory
}

func newTlogEnv(t *testing.T) *tlogEnv {
	e := &tlogEnv{t: t, station: signer(t, "station"), dir: t.TempDir(), storeDir: filepath.Join(t.TempDir(), "witnessed")}
	var vkey string
	var err error
	if e.skey, vkey, err = note.GenerateKey(rand.Reader, "witness.test/w1"); err != nil {
		t.Fatal(err)
	}
	if e.vkey, err = tnote.VKeyToCosignatureV1(vkey); err != nil {
		t.Fatal(err)
	}
	e.start()
	return e
}

func (e *tlogEnv) logVKey() string {
	v, err := manifest.NoteVerifierKey(origin, e.station.PublicKey())
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// start runs a witness server over e.dir.
func (e *tlogEnv) start() {
	srv, err := witness.NewServer(witness.ServerConfig{Key: e.skey, LogKeys: []string{e.logVKey()}, State: e.dir})
	if err != nil {
		e.t.Fatal(err)
	}
	if got, err := witness.CosignerVerifierKey(e.skey); err != nil || got != e.vkey || srv.VerifierKey() != e.vkey {
		e.t.Fatalf("verifier key %q %v, want %q", got, err, e.vkey)
	}
	h := srv.Handler("/w")
	e.srv = srv
	e.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	e.t.Cleanup(e.hs.Close)
}

func (e *tlogEnv) client() witness.Witness {
	w, err := witness.New(witness.Spec{Name: "tw", Kind: witness.KindTlog, Location: e.hs.URL + "/w", Key: e.vkey}, e.storeDir)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

func (e *tlogEnv) log(l *manifest.Ledger) *witness.Log {
	return &witness.Log{Ledger: l, Origin: origin, Signers: []ssh.PublicKey{e.station.PublicKey()}}
}

// published is a checkpoint with the station's signed note.
func published(t testing.TB, l *manifest.Ledger, size uint64, s seal.Signer) *witness.Published {
	t.Helper()
	p := checkpoint(t, l, size, s, t0.Add(time.Duration(size)*time.Hour))
	n, err := p.Checkpoint.SignNote(s)
	if err != nil {
		t.Fatal(err)
	}
	p.Note = n
	return p
}

// post sends a raw add-checkpoint body.
func (e *tlogEnv) post(body []byte) (int, string) {
	resp, err := http.Post(e.hs.URL+"/w/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTlogPublishAndCheck(t *testing.T) {
	ctx := context.Background()
	e := newTlogEnv(t)
	w := e.client()
	long := ledger(t, e.station, 6, "a")
	log := e.log(long)
	if st := w.Check(ctx, log, true); st.Err != nil || st.Size != 0 || len(st.Held) != 0 {
		t.Fatalf("nothing kept yet: %+v", st)
	}
	// With nothing to ask with, Check still makes sure a witness answers
	// there: the wrong URL prefix is an error, before anything is sent.
	wrong, _ := witness.New(witness.Spec{Name: "tw", Kind: witness.KindTlog, Location: e.hs.URL, Key: e.vkey}, e.storeDir)
	if st := wrong.Check(ctx, log, true); !errors.Is(st.Err, witness.ErrWitnessUnreachable) || !strings.Contains(st.Err.Error(), "404") {
		t.Fatalf("wrong prefix: %+v", st)
	}
	e.requests.Store(0)
	// First publish (old 0), then with proofs from 1 to 3 and 3 to 6.
	for _, size := range []uint64{1, 3, 6} {
		if err := w.Publish(ctx, log, published(t, long, size, e.station)); err != nil {
			t.Fatalf("publish %d: %v", size, err)
		}
	}
	if n := e.requests.Load(); n != 3 {
		t.Fatalf("%d requests for 3 publishes", n)
	}
	st := w.Check(ctx, log, true)
	if st.Err != nil || st.Size != 6 || len(st.Bad()) != 0 || judgments(st)[6] != witness.Agrees {
		t.Fatalf("agreeing witness: %+v", st)
	}
	// A checkpoint that only a person signed is not sent.
	before := e.requests.Load()
	person := checkpoint(t, long, 6, signer(t, "dana"), t0.Add(9*time.Hour))
	if err := w.Publish(ctx, log, person); err != nil || e.requests.Load() != before {
		t.Fatalf("person-signed checkpoint: %v, %d requests", err, e.requests.Load()-before)
	}
	// The kept note verifies with transparency-dev's own verifiers: the
	// station's signature and the witness's cosignature/v1.
	kept, err := os.ReadFile(filepath.Join(e.storeDir, "witness.test_w1-"+keyHash(t, e.vkey)+".cosigned"))
	if err != nil {
		t.Fatal(err)
	}
	logV, _ := tnote.NewVerifier(e.logVKey())
	cosV, _ := tnote.NewVerifierForCosignatureV1(e.vkey)
	n, err := note.Open(kept, note.VerifierList(logV, cosV))
	if err != nil || len(n.Sigs) != 2 || !strings.HasPrefix(n.Text, origin+"\n6\n") {
		t.Fatalf("kept note %q: %v", kept, err)
	}
	if ts, err := tnote.CoSigV1Timestamp(n.Sigs[1]); err != nil || time.Since(ts) > time.Minute {
		t.Fatalf("cosignature time %v %v", ts, err)
	}
	// Check changed nothing at the witness: it still holds 6, and a
	// checkpoint of 6 from the store is still old 6.
	if err := w.Publish(ctx, log, published(t, long, 6, e.station)); err != nil {
		t.Fatal(err)
	}
}

func keyHash(t *testing.T, vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		t.Fatalf("vkey %q", vkey)
	}
	return parts[1]
}

// TestTlogRollback: the store is rolled back to an older copy, its
// witnessed/ directory included. The witness, on another host, still
// holds the newer checkpoint and says so.
func TestTlogRollback(t *testing.T) {
	ctx := context.Background()
	e := newTlogEnv(t)
	w := e.client()
	long := ledger(t, e.station, 6, "a")
	log := e.log(long)
	if err := w.Publish(ctx, log, published(t, long, 3, e.station)); err != nil {
		t.Fatal(err)
	}
	old := snapshot(t, e.storeDir)
	if err := w.Publish(ctx, log, published(t, long, 6, e.station)); err != nil {
		t.Fatal(err)
	}

	// Only the ledger is rolled back: the kept note itself is ahead.
	log.Ledger = ledger(t, e.station, 4, "a")
	if st := w.Check(ctx, log, false); st.Err != nil || judgments(st)[6] != witness.Ahead {
		t.Fatalf("rolled-back ledger: %+v", st)
	}
	// The ledger and witnessed/ are rolled back: the kept note (3) agrees
	// with the ledger, and the witness answers that it holds 6.
	restore(t, old, e.storeDir)
	st := w.Check(ctx, log, true)
	if st.Err != nil || st.Size != 3 || judgments(st)[3] != witness.Agrees || judgments(st)[6] != witness.Ahead {
		t.Fatalf("rolled back with witnessed/: %+v", st)
	}
	// A recorded loss of entries after 3 accounts for it.
	log.Losses = []witness.Loss{{Seq: 4, Kept: 3, At: t0.Add(100 * time.Hour)}}
	if st := w.Check(ctx, log, true); len(st.Bad()) != 0 || judgments(st)[6] != witness.AccountedFor {
		t.Fatalf("after a recorded loss: %+v", st)
	}
	log.Losses = nil

	// witnessed/ deleted: nothing to ask with, so Check cannot tell. The
	// next checkpoint the station signs is refused as behind the witness,
	// and from then on Check asks with it and sees the rollback.
	os.RemoveAll(e.storeDir)
	if st := w.Check(ctx, log, true); st.Err != nil || len(st.Held) != 0 {
		t.Fatalf("nothing kept: %+v", st)
	}
	err := w.Publish(ctx, log, published(t, log.Ledger, 4, e.station))
	if !errors.Is(err, witness.ErrWitnessAhead) || !strings.Contains(err.Error(), "cosigned a checkpoint of 6 entries") {
		t.Fatalf("publish behind the witness: %v", err)
	}
	if st := w.Check(ctx, log, false); judgments(st)[6] != witness.Ahead {
		t.Fatalf("after the refused publish: %+v", st)
	}
}

// TestTlogFork: a ledger rewritten to the same length or longer cannot
// get past the witness either.
func TestTlogFork(t *testing.T) {
	ctx := context.Background()
	e := newTlogEnv(t)
	w := e.client()
	a := ledger(t, e.station, 6, "a")
	if err := w.Publish(ctx, e.log(a), published(t, a, 6, e.station)); err != nil {
		t.Fatal(err)
	}
	// The kept note shows the fork.
	b := ledger(t, e.station, 6, "b")
	if st := w.Check(ctx, e.log(b), true); judgments(st)[6] != witness.Fork {
		t.Fatalf("rewritten ledger: %+v", st)
	}
	// With witnessed/ gone too, the rewritten checkpoint of the same size
	// is refused (409), and the witness, asked with it, shows the fork.
	os.RemoveAll(e.storeDir)
	err := w.Publish(ctx, e.log(b), published(t, b, 6, e.station))
	if !errors.Is(err, witness.ErrWitnessRefused) || !strings.Contains(err.Error(), "409") {
		t.Fatalf("publish of the rewritten ledger: %v", err)
	}
	if st := w.Check(ctx, e.log(b), true); st.Err != nil || judgments(st)[6] != witness.Fork {
		t.Fatalf("asked with the rewritten checkpoint: %+v", st)
	}
	// A longer rewritten ledger: the proof from the witness's 6 fails.
	b8 := ledger(t, e.station, 8, "b")
	err = w.Publish(ctx, e.log(b8), published(t, b8, 8, e.station))
	if !errors.Is(err, witness.ErrWitnessRefused) || !strings.Contains(err.Error(), "422") {
		t.Fatalf("publish of a longer rewritten ledger: %v", err)
	}
}

// TestTlogServerRestart: the witness keeps its state across restarts.
func TestTlogServerRestart(t *testing.T) {
	ctx := context.Background()
	e := newTlogEnv(t)
	w := e.client()
	l := ledger(t, e.station, 6, "a")
	if err := w.Publish(ctx, e.log(l), published(t, l, 3, e.station)); err != nil {
		t.Fatal(err)
	}
	e.hs.Close()
	if st := w.Check(ctx, e.log(l), true); !errors.Is(st.Err, witness.ErrWitnessUnreachable) {
		t.Fatalf("stopped witness: %+v", st)
	}
	e.start() // another process, another port, the same state
	w = e.client()
	if st := w.Check(ctx, e.log(l), true); st.Err != nil || st.Size != 3 {
		t.Fatalf("restarted witness: %+v", st)
	}
	if code, body := e.post(witness.AddCheckpointBody(0, nil, published(t, l, 6, e.station).Note)); code != 409 || body != "3\n" {
		t.Fatalf("old 0 after restart: %d %q", code, body)
	}
	if err := w.Publish(ctx, e.log(l), published(t, l, 6, e.station)); err != nil {
		t.Fatal(err)
	}
}

// TestTlogClientRecovers: a client whose state was lost learns the size
// from the 409 and proves from there; one dropped connection is retried.
func TestTlogClientRecovers(t *testing.T) {
	ctx := context.Background()
	e := newTlogEnv(t)
	l := ledger(t, e.station, 9, "a")
	if err := e.client().Publish(ctx, e.log(l), published(t, l, 4, e.station)); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(e.storeDir)
	var drop atomic.Bool
	drop.Store(true)
	h := e.srv.Handler("/w")
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if drop.Swap(false) {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	w, _ := witness.New(witness.Spec{Name: "tw", Kind: witness.KindTlog, Location: flaky.URL + "/w/", Key: e.vkey}, e.storeDir)
	if err := w.Publish(ctx, e.log(l), published(t, l, 9, e.station)); err != nil {
		t.Fatalf("publish after a dropped connection and lost state: %v", err)
	}
	if st := w.Check(ctx, e.log(l), true); st.Size != 9 {
		t.Fatalf("%+v", st)
	}
}

// TestTlogServerStatusCodes: each refusal c2sp.org/tlog-witness names.
func TestTlogServerStatusCodes(t *testing.T) {
	e := newTlogEnv(t)
	l := ledger(t, e.station, 8, "a")
	n4 := published(t, l, 4, e.station).Note
	n8 := published(t, l, 8, e.station).Note
	if code, _ := e.post(witness.AddCheckpointBody(0, nil, n4)); code != 200 {
		t.Fatalf("first: %d", code)
	}
	proof, _ := l.Tree().ConsistencyProof(4, 8)
	bad := append([][]byte{}, proof...)
	bad[0] = bytes.Repeat([]byte{7}, 32)
	mallory := signer(t, "mallory")
	forged, _ := checkpoint(t, l, 8, mallory, t0).Checkpoint.SignNote(mallory)
	other := &manifest.Checkpoint{Origin: "custody/store/ffffffffffffffffffffffffffffffff", Size: 8, Root: bytes.Repeat([]byte{1}, 32), Time: t0}
	otherNote, _ := other.SignNote(e.station)
	tooMany := make([][]byte, witness.MaxProofLines+1)
	for i := range tooMany {
		tooMany[i] = bytes.Repeat([]byte{1}, 32)
	}
	for _, tc := range []struct {
		what string
		body []byte
		code int
	}{
		{"bad proof", witness.AddCheckpointBody(4, bad, n8), 422},
		{"proof with old 0", witness.AddCheckpointBody(0, proof, n8), 409}, // old size is checked first
		{"unknown origin", witness.AddCheckpointBody(4, proof, otherNote), 404},
		{"signed by another key", witness.AddCheckpointBody(4, proof, forged), 403},
		{"old beyond the checkpoint", witness.AddCheckpointBody(9, proof, n8), 400},
		{"stale old", witness.AddCheckpointBody(2, proof, n8), 409},
		{"64 proof lines", witness.AddCheckpointBody(4, tooMany, n8), 400},
		{"no old line", []byte("\n" + string(n8)), 400},
		{"leading zero", []byte("old 04\n\n" + string(n8)), 400},
		{"no blank line", []byte("old 4\n"), 400},
		{"unsigned", witness.AddCheckpointBody(4, proof, []byte(strings.SplitAfter(string(n8), "\n\n")[0])), 400},
		{"same size, proof given", witness.AddCheckpointBody(4, proof[:1], n4), 422},
		{"same size again", witness.AddCheckpointBody(4, nil, n4), 200},
		{"good proof", witness.AddCheckpointBody(4, proof, n8), 200},
	} {
		if code, body := e.post(tc.body); code != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.what, code, body, tc.code)
		}
	}
	// Another root at the size it holds: 409 with its size.
	l2 := ledger(t, e.station, 8, "b")
	if code, body := e.post(witness.AddCheckpointBody(8, nil, published(t, l2, 8, e.station).Note)); code != 409 || body != "8\n" {
		t.Errorf("another root: %d %q", code, body)
	}
	resp, err := http.Get(e.hs.URL + "/w/add-checkpoint")
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != 405 {
		t.Errorf("GET: %v %v", resp, err)
	}
	if code, _ := e.post(append(witness.AddCheckpointBody(8, nil, n8), bytes.Repeat([]byte("x"), witness.MaxRequestBody)...)); code != 413 {
		t.Errorf("huge body: %d", code)
	}
}

// TestTlogClientErrors: what the operator must configure is named, with
// the station's verifier key.
func TestTlogClientErrors(t *testing.T) {
	ctx := context.Background()
	e := newTlogEnv(t)
	l := ledger(t, e.station, 3, "a")
	stranger := signer(t, "other-station")
	e.station = stranger // the witness was configured with another store's key
	e.start()
	e.station = signer(t, "station")
	err := e.client().Publish(ctx, e.log(l), published(t, l, 3, e.station))
	if !errors.Is(err, witness.ErrWitnessRefused) || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), e.logVKey()) {
		t.Fatalf("unknown key: %v", err)
	}
	// A witness that knows no log of this origin.
	srv, _ := witness.NewServer(witness.ServerConfig{Key: e.skey, LogKeys: []string{mustVKey(t, "custody/store/other", stranger)}, State: t.TempDir()})
	hs := httptest.NewServer(srv.Handler(""))
	defer hs.Close()
	w, _ := witness.New(witness.Spec{Name: "tw", Kind: witness.KindTlog, Location: hs.URL, Key: e.vkey}, t.TempDir())
	err = w.Publish(ctx, e.log(l), published(t, l, 3, e.station))
	if !errors.Is(err, witness.ErrWitnessRefused) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "--log-key "+e.logVKey()) {
		t.Fatalf("unknown origin: %v", err)
	}
	// The right witness at that URL, but registered with another key.
	_, otherV, _ := note.GenerateKey(rand.Reader, "witness.test/w1")
	e.start()
	w, _ = witness.New(witness.Spec{Name: "tw", Kind: witness.KindTlog, Location: e.hs.URL + "/w", Key: otherV}, t.TempDir())
	err = w.Publish(ctx, e.log(l), published(t, l, 3, e.station))
	if !errors.Is(err, witness.ErrWitnessRefused) || !strings.Contains(err.Error(), "do not verify") {
		t.Fatalf("wrong witness key: %v", err)
	}
	// Nobody listening: an error after one retry.
	hs.Close()
	w, _ = witness.New(witness.Spec{Name: "tw", Kind: witness.KindTlog, Location: hs.URL, Key: e.vkey}, t.TempDir())
	start := time.Now()
	if err := w.Publish(ctx, e.log(l), published(t, l, 3, e.station)); !errors.Is(err, witness.ErrWitnessUnreachable) || time.Since(start) < time.Second {
		t.Fatalf("nobody listening: %v after %v", err, time.Since(start))
	}
}

func mustVKey(t *testing.T, origin string, s seal.Signer) string {
	v, err := manifest.NoteVerifierKey(origin, s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTlogConcurrent: the spec's race. Requests racing from the same old
// size are serialised, by two servers over one state directory too (as
// two processes would be): exactly one is cosigned, and the state ends at
// the size that was cosigned, never rolled back.
func TestTlogConcurrent(t *testing.T) {
	e := newTlogEnv(t)
	l := ledger(t, e.station, 40, "a")
	if code, _ := e.post(witness.AddCheckpointBody(0, nil, published(t, l, 2, e.station).Note)); code != 200 {
		t.Fatal(code)
	}
	second, err := witness.NewServer(witness.ServerConfig{Key: e.skey, LogKeys: []string{e.logVKey()}, State: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	hs2 := httptest.NewServer(second.Handler("/w"))
	defer hs2.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[uint64]int{}
	for size := uint64(3); size <= 40; size++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			proof, _ := l.Tree().ConsistencyProof(2, size)
			url := e.hs.URL
			if size%2 == 0 {
				url = hs2.URL
			}
			resp, err := http.Post(url+"/w/add-checkpoint", "text/plain", bytes.NewReader(witness.AddCheckpointBody(2, proof, published(t, l, size, e.station).Note)))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			won[size] = resp.StatusCode
			mu.Unlock()
		}()
	}
	wg.Wait()
	var winners []uint64
	for size, code := range won {
		switch code {
		case 200:
			winners = append(winners, size)
		case 409:
		default:
			t.Errorf("size %d: %d", size, code)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("cosigned %v from the same old size", winners)
	}
	code, body := e.post(witness.AddCheckpointBody(0, nil, published(t, l, 40, e.station).Note))
	if code != 409 || body != fmt.Sprintf("%d\n", winners[0]) {
		t.Fatalf("state after the race: %d %q, cosigned %d", code, body, winners[0])
	}
}

func TestTlogSpecValidate(t *testing.T) {
	_, vkey, _ := note.GenerateKey(rand.Reader, "witness.test/w1")
	cv, _ := tnote.VKeyToCosignatureV1(vkey)
	for _, tc := range []struct {
		loc, key string
		ok       bool
	}{
		{"https://witness.example/custody", cv, true},
		{"http://127.0.0.1:8470", vkey, true},
		{"ftp://witness.example", cv, false},
		{"https://user:pw@witness.example", cv, false},
		{"https://witness.example/?q=1", cv, false},
		{"witness.example", cv, false},
		{"https://witness.example", "", false},
		{"https://witness.example", "not+a+key", false},
	} {
		err := witness.Spec{Name: "tw", Kind: witness.KindTlog, Location: tc.loc, Key: tc.key}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: %v", tc.loc, tc.key, err)
		}
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	out := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func restore(t *testing.T, snap map[string][]byte, dir string) {
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	for name, b := range snap {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzParseAddCheckpoint(f *testing.F) {
	f.Add([]byte("old 0\n\norigin\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— origin AAAA\n"))
	f.Add([]byte("old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"))
	f.Add([]byte("old 01\n\n"))
	f.Add([]byte("old 1\nx\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := witness.ParseAddCheckpoint(body)
		if err != nil {
			return
		}
		if len(req.Proof) > witness.MaxProofLines {
			t.Fatalf("%d proof lines", len(req.Proof))
		}
		// What parses is exactly one way of writing it.
		if again := witness.AddCheckpointBody(req.Old, req.Proof, req.Note); !bytes.Equal(again, body) {
			t.Fatalf("parsed %q, rewritten %q", body, again)
		}
	})
}

// FuzzServeAddCheckpoint runs whole requests through the witness: no
// input makes it fail other than as the protocol says, and nothing but a
// checkpoint the log signed is ever cosigned.
func FuzzServeAddCheckpoint(f *testing.F) {
	station := signer(f, "station")
	l := ledger(f, station, 5, "a")
	for _, size := range []uint64{1, 5} {
		p := checkpoint(f, l, size, station, t0)
		n, _ := p.Checkpoint.SignNote(station)
		f.Add(witness.AddCheckpointBody(0, nil, n))
	}
	f.Add([]byte("old 0\n\n"))
	f.Add([]byte("old 0\n\nexample.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.com/log AAAA\n"))
	skey, _, _ := note.GenerateKey(rand.Reader, "witness.test/fuzz")
	logKey, _ := manifest.NoteVerifierKey(origin, station.PublicKey())
	srv, err := witness.NewServer(witness.ServerConfig{Key: skey, LogKeys: []string{logKey}, State: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/add-checkpoint", bytes.NewReader(body)))
		switch rec.Code {
		case 200:
			req, err := witness.ParseAddCheckpoint(body)
			if err != nil {
				t.Fatalf("cosigned a request that does not parse: %q", body)
			}
			if _, err := manifest.OpenNote(req.Note, []ssh.PublicKey{station.PublicKey()}, nil); err != nil {
				t.Fatalf("cosigned %q: %v", req.Note, err)
			}
		case 400, 403, 404, 409, 413, 422:
		default:
			t.Fatalf("answered %d to %q", rec.Code, body)
		}
	})
}

func FuzzParseTlogSize(f *testing.F) {
	for _, s := range []string{"0\n", "42\n", "18446744073709551615\n", "042\n", "42", " 42\n", "-1\n", "18446744073709551616\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := witness.ParseTlogSize(body)
		if err != nil {
			return
		}
		if want := fmt.Sprintf("%d\n", n); string(body) != want {
			t.Fatalf("%q read as %d", body, n)
		}
	})
}

// TestTlogHostileAnswers: what a hostile or broken server at the witness's
// URL says reaches the operator only as safe text, and never counts as a
// cosignature.
func TestTlogHostileAnswers(t *testing.T) {
	ctx := context.Background()
	e := newTlogEnv(t)
	l := ledger(t, e.station, 3, "a")
	var status atomic.Int64
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status.Load() == 200 {
			w.Write([]byte("— witness.test/w1 AAAA\n"))
			return
		}
		http.Error(w, "\x1b[2J\u202egone\x07", int(status.Load()))
	}))
	defer hostile.Close()
	w, _ := witness.New(witness.Spec{Name: "tw", Kind: witness.KindTlog, Location: hostile.URL, Key: e.vkey}, t.TempDir())
	for _, code := range []int64{400, 500, 200} {
		status.Store(code)
		err := w.Publish(ctx, e.log(l), published(t, l, 3, e.station))
		if err == nil || strings.ContainsAny(err.Error(), "\x1b\u202e\x07") {
			t.Errorf("%d: %q", code, err)
		}
	}
	if st := w.Check(ctx, e.log(l), true); st.Size != 0 || len(st.Bad()) != 0 {
		t.Errorf("hostile witness: %+v", st)
	}
}
