// Package bundletest makes real stores and bundles for tests: real clips
// made by ffmpeg, imported and sealed, redacted derivatives made by a real
// ffmpeg blur and registered the way the redaction engine registers them
// (store.SealStaged + store.AddDerivative), and real exports.
package bundletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
)

// Passphrase protects fixture station keys.
const Passphrase = "bundletest"

// Fixture is a store with redacted clips, and the keys around it.
type Fixture struct {
	Dir          string
	Store        *store.Store
	DPO          *age.X25519Identity // a store recipient: opens sealed files
	DPOFile      string
	Receiver     *age.X25519Identity // the police receiver, for --to
	ReceiverFile string
	StationPub   string   // path of the pinned station key (what a receiver got out of band)
	Originals    []string // clip ids
	Redacted     []string // redacted derivative ids, one per original
}

// New makes a store with n clips, each imported, opened once (an access
// with a reason) and redacted.
func New(t testing.TB, n int) *Fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	f := &Fixture{Dir: dir}
	var err error
	f.DPO, err = age.GenerateX25519Identity()
	check(t, err)
	f.Receiver, err = age.GenerateX25519Identity()
	check(t, err)
	f.DPOFile = filepath.Join(dir, "dpo.key")
	check(t, os.WriteFile(f.DPOFile, []byte(f.DPO.String()+"\n"), 0o600))
	f.ReceiverFile = filepath.Join(dir, "receiver.key")
	check(t, os.WriteFile(f.ReceiverFile, []byte(f.Receiver.String()+"\n"), 0o600))
	f.Store, err = store.Init(ctx, filepath.Join(dir, "store"), store.InitOptions{
		Recipients: []string{f.DPO.Recipient().String()}, Passphrase: []byte(Passphrase), WorkFactor: 10, Actor: "operator"})
	check(t, err)
	line, err := f.Store.StationKey()
	check(t, err)
	f.StationPub = filepath.Join(dir, "pinned-station.pub")
	check(t, os.WriteFile(f.StationPub, []byte(line+"\n"), 0o644))
	for i := 0; i < n; i++ {
		f.AddClip(t, i)
	}
	return f
}

// AddClip makes, imports, opens and redacts clip number i.
func (f *Fixture) AddClip(t testing.TB, i int) {
	t.Helper()
	ctx := context.Background()
	src := filepath.Join(f.Dir, fmt.Sprintf("clip%d.mp4", i))
	MakeClip(t, src, 1, 300+100*i)
	c, err := f.Store.Import(ctx, src, store.ImportOptions{Device: fmt.Sprintf("BWC-%04d", 40+i), Wearer: "Nurse A", Location: "ED triage",
		RecordedAt: time.Date(2026, 11, 22, 9, i, 0, 0, time.UTC)})
	check(t, err)
	_, err = f.Store.OpenClip(ctx, c.ID, store.OpenOptions{Identities: []age.Identity{f.DPO}, Identity: "dpo.key",
		Reason: "review for incident INC-2026-0042", Out: filepath.Join(f.Dir, fmt.Sprintf("opened%d.mp4", i))})
	check(t, err)
	red := filepath.Join(f.Dir, fmt.Sprintf("clip%d.redacted.mp4", i))
	Blur(t, src, red)
	d := f.Register(t, c.ID, red)
	f.Originals = append(f.Originals, c.ID)
	f.Redacted = append(f.Redacted, d.ID)
}

// Register seals a redacted file and registers it as a derivative of
// parent, with a realistic redaction record.
func (f *Fixture) Register(t testing.TB, parent, path string) *store.Clip {
	t.Helper()
	c, err := RegisterRedacted(context.Background(), f.Store, parent, path)
	check(t, err)
	return c
}

// RegisterRedacted seals a redacted file into s (which must be unlocked)
// and registers it as a derivative of parent, the way the redaction
// engine does, with the record RedactionRecord returns.
func RegisterRedacted(ctx context.Context, s *store.Store, parent, path string) (*store.Clip, error) {
	info, err := media.Probe(ctx, path)
	if err != nil {
		return nil, err
	}
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	sg, err := s.SealStaged(ctx, in, nil)
	if err != nil {
		return nil, err
	}
	return s.AddDerivative(ctx, parent, sg, nil, store.DerivePayload{Media: info, Redaction: RedactionRecord()})
}

