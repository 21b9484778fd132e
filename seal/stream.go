package seal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	"filippo.io/age"
)

// ErrHashMismatch means decrypted content is not what was sealed.
var ErrHashMismatch = errors.New("sealed content failed its integrity check")

// Digest is the SHA-256 and length of a byte stream.
type Digest struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Sealed describes one sealing pass.
type Sealed struct {
	Plain  Digest `json:"plain"`
	Cipher Digest `json:"cipher"`
}

const (
	chunkSize  = 1 << 20
	chunkDepth = 6 // buffers per pool: 2 pools x 6 MiB bounds memory
)

type chunk struct {
	b    []byte
	n    int
	refs atomic.Int32
	pool chan *chunk
}

func (c *chunk) data() []byte { return c.b[:c.n] }

func (c *chunk) release() {
	if c.refs.Add(-1) == 0 {
		c.pool <- c // never blocks: the pool holds every chunk it made
	}
}

func newPool(n int) chan *chunk {
	p := make(chan *chunk, n)
	for i := 0; i < n; i++ {
		p <- &chunk{b: make([]byte, chunkSize), pool: p}
	}
	return p
}

// group runs goroutines and cancels them all on the first error.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) *group {
	g := &group{}
	g.ctx, g.cancel = context.WithCancel(ctx)
	return g
}

func (g *group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err; g.cancel() })
		}
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

