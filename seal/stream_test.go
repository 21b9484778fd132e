package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/seal"
)

const (
	mib = 1 << 20 // seal's internal chunk size
	kib = 1 << 10
	// ageChunk is the plaintext size of one age STREAM chunk.
	ageChunk = 64 * kib
)

func TestSealOpenRoundTrip(t *testing.T) {
	id, rec := x25519(t)
	sizes := []int{0, 1, 2, ageChunk - 1, ageChunk, ageChunk + 1, mib - 1, mib, mib + 1,
		2*mib - 1, 2 * mib, 6*mib + 12345, 13 * mib}
	for i, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			in := randomBytes(size, uint64(i))
			var out bytes.Buffer
			var progressed atomic.Int64
			s, err := seal.Seal(context.Background(), &out, bytes.NewReader(in), []age.Recipient{rec}, func(n int64) {
				if n <= 0 {
					t.Errorf("progress called with %d", n)
				}
				progressed.Add(n)
			})
			if err != nil {
				t.Fatal(err)
			}
			ct := out.Bytes()
			if s.Plain.SHA256 != sum(in) || s.Plain.Size != int64(size) {
				t.Errorf("plain digest %+v, want sha256 %s size %d", s.Plain, sum(in), size)
			}
			if s.Cipher.SHA256 != sum(ct) || s.Cipher.Size != int64(len(ct)) {
				t.Errorf("cipher digest %+v, want sha256 %s size %d", s.Cipher, sum(ct), len(ct))
			}
			if progressed.Load() != int64(size) {
				t.Errorf("progress reported %d bytes, want %d", progressed.Load(), size)
			}
			if size >= 16 && bytes.Contains(ct, in[:min(size, 64)]) {
				t.Error("ciphertext contains plaintext")
			}

			// The library's own reader agrees byte for byte.
			r, err := age.Decrypt(bytes.NewReader(ct), id)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ref, in) {
				t.Fatalf("age.Decrypt gave %d bytes that differ from the %d sealed", len(ref), size)
			}

			var back bytes.Buffer
			o, err := seal.Open(context.Background(), &back, bytes.NewReader(ct), []age.Identity{id}, s.Plain.SHA256, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Bytes(), in) {
				t.Fatal("Open did not give back the input")
			}
			if o != s {
				t.Errorf("Open digests %+v, Seal digests %+v", o, s)
			}
		})
	}
}

