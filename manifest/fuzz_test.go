package manifest_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"golang.org/x/crypto/ssh"
)

// Seeds come from real ledgers written the way the store writes them, and
// from the damage a crash or an editor leaves.

func ledgerSeeds(f *testing.F) [][]byte {
	b, _ := sampleLedger(f)
	data := b.buf.Bytes()
	ls := lines(data)
	seeds := [][]byte{
		data,
		join(ls[:1]),
		data[:len(data)-37],                 // torn tail
		append(bytes.Clone(data), ls[2]...), // a duplicate without newline
		join([][]byte{ls[0], ls[2], ls[1]}), // reordered
		bytes.Replace(data, []byte("SAR"), []byte("SAX"), 1),
		bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")),
		{},
		[]byte("\n"),
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range ledgerSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, torn, err := manifest.Parse(bytes.NewReader(data))
		if err != nil {
			var le *manifest.LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		// What parsed is exactly the input: complete lines, then the torn
		// tail.
		var b bytes.Buffer
		for _, rec := range l.Records {
			b.Write(manifest.Encode(rec))
		}
		if torn != nil {
			if torn.Offset != int64(b.Len()) || len(torn.Bytes) == 0 || bytes.IndexByte(torn.Bytes, '\n') >= 0 {
				t.Fatalf("torn tail %+v after %d bytes of lines", torn, b.Len())
			}
			b.Write(torn.Bytes)
		}
		if !bytes.Equal(b.Bytes(), data) {
			t.Fatalf("records and torn tail do not reproduce the input")
		}
		if l.Tree().Size() != l.Len() {
			t.Fatalf("tree of %d for %d records", l.Tree().Size(), l.Len())
		}
		if _, err := l.Tree().Root(l.Len()); err != nil {
			t.Fatal(err)
		}
		l.Check() // must not panic on any parsable ledger
		l.Genesis()
	})
}

func FuzzParseLine(f *testing.F) {
	for _, s := range ledgerSeeds(f) {
		for _, line := range lines(s) {
			f.Add(line)
			if dup := bytes.Replace(line, []byte(`"payload":{`), []byte(`"payload":{"x":0,"x":1,`), 1); !bytes.Equal(dup, line) {
				f.Add(dup)
			}
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := manifest.ParseLine(line)
		if err != nil {
			if !errors.Is(err, manifest.ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		// One canonical spelling: the accepted bytes are exactly what
		// custody would write for this entry and these signatures.
		if !bytes.Equal(canonicalLine(rec.EntryRaw, rec.Sigs), line) || !bytes.Equal(rec.Line, line) {
			t.Fatalf("accepted a non-canonical line: %q", line)
		}
		// One meaning: no object has a key twice, by encoding/json's
		// own tokenizer.
		if dup := refDuplicateKey(line); dup != "" {
			t.Fatalf("accepted a line with a %s", dup)
		}
		if rec.Entry.V != manifest.Version || len(rec.Sigs) == 0 {
			t.Fatalf("accepted entry %+v with %d sigs", rec.Entry, len(rec.Sigs))
		}
		again, err := manifest.ParseLine(rec.Line)
		if err != nil || again.Hash() != rec.Hash() {
			t.Fatalf("re-parse: %v", err)
		}
		for _, s := range rec.Sigs {
			if blob, err := seal.DecodeSig(s.SSHSig); err == nil {
				seal.VerifySignature(blob, manifest.EntryNamespace, rec.EntryRaw)
			}
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	b, _ := sampleLedger(f)
	for _, size := range []uint64{0, 1, 8} {
		c, err := manifest.NewCheckpoint(b.l, origin, size, t0, b.station)
		if err != nil {
			f.Fatal(err)
		}
		data := c.Marshal()
		f.Add(data)
		f.Add(data[:len(data)-40])
		f.Add(bytes.Replace(data, []byte("\n\n"), []byte("\n"), 1))
	}
	f.Add([]byte("origin\n1\nAAAA\ntime 2026-01-01T00:00:00Z\n\n"))
	if c, err := manifest.NewCheckpoint(b.l, origin, 8, t0, b.station); err == nil {
		data := c.Marshal()
		body := c.Body()
		f.Add(append(bytes.Clone(data), "junk\n"...))
		f.Add(append(bytes.Clone(data), data[len(body)+1:]...))
		f.Add(append(append(bytes.Clone(body), "\njunk\n"...), data[len(body)+1:]...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, pub, err := manifest.ParseCheckpoint(data)
		if err != nil {
			if !errors.Is(err, manifest.ErrBadCheckpoint) {
				t.Fatalf("error not ErrBadCheckpoint: %v", err)
			}
			return
		}
		// One spelling: nothing before, between or after the parts.
		if !bytes.Equal(data, c.Marshal()) {
			t.Fatalf("accepted %q, which is not the checkpoint's file form", data)
		}
		got, err := seal.VerifySignature(c.Sig, manifest.CheckpointNamespace, c.Body())
		if err != nil || !bytes.Equal(got.Marshal(), pub.Marshal()) {
			t.Fatalf("accepted a checkpoint whose signature does not verify: %v", err)
		}
		c2, _, err := manifest.ParseCheckpoint(c.Marshal())
		if err != nil || c2.Size != c.Size || !bytes.Equal(c2.Root, c.Root) || c2.Origin != c.Origin || !c2.Time.Equal(c.Time) {
			t.Fatalf("re-marshalled checkpoint: %+v, %v", c2, err)
		}
	})
}

// FuzzOpenNote: a checkpoint note comes from a witness or a file someone
// kept; reading one must never panic, and one that opens must re-sign to
// the same body.
func FuzzOpenNote(f *testing.F) {
	station := fixedSigner(f, "station")
	c := &manifest.Checkpoint{Origin: "custody/store/0123", Size: 3, Root: bytes.Repeat([]byte{7}, 32), Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	signed, err := c.SignNote(station)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(c.Body())
	f.Add([]byte("custody/store/0123\n3\n\n— x y\n"))
	keys := []ssh.PublicKey{station.PublicKey()}
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := manifest.OpenNote(data, keys, nil)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, nc.Body()) {
			t.Fatalf("opened a note whose text is not its body:\n%q", data)
		}
	})
}
