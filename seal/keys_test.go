package seal_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/custody-evidence/custody/seal"
)

// opens reports whether ids can open a file sealed to recipient, and
// checks the content when they can.
func opens(t *testing.T, ids []age.Identity, rec age.Recipient) error {
	t.Helper()
	in := []byte("a recording, of sorts")
	ct, s := sealTo(t, in, rec)
	var out bytes.Buffer
	_, err := seal.Open(context.Background(), &out, bytes.NewReader(ct), ids, s.Plain.SHA256, nil)
	if err == nil && !bytes.Equal(out.Bytes(), in) {
		t.Fatal("opened to the wrong content")
	}
	return err
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRecipient(t *testing.T) {
	dir := t.TempDir()
	_, ageRec := ageKeygen(t, dir, "k")
	_, edPub := sshKeygen(t, dir, "ed", "-t", "ed25519", "-N", "")
	_, rsaPub := sshKeygen(t, dir, "rsa", "-t", "rsa", "-b", "2048", "-N", "")
	hy, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{ageRec, "  " + ageRec + "\n", edPub, rsaPub, hy.Recipient().String()} {
		if _, err := seal.ParseRecipient(s, nil); err != nil {
			t.Errorf("ParseRecipient(%.30q): %v", s, err)
		}
	}

	ageKey := strings.TrimSpace(string(run(t, dir, nil, "grep", "^AGE-SECRET-KEY", "k")))
	bad := map[string]string{
		"empty":                "",
		"garbage":              "hello world",
		"bad checksum":         ageRec[:len(ageRec)-1] + "q",
		"truncated ssh key":    edPub[:40],
		"age private key":      ageKey,
		"ssh private key":      string(readFile(t, filepath.Join(dir, "ed"))),
		"plugin without UI":    "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t",
		"unsupported ssh type": "ssh-dss AAAAB3NzaC1kc3MAAACBAP== x",
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			r, err := seal.ParseRecipient(s, nil)
			if !errors.Is(err, seal.ErrBadKey) {
				t.Fatalf("ParseRecipient returned %v, %v; want ErrBadKey", r, err)
			}
			if strings.Contains(err.Error(), "AGE-SECRET-KEY-1") && len(s) > 40 {
				t.Errorf("the error repeats the secret key: %v", err)
			}
		})
	}
}

func TestParseRecipientLines(t *testing.T) {
	dir := t.TempDir()
	_, a := ageKeygen(t, dir, "a")
	_, b := sshKeygen(t, dir, "b", "-t", "ed25519", "-N", "")
	file := "# recipients\n\n" + a + "\n   # indented comment\n" + b + "  \n"
	recs, strs, err := seal.ParseRecipientLines(strings.NewReader(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || len(strs) != 2 || strs[0] != a || strs[1] != b {
		t.Fatalf("got %d recipients %q", len(recs), strs)
	}
	_, _, err = seal.ParseRecipientLines(strings.NewReader(a+"\n\nnot-a-key\n"), nil)
	if !errors.Is(err, seal.ErrBadKey) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("bad line: got %v, want ErrBadKey naming line 3", err)
	}
}

func TestParseIdentityFile(t *testing.T) {
	dir := t.TempDir()
	ageKey, ageRec := ageKeygen(t, dir, "age.key")
	age2Key, age2Rec := ageKeygen(t, dir, "age2.key")
	edKey, edPub := sshKeygen(t, dir, "id_ed25519", "-t", "ed25519", "-N", "")
	rsaKey, rsaPub := sshKeygen(t, dir, "id_rsa", "-t", "rsa", "-b", "2048", "-N", "")
	hy, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(dir, "both.keys")
	os.WriteFile(both, append(append(readFile(t, ageKey), '\n'), readFile(t, age2Key)...), 0o600)

	cases := []struct {
		name string
		file string
		data []byte
		n    int
		recs []string
	}{
		{"age-keygen", ageKey, nil, 1, []string{ageRec}},
		{"two age keys", both, nil, 2, []string{ageRec, age2Rec}},
		{"ssh-ed25519", edKey, nil, 1, []string{edPub}},
		{"ssh-rsa", rsaKey, nil, 1, []string{rsaPub}},
		{"hybrid", "hybrid.key", []byte(hy.String() + "\n"), 1, []string{hy.Recipient().String()}},
		{"crlf", "crlf.key", bytes.ReplaceAll(readFile(t, ageKey), []byte("\n"), []byte("\r\n")), 1, []string{ageRec}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if data == nil {
				data = readFile(t, c.file)
			}
			ids, err := seal.ParseIdentityFile(c.file, data, seal.IdentityOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != c.n {
				t.Fatalf("got %d identities, want %d", len(ids), c.n)
			}
			for _, r := range c.recs {
				if err := opens(t, ids, mustRecipient(t, r)); err != nil {
					t.Errorf("cannot open a file for %.30s: %v", r, err)
				}
			}
			_, other := x25519(t)
			if opens(t, ids, other) == nil {
				t.Error("opened a file sealed to someone else")
			}
		})
	}
}

// passphrase returns a callback that answers pw and counts prompts.
func passphrase(pw string, prompts *[]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		*prompts = append(*prompts, p)
		return []byte(pw), nil
	}
}

