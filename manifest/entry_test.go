package manifest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

// sampleLine is one import entry, as the store writes it.
func sampleLine(t *testing.T) ([]byte, *manifest.Record) {
	t.Helper()
	station := fixedSigner(t, "station")
	rec, err := manifest.NewRecord(manifest.Entry{
		Seq: 1, Time: "2026-03-01T09:01:00Z", Actor: manifest.Actor{Name: "alice", Key: seal.Fingerprint(station.PublicKey())},
		Action: "import", Clip: "abc123", Payload: json.RawMessage(`{"a":1,"note":"x"}`), Prev: manifest.ZeroHash,
	}, station)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Line, rec
}

func TestParseLineRoundTrip(t *testing.T) {
	line, rec := sampleLine(t)
	got, err := manifest.ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Line, line) || !bytes.Equal(got.EntryRaw, rec.EntryRaw) {
		t.Fatal("parsed line differs from the written one")
	}
	if got.Entry.Seq != 1 || got.Entry.Action != "import" || got.Entry.Clip != "abc123" || got.Entry.Actor.Name != "alice" {
		t.Fatalf("entry %+v", got.Entry)
	}
	h := sha256.Sum256(line)
	if got.Hash() != hex.EncodeToString(h[:]) {
		t.Fatal("Hash is not the SHA-256 of the line")
	}
	if enc := manifest.Encode(got); !bytes.Equal(enc, append(bytes.Clone(line), '\n')) {
		t.Fatalf("Encode gives %q", enc)
	}
	var p struct{ A int }
	if err := got.Payload(&p); err != nil || p.A != 1 {
		t.Fatalf("payload %+v %v", p, err)
	}
	// The entry bytes are what is signed.
	blob, err := seal.DecodeSig(got.Sigs[0].SSHSig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.VerifySignature(blob, manifest.EntryNamespace, got.EntryRaw); err != nil {
		t.Fatal(err)
	}
	// Parsing copies: the caller's buffer may be reused.
	buf := bytes.Clone(line)
	r2, _ := manifest.ParseLine(buf)
	for i := range buf {
		buf[i] = 'x'
	}
	if !bytes.Equal(r2.Line, line) || !bytes.Equal(r2.EntryRaw, rec.EntryRaw) {
		t.Fatal("the record aliases the input buffer")
	}
}

func TestParseLineOptionalFields(t *testing.T) {
	s := fixedSigner(t, "station")
	rec, err := manifest.NewRecord(manifest.Entry{Seq: 0, Time: "2026-03-01T09:00:00.123456789Z", Action: "note", Prev: manifest.ZeroHash}, s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rec.EntryRaw, []byte(`"clip"`)) || bytes.Contains(rec.EntryRaw, []byte(`"payload"`)) {
		t.Fatalf("empty optional fields written: %s", rec.EntryRaw)
	}
	if _, err := manifest.ParseLine(rec.Line); err != nil {
		t.Fatal(err)
	}
	if err := rec.Payload(&struct{}{}); err == nil {
		t.Error("Payload of an entry without one succeeded")
	}
}

