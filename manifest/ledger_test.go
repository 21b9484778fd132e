package manifest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

// sampleLedger is genesis, a user, imports and accesses: 8 entries.
func sampleLedger(t testing.TB) (*builder, seal.Signer) {
	t.Helper()
	b := newBuilder(t, fixedSigner(t, "station"))
	alice := fixedSigner(t, "alice")
	b.addUser("alice", alice, "user.add")  // 1
	b.addImport("clip01")                  // 2
	b.addImport("clip02")                  // 3
	b.addAccess("clip01", "SAR 2026/1")    // 4
	b.addAccess("clip02", "court", alice)  // 5
	b.addImport("clip03")                  // 6
	b.addAccess("clip03", "review", alice) // 7
	return b, alice
}

func TestParseAndCheckClean(t *testing.T) {
	b, alice := sampleLedger(t)
	l := parse(t, b.buf.Bytes())
	if l.Len() != 8 || l.Tree().Size() != 8 {
		t.Fatalf("parsed %d entries, tree %d", l.Len(), l.Tree().Size())
	}
	kr, issues := l.Check()
	if len(issues) != 0 {
		t.Fatalf("clean ledger has issues:%s", describe(issues))
	}
	if _, ok := kr.Key(seal.Fingerprint(alice.PublicKey())); !ok || kr.Name(seal.Fingerprint(alice.PublicKey())) != "alice" {
		t.Error("alice is not in the keyring")
	}
	if seal.Fingerprint(kr.Station) != seal.Fingerprint(b.station.PublicKey()) {
		t.Error("wrong station key")
	}
	g, err := l.Genesis()
	if err != nil || g.StationKey != seal.AuthorizedKey(b.station.PublicKey()) {
		t.Fatalf("genesis %+v %v", g, err)
	}
	for i, rec := range l.Records {
		if !bytes.Equal(rec.Line, b.l.Records[i].Line) {
			t.Fatalf("record %d differs from what was written", i)
		}
		if i > 0 && rec.Entry.Prev != l.Records[i-1].Hash() {
			t.Fatalf("entry %d does not link", i)
		}
	}
	root1, _ := l.Tree().Root(8)
	root2, _ := b.l.Tree().Root(8)
	if !bytes.Equal(root1, root2) {
		t.Fatal("the parsed tree and the written tree differ")
	}
	if l.Last().Entry.Seq != 7 {
		t.Fatalf("Last is seq %d", l.Last().Entry.Seq)
	}
}

func TestParseEmpty(t *testing.T) {
	l := parse(t, nil)
	if l.Len() != 0 || l.Last() != nil {
		t.Fatal("empty ledger has entries")
	}
	if _, issues := l.Check(); len(issues) != 1 || issues[0].Code != "ledger-empty" {
		t.Fatalf("issues %+v", issues)
	}
	if _, err := l.Genesis(); err == nil {
		t.Fatal("empty ledger has a genesis")
	}
}

// Every prefix that ends inside the last line is a torn tail: the complete
// entries parse and the partial bytes are returned, not an error.
func TestParseTornTail(t *testing.T) {
	b, _ := sampleLedger(t)
	data := b.buf.Bytes()
	ls := lines(data)
	prefix := len(join(ls[:len(ls)-1]))
	for cut := prefix + 1; cut < len(data); cut++ {
		l, torn, err := manifest.Parse(bytes.NewReader(data[:cut]))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if l.Len() != uint64(len(ls)-1) {
			t.Fatalf("cut at %d: %d entries", cut, l.Len())
		}
		if torn == nil || torn.Offset != int64(prefix) || !bytes.Equal(torn.Bytes, data[prefix:cut]) {
			t.Fatalf("cut at %d: torn tail %+v", cut, torn)
		}
	}
	// Exactly at a line end there is nothing torn.
	for i := range ls {
		n := len(join(ls[:i+1]))
		l, torn, err := manifest.Parse(bytes.NewReader(data[:n]))
		if err != nil || torn != nil || l.Len() != uint64(i+1) {
			t.Fatalf("prefix of %d lines: %d entries, torn %v, %v", i+1, l.Len(), torn, err)
		}
	}
	// Garbage after the last newline is a torn tail too.
	_, torn, err := manifest.Parse(bytes.NewReader(append(bytes.Clone(data), "\x00\x00garbage"...)))
	if err != nil || torn == nil || torn.Offset != int64(len(data)) {
		t.Fatalf("garbage tail: %+v %v", torn, err)
	}
}

