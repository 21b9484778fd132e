package verify_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

// tamperEnv holds the bundles every tamper case starts from.
type tamperEnv struct {
	f       *bundletest.Fixture
	pin     ssh.PublicKey
	dir     string // clips 0 and 1, with originals for the receiver
	zip     string // the same as a zip
	other   string // clip 2, a second bundle of the same store
	station seal.Signer
}

func newTamperEnv(t *testing.T) *tamperEnv {
	t.Helper()
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 3)
	e := &tamperEnv{f: f, pin: pinned(t, f), station: f.Signer(t)}
	e.dir = filepath.Join(f.Dir, "INC-42")
	f.Export(t, e.dir, true, f.Originals[0], f.Originals[1])
	e.zip = filepath.Join(f.Dir, "INC-42.zip")
	f.Export(t, e.zip, true, f.Originals[0], f.Originals[1])
	e.other = filepath.Join(f.Dir, "INC-43")
	f.Export(t, e.other, false, f.Originals[2])
	return e
}

func (e *tamperEnv) verify(t *testing.T, path string, opts verify.BundleOptions) *verify.Report {
	t.Helper()
	if opts.TrustedKeys == nil {
		opts.TrustedKeys = []ssh.PublicKey{e.pin}
	}
	r, err := verify.Bundle(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("could not verify: %v", err)
	}
	return r
}

// expect checks that verification failed with a problem of that code whose
// subject or message matches msg, and logs what was found.
func expect(t *testing.T, r *verify.Report, code, msg string) {
	t.Helper()
	if r.Verified || r.Err() == nil {
		t.Fatalf("tampered bundle verified: %+v", r)
	}
	re := regexp.MustCompile(msg)
	for _, p := range r.Problems {
		if p.Code == code && re.MatchString(p.String()) {
			t.Logf("found %s: %s", p.Code, p)
			return
		}
	}
	t.Fatalf("no %s problem matching %q; problems:\n%s", code, msg, problems(r))
}

func problems(r *verify.Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString("  " + p.Code + ": " + p.String() + "\n")
	}
	return b.String()
}