func TestParseIdentityFileEncryptedSSH(t *testing.T) {
	dir := t.TempDir()
	const pw = "correct horse"
	for _, kind := range []struct {
		name string
		args []string
	}{
		{"ed25519", []string{"-t", "ed25519"}},
		{"rsa", []string{"-t", "rsa", "-b", "2048"}},
		// The legacy PEM format does not carry the public key in the clear,
		// so the .pub beside it is needed.
		{"rsa-pem", []string{"-t", "rsa", "-b", "2048", "-m", "PEM"}},
	} {
		t.Run(kind.name, func(t *testing.T) {
			key, pub := sshKeygen(t, dir, "id_"+kind.name, append(kind.args, "-N", pw)...)
			data := readFile(t, key)
			rec := mustRecipient(t, pub)

			if _, err := seal.ParseIdentityFile(key, data, seal.IdentityOptions{}); !errors.Is(err, seal.ErrBadKey) {
				t.Fatalf("without a passphrase source: %v, want ErrBadKey", err)
			}

			var prompts []string
			ids, err := seal.ParseIdentityFile(key, data, seal.IdentityOptions{Passphrase: passphrase(pw, &prompts)})
			if err != nil {
				t.Fatal(err)
			}
			if err := opens(t, ids, rec); err != nil {
				t.Fatalf("right passphrase: %v", err)
			}
			if len(prompts) == 0 || !strings.Contains(prompts[0], key) {
				t.Errorf("prompts %q do not name the key file", prompts)
			}

			ids, err = seal.ParseIdentityFile(key, data, seal.IdentityOptions{Passphrase: passphrase("wrong", &prompts)})
			if err != nil {
				t.Fatal(err) // the passphrase is only tried when a file is opened
			}
			if err := opens(t, ids, rec); err == nil {
				t.Fatal("opened with the wrong passphrase")
			}

			// A file not sealed to this key is refused without asking.
			prompts = nil
			_, other := x25519(t)
			if opens(t, ids, other) == nil {
				t.Fatal("opened a file for another recipient")
			}
			if kind.name != "rsa-pem" && len(prompts) != 0 {
				t.Errorf("asked for the passphrase (%q) for a file not sealed to the key", prompts)
			}

			if kind.name == "rsa-pem" {
				os.Rename(key+".pub", key+".pub.away")
				defer os.Rename(key+".pub.away", key+".pub")
				_, err := seal.ParseIdentityFile(key, data, seal.IdentityOptions{Passphrase: passphrase(pw, &prompts)})
				if !errors.Is(err, seal.ErrBadKey) || !strings.Contains(err.Error(), ".pub") {
					t.Fatalf("PEM key without .pub: %v, want ErrBadKey asking for the .pub", err)
				}
			}
		})
	}
}