// Sealing the same input twice gives different ciphertexts (fresh file
// keys) with the same plaintext hash.
func TestSealFreshKeys(t *testing.T) {
	_, rec := x25519(t)
	in := randomBytes(100*kib, 7)
	var a, b bytes.Buffer
	sa, err := seal.Seal(context.Background(), &a, bytes.NewReader(in), []age.Recipient{rec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := seal.Seal(context.Background(), &b, bytes.NewReader(in), []age.Recipient{rec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Plain != sb.Plain {
		t.Errorf("plain digests differ: %+v %+v", sa.Plain, sb.Plain)
	}
	if sa.Cipher.SHA256 == sb.Cipher.SHA256 || bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two seals of the same input gave the same ciphertext")
	}
}

func TestSealRecipientErrors(t *testing.T) {
	var out bytes.Buffer
	if _, err := seal.Seal(context.Background(), &out, bytes.NewReader([]byte("x")), nil, nil); err == nil {
		t.Fatal("Seal with no recipients succeeded")
	}
	// age refuses to mix post-quantum and classic recipients; the error
	// must come back (with the pipeline torn down), not hang.
	hy, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	_, rec := x25519(t)
	done := make(chan error, 1)
	go func() {
		_, err := seal.Seal(context.Background(), &out, bytes.NewReader(randomBytes(8*mib, 1)), []age.Recipient{rec, hy.Recipient()}, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "recipients") {
			t.Fatalf("mixed recipients: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Seal hung after the encrypter failed")
	}
	if out.Len() != 0 {
		t.Fatalf("%d bytes written", out.Len())
	}
}

// slowReader trickles an endless stream, one small piece at a time, like a
// stalled network share.
type slowReader struct {
	delay time.Duration
	reads atomic.Int64
}

func (r *slowReader) Read(p []byte) (int, error) {
	time.Sleep(r.delay)
	r.reads.Add(1)
	n := min(len(p), 16)
	for i := range p[:n] {
		p[i] = byte(i)
	}
	return n, nil
}

// A cancelled context stops Seal promptly even when the source delivers
// far less than a chunk before the cancellation.
func TestSealCancelSlowReader(t *testing.T) {
	_, rec := x25519(t)
	ctx, cancel := context.WithCancel(context.Background())
	src := &slowReader{delay: time.Millisecond}
	done := make(chan error, 1)
	go func() {
		_, err := seal.Seal(ctx, io.Discard, src, []age.Recipient{rec}, nil)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	// At 16 bytes a millisecond, filling one chunk would take over a
	// minute: returning within seconds means the read loop saw the cancel.
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Seal returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Seal still running 10s after cancel (%d reads so far)", src.reads.Load())
	}
	if src.reads.Load() == 0 {
		t.Fatal("the reader was never called")
	}
}

// endless is an infinite fast source.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

// Cancelling in the middle of a fast stream, with every pipeline stage
// busy, returns the context's error and leaves no goroutine blocked.
func TestSealCancelMidStream(t *testing.T) {
	_, rec := x25519(t)
	for _, after := range []int64{1, 3 * mib, 20 * mib} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var n atomic.Int64
			var out bytes.Buffer
			done := make(chan error, 1)
			go func() {
				_, err := seal.Seal(ctx, &out, endless{}, []age.Recipient{rec}, func(k int64) {
					if n.Add(k) >= after {
						cancel()
					}
				})
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Seal returned %v, want context.Canceled", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Seal did not return after cancel")
			}
		})
	}
}

func TestSealContextAlreadyCancelled(t *testing.T) {
	_, rec := x25519(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := seal.Seal(ctx, io.Discard, bytes.NewReader(randomBytes(3*mib, 1)), []age.Recipient{rec}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

var errDisk = errors.New("simulated I/O error")

// failingReader returns n good bytes and then an error.
type failingReader struct {
	r io.Reader
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errDisk
	}
	return n, err
}

func TestSealReadErrorPropagates(t *testing.T) {
	_, rec := x25519(t)
	for _, size := range []int{0, 10, mib, 3*mib + 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			src := &failingReader{bytes.NewReader(randomBytes(size, 3))}
			_, err := seal.Seal(context.Background(), io.Discard, src, []age.Recipient{rec}, nil)
			if !errors.Is(err, errDisk) {
				t.Fatalf("Seal returned %v, want the reader's error", err)
			}
		})
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	limit int
	n     int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		k := w.limit - w.n
		w.n = w.limit
		return k, errDisk
	}
	w.n += len(p)
	return len(p), nil
}

func TestSealWriteErrorPropagates(t *testing.T) {
	_, rec := x25519(t)
	for _, limit := range []int{0, 100, 2*mib + 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			_, err := seal.Seal(context.Background(), &failingWriter{limit: limit}, bytes.NewReader(randomBytes(5*mib, 4)), []age.Recipient{rec}, nil)
			if !errors.Is(err, errDisk) {
				t.Fatalf("Seal returned %v, want the writer's error", err)
			}
		})
	}
}

// sealTo seals in and returns the ciphertext and digests.
func sealTo(t *testing.T, in []byte, recs ...age.Recipient) ([]byte, seal.Sealed) {
	t.Helper()
	var out bytes.Buffer
	s, err := seal.Seal(context.Background(), &out, bytes.NewReader(in), recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), s
}

