package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/verify"
	"golang.org/x/crypto/ssh"
)

func pinned(t testing.TB, f *bundletest.Fixture) ssh.PublicKey {
	t.Helper()
	line, err := os.ReadFile(f.StationPub)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := seal.ParsePublicKey(string(line))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestBundleRoundTrip exports real clips as a directory and as a zip and
// verifies both against the pinned station key; without a pinned key the
// same bundles are "integrity checked, signer not trusted", not verified.
func TestBundleRoundTrip(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 2)
	for _, out := range []string{"bundle", "bundle.zip"} {
		t.Run(out, func(t *testing.T) {
			p := filepath.Join(f.Dir, out)
			res := f.Export(t, p, true, f.Originals[0], f.Redacted[1])
			if len(res.Exhibits) != 4 {
				t.Fatalf("exhibits: %+v", res.Exhibits)
			}
			r, err := verify.Bundle(context.Background(), p, verify.BundleOptions{TrustedKeys: []ssh.PublicKey{pinned(t, f)}})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Verified || !r.Trusted || len(r.Problems) != 0 || r.Err() != nil {
				t.Fatalf("not verified: %+v", r)
			}
			if r.Objects != res.Files || r.Bytes != res.Bytes || r.Checkpoint != res.Checkpoint || r.Signer != res.Station {
				t.Errorf("report %+v does not match export result %+v", r, res)
			}
			r, err = verify.Bundle(context.Background(), p, verify.BundleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verified || r.Trusted || len(r.Problems) != 0 || r.Err() == nil {
				t.Fatalf("without a pinned key: %+v", r)
			}
		})
	}
}

// TestBundleLimits: a bundle over the reader's limits is refused with a
// problem rather than read: too many files, a tag file larger than custody
// ever writes.
func TestBundleLimits(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	f := bundletest.New(t, 1)
	p := filepath.Join(f.Dir, "b")
	f.Export(t, p, false, f.Originals[0])
	for _, tc := range []struct {
		lim  bundle.Limits
		code string
	}{
		{bundle.Limits{MaxFiles: 5}, "bundle-limit"},
		{bundle.Limits{MaxTagFile: 100}, "file-too-large"},
		{bundle.Limits{MaxTotal: 1000}, "bundle-limit"},
	} {
		r, err := verify.Bundle(context.Background(), p, verify.BundleOptions{TrustedKeys: []ssh.PublicKey{pinned(t, f)}, Limits: tc.lim})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verified || !r.HasCode(tc.code) {
			t.Errorf("limits %+v: want %s, got %+v", tc.lim, tc.code, r.Problems)
		}
	}
}
