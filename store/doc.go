// Package store is the evidence store: a directory holding sealed recordings
// (age files under objects/), the signed ledger that says what each one is,
// the latest signed checkpoint, and the station's encrypted signing key.
//
// Every change goes through one transaction shape: take the store lock,
// recover from any interrupted writer, append signed ledger entries
// (fsynced), move sealed files into place, write a new checkpoint, unlock.
// A crash at any point leaves a store that verifies: a sealed file is in
// objects/ only once its import entry is durable, and staging files of an
// import that never committed, like the temporary files of an interrupted
// checkpoint or statement write, are swept by the next writer.
package store
