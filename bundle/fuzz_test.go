package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

var fuzzLimits = Limits{MaxFiles: 200, MaxTotal: 1 << 22, MaxRatio: 50, MaxTagFile: 1 << 20}

// seedZip is a small bag-shaped zip with the given extra entries.
func seedZip(extra map[string]string, symlink string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range []string{"bag/bagit.txt", "bag/bag-info.txt", "bag/manifest-sha256.txt", "bag/data/a.mp4"} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		w.Write([]byte(Declaration))
	}
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "bag/custody/ledger.jsonl", Method: zip.Deflate})
	w.Write(bytes.Repeat([]byte("{}\n"), 100))
	for n, c := range extra {
		w, _ := zw.Create(n)
		w.Write([]byte(c))
	}
	if symlink != "" {
		h := &zip.FileHeader{Name: symlink}
		h.SetMode(os.ModeSymlink | 0o777)
		w, _ := zw.CreateHeader(h)
		w.Write([]byte("/etc/passwd"))
	}
	zw.Close()
	return b.Bytes()
}

// checkReader asserts what the strict reader promises whatever the input:
// every listed name is safe and unique (also ignoring case), and reading
// any file yields at most its declared size.
func checkReader(t *testing.T, r *Reader) {
	t.Helper()
	seen := map[string]bool{}
	for i := range r.Files {
		f := &r.Files[i]
		if is := CheckPath(f.Name); is != nil {
			t.Fatalf("unsafe name listed: %s", is)
		}
		if seen[foldKey(f.Name)] {
			t.Fatalf("name listed twice: %q", f.Name)
		}
		seen[foldKey(f.Name)] = true
		if r.Lookup(f.Name) == nil {
			t.Fatalf("Lookup(%q) = nil", f.Name)
		}
		if f.Size < 0 || f.Size > fuzzLimits.MaxTotal {
			t.Fatalf("%s: size %d beyond the limits", f.Name, f.Size)
		}
		rc, err := r.Open(f)
		if err != nil {
			continue
		}
		d, err := HashReader(context.Background(), io.LimitReader(rc, f.Size+1), nil)
		rc.Close()
		if err == nil && d.Size > f.Size {
			t.Fatalf("%s: read %d bytes, declared %d", f.Name, d.Size, f.Size)
		}
	}
	for _, is := range r.Issues {
		if is.Code == "" || is.Message == "" {
			t.Fatalf("issue without code or message: %+v", is)
		}
	}
}

// FuzzOpenZip feeds arbitrary bytes to the zip reader, which reads in
// place: nothing is ever written anywhere.
func FuzzOpenZip(f *testing.F) {
	f.Add(seedZip(nil, ""))
	f.Add(seedZip(map[string]string{"bag/../evil": "x", "/abs": "x", "other/x": "y", "bag/data/a.mp4": "dup", "bag/DATA/A.MP4": "case"}, "bag/data/link"))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	// Layouts the strict zip reader refuses or must read exactly: a zip in
	// front of another, data behind one, zip64 records and data
	// descriptors of every shape.
	plain := seedZip(nil, "")
	small := buildZip([]rawEntry{{name: "bag/data/planted.mp4", data: []byte("planted")}}, false)
	f.Add(append(append([]byte(nil), small...), plain...))
	f.Add(append(append([]byte(nil), plain...), "trailing"...))
	f.Add(append(append([]byte(nil), plain...), small...))
	f.Add(buildZip([]rawEntry{{name: "bag/bagit.txt", data: []byte(Declaration), zip64: true, desc: true, descSig: true, descWide: true},
		{name: "bag/data/a.mp4", data: []byte("video"), zip64: true}, {name: "bag/data/b.mp4", data: []byte("b"), desc: true}}, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := OpenZip(bytes.NewReader(data), int64(len(data)), fuzzLimits)
		if err != nil {
			t.Fatalf("OpenZip returned an error instead of issues: %v", err)
		}
		checkReader(t, r)
	})
}