func get(ctx context.Context, pool chan *chunk) (*chunk, error) {
	select {
	case c := <-pool:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fanOut hands c to every channel; each consumer releases it once.
func fanOut(ctx context.Context, c *chunk, outs ...chan<- *chunk) error {
	c.refs.Store(int32(len(outs)))
	for i, o := range outs {
		select {
		case o <- c:
		case <-ctx.Done():
			for range outs[i:] {
				c.release()
			}
			return ctx.Err()
		}
	}
	return nil
}

// consume runs f on every chunk from in, releasing each, and keeps draining
// after an error so that producers never block on a dead consumer.
func consume(in <-chan *chunk, f func([]byte) error) error {
	var err error
	for c := range in {
		if err == nil {
			err = f(c.data())
		}
		c.release()
	}
	return err
}

// chunkWriter collects small writes (age emits 64 KiB records) into pool
// chunks and fans them out to the next stages.
type chunkWriter struct {
	ctx  context.Context
	pool chan *chunk
	outs []chan<- *chunk
	cur  *chunk
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.cur == nil {
			c, err := get(w.ctx, w.pool)
			if err != nil {
				return 0, err
			}
			c.n = 0
			w.cur = c
		}
		k := copy(w.cur.b[w.cur.n:], p)
		w.cur.n += k
		p = p[k:]
		if w.cur.n == len(w.cur.b) {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	c := w.cur
	w.cur = nil
	if c == nil || c.n == 0 {
		if c != nil {
			c.pool <- c
		}
		return nil
	}
	return fanOut(w.ctx, c, w.outs...)
}

// Seal reads src once and writes an age file for recipients to dst, hashing
// the plaintext and the ciphertext on the way. Reading, plaintext hashing,
// encryption, ciphertext hashing and writing run concurrently, over a fixed
// pool of buffers, so memory does not grow with the input. progress, if not
// nil, is called with the number of plaintext bytes read.
func Seal(ctx context.Context, dst io.Writer, src io.Reader, recipients []age.Recipient, progress func(int64)) (Sealed, error) {
	if len(recipients) == 0 {
		return Sealed{}, errors.New("seal: no recipients")
	}
	g := newGroup(ctx)
	inPool, outPool := newPool(chunkDepth), newPool(chunkDepth)
	toPlainHash := make(chan *chunk, chunkDepth)
	toEncrypt := make(chan *chunk, chunkDepth)
	toCipherHash := make(chan *chunk, chunkDepth)
	toWrite := make(chan *chunk, chunkDepth)
	ph, ch := sha256.New(), sha256.New()
	var plainN, cipherN int64

	g.Go(func() error {
		defer close(toPlainHash)
		defer close(toEncrypt)
		for {
			c, err := get(g.ctx, inPool)
			if err != nil {
				return err
			}
			n, rerr := readFull(g.ctx, src, c.b)
			c.n = n
			if n > 0 {
				plainN += int64(n)
				if progress != nil {
					progress(int64(n))
				}
				if err := fanOut(g.ctx, c, toPlainHash, toEncrypt); err != nil {
					return err
				}
			} else {
				inPool <- c
			}
			switch rerr {
			case nil:
			case io.EOF, io.ErrUnexpectedEOF:
				return nil
			default:
				return fmt.Errorf("reading input: %w", rerr)
			}
		}
	})
	g.Go(func() error { return consume(toPlainHash, hashInto(ph)) })
	g.Go(func() error {
		cw := &chunkWriter{ctx: g.ctx, pool: outPool, outs: []chan<- *chunk{toCipherHash, toWrite}}
		defer close(toWrite)
		defer close(toCipherHash)
		aw, err := age.Encrypt(cw, recipients...)
		if err != nil {
			consume(toEncrypt, func([]byte) error { return nil })
			return fmt.Errorf("seal: %w", err)
		}
		err = consume(toEncrypt, func(p []byte) error { _, err := aw.Write(p); return err })
		if err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
		return cw.flush()
	})
	g.Go(func() error { return consume(toCipherHash, hashInto(ch)) })
	g.Go(func() error {
		return consume(toWrite, func(p []byte) error {
			n, err := dst.Write(p)
			cipherN += int64(n)
			if err != nil {
				return fmt.Errorf("writing sealed file: %w", err)
			}
			return nil
		})
	})
	if err := g.Wait(); err != nil {
		return Sealed{}, err
	}
	return Sealed{
		Plain:  Digest{SHA256: hex.EncodeToString(ph.Sum(nil)), Size: plainN},
		Cipher: Digest{SHA256: hex.EncodeToString(ch.Sum(nil)), Size: cipherN},
	}, nil
}

// readFull is io.ReadFull that stops between reads once ctx is done: a
// slow source (a stalled share) may take minutes to fill a chunk.
func readFull(ctx context.Context, r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(b[n:])
		n += k
		if err == io.EOF && n > 0 && n < len(b) {
			return n, io.ErrUnexpectedEOF
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func hashInto(h hash.Hash) func([]byte) error {
	return func(p []byte) error { h.Write(p); return nil }
}

// Open decrypts the age file src into dst, hashing both sides. If want is
// not empty and the plaintext's SHA-256 differs, it returns ErrHashMismatch
// (dst has then received bad content: callers write to a temporary file and
// discard it).
func Open(ctx context.Context, dst io.Writer, src io.Reader, identities []age.Identity, want string, progress func(int64)) (Sealed, error) {
	ch, ph := sha256.New(), sha256.New()
	cr := &countingReader{r: src, h: ch}
	r, err := age.Decrypt(cr, identities...)
	if err != nil {
		return Sealed{}, err
	}
	buf := make([]byte, chunkSize)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return Sealed{}, err
		}
		k, rerr := r.Read(buf)
		if k > 0 {
			ph.Write(buf[:k])
			if _, err := dst.Write(buf[:k]); err != nil {
				return Sealed{}, err
			}
			n += int64(k)
			if progress != nil {
				progress(int64(k))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return Sealed{}, fmt.Errorf("%w: decryption failed: %v", ErrHashMismatch, rerr)
		}
	}
	// Hash any trailing ciphertext the decrypter did not need to read.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return Sealed{}, err
	}
	s := Sealed{
		Plain:  Digest{SHA256: hex.EncodeToString(ph.Sum(nil)), Size: n},
		Cipher: Digest{SHA256: hex.EncodeToString(ch.Sum(nil)), Size: cr.n},
	}
	if want != "" && s.Plain.SHA256 != want {
		return s, fmt.Errorf("%w: plaintext sha256 %s, ledger says %s", ErrHashMismatch, s.Plain.SHA256, want)
	}
	return s, nil
}

type countingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// HashReader streams r through SHA-256.
func HashReader(ctx context.Context, r io.Reader, progress func(int64)) (Digest, error) {
	h := sha256.New()
	buf := make([]byte, chunkSize)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return Digest{}, err
		}
		k, err := r.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if progress != nil && k > 0 {
			progress(int64(k))
		}
		if err == io.EOF {
			return Digest{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
		}
		if err != nil {
			return Digest{}, err
		}
	}
}
