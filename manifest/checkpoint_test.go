package manifest_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

const origin = "custody/store/0123456789abcdef0123456789abcdef"

func sampleCheckpoint(t *testing.T) (*manifest.Checkpoint, *builder) {
	t.Helper()
	b, _ := sampleLedger(t)
	c, err := manifest.NewCheckpoint(b.l, origin, b.l.Len(), t0.Add(90*time.Minute+500*time.Millisecond), b.station)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

func TestCheckpointRoundTrip(t *testing.T) {
	c, b := sampleCheckpoint(t)
	data := c.Marshal()
	got, pub, err := manifest.ParseCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := b.l.Tree().Root(b.l.Len())
	if got.Origin != origin || got.Size != 8 || !bytes.Equal(got.Root, root) || !got.Time.Equal(t0.Add(90*time.Minute)) {
		t.Fatalf("parsed %+v", got)
	}
	if !bytes.Equal(got.Sig, c.Sig) || !bytes.Equal(got.Body(), c.Body()) {
		t.Fatal("signature or body changed in the round trip")
	}
	if seal.Fingerprint(pub) != seal.Fingerprint(b.station.PublicKey()) {
		t.Fatal("wrong signer returned")
	}
	if !bytes.Equal(got.Marshal(), data) {
		t.Fatal("re-marshalled checkpoint differs")
	}
	want := origin + "\n8\n" + base64.StdEncoding.EncodeToString(root) + "\ntime 2026-03-01T10:30:00Z\n\n-----BEGIN SSH SIGNATURE-----\n"
	if !strings.HasPrefix(string(data), want) {
		t.Fatalf("checkpoint file:\n%s\nwant it to start:\n%s", data, want)
	}

	// Checkpoints of earlier sizes, including the empty tree.
	for _, size := range []uint64{0, 1, 5} {
		c, err := manifest.NewCheckpoint(b.l, origin, size, t0, b.station)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := manifest.ParseCheckpoint(c.Marshal())
		if err != nil || got.Size != size {
			t.Fatalf("size %d: %+v %v", size, got, err)
		}
		r, _ := b.l.Tree().Root(size)
		if !bytes.Equal(got.Root, r) {
			t.Fatalf("size %d: wrong root", size)
		}
	}
	if _, err := manifest.NewCheckpoint(b.l, origin, 9, t0, b.station); err == nil {
		t.Fatal("checkpoint beyond the ledger")
	}
}

func TestParseCheckpointRefusals(t *testing.T) {
	c, b := sampleCheckpoint(t)
	data := string(c.Marshal())
	body := string(c.Body())
	sigPart := data[len(body)+1:]
	rep := func(old, new string) string {
		if !strings.Contains(data, old) {
			t.Fatalf("%q not in the checkpoint", old)
		}
		return strings.Replace(data, old, new, 1)
	}
	otherRoot := base64.StdEncoding.EncodeToString(make([]byte, 32))
	root := base64.StdEncoding.EncodeToString(c.Root)
	// A correctly signed body in the wrong namespace (as a ledger entry).
	entrySig, _ := b.station.Sign(manifest.EntryNamespace, c.Body())
	// A validly signed but non-canonical body.
	odd := strings.Replace(body, "\n8\n", "\n08\n", 1)
	oddSig, _ := b.station.Sign(manifest.CheckpointNamespace, []byte(odd))
	lines := strings.Split(body, "\n")

	cases := map[string]string{
		"empty":                   "",
		"body only":               body,
		"no blank line":           body + sigPart,
		"size changed":            rep("\n8\n", "\n7\n"),
		"size grown":              rep("\n8\n", "\n9\n"),
		"size with leading zero":  rep("\n8\n", "\n08\n"),
		"size negative":           rep("\n8\n", "\n-8\n"),
		"root changed":            rep(root, otherRoot),
		"root short":              rep(root, base64.StdEncoding.EncodeToString(c.Root[:31])),
		"root not base64":         rep(root, "!!"+root[2:]),
		"origin changed":          rep(origin, origin+"x"),
		"time changed":            rep("10:30:00Z", "10:30:01Z"),
		"time in another zone":    rep("2026-03-01T10:30:00Z", "2026-03-01T11:30:00+01:00"),
		"time missing":            rep("time 2026-03-01T10:30:00Z\n", ""),
		"extension line":          rep("Z\n\n", "Z\nextra\n\n"),
		"CRLF":                    strings.ReplaceAll(data, "\n", "\r\n"),
		"signature flipped":       body + "\n" + string(seal.ArmorSignature(flipLast(c.Sig))),
		"signature missing":       body + "\n",
		"signature garbage":       body + "\nnot a signature\n",
		"entry namespace":         body + "\n" + string(seal.ArmorSignature(entrySig)),
		"non-canonical, signed":   odd + "\n" + string(seal.ArmorSignature(oddSig)),
		"origin and size swapped": strings.Join(append([]string{lines[1], lines[0]}, lines[2:]...), "\n") + "\n" + sigPart,
		"too large":               data + strings.Repeat("x", 64<<10),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got, _, err := manifest.ParseCheckpoint([]byte(in))
			if !errors.Is(err, manifest.ErrBadCheckpoint) {
				t.Fatalf("accepted: %+v, %v", got, err)
			}
		})
	}
}

func flipLast(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-1] ^= 1
	return b
}

