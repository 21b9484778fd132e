package bundle

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotBundle means the path is neither a directory nor a zip file, so
// there is nothing to verify (as opposed to a damaged bundle).
var ErrNotBundle = errors.New("not a bundle")

// Limits bound what Open accepts, so that a hostile bundle (a zip bomb, a
// tree of a million files) cannot exhaust memory or time.
type Limits struct {
	MaxFiles   int   // files and directories together
	MaxTotal   int64 // total uncompressed bytes
	MaxRatio   int64 // expansion ratio of a compressed zip entry
	MaxTagFile int64 // largest file outside data/ that is read into memory
}

// DefaultLimits fit any real bundle: footage is large but few files, and
// does not compress.
var DefaultLimits = Limits{MaxFiles: 100_000, MaxTotal: 16 << 40, MaxRatio: 200, MaxTagFile: MaxLedgerSize}

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.MaxFiles > 0 {
		d.MaxFiles = l.MaxFiles
	}
	if l.MaxTotal > 0 {
		d.MaxTotal = l.MaxTotal
	}
	if l.MaxRatio > 0 {
		d.MaxRatio = l.MaxRatio
	}
	if l.MaxTagFile > 0 {
		d.MaxTagFile = l.MaxTagFile
	}
	return d
}

// File is one regular file of a bundle, named relative to the bag root.
type File struct {
	Name string
	Size int64
	fi   fs.FileInfo // directory form: what the walk saw
	zf   *zip.File   // zip form
}

// Reader reads a bundle strictly and never writes anything: a zip is read
// in place, not extracted. Entries that are unsafe (absolute, "..",
// symlinks, encoding tricks, duplicates, overlapping zip entries) are not
// in Files; each is an Issue.
type Reader struct {
	Path   string
	Form   string // "dir" or "zip"
	Base   string // zip form: the bag's base directory inside the zip
	Files  []File // sorted by name
	Issues []Issue
	Notes  []string

	lim    Limits
	count  int
	root   string
	closer io.Closer
	byName map[string]int
}

// Open opens a bundle directory or zip file. An error means there is no
// bundle to verify there (missing, unreadable, neither a directory nor a
// zip); a damaged bundle opens, with Issues.
func Open(p string, lim Limits) (*Reader, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	switch {
	case fi.IsDir():
		r := &Reader{Path: p, Form: "dir", lim: lim.orDefault(), root: p}
		if err := r.walk("", 0); err != nil {
			return nil, err
		}
		r.index()
		return r, nil
	case fi.Mode().IsRegular():
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		magic := make([]byte, 4)
		if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte("PK\x03\x04")) {
			f.Close()
			return nil, fmt.Errorf("%w: %s is neither a bundle directory nor a zip file", ErrNotBundle, p)
		}
		r, err := OpenZip(f, fi.Size(), lim)
		if err != nil {
			f.Close()
			return nil, err
		}
		r.Path, r.closer = p, f
		want := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if r.Base != "" && r.Base != want {
			r.Notes = append(r.Notes, fmt.Sprintf("the bag's base directory inside the zip is %q, not %q as RFC 8493 recommends (was the zip renamed?)", r.Base, want))
		}
		return r, nil
	}
	return nil, fmt.Errorf("%w: %s is neither a directory nor a regular file", ErrNotBundle, p)
}

// Close releases the zip file, if any.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

func (r *Reader) issue(code, subject, format string, a ...any) {
	r.Issues = append(r.Issues, issuef(code, subject, format, a...))
}

func (r *Reader) walk(rel string, depth int) error {
	dir := filepath.Join(r.root, filepath.FromSlash(rel))
	d, err := os.Open(dir)
	if err != nil {
		if rel == "" {
			return err
		}
		r.issue("file-unreadable", rel, "cannot list directory: %v", err)
		return nil
	}
	defer d.Close()
	for {
		// In batches, so that a directory of millions of entries is
		// refused at the limit instead of being read whole.
		ents, err := d.ReadDir(256)
		if err != nil && err != io.EOF {
			r.issue("file-unreadable", rel, "cannot list directory: %v", err)
			return nil
		}
		if len(ents) == 0 {
			return nil
		}
		for _, e := range ents {
			if r.count++; r.count > r.lim.MaxFiles {
				if r.count == r.lim.MaxFiles+1 {
					r.issue("bundle-limit", rel, "more than %d files and directories: refusing to read further", r.lim.MaxFiles)
				}
				return nil
			}
			if err := r.entry(dir, rel, e, depth); err != nil {
				return err
			}
		}
	}
}

