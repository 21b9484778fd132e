// Package seal is custody's cryptography: it seals recordings as standard age
// files in one streaming pass while hashing plaintext and ciphertext, opens
// them again with a hash check, parses age recipients and identities (X25519,
// SSH and plugin keys), keeps the station's Ed25519 signing key encrypted at
// rest with an age passphrase, and makes and checks SSH signatures (the
// SSHSIG format, so that `ssh-keygen -Y verify` can check them independently).
//
// It never prints and never reads a terminal: prompts are callbacks.
package seal
