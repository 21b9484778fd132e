package manifest_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"github.com/custody-evidence/custody/manifest"
)

// An independent, deliberately naive RFC 6962 (section 2.1) implementation:
// MTH, PATH and PROOF exactly as the RFC defines them, by recursion over
// the leaf list.

func refLeaf(d []byte) []byte {
	h := sha256.Sum256(append([]byte{0x00}, d...))
	return h[:]
}

func refNode(l, r []byte) []byte {
	h := sha256.Sum256(append(append([]byte{0x01}, l...), r...))
	return h[:]
}

// split is the largest power of two smaller than n.
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

func refMTH(d [][]byte) []byte {
	switch len(d) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return refLeaf(d[0])
	}
	k := split(len(d))
	return refNode(refMTH(d[:k]), refMTH(d[k:]))
}

func refPath(m int, d [][]byte) [][]byte {
	if len(d) <= 1 {
		return nil
	}
	k := split(len(d))
	if m < k {
		return append(refPath(m, d[:k]), refMTH(d[k:]))
	}
	return append(refPath(m-k, d[k:]), refMTH(d[:k]))
}

func refSubproof(m int, d [][]byte, b bool) [][]byte {
	n := len(d)
	if m == n {
		if b {
			return nil
		}
		return [][]byte{refMTH(d)}
	}
	k := split(n)
	if m <= k {
		return append(refSubproof(m, d[:k], b), refMTH(d[k:]))
	}
	return append(refSubproof(m-k, d[k:], false), refMTH(d[:k]))
}

func refProof(m int, d [][]byte) [][]byte {
	if m == 0 || m == len(d) {
		return nil
	}
	return refSubproof(m, d, true)
}

func leaves(n int) [][]byte {
	d := make([][]byte, n)
	for i := range d {
		d[i] = []byte(fmt.Sprintf(`{"entry":{"seq":%d}}`, i))
	}
	return d
}

func equalHashes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// The reference itself against the RFC 6962 test vectors used by
// Certificate Transparency implementations (empty tree, one empty leaf).
func TestReferenceMerkle(t *testing.T) {
	if got := fmt.Sprintf("%x", refMTH(nil)); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty root %s", got)
	}
	if got := fmt.Sprintf("%x", refMTH([][]byte{{}})); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Fatalf("one empty leaf %s", got)
	}
}

const maxTree = 64

func TestTreeMatchesRFC6962(t *testing.T) {
	d := leaves(maxTree)
	tree := manifest.NewTree()
	if r, _ := tree.Root(0); !bytes.Equal(r, refMTH(nil)) {
		t.Fatal("empty root")
	}
	for n := 1; n <= maxTree; n++ {
		tree.Append(d[n-1])
		if tree.Size() != uint64(n) {
			t.Fatalf("size %d after %d appends", tree.Size(), n)
		}
		if !bytes.Equal(tree.LeafHash(uint64(n-1)), refLeaf(d[n-1])) {
			t.Fatalf("leaf hash %d", n-1)
		}
		// The newest root, and a root of an earlier size asked for late.
		root, err := tree.Root(uint64(n))
		if err != nil || !bytes.Equal(root, refMTH(d[:n])) {
			t.Fatalf("root of %d: %x, want %x (%v)", n, root, refMTH(d[:n]), err)
		}
	}
	for n := 0; n <= maxTree; n++ {
		root, err := tree.Root(uint64(n))
		if err != nil || !bytes.Equal(root, refMTH(d[:n])) {
			t.Fatalf("root of %d in a tree of %d: %x, want %x", n, maxTree, root, refMTH(d[:n]))
		}
	}
	if _, err := tree.Root(maxTree + 1); err == nil {
		t.Fatal("root of a size beyond the tree")
	}
}