func TestParseLineRefusals(t *testing.T) {
	line, rec := sampleLine(t)
	L := string(line)
	entry := string(rec.EntryRaw)
	sigs := L[len(`{"entry":`)+len(entry)+len(`,"sigs":`) : len(L)-1]
	if !strings.HasPrefix(sigs, `[{"key":"SHA256:`) {
		t.Fatalf("unexpected line layout: %s", L)
	}
	rep := func(old, new string) string {
		if !strings.Contains(L, old) {
			t.Fatalf("%q not in the sample line", old)
		}
		return strings.Replace(L, old, new, 1)
	}
	cases := []struct {
		name string
		line string
		msg  string // in the error, if set
	}{
		{"empty", "", ""},
		{"not JSON", "hello", ""},
		{"leading space", " " + L, "canonical"},
		{"trailing space", L + " ", "canonical"},
		{"trailing CR", L + "\r", "canonical"},
		{"two objects", L + L, "canonical"},
		{"space after colon", rep(`{"entry":{`, `{"entry": {`), "canonical"},
		{"space in entry", rep(`"seq":1,`, `"seq": 1,`), "canonical"},
		{"newline in entry", rep(`"seq":1,`, "\"seq\":1,\n"), "canonical"},
		{"space in payload", rep(`{"a":1,`, `{"a": 1,`), "canonical"},
		{"space in sigs", rep(`[{"key":`, `[ {"key":`), "canonical"},
		{"duplicate entry key", rep(`"seq":1,`, `"seq":1,"seq":1,`), "duplicate key"},
		{"duplicate entry key, other value", rep(`"seq":1,`, `"seq":7,"seq":1,`), "duplicate key"},
		{"duplicate line key", rep(`{"entry":`, `{"sigs":[],"entry":`), "duplicate key"},
		{"duplicate entry", L[:len(L)-1] + `,"entry":` + entry + `}`, "duplicate key"},
		{"unknown entry field", rep(`"v":1,`, `"v":1,"x":1,`), "unknown field"},
		{"unknown line field", L[:len(L)-1] + `,"x":1}`, "unknown field"},
		{"unknown sig field", rep(`"sshsig":`, `"x":1,"sshsig":`), "unknown field"},
		{"reordered entry fields", rep(`"v":1,"seq":1,`, `"seq":1,"v":1,`), "canonical"},
		{"reordered line fields", `{"sigs":` + sigs + `,"entry":` + entry + `}`, "canonical"},
		{"version 2", rep(`"v":1,`, `"v":2,`), "version"},
		{"version 0", rep(`"v":1,`, `"v":0,`), "version"},
		{"bad time", rep(`"2026-03-01T09:01:00Z"`, `"yesterday"`), "time"},
		{"time without zone", rep(`"2026-03-01T09:01:00Z"`, `"2026-03-01T09:01:00"`), "time"},
		{"empty time", rep(`"2026-03-01T09:01:00Z"`, `""`), "time"},
		{"no sigs", rep(sigs, `[]`), "signatures"},
		{"null sigs", rep(sigs, `null`), "signatures"},
		{"sigs absent", rep(`,"sigs":`+sigs, ``), "signatures"},
		{"no entry", `{"sigs":` + sigs + `}`, ""},
		{"entry null", rep(entry, `null`), "canonical"},
		{"entry array", rep(entry, `[1]`), ""},
		{"escaped letter", rep(`"alice"`, `"\u0061lice"`), "canonical"},
		{"unescaped HTML", rep(`"alice"`, `"<alice>"`), "canonical"},
		{"invalid UTF-8", rep(`"alice"`, "\"al\xffce\""), "canonical"},
		{"float seq", rep(`"seq":1,`, `"seq":1.0,`), ""},
		{"exponent seq", rep(`"seq":1,`, `"seq":1e0,`), ""},
		{"negative seq", rep(`"seq":1,`, `"seq":-1,`), ""},
		{"string seq", rep(`"seq":1,`, `"seq":"1",`), ""},
		{"leading zero seq", rep(`"seq":1,`, `"seq":01,`), ""},
		{"truncated", L[:len(L)-2], ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := manifest.ParseLine([]byte(c.line))
			if !errors.Is(err, manifest.ErrMalformed) {
				t.Fatalf("ParseLine accepted it (%v, %v)", rec, err)
			}
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not mention %q", err, c.msg)
			}
		})
	}
}

func TestNewRecordNeedsSigner(t *testing.T) {
	if _, err := manifest.NewRecord(manifest.Entry{Time: "2026-03-01T09:00:00Z"}); err == nil {
		t.Fatal("NewRecord without a signer succeeded")
	}
}

// Every signer's signature is on the line, in order, under its key's
// fingerprint.
func TestNewRecordSeveralSigners(t *testing.T) {
	a, s := fixedSigner(t, "alice"), fixedSigner(t, "station")
	rec, err := manifest.NewRecord(manifest.Entry{Time: "2026-03-01T09:00:00Z", Action: "access", Prev: manifest.ZeroHash}, a, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Sigs) != 2 || rec.Sigs[0].Key != seal.Fingerprint(a.PublicKey()) || rec.Sigs[1].Key != seal.Fingerprint(s.PublicKey()) {
		t.Fatalf("sigs %+v", rec.Sigs)
	}
	for i, sg := range rec.Sigs {
		blob, err := seal.DecodeSig(sg.SSHSig)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := seal.VerifySignature(blob, manifest.EntryNamespace, rec.EntryRaw)
		if err != nil || seal.Fingerprint(pub) != sg.Key {
			t.Errorf("sig %d: %v", i, err)
		}
		// Entry signatures are not checkpoint signatures.
		if _, err := seal.VerifySignature(blob, manifest.CheckpointNamespace, rec.EntryRaw); err == nil {
			t.Errorf("sig %d verifies in the checkpoint namespace", i)
		}
	}
	if !bytes.Equal(rec.Line, canonicalLine(rec.EntryRaw, rec.Sigs)) {
		t.Fatalf("line %s is not in the documented form", rec.Line)
	}
}

