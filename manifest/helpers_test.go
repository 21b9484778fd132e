package manifest_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

// t0 is the pinned clock of every test ledger.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fixedSigner returns an Ed25519 signer derived from name, so that test
// ledgers are reproducible byte for byte (Ed25519 signing is
// deterministic).
func fixedSigner(t testing.TB, name string) seal.Signer {
	t.Helper()
	seed := sha256.Sum256([]byte("custody test key: " + name))
	s, err := seal.NewEd25519Signer(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// builder writes a ledger the way the store does: Next, encode, Add.
type builder struct {
	t       testing.TB
	l       *manifest.Ledger
	station seal.Signer
	buf     bytes.Buffer
	now     time.Time
}

func newBuilder(t testing.TB, station seal.Signer) *builder {
	t.Helper()
	l, torn, err := manifest.Parse(bytes.NewReader(nil))
	if err != nil || torn != nil {
		t.Fatal(err)
	}
	b := &builder{t: t, l: l, station: station, now: t0}
	g, _ := json.Marshal(manifest.GenesisPayload{
		Store:      "0123456789abcdef0123456789abcdef",
		StationKey: seal.AuthorizedKey(station.PublicKey()),
		Recipients: []string{"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"},
	})
	b.add(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: "genesis", Payload: g})
	return b
}

// add appends an entry signed by signers (the station when none given).
func (b *builder) add(e manifest.Entry, signers ...seal.Signer) *manifest.Record {
	b.t.Helper()
	if len(signers) == 0 {
		signers = []seal.Signer{b.station}
	}
	rec, err := b.l.Next(e, b.now, signers...)
	if err != nil {
		b.t.Fatal(err)
	}
	b.now = b.now.Add(time.Minute)
	b.buf.Write(manifest.Encode(rec))
	if err := b.l.Add(rec); err != nil {
		b.t.Fatal(err)
	}
	return rec
}

func (b *builder) addUser(name string, key seal.Signer, action string) {
	p, _ := json.Marshal(manifest.KeyPayload{Name: name, Role: "dpo", Key: seal.AuthorizedKey(key.PublicKey())})
	b.add(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: action, Payload: p})
}

func (b *builder) addImport(clip string) {
	p := fmt.Sprintf(`{"filename":"%s.mp4","note":"bodycam <1>","sha256":"%x"}`, clip, sha256.Sum256([]byte(clip)))
	b.add(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: "import", Clip: clip, Payload: json.RawMessage(p)})
}

func (b *builder) addAccess(clip, reason string, by ...seal.Signer) {
	p, _ := json.Marshal(map[string]string{"reason": reason})
	name := "station"
	if len(by) > 0 {
		name = "alice"
	}
	b.add(manifest.Entry{Actor: manifest.Actor{Name: name}, Action: "access", Clip: clip, Payload: p}, append(by, b.station)...)
}

// lines splits ledger bytes into lines without their newlines.
func lines(data []byte) [][]byte {
	ls := bytes.SplitAfter(data, []byte("\n"))
	var out [][]byte
	for _, l := range ls {
		if len(l) > 0 {
			out = append(out, bytes.TrimSuffix(l, []byte("\n")))
		}
	}
	return out
}

func join(ls [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range ls {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func parse(t testing.TB, data []byte) *manifest.Ledger {
	t.Helper()
	l, torn, err := manifest.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if torn != nil {
		t.Fatalf("unexpected torn tail %q", torn.Bytes)
	}
	return l
}

// canonicalLine builds a line by hand, in the documented form.
func canonicalLine(entryRaw []byte, sigs []manifest.Sig) []byte {
	sj, _ := json.Marshal(sigs)
	return []byte(`{"entry":` + string(entryRaw) + `,"sigs":` + string(sj) + `}`)
}

// issueSet renders issues as sorted "seq:code" strings for comparison.
func issueSet(issues []manifest.Issue) []string {
	var out []string
	seen := map[string]bool{}
	for _, is := range issues {
		k := fmt.Sprintf("%d:%s", is.Seq, is.Code)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func describe(issues []manifest.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		fmt.Fprintf(&b, "\n  %d %s: %s", is.Seq, is.Code, is.Msg)
	}
	return b.String()
}
