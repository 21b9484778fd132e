package evalset

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
)

// Version changes whenever a generator changes what it makes, so that a
// stale cache is never scored.
const Version = 1

// Split names a half of the data: tune on one, report on the other.
type Split string

const (
	// Tuning is built from dlib's training.xml photos (and the first half
	// of each shared clip): choose thresholds and floors on it.
	Tuning Split = "training"
	// Reporting is built from testing.xml photos (and the second half of
	// each clip): the figures reported.
	Reporting Split = "testing"
)

// Options say where the shared material is and where to cache what is
// generated from it.
type Options struct {
	// Shared is the ../shared directory (models and data).
	Shared string
	// Cache is the folder generated data goes to; "" means
	// RepoRoot/.cache/eval.
	Cache string
}

// DefaultCache is .cache/eval in the repository (git-ignored).
func DefaultCache() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".cache", "eval")
}

// DefaultShared is $CUSTODY_SHARED, else ../shared beside the repository.
func DefaultShared() string {
	if d := os.Getenv("CUSTODY_SHARED"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared"))
}

func (o Options) withDefaults() Options {
	if o.Shared == "" {
		o.Shared = DefaultShared()
	}
	if o.Cache == "" {
		o.Cache = DefaultCache()
	}
	return o
}

// Still is one generated image and its ground truth.
type Still struct {
	// Path is the image file (PNG, or JPEG for the JPEG variant).
	Path   string  `json:"path"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Truth  []Truth `json:"truth"`
	// Source says what it was made from.
	Source string `json:"source"`
}

// Set is a generated collection of stills.
type Set struct {
	Version  int     `json:"version"`
	Category string  `json:"category"`
	Variant  string  `json:"variant"`
	Split    Split   `json:"split"`
	Items    []Still `json:"items"`
}

// Count is the number of ground-truth regions of a kind.
func (s *Set) Count(kind string) int {
	n := 0
	for _, it := range s.Items {
		for _, t := range it.Truth {
			if t.Kind == kind {
				n++
			}
		}
	}
	return n
}

// cached returns the set stored in dir, or builds it with gen (which
// writes its files into a fresh directory and returns the items with
// paths relative to it) and stores it. Concurrent builders each build in a
// private directory; the first rename wins.
func cached(dir string, want Set, gen func(tmp string) ([]Still, error)) (*Set, error) {
	if s, err := loadSet(dir); err == nil && s.Version == want.Version {
		return s, nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, err
	}
	items, err := gen(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	want.Items = items
	data, err := json.MarshalIndent(want, "", " ")
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "set.json"), data, 0o644)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	os.RemoveAll(dir) // a stale version
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, fs.ErrPermission) {
			if _, serr := os.Stat(dir); serr != nil {
				return nil, err
			}
		}
	}
	return loadSet(dir)
}

func loadSet(dir string) (*Set, error) {
	data, err := os.ReadFile(filepath.Join(dir, "set.json"))
	if err != nil {
		return nil, err
	}
	var s Set
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("evalset: %s: %w", dir, err)
	}
	for i := range s.Items {
		it := &s.Items[i]
		it.Path = filepath.Join(dir, it.Path)
	}
	return &s, nil
}

// seeded is a random source fixed by the names given.
func seeded(names ...string) *rand.Rand {
	h := fnv.New64a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}
