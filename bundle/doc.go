// Package bundle is the court-ready export bundle: what custody hands to
// the police or a court so that they can check the footage offline without
// trusting the sender.
//
// A bundle is a BagIt bag (RFC 8493), as a directory or a zip file:
//
//	bagit.txt                 BagIt declaration
//	bag-info.txt              organisation, contact, incident, date, Payload-Oxum, station key
//	manifest-sha256.txt       payload digests (sha256sum -c works from the bundle root)
//	manifest-sha512.txt
//	tagmanifest-sha512.txt    every file outside data/
//	data/                     redacted clips (playable video); with --include-originals,
//	                          data/originals/*.age re-encrypted to the receiver
//	custody/ledger.jsonl      the ledger entries about these clips, byte for byte
//	custody/proofs.json       Merkle inclusion proofs for them, and consistency proofs
//	custody/checkpoint        the signed checkpoint the proofs lead to
//	custody/station.pub       the station key (information only: trust comes from a pinned key)
//	custody/statement.txt     the signed statement: every file's SHA-512 and size
//	custody/statement.txt.sig its SSH signature (namespace custody-bundle-statement-v1)
//	report.html, report.txt   the human report: exhibits, hashes, timelines, how to verify
//
// Custody's own evidence lives in one tag directory, custody/, rather than
// beside the BagIt files: BagIt tools treat it as ordinary tag files (the tag
// manifest covers it), people see at once what is custody-specific, and the
// bag root stays what BagIt readers expect.
//
// The statement lists every file except itself, its signature and the tag
// manifest (which lists those two; no list can contain its own digest). The
// tag manifest must then be exactly the canonical listing of the other tag
// files, so that removing, adding or editing any file is detected.
//
// The package writes bundles (Export) and reads them strictly (Open), for
// package verify, which decides whether a bundle is good. It has no network
// code and builds without cgo.
package bundle