func TestInclusionProofs(t *testing.T) {
	d := leaves(maxTree)
	tree := manifest.NewTree()
	for _, l := range d {
		tree.Append(l)
	}
	checked := 0
	for n := 1; n <= maxTree; n++ {
		root := refMTH(d[:n])
		for i := 0; i < n; i++ {
			p, err := tree.InclusionProof(uint64(i), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if !equalHashes(p, refPath(i, d[:n])) {
				t.Fatalf("inclusion proof of %d in %d differs from RFC 6962 PATH", i, n)
			}
			if err := manifest.VerifyInclusion(d[i], uint64(i), uint64(n), p, root); err != nil {
				t.Fatalf("leaf %d of %d: %v", i, n, err)
			}
			// Every proof must fail for the wrong leaf, index or root.
			if manifest.VerifyInclusion(append(bytes.Clone(d[i]), ' '), uint64(i), uint64(n), p, root) == nil {
				t.Fatalf("leaf %d of %d: modified leaf verifies", i, n)
			}
			if n > 1 && manifest.VerifyInclusion(d[i], uint64((i+1)%n), uint64(n), p, root) == nil {
				t.Fatalf("leaf %d of %d: verifies at another index", i, n)
			}
			if manifest.VerifyInclusion(d[i], uint64(i), uint64(n), p, refMTH(d[:n-1])) == nil && n > 1 {
				t.Fatalf("leaf %d of %d: verifies against another root", i, n)
			}
			if len(p) > 0 && manifest.VerifyInclusion(d[i], uint64(i), uint64(n), p[:len(p)-1], root) == nil {
				t.Fatalf("leaf %d of %d: shortened proof verifies", i, n)
			}
			checked++
		}
	}
	t.Logf("%d inclusion proofs checked", checked)
	for _, c := range [][2]uint64{{0, 0}, {5, 5}, {5, 3}, {0, maxTree + 1}} {
		if _, err := tree.InclusionProof(c[0], c[1]); err == nil {
			t.Errorf("InclusionProof(%d, %d) succeeded", c[0], c[1])
		}
	}
}

func TestConsistencyProofs(t *testing.T) {
	d := leaves(maxTree)
	tree := manifest.NewTree()
	for _, l := range d {
		tree.Append(l)
	}
	checked := 0
	for n := 1; n <= maxTree; n++ {
		for m := 0; m <= n; m++ {
			p, err := tree.ConsistencyProof(uint64(m), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if !equalHashes(p, refProof(m, d[:n])) {
				t.Fatalf("consistency proof %d→%d differs from RFC 6962 PROOF", m, n)
			}
			r1, r2 := refMTH(d[:m]), refMTH(d[:n])
			if err := manifest.VerifyConsistency(uint64(m), uint64(n), p, r1, r2); err != nil {
				t.Fatalf("%d→%d: %v", m, n, err)
			}
			if m > 0 && m < n {
				// A rewritten prefix or a forked tail must not verify.
				forked := slices.Clone(d[:n])
				forked[n-1] = []byte("forged")
				if manifest.VerifyConsistency(uint64(m), uint64(n), p, r1, refMTH(forked)) == nil {
					t.Fatalf("%d→%d: forked tree verifies", m, n)
				}
				if manifest.VerifyConsistency(uint64(m), uint64(n), p, refMTH(d[1:m+1]), r2) == nil {
					t.Fatalf("%d→%d: other old root verifies", m, n)
				}
				if manifest.VerifyConsistency(uint64(m), uint64(n), p[:len(p)-1], r1, r2) == nil {
					t.Fatalf("%d→%d: shortened proof verifies", m, n)
				}
			}
			checked++
		}
	}
	t.Logf("%d consistency proofs checked", checked)
	if _, err := tree.ConsistencyProof(5, 4); err == nil {
		t.Error("ConsistencyProof(5, 4) succeeded")
	}
	if _, err := tree.ConsistencyProof(1, maxTree+1); err == nil {
		t.Error("ConsistencyProof beyond the tree succeeded")
	}
	if err := manifest.VerifyConsistency(0, 3, [][]byte{refMTH(d[:1])}, refMTH(nil), refMTH(d[:3])); err == nil {
		t.Error("a non-empty proof from the empty tree verifies")
	}
}

// The ledger's tree is over its lines: a ledger entry's inclusion proof
// verifies against a checkpoint root.
func TestLedgerTreeIsOverLines(t *testing.T) {
	b, _ := sampleLedger(t)
	l := parse(t, b.buf.Bytes())
	var d [][]byte
	for _, rec := range l.Records {
		d = append(d, rec.Line)
	}
	root, _ := l.Tree().Root(l.Len())
	if !bytes.Equal(root, refMTH(d)) {
		t.Fatal("ledger root is not the RFC 6962 root of its lines")
	}
	p, err := l.Tree().InclusionProof(4, l.Len())
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.VerifyInclusion(l.Records[4].Line, 4, l.Len(), p, root); err != nil {
		t.Fatal(err)
	}
}