// Damage to a complete line is an error naming the line, never a torn
// tail: only the last append can be interrupted.
func TestParseDamagedLine(t *testing.T) {
	b, _ := sampleLedger(t)
	ls := lines(b.buf.Bytes())
	for _, c := range []struct {
		name string
		edit func([][]byte) [][]byte
		line int
	}{
		{"garbage line", func(ls [][]byte) [][]byte { ls[2] = []byte("garbage"); return ls }, 3},
		{"blank line", func(ls [][]byte) [][]byte { return slices.Insert(ls, 4, []byte{}) }, 5},
		{"cut line in the middle", func(ls [][]byte) [][]byte { ls[1] = ls[1][:50]; return ls }, 2},
		{"two lines joined", func(ls [][]byte) [][]byte {
			return slices.Replace(ls, 3, 5, append(bytes.Clone(ls[3]), ls[4]...))
		}, 4},
		{"CRLF", func(ls [][]byte) [][]byte { ls[0] = append(bytes.Clone(ls[0]), '\r'); return ls }, 1},
		{"damaged last line", func(ls [][]byte) [][]byte { ls[7] = ls[7][:len(ls[7])-1]; return ls }, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := join(c.edit(slices.Clone(ls)))
			_, _, err := manifest.Parse(bytes.NewReader(data))
			var le *manifest.LineError
			if !errors.As(err, &le) || le.Line != c.line || !errors.Is(err, manifest.ErrMalformed) {
				t.Fatalf("got %v, want a malformed-line error for line %d", err, c.line)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not give the line", err)
			}
		})
	}
}

func TestParseLineTooLong(t *testing.T) {
	b, _ := sampleLedger(t)
	long := bytes.Repeat([]byte("x"), manifest.MaxLineSize+1)
	for _, data := range [][]byte{
		append(append(bytes.Clone(b.buf.Bytes()), long...), '\n'),
		append(bytes.Clone(b.buf.Bytes()), long...), // no newline: still refused
	} {
		_, _, err := manifest.Parse(bytes.NewReader(data))
		var le *manifest.LineError
		if !errors.As(err, &le) || le.Line != 9 || !errors.Is(err, manifest.ErrMalformed) {
			t.Fatalf("got %v, want line 9 too long", err)
		}
	}
}

// reencode rebuilds a line with new sigs, keeping the entry bytes.
func reencode(t *testing.T, line []byte, sigs []manifest.Sig) []byte {
	t.Helper()
	rec, err := manifest.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	return canonicalLine(rec.EntryRaw, sigs)
}

func sigsOf(t *testing.T, line []byte) []manifest.Sig {
	t.Helper()
	rec, err := manifest.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Sigs
}

