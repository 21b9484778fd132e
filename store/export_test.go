package store_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
)

// TestBeginExport: the export entry is appended with the checkpoint size
// it promises (its seq + 1), the checkpoint it returns is signed by the
// station at exactly that size, and Replay shows the export once on the
// timeline of every clip concerned.
func TestBeginExport(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 2)
	orig, red := f.Originals[0], f.Redacted[0]
	p := store.ExportPayload{Incident: "INC-1", Bundle: "b.zip", Format: "zip", Exhibits: []store.ExportExhibit{
		{Exhibit: "EX-1", Clip: red, Kind: "redacted", Path: "data/EX-1_" + red + ".mp4", Parent: orig},
		{Exhibit: "EX-2", Clip: orig, Kind: "original", Path: "data/originals/EX-2_" + orig + ".mp4.age", Encrypted: true},
	}, Receivers: []string{f.Receiver.Recipient().String()}}
	refused := errors.New("refused")
	if _, err := f.Store.BeginExport(t.Context(), nil, p, func(*store.State) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("check not applied: %v", err)
	}
	er, err := f.Store.BeginExport(t.Context(), nil, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	seq := er.Record.Entry.Seq
	var got store.ExportPayload
	if err := er.Record.Payload(&got); err != nil || got.Checkpoint != seq+1 {
		t.Fatalf("payload %+v %v", got, err)
	}
	cp, pub, err := manifest.ParseCheckpoint(er.Checkpoint.Marshal())
	if err != nil || cp.Size != seq+1 {
		t.Fatalf("checkpoint %+v %v", cp, err)
	}
	line, _ := f.Store.StationKey()
	station, _ := seal.ParsePublicKey(line)
	if seal.Fingerprint(pub) != seal.Fingerprint(station) {
		t.Fatal("checkpoint not signed by the station")
	}
	root, _ := er.Ledger.Tree().Root(seq + 1)
	if string(root) != string(cp.Root) {
		t.Fatal("checkpoint root is not the ledger's")
	}
	l, _, err := f.Store.ReadLedger()
	if err != nil {
		t.Fatal(err)
	}
	st := store.Replay(l)
	count := func(id string) (n int, summary string) {
		for _, ev := range st.Clips[id].Timeline {
			if ev.Seq == seq {
				n++
				summary = ev.Summary
			}
		}
		return
	}
	if n, s := count(orig); n != 1 || !strings.Contains(s, "its redacted version "+red+" exported as exhibit EX-1; exported as exhibit EX-2 (original)") {
		t.Errorf("original: %d events, %q", n, s)
	}
	if n, s := count(red); n != 1 || !strings.Contains(s, "exported as exhibit EX-1 (redacted), in bundle b.zip for incident INC-1; originals re-encrypted to 1 receiver key(s)") {
		t.Errorf("redacted: %d events, %q", n, s)
	}
	if n, _ := count(f.Redacted[1]); n != 0 {
		t.Error("the export shows on a clip it does not concern")
	}
	if got := store.ClipsOf(er.Record); strings.Join(got, ",") != red+","+orig {
		t.Errorf("ClipsOf(export) = %v", got)
	}
	if ex := store.Exports(l); len(ex) != 1 || ex[0].Entry.Seq != seq {
		t.Errorf("Exports = %v", ex)
	}
	// Saved statements round-trip; a missing one is ErrNoExport.
	if err := f.Store.SaveExportStatement(seq, []byte("statement")); err != nil {
		t.Fatal(err)
	}
	if b, err := f.Store.ExportStatement(seq); err != nil || string(b) != "statement" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := f.Store.ExportStatement(seq - 1); !errors.Is(err, store.ErrNoExport) {
		t.Fatalf("missing statement: %v", err)
	}
}

func TestClipsOf(t *testing.T) {
	mk := func(action, clip string, payload any) *manifest.Record {
		b, _ := json.Marshal(payload)
		return &manifest.Record{Entry: manifest.Entry{Action: action, Clip: clip, Payload: b}}
	}
	for _, tc := range []struct {
		rec  *manifest.Record
		want string
	}{
		{mk("import", "a", map[string]any{}), "a"},
		{mk("access", "a", map[string]any{}), "a"},
		{mk("redact", "r", store.DerivePayload{Parent: "a"}), "r,a"},
		{mk("receipt", "", store.ReceiptPayload{Clips: []string{"a", "r"}}), "a,r"},
		{mk("export", "", store.ExportPayload{Exhibits: []store.ExportExhibit{{Clip: "r", Parent: "a"}, {Clip: "a"}}}), "r,a"},
		{mk("user.add", "", map[string]any{}), ""},
	} {
		if got := strings.Join(store.ClipsOf(tc.rec), ","); got != tc.want {
			t.Errorf("ClipsOf(%s) = %q, want %q", tc.rec.Entry.Action, got, tc.want)
		}
	}
}