func (r *Reader) entry(dir, rel string, e fs.DirEntry, depth int) error {
	name := e.Name()
	p := name
	if rel != "" {
		p = rel + "/" + name
	}
	if is := CheckPath(p); is != nil {
		r.Issues = append(r.Issues, *is)
		return nil
	}
	switch t := e.Type(); {
	case t&fs.ModeSymlink != 0:
		target, _ := os.Readlink(filepath.Join(dir, name))
		r.issue("symlink", p, "is a symbolic link (to %s): bundles hold only regular files, and a link could make the verifier read outside the bundle", quote(target))
	case t.IsDir():
		if depth+1 >= MaxDepth {
			r.issue("path-malformed", p, "directories nested more than %d deep", MaxDepth)
			return nil
		}
		return r.walk(p, depth+1)
	case t.IsRegular():
		fi, err := e.Info()
		if err != nil {
			r.issue("file-unreadable", p, "%v", err)
			return nil
		}
		r.Files = append(r.Files, File{Name: p, Size: fi.Size(), fi: fi})
	default:
		r.issue("special-file", p, "is a %s, not a regular file", t.String())
	}
	return nil
}

// index sorts the files, drops case-insensitive collisions and builds the
// name index.
func (r *Reader) index() {
	sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Name < r.Files[j].Name })
	r.byName = map[string]int{}
	folded := map[string]string{}
	kept := r.Files[:0]
	var total int64
	for _, f := range r.Files {
		k := foldKey(f.Name)
		if other, ok := folded[k]; ok {
			if other == f.Name {
				r.issue("zip-duplicate", f.Name, "the zip holds two entries with this name: which one a tool extracts is undefined")
			} else {
				r.issue("path-case-collision", f.Name, "differs from %s only in letter case; they collide on case-insensitive filesystems", other)
			}
			continue
		}
		folded[k] = f.Name
		total += f.Size
		r.byName[f.Name] = len(kept)
		kept = append(kept, f)
	}
	r.Files = kept
	if total > r.lim.MaxTotal {
		r.issue("bundle-limit", "", "the bundle holds %d bytes, more than the limit of %d", total, r.lim.MaxTotal)
	}
}

// OpenZip reads a zip bundle in place from ra. It refuses entries outside
// the single base directory (RFC 8493 serialization), unsafe names,
// symlinks and special files (by their attributes, whoever made the zip),
// encrypted or unknown compression, overlapping entries, implausible
// expansion ratios, and any byte where a zip writer puts none: before the
// first entry, between entries, after the end record (checkZipLayout).
func OpenZip(ra io.ReaderAt, size int64, lim Limits) (*Reader, error) {
	r := &Reader{Form: "zip", lim: lim.orDefault()}
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		r.issue("zip-malformed", "", "not a readable zip file: %v", err)
		r.index()
		return r, nil
	}
	if len(zr.File) > r.lim.MaxFiles {
		r.issue("bundle-limit", "", "the zip has %d entries, more than %d: refusing to read it", len(zr.File), r.lim.MaxFiles)
		r.index()
		return r, nil
	}
	r.Issues = append(r.Issues, checkZipLayout(ra, size, r.lim.MaxFiles)...)
	type span struct {
		start, end int64
		name       string
	}
	var spans []span
	var total uint64
	for _, zf := range zr.File {
		name := zf.Name
		isDir := strings.HasSuffix(name, "/")
		clean := strings.TrimSuffix(name, "/")
		if is := CheckPath(clean); is != nil {
			if is.Code == "path-traversal" || is.Code == "path-absolute" || is.Code == "path-backslash" {
				is.Message += "; extracting this zip would write outside the target directory"
			}
			r.Issues = append(r.Issues, *is)
			continue
		}
		base, rel, _ := strings.Cut(clean, "/")
		if r.Base == "" {
			r.Base = base
		}
		if base != r.Base {
			r.issue("zip-layout", quote(name), "is outside the bag's base directory %q: a bundle zip holds exactly one bag directory", r.Base)
			continue
		}
		if is := zipEntryType(&zf.FileHeader); is != nil {
			r.Issues = append(r.Issues, *is)
			continue
		}
		switch {
		case isDir:
			continue // a plain folder entry, as zip tools write
		case rel == "":
			r.issue("zip-layout", quote(name), "is a file at the top of the zip; a bundle zip holds exactly one bag directory")
			continue
		case zf.Flags&0x1 != 0:
			r.issue("zip-encrypted", quote(name), "zip entry is encrypted; bundles use age for encryption, never zip's")
			continue
		case zf.Method != zip.Store && zf.Method != zip.Deflate:
			r.issue("zip-method", quote(name), "unsupported compression method %d", zf.Method)
			continue
		}
		total += zf.UncompressedSize64
		if zf.UncompressedSize64 > uint64(r.lim.MaxTotal) || total > uint64(r.lim.MaxTotal) {
			r.issue("zip-limit", quote(name), "declares %d bytes: more than the limit of %d in total (zip bomb?)", zf.UncompressedSize64, r.lim.MaxTotal)
			continue
		}
		if zf.Method == zip.Deflate && zf.UncompressedSize64 > 1<<20 &&
			zf.UncompressedSize64/max(zf.CompressedSize64, 1) > uint64(r.lim.MaxRatio) {
			r.issue("zip-limit", quote(name), "expands %d bytes to %d, more than %dx (zip bomb?)", zf.CompressedSize64, zf.UncompressedSize64, r.lim.MaxRatio)
			continue
		}
		off, err := zf.DataOffset()
		if err != nil || off < 0 || zf.CompressedSize64 > uint64(size) || off > size-int64(zf.CompressedSize64) {
			r.issue("zip-malformed", quote(name), "entry data lies outside the file")
			continue
		}
		spans = append(spans, span{off, off + int64(zf.CompressedSize64), rel})
		r.Files = append(r.Files, File{Name: rel, Size: int64(zf.UncompressedSize64), zf: zf})
	}
	// Entries that share bytes are how "overlapping" zip bombs and
	// ambiguous archives are made; real zips never do it.
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	bad := map[string]bool{}
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			r.issue("zip-overlap", spans[i].name, "zip entry shares its data with %s", spans[i-1].name)
			bad[spans[i].name], bad[spans[i-1].name] = true, true
		}
	}
	if len(bad) > 0 {
		kept := r.Files[:0]
		for _, f := range r.Files {
			if !bad[f.Name] {
				kept = append(kept, f)
			}
		}
		r.Files = kept
	}
	r.index()
	return r, nil
}