// TestCheckCatches tampers with a good ledger in every way the chain must
// catch, and asserts exactly which issues Check reports for which entry.
func TestCheckCatches(t *testing.T) {
	b, alice := sampleLedger(t)
	good := lines(b.buf.Bytes())
	station := b.station
	intruder := fixedSigner(t, "intruder")

	// appendTo continues a tampered ledger with a properly made entry.
	appendTo := func(ls [][]byte, e manifest.Entry, signers ...seal.Signer) [][]byte {
		l := parse(t, join(ls))
		rec, err := l.Next(e, t0.Add(time.Hour), signers...)
		if err != nil {
			t.Fatal(err)
		}
		return append(ls, rec.Line)
	}
	access := func(name string) manifest.Entry {
		return manifest.Entry{Actor: manifest.Actor{Name: name}, Action: "access", Clip: "clip01", Payload: json.RawMessage(`{"reason":"x"}`)}
	}

	cases := []struct {
		name  string
		lines func() [][]byte
		want  []string // seq:code
	}{
		{"edited payload", func() [][]byte {
			ls := slices.Clone(good)
			ls[4] = bytes.Replace(ls[4], []byte("SAR 2026/1"), []byte("SAR 2026/2"), 1)
			return ls
		}, []string{"4:ledger-actor", "4:ledger-signature", "5:ledger-chain"}},
		{"edited time", func() [][]byte {
			ls := slices.Clone(good)
			ls[3] = bytes.Replace(ls[3], []byte("09:03:00Z"), []byte("09:03:30Z"), 1)
			return ls
		}, []string{"3:ledger-actor", "3:ledger-signature", "4:ledger-chain"}},
		{"edited last entry", func() [][]byte {
			ls := slices.Clone(good)
			ls[7] = bytes.Replace(ls[7], []byte(`"review"`), []byte(`"fishing"`), 1)
			return ls
		}, []string{"7:ledger-actor", "7:ledger-signature"}},
		{"reordered entries", func() [][]byte {
			ls := slices.Clone(good)
			ls[2], ls[3] = ls[3], ls[2]
			return ls
		}, []string{"2:ledger-chain", "2:ledger-seq", "3:ledger-chain", "3:ledger-seq", "3:ledger-time", "4:ledger-chain"}},
		{"deleted entry", func() [][]byte {
			return slices.Delete(slices.Clone(good), 3, 4)
		}, []string{"3:ledger-chain", "3:ledger-seq", "4:ledger-seq", "5:ledger-seq", "6:ledger-seq"}},
		{"deleted genesis", func() [][]byte {
			return slices.Clone(good)[1:]
		}, []string{"0:ledger-chain", "0:ledger-genesis", "0:ledger-seq"}},
		{"duplicated entry", func() [][]byte {
			return slices.Insert(slices.Clone(good), 4, good[3])
			// The copy's successor links to the copy just as well.
		}, []string{"4:ledger-chain", "4:ledger-seq", "5:ledger-seq", "6:ledger-seq", "7:ledger-seq", "8:ledger-seq"}},
		{"swapped signatures", func() [][]byte {
			ls := slices.Clone(good)
			s2, s3 := sigsOf(t, ls[2]), sigsOf(t, ls[3])
			ls[2], ls[3] = reencode(t, ls[2], s3), reencode(t, ls[3], s2)
			return ls
		}, []string{"2:ledger-actor", "2:ledger-signature", "3:ledger-actor", "3:ledger-chain", "3:ledger-signature", "4:ledger-chain"}},
		{"signature removed from a countersigned entry", func() [][]byte {
			ls := slices.Clone(good)
			ls[7] = reencode(t, ls[7], sigsOf(t, ls[7])[1:]) // keep only the station's
			return ls
		}, []string{"7:ledger-actor"}},
		{"signature names another key", func() [][]byte {
			ls := slices.Clone(good)
			sg := sigsOf(t, ls[5]) // alice, station
			sg[0].Key = sg[1].Key
			ls[5] = reencode(t, ls[5], sg)
			return ls
		}, []string{"5:ledger-actor", "5:ledger-signature", "6:ledger-chain"}},
		{"signature re-spelled with a line break", func() [][]byte {
			ls := slices.Clone(good)
			sg := sigsOf(t, ls[7])
			sg[1].SSHSig = sg[1].SSHSig[:20] + "\n" + sg[1].SSHSig[20:]
			ls[7] = reencode(t, ls[7], sg)
			return ls
		}, []string{"7:ledger-signature"}},
		{"entry by an unauthorised key", func() [][]byte {
			return appendTo(slices.Clone(good), access("intruder"), intruder)
		}, []string{"8:ledger-actor", "8:ledger-signer"}},
		{"intruder countersigned by the station", func() [][]byte {
			return appendTo(slices.Clone(good), access("intruder"), intruder, station)
		}, []string{"8:ledger-actor", "8:ledger-signer"}},
		{"actor names alice, only the station signed", func() [][]byte {
			e := access("alice")
			e.Actor.Key = seal.Fingerprint(alice.PublicKey())
			return appendTo(slices.Clone(good), e, station)
		}, []string{"8:ledger-actor"}},
		{"actor names the station, alice signed", func() [][]byte {
			e := access("station")
			e.Actor.Key = seal.Fingerprint(station.PublicKey())
			return appendTo(slices.Clone(good), e, alice)
		}, []string{"8:ledger-actor"}},
		{"removed user signs", func() [][]byte {
			ls := slices.Clone(good)
			l := parse(t, join(ls))
			p, _ := json.Marshal(manifest.KeyPayload{Name: "alice", Key: seal.AuthorizedKey(alice.PublicKey())})
			rec, _ := l.Next(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: "user.remove", Payload: p}, t0.Add(time.Hour), station)
			ls = append(ls, rec.Line)
			return appendTo(ls, access("alice"), alice, station)
		}, []string{"9:ledger-actor", "9:ledger-signer"}},
		{"intruder adds itself, then signs", func() [][]byte {
			// A user.add that does not verify must not authorise its key
			// for what follows.
			p, _ := json.Marshal(manifest.KeyPayload{Name: "intruder", Key: seal.AuthorizedKey(intruder.PublicKey())})
			ls := appendTo(slices.Clone(good), manifest.Entry{Actor: manifest.Actor{Name: "intruder"}, Action: "user.add", Payload: p}, intruder)
			return appendTo(ls, access("intruder"), intruder)
		}, []string{"8:ledger-actor", "8:ledger-signer", "9:ledger-actor", "9:ledger-signer"}},
		{"forged user.add under the station's name", func() [][]byte {
			// Signed by the intruder but naming the station's fingerprint.
			p, _ := json.Marshal(manifest.KeyPayload{Name: "intruder", Key: seal.AuthorizedKey(intruder.PublicKey())})
			e := manifest.Entry{Actor: manifest.Actor{Name: "station", Key: seal.Fingerprint(station.PublicKey())}, Action: "user.add", Payload: p}
			ls := appendTo(slices.Clone(good), e, intruder)
			sg := sigsOf(t, ls[8])
			sg[0].Key = seal.Fingerprint(station.PublicKey())
			ls[8] = reencode(t, ls[8], sg)
			return appendTo(ls, access("intruder"), intruder)
		}, []string{"8:ledger-actor", "8:ledger-signature", "9:ledger-actor", "9:ledger-signer"}},
		{"user.add with a bad key", func() [][]byte {
			e := manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: "user.add", Payload: json.RawMessage(`{"name":"bob","key":"not a key"}`)}
			return appendTo(slices.Clone(good), e, station)
		}, []string{"8:ledger-payload"}},
		{"time goes backwards", func() [][]byte {
			ls := slices.Clone(good)
			l := parse(t, join(ls))
			rec, err := manifest.NewRecord(manifest.Entry{Seq: 8, Time: t0.Add(time.Minute).Format(time.RFC3339Nano),
				Actor: manifest.Actor{Name: "station", Key: seal.Fingerprint(station.PublicKey())}, Action: "note", Prev: l.Last().Hash()}, station)
			if err != nil {
				t.Fatal(err)
			}
			return append(ls, rec.Line)
		}, []string{"8:ledger-time"}},
		{"first entry is not genesis", func() [][]byte {
			l := parse(t, nil)
			rec, _ := l.Next(access("station"), t0, station)
			return [][]byte{rec.Line}
		}, []string{"0:ledger-genesis"}},
		{"genesis with a bad station key", func() [][]byte {
			l := parse(t, nil)
			rec, _ := l.Next(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: "genesis", Payload: json.RawMessage(`{"store":"x","station_key":"nope","recipients":[]}`)}, t0, station)
			return [][]byte{rec.Line}
		}, []string{"0:ledger-genesis"}},
		{"genesis without payload", func() [][]byte {
			l := parse(t, nil)
			rec, _ := l.Next(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: "genesis"}, t0, station)
			return [][]byte{rec.Line}
		}, []string{"0:ledger-genesis"}},
		{"genesis replaced by another station's", func() [][]byte {
			// An intruder's genesis and first entry, then the real tail:
			// the real station's signatures are no longer authorised.
			nb := newBuilder(t, intruder)
			nb.addImport("clip01")
			return append(lines(nb.buf.Bytes()), good[2:]...)
		}, []string{"2:ledger-actor", "2:ledger-chain", "2:ledger-signer", "3:ledger-actor", "3:ledger-signer",
			"4:ledger-actor", "4:ledger-signer", "5:ledger-actor", "5:ledger-signer", "6:ledger-actor", "6:ledger-signer",
			"7:ledger-actor", "7:ledger-signer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := parse(t, join(c.lines()))
			_, issues := l.Check()
			if got := issueSet(issues); !slices.Equal(got, c.want) {
				t.Fatalf("issues %q, want %q:%s", got, c.want, describe(issues))
			}
		})
	}
}

