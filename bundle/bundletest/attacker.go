package bundletest

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/seal"
)

// What an attacker with a copy of a bundle directory can do: recompute the
// BagIt manifests (any BagIt tool does it), or, holding a station key,
// re-sign the statement too.

// CopyDir copies a bundle directory (regular files only) to a new temp dir.
func CopyDir(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	check(t, err)
	return dst
}

type digest struct{ sha256, sha512 string }

func files(t testing.TB, dir string) map[string]digest {
	t.Helper()
	out := map[string]digest{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h2, h5 := sha256.New(), sha512.New()
		if _, err := io.Copy(io.MultiWriter(h2, h5), f); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = digest{hex.EncodeToString(h2.Sum(nil)), hex.EncodeToString(h5.Sum(nil))}
		return nil
	})
	check(t, err)
	return out
}

// RecomputeManifests rewrites manifest-sha256.txt, manifest-sha512.txt and
// tagmanifest-sha512.txt from the files as they are now.
func RecomputeManifests(t testing.TB, dir string) {
	t.Helper()
	fs := files(t, dir)
	var m256, m512 []bundle.ManifestLine
	for n, d := range fs {
		if bundle.IsPayload(n) {
			m256 = append(m256, bundle.ManifestLine{Digest: d.sha256, Path: n})
			m512 = append(m512, bundle.ManifestLine{Digest: d.sha512, Path: n})
		}
	}
	check(t, os.WriteFile(filepath.Join(dir, bundle.ManifestSHA256), bundle.FormatManifest(m256), 0o644))
	check(t, os.WriteFile(filepath.Join(dir, bundle.ManifestSHA512), bundle.FormatManifest(m512), 0o644))
	writeTagManifest(t, dir)
}

func writeTagManifest(t testing.TB, dir string) {
	var tags []bundle.ManifestLine
	for n, d := range files(t, dir) {
		if !bundle.IsPayload(n) && n != bundle.TagManifestSHA512 {
			tags = append(tags, bundle.ManifestLine{Digest: d.sha512, Path: n})
		}
	}
	check(t, os.WriteFile(filepath.Join(dir, bundle.TagManifestSHA512), bundle.FormatManifest(tags), 0o644))
}

// Resign recomputes the manifests and re-signs the statement over the files
// as they are now, keeping its header, with signer (the station's key for
// an insider, another key for an impostor). edit, if not nil, may change
// the statement before it is signed.
func Resign(t testing.TB, dir string, signer seal.Signer, edit func(*bundle.Statement)) {
	t.Helper()
	RecomputeManifests(t, dir)
	old, err := os.ReadFile(filepath.Join(dir, bundle.StatementFile))
	check(t, err)
	st, err := bundle.ParseStatement(old)
	check(t, err)
	st.Station = seal.Fingerprint(signer.PublicKey())
	st.Files = nil
	skip := map[string]bool{}
	for _, n := range bundle.Unlisted {
		skip[n] = true
	}
	fs := files(t, dir)
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if skip[n] {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(n)))
		check(t, err)
		st.Files = append(st.Files, bundle.FileDigest{Path: n, Size: fi.Size(), SHA512: fs[n].sha512})
	}
	if edit != nil {
		edit(st)
	}
	body := st.Marshal()
	sig, err := bundle.SignStatement(body, signer)
	check(t, err)
	check(t, os.WriteFile(filepath.Join(dir, bundle.StatementFile), body, 0o644))
	check(t, os.WriteFile(filepath.Join(dir, bundle.StatementSigFile), sig, 0o644))
	writeTagManifest(t, dir)
}

// Payloads lists a bundle directory's data/ files, sorted; originals last.
func Payloads(t testing.TB, dir string) (redacted, originals []string) {
	t.Helper()
	for n := range files(t, dir) {
		switch {
		case strings.HasPrefix(n, bundle.OriginalsDir+"/"):
			originals = append(originals, n)
		case bundle.IsPayload(n):
			redacted = append(redacted, n)
		}
	}
	sort.Strings(redacted)
	sort.Strings(originals)
	return redacted, originals
}