// An age identity file encrypted with a passphrase (age -p), binary and
// armored.
func TestParseIdentityFilePassphraseEncrypted(t *testing.T) {
	dir := t.TempDir()
	key, rec := ageKeygen(t, dir, "k")
	const pw = "s3cret pass"
	encrypt := func(armored bool) []byte {
		r, err := age.NewScryptRecipient(pw)
		if err != nil {
			t.Fatal(err)
		}
		r.SetWorkFactor(10)
		var buf bytes.Buffer
		var w io.Writer = &buf
		var aw io.WriteCloser
		if armored {
			aw = armor.NewWriter(&buf)
			w = aw
		}
		ew, err := age.Encrypt(w, r)
		if err != nil {
			t.Fatal(err)
		}
		ew.Write(readFile(t, key))
		ew.Close()
		if aw != nil {
			aw.Close()
		}
		return buf.Bytes()
	}
	for _, armored := range []bool{false, true} {
		data := encrypt(armored)
		name := "k.age"
		if armored {
			name = "k.age.asc"
			data = append([]byte("\n  "), data...) // leading space is allowed
		}
		var prompts []string
		ids, err := seal.ParseIdentityFile(name, data, seal.IdentityOptions{Passphrase: passphrase(pw, &prompts)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(prompts) != 1 || !strings.Contains(prompts[0], name) {
			t.Errorf("%s: prompts %q", name, prompts)
		}
		if err := opens(t, ids, mustRecipient(t, rec)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := seal.ParseIdentityFile(name, data, seal.IdentityOptions{Passphrase: passphrase("nope", &prompts)}); !errors.Is(err, seal.ErrBadKey) {
			t.Errorf("%s with the wrong passphrase: %v, want ErrBadKey", name, err)
		}
		if _, err := seal.ParseIdentityFile(name, data, seal.IdentityOptions{}); !errors.Is(err, seal.ErrBadKey) {
			t.Errorf("%s with no passphrase source: %v, want ErrBadKey", name, err)
		}
		cancelled := errors.New("prompt cancelled")
		if _, err := seal.ParseIdentityFile(name, data, seal.IdentityOptions{Passphrase: func(string) ([]byte, error) { return nil, cancelled }}); !errors.Is(err, cancelled) {
			t.Errorf("%s: a failing prompt gave %v", name, err)
		}
	}
}

func TestParseIdentityFileRefusals(t *testing.T) {
	dir := t.TempDir()
	ageKey, ageRec := ageKeygen(t, dir, "k")
	_, edPub := sshKeygen(t, dir, "ed", "-t", "ed25519", "-N", "")
	secret := strings.TrimSpace(string(run(t, dir, nil, "grep", "^AGE-SECRET-KEY", ageKey)))
	cases := map[string]struct {
		data string
		want string // in the message
	}{
		"age recipient":           {ageRec + "\n", "public key"},
		"ssh public key":          {edPub + "\n", "public key"},
		"garbage":                 {"this is not a key\n", "unknown identity"},
		"empty":                   {"", "no identities"},
		"only comments":           {"# created: today\n\n# nothing\n", "no identities"},
		"bad checksum":            {secret[:len(secret)-2] + "QQ\n", "line 1"},
		"key then garbage":        {secret + "\nnonsense\n", "line 2"},
		"plugin without UI":       {"AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQ\n", "plugin"},
		"invalid utf-8":           {"\xff\xfe\n", "UTF-8"},
		"malformed ssh key":       {"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "SSH"},
		"truncated age file":      {"age-encryption.org/v1\n-> X25519 abc\n", "passphrase"},
		"lowercase secret":        {strings.ToLower(secret) + "\n", "unknown identity"},
		"secret with spaces in":   {secret[:20] + " " + secret[20:] + "\n", "line 1"},
		"armored but not age":     {"-----BEGIN AGE ENCRYPTED FILE-----\nnope\n-----END AGE ENCRYPTED FILE-----\n", "passphrase"},
		"private key with prefix": {"x" + secret + "\n", "unknown identity"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ids, err := seal.ParseIdentityFile("id.txt", []byte(c.data), seal.IdentityOptions{})
			if !errors.Is(err, seal.ErrBadKey) {
				t.Fatalf("got %d identities, %v; want ErrBadKey", len(ids), err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "id.txt") {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), secret[20:]) {
				t.Errorf("error %q repeats the secret key", err)
			}
		})
	}
}