// Stock age opens what Seal writes, for every kind of recipient custody
// accepts from the age and OpenSSH tools.
func TestStockAgeDecryptsSealed(t *testing.T) {
	dir := t.TempDir()
	ageKey, ageRec := ageKeygen(t, dir, "dpo.key")
	edKey, edPub := sshKeygen(t, dir, "id_ed25519", "-t", "ed25519", "-N", "")
	rsaKey, rsaPub := sshKeygen(t, dir, "id_rsa", "-t", "rsa", "-b", "2048", "-N", "")
	in := randomBytes(2*mib+777, 9)

	cases := []struct {
		name   string
		recs   []string
		idents []string
	}{
		{"x25519", []string{ageRec}, []string{ageKey}},
		{"ssh-ed25519", []string{edPub}, []string{edKey}},
		{"ssh-rsa", []string{rsaPub}, []string{rsaKey}},
		{"several", []string{ageRec, edPub, rsaPub}, []string{ageKey, edKey, rsaKey}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var recs []age.Recipient
			for _, s := range c.recs {
				r, err := seal.ParseRecipient(s, nil)
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
			ct, s := sealTo(t, in, recs...)
			sealed := filepath.Join(t.TempDir(), "clip.age")
			if err := os.WriteFile(sealed, ct, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, key := range c.idents {
				out := run(t, dir, nil, "age", "-d", "-i", key, sealed)
				if !bytes.Equal(out, in) {
					t.Fatalf("age -d -i %s gave %d bytes (sha256 %s), want %d (sha256 %s)", filepath.Base(key), len(out), sum(out), len(in), s.Plain.SHA256)
				}
			}
		})
	}
	// And a key that is not a recipient is refused by stock age.
	otherKey, _ := ageKeygen(t, dir, "other.key")
	ct, _ := sealTo(t, in, mustRecipient(t, ageRec))
	sealed := filepath.Join(dir, "x.age")
	os.WriteFile(sealed, ct, 0o600)
	if out, err := runErr(dir, nil, "age", "-d", "-i", otherKey, sealed); err == nil {
		t.Fatalf("age -d with a non-recipient key succeeded: %d bytes", len(out))
	}
}

func mustRecipient(t *testing.T, s string) age.Recipient {
	t.Helper()
	r, err := seal.ParseRecipient(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Seal's output opens with seal.Open after stock age wrote nothing; and a
// file stock age wrote opens with seal.Open: the two are interchangeable.
func TestOpenReadsStockAgeFile(t *testing.T) {
	dir := t.TempDir()
	key, rec := ageKeygen(t, dir, "k")
	in := randomBytes(mib+1, 11)
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, in, 0o600)
	run(t, dir, nil, "age", "-r", rec, "-o", "sealed.age", plain)
	data, _ := os.ReadFile(key)
	ids, err := seal.ParseIdentityFile(key, data, seal.IdentityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(filepath.Join(dir, "sealed.age"))
	defer f.Close()
	var out bytes.Buffer
	if _, err := seal.Open(context.Background(), &out, f, ids, sum(in), nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), in) {
		t.Fatal("content differs")
	}
}

func TestOpenDetectsTampering(t *testing.T) {
	id, rec := x25519(t)
	in := randomBytes(3*mib+100, 5)
	ct, s := sealTo(t, in, rec)
	hdr, err := age.ExtractHeader(bytes.NewReader(ct))
	if err != nil {
		t.Fatal(err)
	}
	// The payload is a 16-byte nonce, then chunks of 64 KiB + 16-byte tag.
	payload := len(hdr) + 16
	const sealedChunk = ageChunk + 16

	flip := func(off int) []byte {
		b := bytes.Clone(ct)
		b[off] ^= 0x01
		return b
	}
	cases := []struct {
		name string
		ct   []byte
	}{
		{"flipped first payload byte", flip(payload)},
		{"flipped middle byte", flip(len(ct) / 2)},
		{"flipped last byte", flip(len(ct) - 1)},
		{"flipped nonce byte", flip(len(hdr) + 3)},
		{"truncated by one byte", ct[:len(ct)-1]},
		{"truncated at a chunk boundary", ct[:payload+10*sealedChunk]},
		{"truncated to the nonce", ct[:payload]},
		{"trailing garbage", append(bytes.Clone(ct), "junk"...)},
		{"chunks swapped", func() []byte {
			b := bytes.Clone(ct)
			a0, b0 := payload+sealedChunk, payload+2*sealedChunk
			copy(b[a0:], ct[b0:b0+sealedChunk])
			copy(b[b0:], ct[a0:a0+sealedChunk])
			return b
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := seal.Open(context.Background(), &out, bytes.NewReader(c.ct), []age.Identity{id}, s.Plain.SHA256, nil)
			if !errors.Is(err, seal.ErrHashMismatch) {
				t.Fatalf("Open returned %v, want ErrHashMismatch", err)
			}
		})
	}

	t.Run("flipped header byte", func(t *testing.T) {
		// A damaged header cannot be told apart from a wrong key by the
		// decrypter; it must fail, whatever it is called.
		for _, off := range []int{5, len(hdr) / 2, len(hdr) - 5} {
			var out bytes.Buffer
			_, err := seal.Open(context.Background(), &out, bytes.NewReader(flip(off)), []age.Identity{id}, s.Plain.SHA256, nil)
			if err == nil {
				t.Fatalf("flipping header byte %d went unnoticed", off)
			}
			if out.Len() != 0 {
				t.Errorf("flipping header byte %d: %d bytes written before the failure", off, out.Len())
			}
		}
	})

	t.Run("intact but not the ledgered content", func(t *testing.T) {
		var out bytes.Buffer
		got, err := seal.Open(context.Background(), &out, bytes.NewReader(ct), []age.Identity{id}, sum([]byte("other")), nil)
		if !errors.Is(err, seal.ErrHashMismatch) {
			t.Fatalf("Open returned %v, want ErrHashMismatch", err)
		}
		if got.Plain.SHA256 != s.Plain.SHA256 {
			t.Errorf("Open reported plaintext sha256 %s, want the actual %s", got.Plain.SHA256, s.Plain.SHA256)
		}
	})

	t.Run("no expected hash", func(t *testing.T) {
		var out bytes.Buffer
		got, err := seal.Open(context.Background(), &out, bytes.NewReader(ct), []age.Identity{id}, "", nil)
		if err != nil || got != s {
			t.Fatalf("Open without want: %+v, %v", got, err)
		}
	})
}

func TestOpenWrongIdentity(t *testing.T) {
	_, rec := x25519(t)
	other, _ := x25519(t)
	ct, s := sealTo(t, []byte("evidence"), rec)
	var out bytes.Buffer
	_, err := seal.Open(context.Background(), &out, bytes.NewReader(ct), []age.Identity{other}, s.Plain.SHA256, nil)
	var nm *age.NoIdentityMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("Open with the wrong key returned %v, want a NoIdentityMatchError", err)
	}
	if out.Len() != 0 {
		t.Fatal("wrote output with the wrong key")
	}
}

func TestOpenCancelled(t *testing.T) {
	id, rec := x25519(t)
	ct, s := sealTo(t, randomBytes(4*mib, 2), rec)
	ctx, cancel := context.WithCancel(context.Background())
	var n int64
	_, err := seal.Open(ctx, io.Discard, bytes.NewReader(ct), []age.Identity{id}, s.Plain.SHA256, func(k int64) {
		if n += k; n >= mib {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n >= int64(len(ct)) {
		t.Fatal("Open read everything despite the cancel")
	}
}

func TestHashReader(t *testing.T) {
	for _, size := range []int{0, 1, mib, 3*mib + 1} {
		in := randomBytes(size, 13)
		var seen int64
		d, err := seal.HashReader(context.Background(), bytes.NewReader(in), func(n int64) { seen += n })
		if err != nil {
			t.Fatal(err)
		}
		if d.SHA256 != sum(in) || d.Size != int64(size) || seen != int64(size) {
			t.Errorf("size %d: got %+v (progress %d), want sha256 %s", size, d, seen, sum(in))
		}
	}
	_, err := seal.HashReader(context.Background(), &failingReader{bytes.NewReader(make([]byte, 10))}, nil)
	if !errors.Is(err, errDisk) {
		t.Errorf("HashReader returned %v, want the reader's error", err)
	}
}
