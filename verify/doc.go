// Package verify checks evidence without trusting whoever holds it and
// without any private key: it re-hashes every sealed file, checks every
// ledger signature and chain link, checks the ledger's Merkle root against
// the latest signed checkpoint, and checks that the sealed files and the
// ledger agree exactly.
//
// Like restic's checker, it reports every problem it finds, each with a
// stable code, instead of stopping at the first. A Report with problems is
// "verification failed"; an error return means "could not verify".
package verify