// FuzzOpenDir builds a directory tree from the input (NUL-separated
// records "name\x01content", or "name\x02target" for a symlink) inside a
// temporary directory, and reads it back with the strict reader.
func FuzzOpenDir(f *testing.F) {
	f.Add([]byte("bagit.txt\x01" + Declaration + "\x00data/a.mp4\x01video\x00custody/statement.txt\x01s"))
	f.Add([]byte("data/link\x02/etc/passwd\x00data/dir\x02..\x00data/a b\x01x\x00data/caf\u00e9\x01x\x00Data/x\x01y\x00data/x\x01z"))
	f.Add([]byte("data/%2e%2e\x01x\x00data/a\\b\x01y\x00fetch.txt\x01u"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := os.MkdirTemp("", "fuzzdir")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(root)
		bag := filepath.Join(root, "bag")
		if err := os.Mkdir(bag, 0o755); err != nil {
			t.Fatal(err)
		}
		// Regular files first, then symlinks, never writing through an
		// existing entry: the fixture must not touch anything outside its
		// directory whatever the input says.
		type rec struct {
			name    string
			content []byte
			link    bool
		}
		var recs []rec
		for i, r := range bytes.Split(data, []byte{0}) {
			if i > 50 {
				break
			}
			x := rec{name: string(r)}
			if j := bytes.IndexAny(r, "\x01\x02"); j >= 0 {
				x = rec{string(r[:j]), r[j+1:], r[j] == 2}
			}
			if x.name != "" && x.name != "." && filepath.IsLocal(x.name) && !strings.ContainsRune(x.name, 0) {
				recs = append(recs, x)
			}
		}
		realDirs := func(p string) bool {
			for d := filepath.Dir(p); strings.HasPrefix(d, bag+string(filepath.Separator)); d = filepath.Dir(d) {
				if fi, err := os.Lstat(d); err == nil && !fi.IsDir() {
					return false
				}
			}
			return true
		}
		for _, pass := range []bool{false, true} {
			for _, x := range recs {
				if x.link != pass {
					continue
				}
				p := filepath.Join(bag, x.name)
				if !realDirs(p) || os.MkdirAll(filepath.Dir(p), 0o755) != nil || !realDirs(p) {
					continue
				}
				if x.link {
					os.Symlink(string(x.content), p)
					continue
				}
				fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
				if err == nil {
					fh.Write(x.content)
					fh.Close()
				}
			}
		}
		r, err := Open(bag, fuzzLimits)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		checkReader(t, r)
		for _, f := range r.Files {
			fi, err := os.Lstat(filepath.Join(bag, filepath.FromSlash(f.Name)))
			if err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("%s listed but is not a regular file in the tree: %v", f.Name, err)
			}
		}
	})
}

func FuzzParseStatement(f *testing.F) {
	st := &Statement{Store: "ab", Incident: "INC 1", Export: 3, Checkpoint: 4, Station: "SHA256:x", Files: []FileDigest{{"data/a", 1, strings.Repeat("0", 128)}}}
	f.Add(st.Marshal())
	f.Add([]byte(StatementNamespace + "\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStatement(data)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Marshal(), data) {
			t.Fatalf("accepted a statement that is not canonical")
		}
		for _, fd := range s.Files {
			if CheckPath(fd.Path) != nil {
				t.Fatalf("unsafe path accepted: %q", fd.Path)
			}
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 32) + "  data/a.mp4\n"))
	f.Add([]byte(strings.Repeat("ab", 32) + " ../x\r\n" + strings.Repeat("ab", 32) + "\tdata/%41\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, _ := ParseManifest("m", data, 64)
		seen := map[string]bool{}
		for _, l := range lines {
			if CheckPath(l.Path) != nil || len(l.Digest) != 64 || seen[foldKey(l.Path)] {
				t.Fatalf("bad line accepted: %+v", l)
			}
			seen[foldKey(l.Path)] = true
		}
	})
}

func FuzzParseBagInfo(f *testing.F) {
	f.Add([]byte("Source-Organization: x\nExternal-Description: a\n  b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields, _ := ParseBagInfo(data)
		for _, fl := range fields {
			if fl.Label == "" || strings.ContainsAny(fl.Label+fl.Value, "\n") {
				t.Fatalf("bad field accepted: %+v", fl)
			}
		}
	})
}

func FuzzParseReceipt(f *testing.F) {
	f.Add([]byte(ReceiptNamespace + "\nstatement-sha256 00\n\n-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, pub, err := ParseReceipt(data)
		if err == nil && (r == nil || pub == nil) {
			t.Fatal("nil receipt or key without an error")
		}
	})
}