// A key twice in one object is refused wherever it is, with its own error:
// encoding/json keeps the last value, other parsers the first, so two
// readers of the same signed bytes would disagree about what was signed.
func TestParseLineDuplicateKeys(t *testing.T) {
	station := fixedSigner(t, "station")
	signed := func(payload string) string {
		t.Helper()
		rec, err := manifest.NewRecord(manifest.Entry{
			Seq: 1, Time: "2026-03-01T09:01:00Z", Actor: manifest.Actor{Name: "alice", Key: seal.Fingerprint(station.PublicKey())},
			Action: "access", Clip: "abc123", Payload: json.RawMessage(payload), Prev: manifest.ZeroHash,
		}, station)
		if err != nil {
			t.Fatal(err)
		}
		return string(rec.Line)
	}
	L := signed(`{"reason":"SAR 2026/7"}`)
	cases := []struct {
		name, line string
		msg        string // the whole detail after "malformed ledger line: "
	}{
		{"payload key, same value", signed(`{"reason":"SAR 2026/7","reason":"SAR 2026/7"}`), `duplicate key "reason" in entry.payload`},
		{"payload key, other value", signed(`{"reason":"routine","reason":"SAR 2026/7"}`), `duplicate key "reason" in entry.payload`},
		{"payload key, not adjacent", signed(`{"a":1,"b":2,"c":3,"a":4}`), `duplicate key "a" in entry.payload`},
		{"nested payload key", signed(`{"a":{"b":{"c":1,"c":2}}}`), `duplicate key "c" in entry.payload.a.b`},
		{"payload key in an array", signed(`{"list":[{"x":1},{"x":1,"x":2}]}`), `duplicate key "x" in entry.payload.list[1]`},
		{"payload key in nested arrays", signed(`[[{"x":1}],[{"y":1,"y":1}]]`), `duplicate key "y" in entry.payload[1][0]`},
		{"payload key spelled with an escape", signed(`{"reason":"routine","\u0072eason":"SAR"}`), `duplicate key "reason" in entry.payload`},
		{"empty payload key", signed(`{"":1,"":2}`), `duplicate key "" in entry.payload`},
		{"odd payload key", signed(`{"a b":{"k\n":1,"k\n":2}}`), `duplicate key "k\n" in entry.payload["a b"]`},
		{"entry key", strings.Replace(L, `"seq":1,`, `"seq":1,"seq":1,`, 1), `duplicate key "seq" in entry`},
		{"actor key", strings.Replace(L, `"name":"alice",`, `"name":"mallory","name":"alice",`, 1), `duplicate key "name" in entry.actor`},
		{"sig key", strings.Replace(L, `"sshsig":`, `"key":"SHA256:x","sshsig":`, 1), `duplicate key "key" in sigs[0]`},
		{"line key", strings.Replace(L, `,"sigs":`, `,"entry":{},"sigs":`, 1), `duplicate key "entry" in the line`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := manifest.ParseLine([]byte(c.line))
			if !errors.Is(err, manifest.ErrDuplicateKey) || !errors.Is(err, manifest.ErrMalformed) {
				t.Fatalf("ParseLine(%s) = %v, %v; want ErrDuplicateKey", c.line, rec, err)
			}
			if want := "malformed ledger line: " + c.msg; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			// Through Parse, it is located.
			_, _, err = manifest.Parse(strings.NewReader(L + "\n" + c.line + "\n"))
			var le *manifest.LineError
			if !errors.As(err, &le) || le.Line != 2 || !errors.Is(err, manifest.ErrDuplicateKey) {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
	// The same key in different objects is no duplicate.
	for _, p := range []string{`{"a":{"x":1},"b":{"x":1},"x":1}`, `{"list":[{"x":1},{"x":2}]}`, `[{"a":1},{"a":1}]`, `{"a":{"a":{"a":1}}}`} {
		if _, err := manifest.ParseLine([]byte(signed(p))); err != nil {
			t.Errorf("payload %s: %v", p, err)
		}
	}
}