func rd(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wr(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func otherStationKey(t *testing.T) seal.Signer {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := seal.NewEd25519Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// editLedger rewrites custody/ledger.jsonl line by line.
func editLedger(t *testing.T, dir string, fn func(lines [][]byte) [][]byte) {
	t.Helper()
	p := filepath.Join(dir, bundle.LedgerFile)
	lines := bytes.Split(bytes.TrimSuffix(rd(t, p), []byte("\n")), []byte("\n"))
	lines = fn(lines)
	wr(t, p, append(bytes.Join(lines, []byte("\n")), '\n'))
}

func lineWith(t *testing.T, lines [][]byte, s string) int {
	t.Helper()
	for i, l := range lines {
		if bytes.Contains(l, []byte(s)) {
			return i
		}
	}
	t.Fatalf("no ledger line contains %q", s)
	return -1
}

func editProofs(t *testing.T, dir string, fn func(p *bundle.Proofs)) {
	t.Helper()
	path := filepath.Join(dir, bundle.ProofsFile)
	p, err := bundle.ParseProofs(rd(t, path))
	if err != nil {
		t.Fatal(err)
	}
	fn(p)
	b, _ := json.MarshalIndent(p, "", " ")
	wr(t, path, append(b, '\n'))
}

// rezip copies a zip, letting mutate change or drop entries and add more.
func rezip(t *testing.T, src, dst string, mutate func(name string, data []byte) (string, []byte, bool), extra func(zw *zip.Writer)) {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		name := zf.Name
		if mutate != nil {
			var keep bool
			if name, data, keep = mutate(name, data); !keep {
				continue
			}
		}
		h := &zip.FileHeader{Name: name, Method: zip.Store, Modified: zf.Modified}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if extra != nil {
		extra(zw)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	wr(t, dst, buf.Bytes())
}

// plantedZip is a small zip of the kind an attacker puts in front of a
// genuine bundle: its own bag files, under the same base directory.
func plantedZip(t *testing.T, base string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range []string{"bagit.txt", "data/EX-1_planted.mp4"} {
		w, err := zw.Create(base + "/" + n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("planted " + n + "\n"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// centralEntries returns the offsets of the central directory headers of a
// zip (no zip64, no comment).
func centralEntries(t *testing.T, z []byte) []int {
	t.Helper()
	eocd := bytes.LastIndex(z, []byte("PK\x05\x06"))
	if eocd < 0 {
		t.Fatal("no end of central directory")
	}
	off := int(binary.LittleEndian.Uint32(z[eocd+16:]))
	n := int(binary.LittleEndian.Uint16(z[eocd+10:]))
	var out []int
	for i := 0; i < n; i++ {
		if !bytes.Equal(z[off:off+4], []byte("PK\x01\x02")) {
			t.Fatal("bad central directory")
		}
		out = append(out, off)
		nl := int(binary.LittleEndian.Uint16(z[off+28:]))
		el := int(binary.LittleEndian.Uint16(z[off+30:]))
		cl := int(binary.LittleEndian.Uint16(z[off+32:]))
		off += 46 + nl + el + cl
	}
	return out
}

func centralName(z []byte, off int) string {
	nl := int(binary.LittleEndian.Uint16(z[off+28:]))
	return string(z[off+46 : off+46+nl])
}

// TestBundleTamper: every way of tampering with a bundle that the issue
// lists, each its own case, each failing verification with a problem of a
// specific code whose message names what is wrong.
func TestBundleTamper(t *testing.T) {
	e := newTamperEnv(t)
	red, orig := bundletest.Payloads(t, e.dir)
	otherRed, _ := bundletest.Payloads(t, e.other)
	base := filepath.Base(e.zip[:len(e.zip)-4])

	type tc struct {
		name  string
		zip   bool                 // start from the zip form
		opts  verify.BundleOptions // extra options
		setup func(t *testing.T, b string) string
		code  string
		msg   string
	}
	flip := func(t *testing.T, p string, off int) {
		b := rd(t, p)
		b[off] ^= 0x40
		wr(t, p, b)
	}
	cases := []tc{
		// Payload edits, deletions, additions and renames.
		{name: "payload-byte-flipped", setup: func(t *testing.T, b string) string {
			flip(t, filepath.Join(b, red[0]), 2000)
			return b
		}, code: "file-digest", msg: red[0] + ": its SHA-512 differs from the signed statement"},
		{name: "payload-truncated", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, red[0])
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()-100)
			return b
		}, code: "file-size", msg: "it was truncated"},
		{name: "payload-appended-to", setup: func(t *testing.T, b string) string {
			f, _ := os.OpenFile(filepath.Join(b, red[0]), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte("trailing data"))
			f.Close()
			return b
		}, code: "file-size", msg: "it was appended to"},
		{name: "payload-deleted", setup: func(t *testing.T, b string) string {
			os.Remove(filepath.Join(b, red[1]))
			return b
		}, code: "file-missing", msg: red[1] + ": .*deleted or renamed"},
		{name: "payload-added", setup: func(t *testing.T, b string) string {
			wr(t, filepath.Join(b, "data/EX-9_extra.mp4"), []byte("not evidence"))
			return b
		}, code: "file-extra", msg: "data/EX-9_extra.mp4: is not in the signed statement"},
		{name: "payload-renamed", setup: func(t *testing.T, b string) string {
			os.Rename(filepath.Join(b, red[0]), filepath.Join(b, "data/renamed.mp4"))
			return b
		}, code: "file-missing", msg: red[0]},
		{name: "payload-replaced-manifests-recomputed", setup: func(t *testing.T, b string) string {
			flip(t, filepath.Join(b, red[0]), 3000)
			bundletest.RecomputeManifests(t, b)
			return b
		}, code: "file-digest", msg: red[0] + ": .*modified or replaced after the station signed"},
		{name: "payload-swapped-from-other-bundle", setup: func(t *testing.T, b string) string {
			wr(t, filepath.Join(b, red[0]), rd(t, filepath.Join(e.other, otherRed[0])))
			bundletest.RecomputeManifests(t, b)
			return b
		}, code: "derivation-hash", msg: "this is not the redacted clip the ledger describes"},
		{name: "file-mixed-in-from-other-bundle", setup: func(t *testing.T, b string) string {
			wr(t, filepath.Join(b, otherRed[0]), rd(t, filepath.Join(e.other, otherRed[0])))
			bundletest.RecomputeManifests(t, b)
			return b
		}, code: "exhibit-extra", msg: otherRed[0] + ": is in data/ but is not an exhibit"},
		{name: "original-reencrypted-by-someone-else", setup: func(t *testing.T, b string) string {
			// Someone holding the receiver's key decrypts the original and
			// re-encrypts the very same footage: the bytes differ.
			p := filepath.Join(b, orig[0])
			dr, err := age.Decrypt(bytes.NewReader(rd(t, p)), e.f.Receiver)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			aw, _ := age.Encrypt(&out, e.f.Receiver.Recipient())
			io.Copy(aw, dr)
			aw.Close()
			wr(t, p, out.Bytes())
			bundletest.RecomputeManifests(t, b)
			return b
		}, code: "file-digest", msg: orig[0]},

		// Tag-file edits, deletions and additions.
		{name: "bag-info-edited", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.BagInfoFile)
			wr(t, p, bytes.Replace(rd(t, p), []byte("St Elsewhere"), []byte("St Anywhere "), 1))
			return b
		}, code: "file-digest", msg: "bag-info.txt"},
		{name: "bagit-declaration-deleted", setup: func(t *testing.T, b string) string {
			os.Remove(filepath.Join(b, bundle.BagItFile))
			return b
		}, code: "file-missing", msg: "bagit.txt"},
		{name: "report-edited", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.ReportHTML)
			wr(t, p, bytes.Replace(rd(t, p), []byte("Nurse A"), []byte("Nurse B"), -1))
			bundletest.RecomputeManifests(t, b)
			return b
		}, code: "file-digest", msg: "report.html"},
		{name: "tag-file-added", setup: func(t *testing.T, b string) string {
			wr(t, filepath.Join(b, "custody/notes.txt"), []byte("added later"))
			bundletest.RecomputeManifests(t, b)
			return b
		}, code: "file-extra", msg: "custody/notes.txt"},
		{name: "tag-manifest-deleted", setup: func(t *testing.T, b string) string {
			os.Remove(filepath.Join(b, bundle.TagManifestSHA512))
			return b
		}, code: "file-missing", msg: "tagmanifest-sha512.txt"},
		{name: "tag-manifest-rewritten", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.TagManifestSHA512)
			lines := strings.SplitAfter(string(rd(t, p)), "\n")
			lines[0], lines[1] = lines[1], lines[0]
			wr(t, p, []byte(strings.Join(lines, "")))
			return b
		}, code: "tagmanifest-noncanonical", msg: "rewritten after signing"},
		{name: "manifest-line-removed", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.ManifestSHA256)
			lines := strings.SplitAfter(string(rd(t, p)), "\n")
			wr(t, p, []byte(strings.Join(lines[1:], "")))
			return b
		}, code: "manifest-missing", msg: "is not listed in manifest-sha256.txt"},
		{name: "manifest-duplicate-line", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.ManifestSHA256)
			m := rd(t, p)
			first := m[:bytes.IndexByte(m, '\n')+1]
			wr(t, p, append(m, first...))
			return b
		}, code: "manifest-duplicate", msg: "is listed twice"},
		{name: "manifest-path-traversal", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.ManifestSHA256)
			wr(t, p, append(rd(t, p), []byte(strings.Repeat("0", 64)+"  data/../../../etc/passwd\n")...))
			return b
		}, code: "path-traversal", msg: `"\.\." in path`},
		{name: "manifest-absolute-path", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.ManifestSHA512)
			wr(t, p, append(rd(t, p), []byte(strings.Repeat("0", 128)+"  /etc/shadow\n")...))
			return b
		}, code: "path-absolute", msg: "absolute path"},
		{name: "manifest-percent-encoding", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.ManifestSHA256)
			wr(t, p, append(rd(t, p), []byte(strings.Repeat("0", 64)+"  data/%2e%2e/%2e%2e/evil\n")...))
			return b
		}, code: "path-encoding", msg: "percent-encoded names are refused"},
		{name: "unicode-normalisation-twin", setup: func(t *testing.T, b string) string {
			// "café" spelt with a combining accent next to the real file.
			wr(t, filepath.Join(b, "data/cafe\u0301.mp4"), []byte("x"))
			return b
		}, code: "path-unicode", msg: "U\\+0301"},
		{name: "control-character-in-name", setup: func(t *testing.T, b string) string {
			wr(t, filepath.Join(b, "data/a\x1b[2Jb.mp4"), []byte("x"))
			return b
		}, code: "path-control", msg: "control character"},
		{name: "case-folding-collision", setup: func(t *testing.T, b string) string {
			up := strings.Replace(red[0], "data/", "data/", 1)
			up = filepath.Dir(up) + "/" + strings.ToUpper(filepath.Base(up))
			wr(t, filepath.Join(b, up), rd(t, filepath.Join(b, red[0])))
			return b
		}, code: "path-case-collision", msg: "differs from .* only in letter case"},
		{name: "fetch-txt", setup: func(t *testing.T, b string) string {
			wr(t, filepath.Join(b, bundle.FetchFile), []byte("https://example.org/x.mp4 - data/x.mp4\n"))
			return b
		}, code: "fetch-txt", msg: "never fetches"},
		{name: "symlink-payload", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, red[0])
			os.Rename(p, filepath.Join(filepath.Dir(b), "outside.mp4"))
			if err := os.Symlink(filepath.Join(filepath.Dir(b), "outside.mp4"), p); err != nil {
				t.Fatal(err)
			}
			return b
		}, code: "symlink", msg: red[0] + ": is a symbolic link"},
		{name: "symlink-directory", setup: func(t *testing.T, b string) string {
			c := filepath.Join(b, bundle.CustodyDir)
			os.Rename(c, filepath.Join(filepath.Dir(b), "custody-elsewhere"))
			os.Symlink(filepath.Join(filepath.Dir(b), "custody-elsewhere"), c)
			return b
		}, code: "symlink", msg: "custody: is a symbolic link"},

		// The statement and its signature.
		{name: "statement-edited", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.StatementFile)
			wr(t, p, bytes.Replace(rd(t, p), []byte("incident INC-2026-0042"), []byte("incident INC-2026-0099"), 1))
			return b
		}, code: "statement-signature", msg: "edited after it was signed"},
		{name: "statement-signature-deleted", setup: func(t *testing.T, b string) string {
			os.Remove(filepath.Join(b, bundle.StatementSigFile))
			return b
		}, code: "statement-missing", msg: "nothing ties the files to the station"},
		{name: "resigned-with-another-station-key", setup: func(t *testing.T, b string) string {
			flip(t, filepath.Join(b, red[0]), 2500)
			bundletest.Resign(t, b, otherStationKey(t), nil)
			return b
		}, code: "signer-untrusted", msg: "not a key you pinned"},
		{name: "statement-from-other-bundle", setup: func(t *testing.T, b string) string {
			for _, n := range []string{bundle.StatementFile, bundle.StatementSigFile} {
				wr(t, filepath.Join(b, n), rd(t, filepath.Join(e.other, n)))
			}
			return b
		}, code: "file-extra", msg: red[0] + ": is not in the signed statement"},

		// Ledger entries, proofs and checkpoints.
		{name: "ledger-entry-dropped", setup: func(t *testing.T, b string) string {
			editLedger(t, b, func(l [][]byte) [][]byte {
				i := lineWith(t, l, `"action":"import"`)
				return append(l[:i], l[i+1:]...)
			})
			bundletest.RecomputeManifests(t, b)
			return b
		}, code: "entry-missing", msg: "an entry was removed from the bundle"},
		{name: "ledger-entry-dropped-by-insider", setup: func(t *testing.T, b string) string {
			// The station itself re-signs a bundle without an entry (an
			// access it would rather not show): the proofs still betray it.
			editLedger(t, b, func(l [][]byte) [][]byte {
				i := lineWith(t, l, `"action":"access"`)
				return append(l[:i], l[i+1:]...)
			})
			bundletest.Resign(t, b, e.station, nil)
			return b
		}, code: "entry-missing", msg: "has an inclusion proof but is not in custody/ledger.jsonl"},
		{name: "ledger-entry-edited-by-insider", setup: func(t *testing.T, b string) string {
			editLedger(t, b, func(l [][]byte) [][]byte {
				i := lineWith(t, l, `review for incident INC-2026-0042`)
				l[i] = bytes.Replace(l[i], []byte("review for incident"), []byte("routine check of the"), 1)
				return l
			})
			bundletest.Resign(t, b, e.station, nil)
			return b
		}, code: "ledger-signature", msg: "does not verify .*the entry was edited"},
		{name: "ledger-entry-with-duplicate-key", setup: func(t *testing.T, b string) string {
			// A second "reason" that encoding/json would read in place of
			// the signed one.
			editLedger(t, b, func(l [][]byte) [][]byte {
				i := lineWith(t, l, `review for incident INC-2026-0042`)
				l[i] = bytes.Replace(l[i], []byte(`"payload":{`), []byte(`"payload":{"reason":"routine check",`), 1)
				return l
			})
			bundletest.Resign(t, b, e.station, nil)
			return b
		}, code: "ledger-duplicate-key", msg: `duplicate key "reason"`},
		{name: "proof-dropped-by-insider", setup: func(t *testing.T, b string) string {
			editProofs(t, b, func(p *bundle.Proofs) { p.Inclusion = p.Inclusion[1:] })
			bundletest.Resign(t, b, e.station, nil)
			return b
		}, code: "proof-missing", msg: "entry 0: has no inclusion proof"},
		{name: "proof-forged-by-insider", setup: func(t *testing.T, b string) string {
			editProofs(t, b, func(p *bundle.Proofs) {
				last := &p.Inclusion[len(p.Inclusion)-1]
				last.Path[0] = strings.Repeat("ab", 32)
			})
			bundletest.Resign(t, b, e.station, nil)
			return b
		}, code: "proof-inclusion", msg: "not in the ledger the signed checkpoint commits to"},
		{name: "entry-from-another-store", setup: func(t *testing.T, b string) string {
			// Swap in the genesis entry of another store (validly signed by
			// its own station) and re-sign with this station's key.
			g := bundletest.New(t, 0)
			other, _, err := g.Store.ReadLedger()
			if err != nil {
				t.Fatal(err)
			}
			editLedger(t, b, func(l [][]byte) [][]byte {
				l[0] = other.Records[0].Line
				return l
			})
			bundletest.Resign(t, b, e.station, nil)
			return b
		}, code: "station-key", msg: "the bundle was re-signed by another key"},
		{name: "checkpoint-swapped", setup: func(t *testing.T, b string) string {
			wr(t, filepath.Join(b, bundle.CheckpointFile), rd(t, filepath.Join(e.other, bundle.CheckpointFile)))
			bundletest.RecomputeManifests(t, b)
			return b
		}, code: "checkpoint-coverage", msg: "the checkpoint was swapped"},
		{name: "redacted-file-swapped-by-insider", setup: func(t *testing.T, b string) string {
			// Even the station cannot pass off another video as the
			// redacted clip: the redact entry records its hash.
			wr(t, filepath.Join(b, red[0]), rd(t, filepath.Join(e.other, otherRed[0])))
			bundletest.Resign(t, b, e.station, nil)
			return b
		}, code: "derivation-hash", msg: "this is not the redacted clip the ledger describes"},
		{name: "incident-changed-by-insider", setup: func(t *testing.T, b string) string {
			bundletest.Resign(t, b, e.station, func(s *bundle.Statement) { s.Incident = "INC-2026-9999" })
			return b
		}, code: "export-entry", msg: `the export was for incident "INC-2026-0042"`},
		{name: "payload-oxum-wrong", setup: func(t *testing.T, b string) string {
			p := filepath.Join(b, bundle.BagInfoFile)
			wr(t, p, regexp.MustCompile(`Payload-Oxum: \d+`).ReplaceAll(rd(t, p), []byte("Payload-Oxum: 1")))
			bundletest.Resign(t, b, e.station, nil)
			return b
		}, code: "payload-oxum", msg: "Payload-Oxum says 1 bytes"},

		// The zip form, read in place.
		{name: "zip-path-traversal", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, nil, func(zw *zip.Writer) {
				w, _ := zw.Create(base + "/../../evil.sh")
				w.Write([]byte("echo pwned"))
			})
			return z
		}, code: "path-traversal", msg: "extracting this zip would write outside"},
		{name: "zip-absolute-path", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, nil, func(zw *zip.Writer) {
				w, _ := zw.Create("/tmp/evil")
				w.Write([]byte("x"))
			})
			return z
		}, code: "path-absolute", msg: "absolute path"},
		{name: "zip-entry-outside-bag", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, nil, func(zw *zip.Writer) {
				w, _ := zw.Create("other/readme.txt")
				w.Write([]byte("x"))
			})
			return z
		}, code: "zip-layout", msg: "outside the bag's base directory"},
		{name: "zip-duplicate-entry", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, nil, func(zw *zip.Writer) {
				w, _ := zw.CreateHeader(&zip.FileHeader{Name: base + "/" + red[0], Method: zip.Store})
				w.Write([]byte("a second, different file under the same name"))
			})
			return z
		}, code: "zip-duplicate", msg: "two entries with this name"},
		{name: "zip-symlink-entry", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, nil, func(zw *zip.Writer) {
				h := &zip.FileHeader{Name: base + "/data/link.mp4", Method: zip.Store}
				h.SetMode(os.ModeSymlink | 0o777)
				w, _ := zw.CreateHeader(h)
				w.Write([]byte("/etc/passwd"))
			})
			return z
		}, code: "symlink", msg: "zip entry is a symbolic link"},
		{name: "zip-byte-flipped", zip: true, setup: func(t *testing.T, z string) string {
			b := rd(t, e.zip)
			zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			for _, zf := range zr.File {
				if strings.HasSuffix(zf.Name, red[0]) {
					off, _ := zf.DataOffset()
					b[off+1000] ^= 1
				}
			}
			wr(t, z, b)
			return z
		}, code: "zip-checksum", msg: "does not match its CRC-32"},
		{name: "zip-bomb", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, nil, func(zw *zip.Writer) {
				w, _ := zw.CreateHeader(&zip.FileHeader{Name: base + "/data/bomb.bin", Method: zip.Deflate})
				zero := make([]byte, 1<<20)
				for i := 0; i < 64; i++ {
					w.Write(zero)
				}
			})
			return z
		}, code: "zip-limit", msg: "zip bomb"},
		{name: "zip-overlapping-entries", zip: true, setup: func(t *testing.T, z string) string {
			// Point the central directory entry of one payload at another
			// entry's local header: two names, one set of bytes.
			b := rd(t, e.zip)
			var first, second int
			for _, off := range centralEntries(t, b) {
				switch centralName(b, off) {
				case base + "/" + red[0]:
					first = off
				case base + "/" + red[1]:
					second = off
				}
			}
			copy(b[second+16:second+28], b[first+16:first+28]) // crc, sizes
			copy(b[second+42:second+46], b[first+42:first+46]) // local header offset
			wr(t, z, b)
			return z
		}, code: "zip-overlap", msg: "shares its data with"},
		{name: "zip-encrypted-entry", zip: true, setup: func(t *testing.T, z string) string {
			b := rd(t, e.zip)
			for _, off := range centralEntries(t, b) {
				if centralName(b, off) == base+"/"+red[0] {
					b[off+8] |= 1
				}
			}
			wr(t, z, b)
			return z
		}, code: "zip-encrypted", msg: "encrypted"},
		{name: "zip-truncated", zip: true, setup: func(t *testing.T, z string) string {
			b := rd(t, e.zip)
			wr(t, z, b[:len(b)-2000])
			return z
		}, code: "zip-malformed", msg: "not a readable zip"},
		// Issue 11 row 9: the zip must be exactly one archive, laid out as
		// zip writers lay it out, whatever Go's reader tolerates.
		{name: "zip-prefix-small-zip-in-front", zip: true, setup: func(t *testing.T, z string) string {
			wr(t, z, append(plantedZip(t, base), rd(t, e.zip)...))
			return z
		}, code: "zip-prefix", msg: "bytes come before the zip itself"},
		{name: "zip-prefix-offsets-rewritten", zip: true, setup: func(t *testing.T, z string) string {
			// The planted zip in front, and the bundle's offsets moved on
			// to match, so that the central directory accounts for it.
			small := plantedZip(t, base)
			b := rd(t, e.zip)
			for _, off := range centralEntries(t, b) {
				o := binary.LittleEndian.Uint32(b[off+42:])
				binary.LittleEndian.PutUint32(b[off+42:], o+uint32(len(small)))
			}
			eocd := bytes.LastIndex(b, []byte("PK\x05\x06"))
			o := binary.LittleEndian.Uint32(b[eocd+16:])
			binary.LittleEndian.PutUint32(b[eocd+16:], o+uint32(len(small)))
			wr(t, z, append(small, b...))
			return z
		}, code: "zip-prefix", msg: "the first entry starts at byte [1-9]"},
		{name: "zip-trailing-data", zip: true, setup: func(t *testing.T, z string) string {
			wr(t, z, append(rd(t, e.zip), []byte("#!/bin/sh\necho planted\n")...))
			return z
		}, code: "zip-trailing", msg: "23 bytes follow the zip's end record"},
		{name: "zip-trailing-small-zip-behind", zip: true, setup: func(t *testing.T, z string) string {
			// Readers that take the last end record now see the small zip,
			// with the whole bundle in front of it.
			wr(t, z, append(rd(t, e.zip), plantedZip(t, base)...))
			return z
		}, code: "zip-prefix", msg: "bytes come before the zip itself"},
		{name: "zip-comment", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, nil, func(zw *zip.Writer) { zw.SetComment("PK planted") })
			return z
		}, code: "zip-comment", msg: "10-byte comment"},
		{name: "zip-gap-before-central-directory", zip: true, setup: func(t *testing.T, z string) string {
			b := rd(t, e.zip)
			eocd := bytes.LastIndex(b, []byte("PK\x05\x06"))
			cd := binary.LittleEndian.Uint32(b[eocd+16:])
			junk := []byte("hidden bytes no entry owns")
			binary.LittleEndian.PutUint32(b[eocd+16:], cd+uint32(len(junk)))
			out := append(append(append([]byte(nil), b[:cd]...), junk...), b[cd:]...)
			wr(t, z, out)
			return z
		}, code: "zip-gap", msg: "26 bytes between the last entry and the central directory"},
		{name: "zip-local-header-renamed", zip: true, setup: func(t *testing.T, z string) string {
			// Tools that stream local headers see another name.
			b := rd(t, e.zip)
			for _, off := range centralEntries(t, b) {
				if centralName(b, off) == base+"/"+red[0] {
					lh := int(binary.LittleEndian.Uint32(b[off+42:]))
					b[lh+30+len(base)+1] = 'X' // the first letter after "BASE/"
				}
			}
			wr(t, z, b)
			return z
		}, code: "zip-header-mismatch", msg: "its local header names it"},
		{name: "zip-symlink-bits-under-a-fat-creator", zip: true, setup: func(t *testing.T, z string) string {
			// "Made by" MS-DOS, so Go's Mode says regular file; the Unix
			// bits say symlink, which other tools may honour.
			b := rd(t, e.zip)
			for _, off := range centralEntries(t, b) {
				if centralName(b, off) == base+"/"+red[0] {
					binary.LittleEndian.PutUint16(b[off+4:], 20) // creator 0 (FAT), version 2.0
					binary.LittleEndian.PutUint32(b[off+38:], 0o120777<<16)
				}
			}
			wr(t, z, b)
			return z
		}, code: "symlink", msg: "zip entry is a symbolic link"},
		{name: "zip-fifo-entry", zip: true, setup: func(t *testing.T, z string) string {
			b := rd(t, e.zip)
			for _, off := range centralEntries(t, b) {
				if centralName(b, off) == base+"/"+red[0] {
					binary.LittleEndian.PutUint32(b[off+38:], 0o010644<<16)
				}
			}
			wr(t, z, b)
			return z
		}, code: "special-file", msg: "named pipe"},
		{name: "zip-directory-attribute-on-a-file", zip: true, setup: func(t *testing.T, z string) string {
			b := rd(t, e.zip)
			for _, off := range centralEntries(t, b) {
				if centralName(b, off) == base+"/"+red[0] {
					b[off+38] |= 0x10 // MS-DOS directory
				}
			}
			wr(t, z, b)
			return z
		}, code: "zip-attributes", msg: "marked a directory"},
		{name: "zip-setuid-entry", zip: true, setup: func(t *testing.T, z string) string {
			b := rd(t, e.zip)
			for _, off := range centralEntries(t, b) {
				if centralName(b, off) == base+"/"+red[0] {
					binary.LittleEndian.PutUint32(b[off+38:], 0o104755<<16)
				}
			}
			wr(t, z, b)
			return z
		}, code: "zip-attributes", msg: "setuid"},
		{name: "zip-payload-added", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, nil, func(zw *zip.Writer) {
				w, _ := zw.Create(base + "/data/EX-9_extra.mp4")
				w.Write([]byte("not evidence"))
			})
			return z
		}, code: "file-extra", msg: "data/EX-9_extra.mp4"},
		{name: "zip-payload-deleted", zip: true, setup: func(t *testing.T, z string) string {
			rezip(t, e.zip, z, func(n string, d []byte) (string, []byte, bool) {
				return n, d, !strings.HasSuffix(n, red[1])
			}, nil)
			return z
		}, code: "file-missing", msg: red[1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p string
			if c.zip {
				p = c.setup(t, filepath.Join(t.TempDir(), base+".zip"))
			} else {
				p = c.setup(t, bundletest.CopyDir(t, e.dir))
			}
			expect(t, e.verify(t, p, c.opts), c.code, c.msg)
		})
	}
	if len(cases) < 30 {
		t.Fatalf("only %d tamper cases", len(cases))
	}
	// The untouched bundles still verify (the cases worked on copies).
	for _, p := range []string{e.dir, e.zip, e.other} {
		if r := e.verify(t, p, verify.BundleOptions{}); !r.Verified {
			t.Fatalf("%s: %s", p, problems(r))
		}
	}
}