// A checkpoint signed by some other key parses (the signature is valid) and
// names that key, so that the caller can refuse it.
func TestParseCheckpointReturnsSigner(t *testing.T) {
	_, b := sampleCheckpoint(t)
	other := fixedSigner(t, "intruder")
	c, err := manifest.NewCheckpoint(b.l, origin, b.l.Len(), t0, other)
	if err != nil {
		t.Fatal(err)
	}
	_, pub, err := manifest.ParseCheckpoint(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if seal.Fingerprint(pub) != seal.Fingerprint(other.PublicKey()) {
		t.Fatal("ParseCheckpoint did not return the actual signer")
	}
}

// The commands in checkpoint.go's comment check a checkpoint with stock
// OpenSSH, and reject a tampered one.
func TestCheckpointVerifiesWithSSHKeygen(t *testing.T) {
	testenv.Tool(t, "ssh-keygen")
	sh := testenv.Tool(t, "sh")
	c, b := sampleCheckpoint(t)
	dir := t.TempDir()
	allowed := "station " + seal.AuthorizedKey(b.station.PublicKey()) + "\n"
	os.WriteFile(filepath.Join(dir, "allowed_signers"), []byte(allowed), 0o644)

	// Exactly as documented.
	const script = `sed '/^$/,$d' checkpoint > body; sed '1,/^$/d' checkpoint > body.sig
ssh-keygen -Y verify -f allowed_signers -I station -n custody-checkpoint-v1 -s body.sig < body`
	check := func(data []byte) error {
		os.WriteFile(filepath.Join(dir, "checkpoint"), data, 0o644)
		cmd := exec.Command(sh, "-ec", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		body, _ := os.ReadFile(filepath.Join(dir, "body"))
		if !bytes.Equal(body, c.Body()) {
			t.Fatalf("the documented sed gives body %q, want %q", body, c.Body())
		}
		return nil
	}
	if err := check(c.Marshal()); err != nil {
		t.Fatalf("ssh-keygen rejected the checkpoint: %v", err)
	}
	tampered := bytes.Replace(c.Marshal(), []byte("\n8\n"), []byte("\n7\n"), 1)
	os.WriteFile(filepath.Join(dir, "checkpoint"), tampered, 0o644)
	cmd := exec.Command(sh, "-ec", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("ssh-keygen accepted a tampered checkpoint: %s", out)
	}
}

// After the blank line comes exactly the armored signature custody writes:
// nothing before it, nothing after it, no second block, and the armor in
// its one canonical spelling. Each refusal says which.
func TestParseCheckpointArmorIsExact(t *testing.T) {
	c, b := sampleCheckpoint(t)
	body := string(c.Body())
	armor := string(seal.ArmorSignature(c.Sig))
	entrySig, _ := b.station.Sign(manifest.EntryNamespace, c.Body())
	other := string(seal.ArmorSignature(entrySig))
	const begin, end = "-----BEGIN SSH SIGNATURE-----\n", "-----END SSH SIGNATURE-----\n"
	b64 := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(armor, begin), end), "\n", "")
	wrap := func(width int) string { // the base64 in lines of width
		var s strings.Builder
		for i := 0; i < len(b64); i += width {
			s.WriteString(b64[i:min(i+width, len(b64))] + "\n")
		}
		return begin + s.String() + end
	}
	if wrap(64) != armor {
		t.Fatalf("unexpected armor layout:\n%s", armor)
	}
	firstLine := strings.Index(armor[len(begin):], "\n") + len(begin)

	cases := []struct{ name, sig, msg string }{
		{"junk line before", "junk\n" + armor, `text "junk\n" before the armored signature`},
		{"second blank line", "\n" + armor, `text "\n" before the armored signature`},
		{"space before", " " + armor, `text " " before the armored signature`},
		{"tab before", "\t" + armor, `text "\t" before the armored signature`},
		{"long junk before", strings.Repeat("x", 100) + "\n" + armor, `text "xxxxxxxxxxxxxxxxxxxxxxxx"… before the armored signature`},
		{"other PEM block before", "-----BEGIN X-----\nAAAA\n-----END X-----\n" + armor, `before the armored signature`},
		{"junk line after", armor + "junk\n", `text "junk\n" after the armored signature`},
		{"junk after, no newline", armor + "junk", `text "junk" after the armored signature`},
		{"blank line after", armor + "\n", `text "\n" after the armored signature`},
		{"space after", armor + " ", `text " " after the armored signature`},
		{"junk both sides", "junk\n" + armor + "junk\n", `before the armored signature`},
		{"same block twice", armor + armor, "a second armored block after the signature"},
		{"another signature after", armor + other, "a second armored block after the signature"},
		{"another signature before", other + armor, "a second armored block after the signature"},
		{"no final newline", strings.TrimSuffix(armor, "\n"), "armored signature does not end with a newline"},
		{"CRLF armor", strings.ReplaceAll(armor, "\n", "\r\n"), "armored signature is not in canonical form"},
		{"wrapped at 70 columns", wrap(70), "armored signature is not in canonical form"},
		{"one long line", begin + b64 + "\n" + end, "armored signature is not in canonical form"},
		{"space at a line end", armor[:firstLine] + " " + armor[firstLine:], "armored signature is not in canonical form"},
		{"space after END", strings.TrimSuffix(armor, "\n") + " \n", "armored signature is not in canonical form"},
		{"PEM header", begin + "Comment: hi\n\n" + armor[len(begin):], "armored signature is not in canonical form"},
		{"lower-case armor", strings.ToLower(armor), "no armored SSH signature"},
		{"no END line", strings.TrimSuffix(armor, end), "no armored SSH signature"},
		{"base64 damaged", strings.Replace(armor, b64[:4], "!!!!", 1), "no armored SSH signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := manifest.ParseCheckpoint([]byte(body + "\n" + tc.sig))
			if !errors.Is(err, manifest.ErrBadCheckpoint) {
				t.Fatalf("accepted (%v)", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	if _, _, err := manifest.ParseCheckpoint([]byte(body + "\n" + armor)); err != nil {
		t.Fatalf("the exact form: %v", err)
	}
}
