package bundle

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// Digests are a file's size, SHA-256 and SHA-512.
type Digests struct {
	Size   int64
	SHA256 string
	SHA512 string
}

const (
	hashChunk = 1 << 20
	hashDepth = 4 // chunks in flight: memory stays at a few MiB whatever the file size
)

type hchunk struct {
	b    []byte
	n    int
	refs atomic.Int32
}

// hasher computes SHA-256 and SHA-512 of a stream at once, each on its own
// goroutine, so that both cost about what SHA-512 alone costs.
type hasher struct {
	pool       chan *hchunk
	c256, c512 chan *hchunk
	wg         sync.WaitGroup
	h256, h512 hash.Hash
	cur        *hchunk
	n          int64
	progress   func(int64)
	closed     bool
}

func newHasher(progress func(int64)) *hasher {
	h := &hasher{
		pool: make(chan *hchunk, hashDepth),
		c256: make(chan *hchunk, hashDepth),
		c512: make(chan *hchunk, hashDepth),
		h256: sha256.New(), h512: sha512.New(),
		progress: progress,
	}
	for i := 0; i < hashDepth; i++ {
		h.pool <- &hchunk{b: make([]byte, hashChunk)}
	}
	run := func(in chan *hchunk, hh hash.Hash) {
		defer h.wg.Done()
		for c := range in {
			hh.Write(c.b[:c.n])
			if c.refs.Add(-1) == 0 {
				h.pool <- c
			}
		}
	}
	h.wg.Add(2)
	go run(h.c256, h.h256)
	go run(h.c512, h.h512)
	return h
}

func (h *hasher) dispatch(c *hchunk) {
	if c.n == 0 {
		h.pool <- c
		return
	}
	h.n += int64(c.n)
	if h.progress != nil {
		h.progress(int64(c.n))
	}
	c.refs.Store(2)
	h.c256 <- c
	h.c512 <- c
}

// Write copies p into chunks for the hashing goroutines.
func (h *hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if h.cur == nil {
			h.cur = <-h.pool
			h.cur.n = 0
		}
		k := copy(h.cur.b[h.cur.n:], p)
		h.cur.n += k
		p = p[k:]
		if h.cur.n == len(h.cur.b) {
			h.dispatch(h.cur)
			h.cur = nil
		}
	}
	return n, nil
}

// readFrom reads r straight into chunks (no copy), stopping between reads
// once ctx is done.
func (h *hasher) readFrom(ctx context.Context, r io.Reader) error {
	for {
		if h.cur == nil {
			h.cur = <-h.pool
			h.cur.n = 0
		}
		for h.cur.n < len(h.cur.b) {
			if err := ctx.Err(); err != nil {
				return err
			}
			k, err := r.Read(h.cur.b[h.cur.n:])
			h.cur.n += k
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
		h.dispatch(h.cur)
		h.cur = nil
	}
}

// Sum flushes, stops the goroutines and returns the digests. It must be
// called exactly once.
func (h *hasher) Sum() Digests {
	if h.cur != nil {
		h.dispatch(h.cur)
		h.cur = nil
	}
	if !h.closed {
		h.closed = true
		close(h.c256)
		close(h.c512)
		h.wg.Wait()
	}
	return Digests{Size: h.n, SHA256: hex.EncodeToString(h.h256.Sum(nil)), SHA512: hex.EncodeToString(h.h512.Sum(nil))}
}

// HashReader streams r through SHA-256 and SHA-512 in one pass, using two
// cores and a fixed few MiB of memory. progress, if not nil, is called with
// bytes read.
func HashReader(ctx context.Context, r io.Reader, progress func(int64)) (Digests, error) {
	h := newHasher(progress)
	err := h.readFrom(ctx, r)
	d := h.Sum()
	if err != nil {
		return Digests{}, err
	}
	return d, nil
}