func TestKeyringReplay(t *testing.T) {
	b, alice := sampleLedger(t)
	fp := seal.Fingerprint(alice.PublicKey())
	// Before user.add, alice may not sign; after it she may; after
	// user.remove, not any more.
	l := parse(t, join(lines(b.buf.Bytes())[:1]))
	if kr, _ := l.Check(); func() bool { _, ok := kr.Key(fp); return ok }() {
		t.Fatal("alice authorised before user.add")
	}
	p, _ := json.Marshal(manifest.KeyPayload{Name: "alice", Key: seal.AuthorizedKey(alice.PublicKey())})
	b.add(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: "user.remove", Payload: p})
	kr, issues := parse(t, b.buf.Bytes()).Check()
	if len(issues) != 0 {
		t.Fatalf("issues:%s", describe(issues))
	}
	if _, ok := kr.Key(fp); ok {
		t.Fatal("alice still authorised after user.remove")
	}
	if _, ok := kr.Key(seal.Fingerprint(b.station.PublicKey())); !ok {
		t.Fatal("station not authorised")
	}
}

func TestNextAndAdd(t *testing.T) {
	b, _ := sampleLedger(t)
	l := b.l
	// The clock going backwards does not make entries go backwards.
	rec, err := l.Next(manifest.Entry{Actor: manifest.Actor{Name: "station"}, Action: "note"}, t0.Add(-time.Hour), b.station)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Entry.When().Equal(l.Last().Entry.When()) {
		t.Fatalf("entry dated %s after %s", rec.Entry.Time, l.Last().Entry.Time)
	}
	if rec.Entry.Seq != l.Len() || rec.Entry.Prev != l.Last().Hash() || rec.Entry.V != manifest.Version {
		t.Fatalf("entry %+v", rec.Entry)
	}
	if rec.Entry.Actor.Key != seal.Fingerprint(b.station.PublicKey()) {
		t.Fatal("actor key not filled in from the first signer")
	}
	if l.Len() != 8 {
		t.Fatal("Next added the record")
	}
	stale, _ := l.Next(manifest.Entry{Action: "note"}, t0, b.station)
	if err := l.Add(rec); err != nil {
		t.Fatal(err)
	}
	if err := l.Add(stale); err == nil {
		t.Fatal("Add accepted a record with a stale seq")
	}
	// Times are UTC with the zone spelled Z.
	rec, _ = l.Next(manifest.Entry{Action: "note"}, time.Date(2030, 1, 1, 12, 0, 0, 5, time.FixedZone("X", 3600)), b.station)
	if rec.Entry.Time != "2030-01-01T11:00:00.000000005Z" {
		t.Fatalf("time %q", rec.Entry.Time)
	}
}
