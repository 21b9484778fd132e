package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/peercred"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

// Served is a sealed object's plaintext made readable to a child process
// (ffmpeg) at a loopback URL.
type Served struct {
	URL  string
	Size int64
	srv  *http.Server
	ln   *childListener
	f    *os.File
}

// Refused returns how many connections were closed unread because they
// did not come from a child process of custody, and why the last was.
func (sv *Served) Refused() (int64, error) {
	sv.ln.mu.Lock()
	defer sv.ln.mu.Unlock()
	return sv.ln.refused, sv.ln.last
}

// Close stops serving.
func (sv *Served) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := sv.srv.Shutdown(ctx)
	return errors.Join(err, sv.f.Close())
}

// Serve decrypts a sealed object on demand, with random access, behind an
// HTTP server on 127.0.0.1, so that ffmpeg can read (and seek in) a sealed
// MP4 while no plaintext is ever written to disk. The URL is in ffmpeg's
// command line, which every local user can read, so it is no secret: each
// connection is served only if it comes from a live child process of this
// one (the ffmpeg or ffprobe custody started), as this user, and is closed
// unread otherwise (see internal/peercred). Only Linux can tell, so
// elsewhere Serve refuses (peercred.ErrUnsupported). The ciphertext is first
// re-hashed against the ledger; after that age's authenticated chunks
// guarantee every byte served is the original.
func (s *Store) Serve(ctx context.Context, o Object, identities []age.Identity) (*Served, error) {
	if err := peercred.Supported(); err != nil {
		return nil, fmt.Errorf("sealed clips are redacted only on Linux, where custody can check that what reads the decrypted clip is its own ffmpeg: %w", err)
	}
	f, err := s.OpenObject(o)
	if err != nil {
		return nil, err
	}
	d, err := seal.HashReader(ctx, f, nil)
	if err != nil {
		f.Close()
		return nil, err
	}
	if d.SHA256 != o.CipherSHA256 || d.Size != o.CipherSize {
		f.Close()
		return nil, fmt.Errorf("%w: %s does not match the ledger (run custody verify)", seal.ErrHashMismatch, o.Path)
	}
	ra, n, err := age.DecryptReaderAt(f, d.Size, identities...)
	if err != nil {
		f.Close()
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, ErrAccessDenied
		}
		return nil, err
	}
	if n != o.Size {
		f.Close()
		return nil, fmt.Errorf("%w: %s decrypts to %d bytes, the ledger says %d", seal.ErrHashMismatch, o.Path, n, o.Size)
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	route := "/" + hex.EncodeToString(tok) + "/clip"
	plain := &lockedReaderAt{r: ra}
	mux := http.NewServeMux()
	mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		// ServeContent answers Range requests, which is how ffmpeg seeks.
		// Each request gets a reader of its own: ffmpeg opens a new
		// connection to seek while the previous response is still
		// streaming, and a shared read position would hand it the other
		// request's bytes.
		http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(plain, 0, n))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, err
	}
	ln := &childListener{Listener: l}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &Served{URL: "http://" + l.Addr().String() + route, Size: n, srv: srv, ln: ln, f: f}, nil
}

// childListener hands the HTTP server only connections from child
// processes of this one; any other is reset before a byte of it is read,
// and counted.
type childListener struct {
	net.Listener
	mu      sync.Mutex
	refused int64
	last    error
}

func (l *childListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if _, err := peercred.CheckChild(c); err != nil {
			// Counted before the reset, so that whoever sees the reset
			// also sees the count.
			l.mu.Lock()
			l.refused++
			l.last = err
			l.mu.Unlock()
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, not an orderly close
			}
			c.Close()
			continue
		}
		return c, nil
	}
}

// lockedReaderAt serialises ReadAt calls: the HTTP server may run several
// requests at once.
type lockedReaderAt struct {
	mu sync.Mutex
	r  io.ReaderAt
}

func (l *lockedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.ReadAt(p, off)
}

// LogAccess ledgers an access to a clip (by a person or a process such as
// the redactor) before it happens.
func (s *Store) LogAccess(ctx context.Context, clipID string, p AccessPayload) error {
	if p.Reason == "" {
		return ErrNoReason
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.Update(ctx, func(tx *Tx) error {
		_, err := tx.Append(manifest.Entry{Action: "access", Clip: clipID, Payload: payload})
		return err
	})
}
