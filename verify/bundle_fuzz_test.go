package verify_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

func zipContents(data []byte) (map[string][]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, zf := range zr.File {
		r, err := zf.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, err
		}
		out[zf.Name] = b
	}
	return out, nil
}

// FuzzVerifyZip mutates a real bundle zip and verifies it end to end. The
// property: whenever verify says "verified", every file in the zip is
// byte for byte the file the station exported (a mutation may only have
// touched zip metadata that carries no evidence, such as timestamps).
func FuzzVerifyZip(f *testing.F) {
	testenv.Tool(f, "ffmpeg")
	fx := bundletest.New(f, 1)
	p := filepath.Join(fx.Dir, "b.zip")
	fx.Export(f, p, false, fx.Originals[0])
	orig, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	want, err := zipContents(orig)
	if err != nil {
		f.Fatal(err)
	}
	line, _ := os.ReadFile(fx.StationPub)
	pub, _, _, _, _ := ssh.ParseAuthorizedKey(line)
	f.Add(orig)
	f.Add(orig[:len(orig)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "b.zip")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := verify.Bundle(context.Background(), path, verify.BundleOptions{TrustedKeys: []ssh.PublicKey{pub},
			Limits: bundle.Limits{MaxFiles: 100, MaxTotal: 64 << 20, MaxTagFile: 4 << 20}})
		if err != nil || !r.Verified {
			return
		}
		got, err := zipContents(data)
		if err != nil {
			t.Fatalf("verified, but the zip does not read: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("verified with %d entries, the export had %d", len(got), len(want))
		}
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Fatalf("verified, but %s differs from what was exported", name)
			}
		}
	})
}
