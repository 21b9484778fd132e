package manifest

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Hasher is the RFC 6962 SHA-256 hasher used for the ledger tree.
var Hasher = rfc6962.DefaultHasher

// Tree is an in-memory RFC 6962 Merkle tree over ledger lines. It keeps the
// hash of every perfect subtree (about 2n hashes), which is what inclusion
// and consistency proofs are made of.
type Tree struct {
	rf    *compact.RangeFactory
	rng   *compact.Range
	nodes map[compact.NodeID][]byte
	roots map[uint64][]byte // memoised roots of earlier sizes
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	rf := &compact.RangeFactory{Hash: Hasher.HashChildren}
	return &Tree{rf: rf, rng: rf.NewEmptyRange(0), nodes: map[compact.NodeID][]byte{}, roots: map[uint64][]byte{}}
}

// Append adds a leaf (a ledger line).
func (t *Tree) Append(leaf []byte) {
	h := Hasher.HashLeaf(leaf)
	t.nodes[compact.NewNodeID(0, t.rng.End())] = h
	if err := t.rng.Append(h, func(id compact.NodeID, hash []byte) { t.nodes[id] = hash }); err != nil {
		panic(err) // cannot happen: the range always starts at 0
	}
}

// Size is the number of leaves.
func (t *Tree) Size() uint64 { return t.rng.End() }

// LeafHash returns the hash of leaf i.
func (t *Tree) LeafHash(i uint64) []byte { return t.nodes[compact.NewNodeID(0, i)] }

// Root returns the root of the first size leaves.
func (t *Tree) Root(size uint64) ([]byte, error) {
	if size > t.Size() {
		return nil, fmt.Errorf("tree has %d leaves, not %d", t.Size(), size)
	}
	if size == 0 {
		return Hasher.EmptyRoot(), nil
	}
	if r, ok := t.roots[size]; ok {
		return r, nil
	}
	// The compact range of [0, size) is a list of perfect subtrees we hold.
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		hashes[i] = t.nodes[id]
	}
	rng, err := t.rf.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return nil, err
	}
	t.roots[size] = root
	return root, nil
}

func (t *Tree) fetch(nodes proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, ok := t.nodes[id]
		if !ok {
			return nil, fmt.Errorf("merkle: missing node %+v", id)
		}
		hashes[i] = h
	}
	return nodes.Rehash(hashes, Hasher.HashChildren)
}

// InclusionProof proves leaf index is in the tree of the given size.
func (t *Tree) InclusionProof(index, size uint64) ([][]byte, error) {
	if index >= size || size > t.Size() {
		return nil, fmt.Errorf("merkle: no leaf %d in a tree of %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return t.fetch(nodes)
}

// ConsistencyProof proves the tree of size1 is a prefix of the tree of size2.
func (t *Tree) ConsistencyProof(size1, size2 uint64) ([][]byte, error) {
	if size1 > size2 || size2 > t.Size() {
		return nil, fmt.Errorf("merkle: no consistency proof from %d to %d in a tree of %d", size1, size2, t.Size())
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return t.fetch(nodes)
}

// VerifyInclusion checks that line is leaf index of the tree with root.
func VerifyInclusion(line []byte, index, size uint64, p [][]byte, root []byte) error {
	return proof.VerifyInclusion(Hasher, index, size, Hasher.HashLeaf(line), p, root)
}

// VerifyConsistency checks that root1 (size1) is a prefix of root2 (size2).
func VerifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	if size1 == 0 {
		if len(p) != 0 {
			return errors.New("consistency proof from an empty tree must be empty")
		}
		return nil
	}
	return proof.VerifyConsistency(Hasher, size1, size2, p, root1, root2)
}