// RedactionRecord is what a redaction entry records: tool, detectors and
// model hashes, parameters, masked tracks, and reviewer edits with reasons.
func RedactionRecord() json.RawMessage {
	r := map[string]any{
		"tool":    "custody redact",
		"version": "0.1.0",
		"detectors": []map[string]any{
			{"name": "yunet", "model": "face_detection_yunet_2022mar.onnx", "sha256": "50ef07f7ea0e2c5bb1e0d8a0d0e3b8bdbf23e6a1b8b8bcd5de2aca3a5aa5bab7"},
			{"name": "ppocr-det", "model": "en_PP-OCRv3_det_infer_opencv46.onnx", "sha256": "9c1f3b2a"},
		},
		"params": map[string]any{"min_score": 0.6, "mask": "boxblur", "look_back": 15},
		"tracks": []map[string]any{
			{"id": 1, "label": "face", "first": 0, "last": 24, "reason": "detected", "boxes": []any{map[string]int{"frame": 0, "x": 10, "y": 10, "w": 40, "h": 40}}},
			{"id": 2, "label": "badge", "first": 3, "last": 20, "reason": "detected"},
		},
		"edits": []map[string]any{
			{"op": "add", "track": 3, "label": "face", "frames": "10-24", "reason": "patient's face reflected in a window, missed by the detector", "by": "dpo"},
			{"op": "exclude", "track": 2, "reason": "badge belongs to the reporting officer, who consented", "by": "dpo"},
		},
	}
	b, _ := json.Marshal(r)
	return b
}

// ExportOptions are the options tests usually want.
func (f *Fixture) ExportOptions(out string, clips ...string) bundle.ExportOptions {
	return bundle.ExportOptions{Incident: "INC-2026-0042", ExhibitPrefix: "JD/", Clips: clips, Out: out,
		Organization: "St Elsewhere NHS Trust", Contact: "Data Protection Officer",
		Identities: []age.Identity{f.DPO}, Identity: "dpo.key"}
}

// Export exports clips to out (a directory, or a zip when it ends in .zip),
// with the originals re-encrypted to the receiver when originals is set.
func (f *Fixture) Export(t testing.TB, out string, originals bool, clips ...string) *bundle.Result {
	t.Helper()
	o := f.ExportOptions(out, clips...)
	if originals {
		o.IncludeOriginals = true
		o.To = []string{f.Receiver.Recipient().String()}
	}
	res, err := bundle.Export(context.Background(), f.Store, o)
	check(t, err)
	return res
}

// Signer returns the station's signing key (for tests that play an insider
// re-signing a tampered bundle).
func (f *Fixture) Signer(t testing.TB) seal.Signer {
	t.Helper()
	s, err := store.Open(f.Store.Dir)
	check(t, err)
	check(t, s.Unlock([]byte(Passphrase)))
	return s.Signer()
}

// MakeClip writes a real H.264 + AAC clip of secs seconds with a sine tone
// of freq Hz (so that each clip's content differs).
func MakeClip(t testing.TB, out string, secs int, freq int) {
	t.Helper()
	check(t, MakeClipFile(out, secs, freq))
}

// MakeClipFile is MakeClip outside a test.
func MakeClipFile(out string, secs int, freq int) error {
	return run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d", freq), "-t", fmt.Sprint(secs),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
		"-metadata", "creation_time=2026-11-22T09:00:00Z", "-y", out)
}

// Blur makes a "redacted" version: the whole picture box-blurred, audio
// kept, as a playable MP4.
func Blur(t testing.TB, in, out string) {
	t.Helper()
	check(t, BlurFile(in, out))
}

// BlurFile is Blur outside a test.
func BlurFile(in, out string) error {
	return run("ffmpeg", "-v", "error", "-i", in, "-vf", "boxblur=8:2", "-c:v", "libx264", "-preset", "ultrafast",
		"-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart", "-y", out)
}

func run(name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return nil
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
