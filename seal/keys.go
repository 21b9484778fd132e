package seal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/ssh"
)

// ErrBadKey means a recipient or identity could not be parsed.
var ErrBadKey = errors.New("bad key")

// ParseRecipient parses one age recipient: X25519 (age1...), post-quantum
// hybrid (age1pq1...), a plugin recipient (age1name1...), or an SSH public
// key (ssh-ed25519, ssh-rsa). ui may be nil when no plugin is expected.
func ParseRecipient(s string, ui *plugin.ClientUI) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	var (
		r   age.Recipient
		err error
	)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		r, err = age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1") && strings.Count(s, "1") > 1:
		if ui == nil {
			return nil, fmt.Errorf("%w: plugin recipient %q needs its plugin; not available here", ErrBadKey, s)
		}
		r, err = plugin.NewRecipient(s, ui)
	case strings.HasPrefix(s, "age1"):
		r, err = age.ParseX25519Recipient(s)
	case strings.HasPrefix(s, "ssh-"):
		r, err = agessh.ParseRecipient(s)
	default:
		if strings.HasPrefix(s, "AGE-SECRET-KEY") || strings.HasPrefix(s, "-----BEGIN") {
			return nil, fmt.Errorf("%w: that is a private key, not a recipient; give the public key (age-keygen -y, or the .pub file)", ErrBadKey)
		}
		return nil, fmt.Errorf("%w: unknown recipient type %q", ErrBadKey, short(s))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", ErrBadKey, short(s), err)
	}
	return r, nil
}

// ParseRecipientLines parses a recipients file: one recipient a line, with
// blank lines and #-comments ignored. It returns the canonical strings too,
// for recording in the ledger.
func ParseRecipientLines(r io.Reader, ui *plugin.ClientUI) ([]age.Recipient, []string, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	var recs []age.Recipient
	var strs []string
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rec, err := ParseRecipient(line, ui)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", n, err)
		}
		recs = append(recs, rec)
		strs = append(strs, line)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	return recs, strs, nil
}

// IdentityOptions supplies what parsing an identity file may need.
type IdentityOptions struct {
	// Passphrase is asked for passphrase-protected SSH keys and
	// passphrase-encrypted age identity files. The prompt names the file.
	Passphrase func(prompt string) ([]byte, error)
	// PluginUI is used for AGE-PLUGIN- identities (hardware tokens).
	PluginUI *plugin.ClientUI
}

// ParseIdentityFile parses an identity file the way the age CLI does: an age
// identities file (X25519, hybrid and plugin identities), a passphrase
// encrypted age file holding identities, or an SSH private key (possibly
// passphrase-protected, in which case name+".pub" is read if the key does
// not carry its public half).
func ParseIdentityFile(name string, data []byte, opts IdentityOptions) ([]age.Identity, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(data, []byte("age-encryption.org/")) || bytes.HasPrefix(trimmed, []byte(armor.Header)):
		var r io.Reader = bytes.NewReader(data)
		if bytes.HasPrefix(trimmed, []byte(armor.Header)) {
			r = armor.NewReader(bytes.NewReader(trimmed))
		}
		if opts.Passphrase == nil {
			return nil, fmt.Errorf("%w: %s is passphrase-encrypted and no passphrase source is available", ErrBadKey, name)
		}
		pass, err := opts.Passphrase(fmt.Sprintf("Enter passphrase for identity file %q:", name))
		if err != nil {
			return nil, err
		}
		sid, err := age.NewScryptIdentity(string(pass))
		if err != nil {
			return nil, err
		}
		dr, err := age.Decrypt(r, sid)
		if err != nil {
			return nil, fmt.Errorf("%w: could not decrypt identity file %s: %v", ErrBadKey, name, err)
		}
		inner, err := io.ReadAll(io.LimitReader(dr, 1<<24))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadKey, name, err)
		}
		return parseIdentityLines(name, inner, opts)
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		id, err := agessh.ParseIdentity(trimmed)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			pub := missing.PublicKey
			if pub == nil {
				pb, rerr := os.ReadFile(name + ".pub")
				if rerr != nil {
					return nil, fmt.Errorf("%w: %s is an encrypted SSH key without its public key; put %s.pub beside it", ErrBadKey, name, name)
				}
				if pub, _, _, _, rerr = ssh.ParseAuthorizedKey(pb); rerr != nil {
					return nil, fmt.Errorf("%w: %s.pub: %v", ErrBadKey, name, rerr)
				}
			}
			if opts.Passphrase == nil {
				return nil, fmt.Errorf("%w: %s is passphrase-protected and no passphrase source is available", ErrBadKey, name)
			}
			prompt := fmt.Sprintf("Enter passphrase for %q:", name)
			eid, err := agessh.NewEncryptedSSHIdentity(pub, trimmed, func() ([]byte, error) { return opts.Passphrase(prompt) })
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrBadKey, name, err)
			}
			return []age.Identity{eid}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: malformed SSH identity in %s: %v", ErrBadKey, name, err)
		}
		return []age.Identity{id}, nil
	default:
		return parseIdentityLines(name, data, opts)
	}
}

func parseIdentityLines(name string, data []byte, opts IdentityOptions) ([]age.Identity, error) {
	var ids []age.Identity
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("%w: %s is not valid UTF-8", ErrBadKey, name)
		}
		var (
			id  age.Identity
			err error
		)
		switch {
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			if opts.PluginUI == nil {
				return nil, fmt.Errorf("%w: %s line %d: plugin identity needs a terminal", ErrBadKey, name, n)
			}
			id, err = plugin.NewIdentity(line, opts.PluginUI)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(line)
		case strings.HasPrefix(line, "age1") || strings.HasPrefix(line, "ssh-"):
			return nil, fmt.Errorf("%w: %s line %d is a public key (recipient), not an identity", ErrBadKey, name, n)
		default:
			return nil, fmt.Errorf("%w: %s line %d: unknown identity type", ErrBadKey, name, n)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %v", ErrBadKey, name, n, err)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no identities found in %s", ErrBadKey, name)
	}
	return ids, nil
}

func short(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
