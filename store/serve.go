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
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
)

// Served is a sealed object's plaintext made readable to a child process
// (ffmpeg) at a loopback URL.
type Served struct {
	URL  string
	Size int64
	srv  *http.Server
	f    *os.File
}

// Close stops serving.
func (sv *Served) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := sv.srv.Shutdown(ctx)
	return errors.Join(err, sv.f.Close())
}

// Serve decrypts a sealed object on demand, with random access, behind an
// HTTP server on 127.0.0.1 with an unguessable path, so that ffmpeg can
// read (and seek in) a sealed MP4 while no plaintext is ever written to
// disk. The ciphertext is first re-hashed against the ledger; after that
// age's authenticated chunks guarantee every byte served is the original.
func (s *Store) Serve(ctx context.Context, o Object, identities []age.Identity) (*Served, error) {
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Close()
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &Served{URL: "http://" + ln.Addr().String() + route, Size: n, srv: srv, f: f}, nil
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
