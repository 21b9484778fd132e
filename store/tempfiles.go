package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/custody-evidence/custody/internal/atomicfile"
)

// Temporary files. internal/atomicfile writes a file by creating
// ".NAME.tmp-RANDOM" beside it, syncing it, and renaming it into place, so
// kill -9 in between leaves the temporary file. In an existing store two
// files are written that way, both under the store lock: the checkpoint,
// re-signed from the ledger by every writer, and the saved statement of an
// export (exports/SEQ.statement.txt), which the bundle itself carries.
// Neither temporary file holds anything the store needs, so recovery
// removes them and verify only notes them. Elsewhere (objects/, keys/)
// custody writes no temporary files, and a file there named like one is a
// stray like any other.

// tempTarget returns the file a temporary file name stands for:
// "checkpoint" for ".checkpoint.tmp-123".
func tempTarget(name string) (string, bool) {
	i := strings.LastIndex(name, ".tmp-")
	if !strings.HasPrefix(name, ".") || i < 2 || i+len(".tmp-") == len(name) {
		return "", false
	}
	return name[1:i], true
}

func isStatementName(name string) bool {
	seq, ok := strings.CutSuffix(name, statementSuffix)
	if !ok || seq == "" {
		return false
	}
	for _, c := range seq {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TempFiles lists the temporary files interrupted writes left in the store:
// store-relative paths with forward slashes, sorted.
func (s *Store) TempFiles() ([]string, error) {
	var out []string
	for _, d := range []struct {
		dir    string
		target func(string) bool
	}{
		{"", func(t string) bool { return t == CheckpointFile }},
		{ExportsDir, isStatementName},
	} {
		ents, err := os.ReadDir(filepath.Join(s.Dir, d.dir))
		if errors.Is(err, fs.ErrNotExist) && d.dir != "" {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if t, ok := tempTarget(e.Name()); ok && d.target(t) && e.Type().IsRegular() {
				out = append(out, strings.TrimPrefix(d.dir+"/"+e.Name(), "/"))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// removeTempFiles removes what TempFiles lists, durably. The store lock
// must be held: every writer of these files holds it.
func (s *Store) removeTempFiles() ([]string, error) {
	temps, err := s.TempFiles()
	if err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for _, rel := range temps {
		p := filepath.Join(s.Dir, filepath.FromSlash(rel))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := atomicfile.SyncDir(d); err != nil {
			return nil, err
		}
	}
	return temps, nil
}
