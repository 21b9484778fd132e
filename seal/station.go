package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

// ErrWrongPassphrase means the station key could not be decrypted.
var ErrWrongPassphrase = errors.New("wrong passphrase for the station key")

// DefaultWorkFactor is age's scrypt cost (2^18), about a second here.
const DefaultWorkFactor = 18

// NewStationKey makes an Ed25519 key and writes it to w as an OpenSSH
// private key encrypted with age's scrypt passphrase mode, so that
// `age -d station.key.age > key` gives a key ssh-keygen can use.
func NewStationKey(w io.Writer, passphrase []byte, comment string, workFactor int) (Signer, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("the station key needs a non-empty passphrase")
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	pemBytes := pem.EncodeToMemory(block)
	rec, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, err
	}
	if workFactor > 0 {
		rec.SetWorkFactor(workFactor)
	}
	aw, err := age.Encrypt(w, rec)
	if err != nil {
		return nil, err
	}
	if _, err := aw.Write(pemBytes); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return NewEd25519Signer(priv)
}

// LoadStationKey decrypts a key written by NewStationKey.
func LoadStationKey(r io.Reader, passphrase []byte) (Signer, error) {
	id, err := age.NewScryptIdentity(string(passphrase))
	if err != nil {
		return nil, err
	}
	dr, err := age.Decrypt(r, id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("station key: %w", err)
	}
	pemBytes, err := io.ReadAll(io.LimitReader(dr, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("station key: %w", err)
	}
	k, err := ssh.ParseRawPrivateKey(bytes.TrimSpace(pemBytes))
	if err != nil {
		return nil, fmt.Errorf("station key: %w", err)
	}
	switch k := k.(type) {
	case *ed25519.PrivateKey:
		return NewEd25519Signer(*k)
	case ed25519.PrivateKey:
		return NewEd25519Signer(k)
	}
	return nil, fmt.Errorf("station key: not an Ed25519 key (%T)", k)
}
