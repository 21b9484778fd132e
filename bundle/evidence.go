package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/custody-evidence/custody/manifest"
)

// Proofs is custody/proofs.json: for every ledger line in the bundle, the
// Merkle path that leads from it to the root of the bundle's checkpoint;
// and consistency proofs from the checkpoints of the store's earlier
// bundles to this one, so that a receiver who kept an earlier bundle's
// checkpoint can check that the ledger only grew in between.
type Proofs struct {
	Checkpoint  uint64             `json:"checkpoint_size"`
	Inclusion   []InclusionProof   `json:"inclusion"`
	Consistency []ConsistencyProof `json:"consistency"`
}

// InclusionProof proves that ledger entry Seq is leaf Seq of the tree.
type InclusionProof struct {
	Seq  uint64   `json:"seq"`
	Path []string `json:"path"` // hex SHA-256 node hashes, leaf to root
}

// ConsistencyProof proves the tree of size From is a prefix of the tree of
// size To (the bundle's checkpoint). Export names the export entry whose
// bundle carried a checkpoint of size From.
type ConsistencyProof struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Export uint64   `json:"export"`
	Path   []string `json:"path"`
}

// MaxProofsSize and MaxLedgerSize bound what a reader accepts.
const (
	MaxProofsSize = 64 << 20
	MaxLedgerSize = 256 << 20
)

// ParseProofs decodes proofs.json strictly (unknown fields refused).
func ParseProofs(data []byte) (*Proofs, error) {
	var p Proofs
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, ProofsFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: %s: data after the JSON object", ErrMalformed, ProofsFile)
	}
	return &p, nil
}

// DecodePath decodes a hex proof path, each node 32 bytes.
func DecodePath(p []string) ([][]byte, error) {
	out := make([][]byte, len(p))
	for i, h := range p {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%w: proof node %d is not a 32-byte hex hash", ErrMalformed, i)
		}
		out[i] = b
	}
	return out, nil
}

func encodePath(p [][]byte) []string {
	out := make([]string, len(p))
	for i, b := range p {
		out[i] = hex.EncodeToString(b)
	}
	return out
}

// ParseLedgerLines parses custody/ledger.jsonl: complete lines, each in the
// exact canonical form the store writes. A bad line is reported with its
// number and the rest still parsed.
func ParseLedgerLines(data []byte) ([]*manifest.Record, []Issue) {
	var (
		out    []*manifest.Record
		issues []Issue
	)
	if len(data) == 0 {
		return nil, []Issue{issuef("ledger-malformed", LedgerFile, "no ledger entries")}
	}
	if data[len(data)-1] != '\n' {
		issues = append(issues, issuef("ledger-malformed", LedgerFile, "last line has no line ending (truncated?)"))
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		rec, err := manifest.ParseLine(line)
		if err != nil {
			code := "ledger-malformed"
			if errors.Is(err, manifest.ErrDuplicateKey) {
				// As verify says of a store's ledger: two readers of the
				// signed bytes could disagree about what they say.
				code = "ledger-duplicate-key"
			}
			issues = append(issues, issuef(code, fmt.Sprintf("%s line %d", LedgerFile, i+1), "%v", err))
			continue
		}
		out = append(out, rec)
	}
	return out, issues
}