// TestBundleCheckpointConsistency: a receiver who kept the checkpoint of an
// earlier bundle catches a later bundle from a rolled-back or forked store,
// and accepts one from a store that only grew.
func TestBundleCheckpointConsistency(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	ctx := context.Background()
	f := bundletest.New(t, 1)
	pin := pinned(t, f)
	clip := f.Originals[0]
	first := filepath.Join(f.Dir, "first")
	f.Export(t, first, false, clip)
	backup := bundletest.CopyDir(t, f.Store.Dir) // the store as it was after the first export
	access := func(s *store.Store, reason string) {
		if _, err := s.OpenClip(ctx, clip, store.OpenOptions{Identities: []age.Identity{f.DPO}, Reason: reason, Out: filepath.Join(t.TempDir(), "x.mp4")}); err != nil {
			t.Fatal(err)
		}
	}
	access(f.Store, "second look")
	second := filepath.Join(f.Dir, "second")
	f.Export(t, second, false, clip)
	saved := func(b string) []byte { return rd(t, filepath.Join(b, bundle.CheckpointFile)) }
	run := func(b string, cp []byte) *verify.Report {
		r, err := verify.Bundle(ctx, b, verify.BundleOptions{TrustedKeys: []ssh.PublicKey{pin}, Checkpoint: cp})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("grown", func(t *testing.T) {
		r := run(second, saved(first))
		if !r.Verified {
			t.Fatal(problems(r))
		}
		if !strings.Contains(strings.Join(r.Notes, "\n"), "without rewriting anything") {
			t.Fatalf("notes: %q", r.Notes)
		}
	})
	t.Run("same", func(t *testing.T) {
		if r := run(second, saved(second)); !r.Verified {
			t.Fatal(problems(r))
		}
	})
	t.Run("rolled-back", func(t *testing.T) {
		// An older bundle offered after a newer one: its checkpoint is
		// smaller than the one the receiver kept.
		expect(t, run(first, saved(second)), "consistency-rollback", "the station's ledger was rolled back")
	})
	restore := func(t *testing.T) *store.Store {
		dir := bundletest.CopyDir(t, backup)
		s, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Unlock([]byte(bundletest.Passphrase)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("forked-same-size", func(t *testing.T) {
		// The store is restored from the backup and history is rewritten
		// with the same number of entries: same size, another root.
		s := restore(t)
		access(s, "a different story")
		out := filepath.Join(t.TempDir(), "forked")
		if _, err := bundle.Export(ctx, s, f.ExportOptions(out, clip)); err != nil {
			t.Fatal(err)
		}
		expect(t, run(out, saved(second)), "consistency-fork", "a different root")
	})
	t.Run("forked-longer", func(t *testing.T) {
		s := restore(t)
		access(s, "a different story")
		access(s, "and more")
		out := filepath.Join(t.TempDir(), "forked")
		if _, err := bundle.Export(ctx, s, f.ExportOptions(out, clip)); err != nil {
			t.Fatal(err)
		}
		expect(t, run(out, saved(second)), "consistency-missing", "does not extend the ledger your checkpoint came from")
		// It does extend the first bundle's ledger, and says so.
		if r := run(out, saved(first)); !r.Verified {
			t.Fatal(problems(r))
		}
	})
	t.Run("forged-consistency-proof", func(t *testing.T) {
		b := bundletest.CopyDir(t, second)
		editProofs(t, b, func(p *bundle.Proofs) {
			p.Consistency[0].Path[0] = strings.Repeat("cd", 32)
		})
		bundletest.Resign(t, b, f.Signer(t), nil)
		expect(t, run(b, saved(first)), "consistency-fork", "does not extend the one you saved")
	})
	t.Run("checkpoint-of-another-store", func(t *testing.T) {
		g := bundletest.New(t, 0)
		cp, err := g.Store.ReadCheckpoint()
		if err != nil {
			t.Fatal(err)
		}
		expect(t, run(second, cp), "consistency-checkpoint", "not by the pinned station key")
	})
	t.Run("unusable-checkpoint-file", func(t *testing.T) {
		if _, err := verify.Bundle(ctx, second, verify.BundleOptions{TrustedKeys: []ssh.PublicKey{pin}, Checkpoint: []byte("junk")}); err == nil {
			t.Fatal("a junk --checkpoint file was accepted")
		}
	})
}