// Unix file types and special bits in the high 16 bits of a zip entry's
// external attributes, and MS-DOS attributes in the low byte.
const (
	unixTypeMask = 0o170000
	unixRegular  = 0o100000
	unixDir      = 0o040000
	unixSymlink  = 0o120000
	unixSpecial  = 0o7000 // setuid, setgid, sticky
	dosDir       = 0x10
	dosVolume    = 0x08
)

// zipEntryType accepts a regular file, or a plain folder entry (a name
// ending in "/", no content), as zip tools write them; anything else is an
// issue. It reads the attributes whatever the "made by" system says,
// because tools differ about when they honour them: Go's Mode ignores Unix
// bits from a creator it does not know, and an unzip elsewhere may not.
func zipEntryType(h *zip.FileHeader) *Issue {
	name := quote(h.Name)
	bad := func(code, format string, a ...any) *Issue {
		is := issuef(code, name, format, a...)
		return &is
	}
	isDir := strings.HasSuffix(h.Name, "/")
	unix, dos := h.ExternalAttrs>>16, h.ExternalAttrs&0xff
	switch t := unix & unixTypeMask; {
	case t == unixSymlink:
		return bad("symlink", "zip entry is a symbolic link: bundles hold only regular files")
	case t != 0 && t != unixRegular && t != unixDir:
		return bad("special-file", "zip entry is a %s, not a regular file", unixTypeName(t))
	case t == unixDir && !isDir, dos&dosDir != 0 && !isDir:
		return bad("zip-attributes", "zip entry is marked a directory but its name does not end in \"/\": tools disagree about what it is")
	case t == unixRegular && isDir:
		return bad("zip-attributes", "zip entry is marked a regular file but its name ends in \"/\": tools disagree about what it is")
	case unix&unixSpecial != 0:
		return bad("zip-attributes", "zip entry has setuid, setgid or sticky bits (mode %#o): custody writes plain files", unix)
	case dos&dosVolume != 0:
		return bad("zip-attributes", "zip entry is marked an MS-DOS volume label")
	case isDir && (h.UncompressedSize64 != 0 || h.CompressedSize64 > 2):
		// Some tools deflate an empty folder entry to 2 bytes; more is
		// data hidden where nothing is extracted.
		return bad("zip-malformed", "directory entry with content")
	}
	return nil
}

func unixTypeName(t uint32) string {
	switch t {
	case 0o010000:
		return "named pipe (FIFO)"
	case 0o020000:
		return "character device"
	case 0o060000:
		return "block device"
	case 0o140000:
		return "socket"
	}
	return fmt.Sprintf("file of Unix type %#o", t)
}

// Lookup returns the file with that name, or nil.
func (r *Reader) Lookup(name string) *File {
	if i, ok := r.byName[name]; ok {
		return &r.Files[i]
	}
	return nil
}

// Open opens a file for reading. In the directory form it refuses to
// follow a symlink and checks the file is the one the listing saw, so that
// swapping a file for a link after the walk does not lead outside.
func (r *Reader) Open(f *File) (io.ReadCloser, error) {
	if f.zf != nil {
		return f.zf.Open()
	}
	h, err := openNoFollow(filepath.Join(r.root, filepath.FromSlash(f.Name)))
	if err != nil {
		return nil, err
	}
	fi, err := h.Stat()
	if err != nil {
		h.Close()
		return nil, err
	}
	if !os.SameFile(fi, f.fi) || !fi.Mode().IsRegular() {
		h.Close()
		return nil, fmt.Errorf("%s changed while being verified", f.Name)
	}
	return h, nil
}

// ReadSmall reads a whole file that must not exceed max bytes.
func (r *Reader) ReadSmall(f *File, max int64) ([]byte, error) {
	if f.Size > max {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed for it", f.Name, f.Size, max)
	}
	rc, err := r.Open(f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s grew past %d bytes while being read", f.Name, max)
	}
	return b, nil
}
