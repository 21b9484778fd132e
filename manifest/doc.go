// Package manifest is custody's ledger: an append-only, hash-chained,
// signed record of everything that happens to evidence, kept as one JSON
// object per line so that a person can read it.
//
// Each line holds the exact bytes of an entry and SSH signatures (SSHSIG)
// over those bytes; the bytes are never re-serialised before checking. Each
// entry names the SHA-256 of the previous line. The lines are also the leaves
// of an RFC 6962 Merkle tree whose signed checkpoints let a third party
// detect truncation, rollback and forks, and let an export bundle prove that
// an entry belongs to the ledger without disclosing the others.
package manifest
