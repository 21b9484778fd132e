package bundle

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"
)

// rawEntry is one entry of a zip built byte by byte, to exercise layouts
// Go's writer only makes past 4 GiB or 65535 entries.
type rawEntry struct {
	name     string
	data     []byte
	zip64    bool // sizes (and offset) through zip64 extra fields
	desc     bool // sizes after the data, in a data descriptor
	descSig  bool // the descriptor has its signature
	descWide bool // the descriptor has 8-byte sizes
}

// buildZip writes entries, a central directory and an end record; end64
// adds zip64 end records (with the end record's fields saturated).
func buildZip(es []rawEntry, end64 bool) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	offs := make([]int, len(es))
	for i, e := range es {
		offs[i] = b.Len()
		crc, n := crc32.ChecksumIEEE(e.data), uint64(len(e.data))
		flags := uint16(0)
		if e.desc {
			flags = flagDesc
		}
		var extra []byte
		le(uint32(sigLocal))
		le([]uint16{45, flags, 0, 0, 0})
		switch {
		case e.desc:
			le([]uint32{0, 0, 0})
		case e.zip64:
			le([]uint32{crc, sat32, sat32})
			extra = binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, zip64Tag), 16)
			extra = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(extra, n), n)
		default:
			le([]uint32{crc, uint32(n), uint32(n)})
		}
		le([]uint16{uint16(len(e.name)), uint16(len(extra))})
		b.WriteString(e.name)
		b.Write(extra)
		b.Write(e.data)
		if e.desc {
			if e.descSig {
				le(uint32(sigDescriptor))
			}
			le(crc)
			if e.descWide {
				le([]uint64{n, n})
			} else {
				le([]uint32{uint32(n), uint32(n)})
			}
		}
	}
	cd := b.Len()
	for i, e := range es {
		crc, n := crc32.ChecksumIEEE(e.data), uint64(len(e.data))
		flags := uint16(0)
		if e.desc {
			flags = flagDesc
		}
		var extra []byte
		sizes, off := []uint32{uint32(n), uint32(n)}, uint32(offs[i])
		if e.zip64 {
			sizes, off = []uint32{sat32, sat32}, sat32
			extra = binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, zip64Tag), 24)
			extra = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(extra, n), n)
			extra = binary.LittleEndian.AppendUint64(extra, uint64(offs[i]))
		}
		le(uint32(sigCentral))
		le([]uint16{3<<8 | 45, 45, flags, 0, 0, 0})
		le(crc)
		le(sizes)
		le([]uint16{uint16(len(e.name)), uint16(len(extra)), 0, 0, 0})
		le(uint32(0o100644 << 16))
		le(off)
		b.WriteString(e.name)
		b.Write(extra)
	}
	cdSize := b.Len() - cd
	if end64 {
		at := b.Len()
		le(uint32(sigEnd64))
		le(uint64(end64Len - 12))
		le([]uint16{45, 45})
		le([]uint32{0, 0})
		le([]uint64{uint64(len(es)), uint64(len(es)), uint64(cdSize), uint64(cd)})
		le(uint32(sigLocator64))
		le(uint32(0))
		le(uint64(at))
		le(uint32(1))
		le(uint32(sigEnd))
		le([]uint16{0, 0, sat16, sat16})
		le([]uint32{sat32, sat32})
		le(uint16(0))
		return b.Bytes()
	}
	le(uint32(sigEnd))
	le([]uint16{0, 0, uint16(len(es)), uint16(len(es))})
	le([]uint32{uint32(cdSize), uint32(cd)})
	le(uint16(0))
	return b.Bytes()
}

// goZip is a small zip from Go's writer (data descriptors, as custody's
// bundles), with a folder entry, a deflated and an empty file.
func goZip(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.Create("bag/")
	for i, n := range []string{"bag/bagit.txt", "bag/data/a.mp4", "bag/data/empty"} {
		h := &zip.FileHeader{Name: n, Method: zip.Store}
		if i == 1 {
			h.Method = zip.Deflate
		}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			fmt.Fprintf(w, "%s %s\n", n, strings.Repeat("x", 100*i))
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readsBack checks Go's reader lists names and reads each file's data
// from z, so that the layout the check accepts is the one verified.
func readsBack(t *testing.T, z []byte, want map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want[f.Name]) {
			t.Fatalf("%s: read %q (%v), want %q", f.Name, got, err, want[f.Name])
		}
	}
	if len(zr.File) != len(want) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(want))
	}
}

// TestZipLayoutAccepts: zips as writers lay them out pass, zip64 included.
func TestZipLayoutAccepts(t *testing.T) {
	a, b := []byte("bagit\n"), bytes.Repeat([]byte("footage "), 500)
	cases := map[string][]byte{"go writer": goZip(t)}
	for _, v := range []struct {
		name string
		e    rawEntry
		end  bool
	}{
		{"plain", rawEntry{}, false},
		{"zip64 entries", rawEntry{zip64: true}, false},
		{"zip64 entries and end records", rawEntry{zip64: true}, true},
		{"descriptor with signature", rawEntry{desc: true, descSig: true}, false},
		{"descriptor without signature", rawEntry{desc: true}, false},
		{"zip64 with a wide descriptor", rawEntry{zip64: true, desc: true, descSig: true, descWide: true}, true},
		{"zip64 with a wide descriptor, no signature", rawEntry{zip64: true, desc: true, descWide: true}, false},
	} {
		x, y := v.e, v.e
		x.name, x.data, y.name, y.data = "bag/bagit.txt", a, "bag/data/a.mp4", b
		z := buildZip([]rawEntry{x, y}, v.end)
		readsBack(t, z, map[string][]byte{x.name: a, y.name: b})
		cases[v.name] = z
		// An empty entry, whose descriptor reads the same either width.
		x.data = nil
		z = buildZip([]rawEntry{x, y}, v.end)
		readsBack(t, z, map[string][]byte{x.name: nil, y.name: b})
		cases[v.name+", empty first"] = z
	}
	for name, z := range cases {
		if is := checkZipLayout(bytes.NewReader(z), int64(len(z)), 100); len(is) != 0 {
			t.Errorf("%s: %v", name, is)
		}
	}
}

// TestZipLayoutManyEntries: past 65535 entries Go's writer adds zip64 end
// records (as it does for a bundle past 4 GiB); they are read, not refused.
func TestZipLayoutManyEntries(t *testing.T) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i < 1<<16+2; i++ {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("bag/data/%05d", i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	z := b.Bytes()
	if !bytes.Contains(z[len(z)-100:], []byte("PK\x06\x07")) {
		t.Fatal("the writer made no zip64 end record")
	}
	if is := checkZipLayout(bytes.NewReader(z), int64(len(z)), 1<<17); len(is) != 0 {
		t.Fatalf("%v", is[:min(len(is), 5)])
	}
}

// TestZipLayoutZipTool: a bundle re-zipped with Info-ZIP's zip (folder
// entries, extra fields that differ between local and central headers)
// is laid out correctly.
func TestZipLayoutZipTool(t *testing.T) {
	testenv.Tool(t, "zip")
	dir := t.TempDir()
	for n, c := range map[string]string{"bag/bagit.txt": "BagIt-Version: 1.0\n", "bag/data/a.mp4": strings.Repeat("frame", 3000)} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(n)), 0o755)
		os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
	}
	cmd := exec.Command("zip", "-q", "-r", "bag.zip", "bag")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, out)
	}
	z, err := os.ReadFile(filepath.Join(dir, "bag.zip"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenZip(bytes.NewReader(z), int64(len(z)), Limits{})
	if err != nil || len(r.Issues) != 0 || len(r.Files) != 2 {
		t.Fatalf("zip -r output: %v %+v, files %+v", err, r.Issues, r.Files)
	}
}

// TestZipLayoutRefuses: each way of putting bytes where a zip writer puts
// none, or of making headers disagree, is named.
func TestZipLayoutRefuses(t *testing.T) {
	g := goZip(t)
	small := buildZip([]rawEntry{{name: "bag/data/planted.mp4", data: []byte("planted")}}, false)
	eocd := func(z []byte) int { return bytes.LastIndex(z, []byte("PK\x05\x06")) }
	// central returns the offset of the central directory entry named n.
	central := func(z []byte, n string) int {
		for i := int(le32(z[eocd(z)+16:])); le32(z[i:]) == sigCentral; i += 46 + int(le16(z[i+28:])) + int(le16(z[i+30:])) + int(le16(z[i+32:])) {
			if string(z[i+46:i+46+int(le16(z[i+28:]))]) == n {
				return i
			}
		}
		t.Fatalf("no central entry %s", n)
		return 0
	}
	edit := func(z []byte, fn func(z []byte) []byte) []byte { return fn(append([]byte(nil), z...)) }
	// insert puts junk at off and moves every offset after it on.
	insert := func(z []byte, off int, junk string) []byte {
		out := append(append(append([]byte(nil), z[:off]...), junk...), z[off:]...)
		n := uint32(len(junk))
		e := eocd(out)
		cd := int(le32(out[e+16:])) + int(n)
		binary.LittleEndian.PutUint32(out[e+16:], uint32(cd))
		for i := cd; le32(out[i:]) == sigCentral; i += 46 + int(le16(out[i+28:])) + int(le16(out[i+30:])) + int(le16(out[i+32:])) {
			if o := le32(out[i+42:]); int(o) >= off {
				binary.LittleEndian.PutUint32(out[i+42:], o+n)
			}
		}
		return out
	}
	dataOf := func(z []byte, n string) int {
		return int(le32(z[central(z, n)+42:])) + localLen + len(n)
	}
	cases := []struct {
		name, code, msg string
		z               []byte
	}{
		{"small zip in front", "zip-prefix", "come before the zip itself", append(append([]byte(nil), small...), g...)},
		{"small zip behind", "zip-prefix", "come before the zip itself", append(append([]byte(nil), g...), small...)},
		{"prefix counted in the offsets", "zip-prefix", "the first entry starts at byte 9", insert(g, 0, "#!/bin/sh")},
		{"trailing bytes", "zip-trailing", "5 bytes follow", append(append([]byte(nil), g...), "extra"...)},
		{"comment", "zip-comment", "3-byte comment", edit(g, func(z []byte) []byte {
			binary.LittleEndian.PutUint16(z[eocd(z)+20:], 3)
			return append(z, "hi!"...)
		})},
		{"gap between entries", "zip-gap", "7 bytes before its local header", insert(g, int(le32(g[central(g, "bag/data/a.mp4")+42:])), "hidden!")},
		{"gap before the central directory", "zip-gap", "between the last entry and the central directory", insert(g, int(le32(g[eocd(g)+16:])), "hidden")},
		{"gap before the end record", "zip-gap", "between the central directory and the end record", edit(g, func(z []byte) []byte {
			e := eocd(z)
			return append(append(z[:e:e], "hidden"...), g[e:]...)
		})},
		{"local name differs", "zip-header-mismatch", "its local header names it", edit(g, func(z []byte) []byte {
			z[int(le32(z[central(z, "bag/bagit.txt")+42:]))+localLen+4] = 'X'
			return z
		})},
		{"local method differs", "zip-header-mismatch", "compression method", edit(g, func(z []byte) []byte {
			z[int(le32(z[central(z, "bag/bagit.txt")+42:]))+8] = 8
			return z
		})},
		{"descriptor disagrees", "zip-header-mismatch", "no data descriptor agreeing", edit(g, func(z []byte) []byte {
			c := central(z, "bag/bagit.txt")
			z[dataOf(z, "bag/bagit.txt")+int(le32(z[c+20:]))+4] ^= 1 // its CRC
			return z
		})},
		{"two entries, one local header", "zip-overlap", "lies inside the entry before it", edit(g, func(z []byte) []byte {
			a, e := central(z, "bag/data/a.mp4"), central(z, "bag/data/empty")
			copy(z[e+42:e+46], z[a+42:a+46])
			return z
		})},
		{"entry count off by 65536", "zip-malformed", "the end record counts 65537 entries", edit(buildZip([]rawEntry{{name: "bag/a", data: []byte("a")}}, true), func(z []byte) []byte {
			// Go's reader compares the count modulo 65536 only.
			e64 := bytes.LastIndex(z, []byte("PK\x06\x06"))
			binary.LittleEndian.PutUint64(z[e64+24:], 65537)
			binary.LittleEndian.PutUint64(z[e64+32:], 65537)
			return z
		})},
		{"split zip", "zip-malformed", "several disks", edit(g, func(z []byte) []byte {
			binary.LittleEndian.PutUint16(z[eocd(z)+4:], 1)
			return z
		})},
		{"zip64 end record with a gap", "zip-gap", "zip64 end record does not end where its locator begins", edit(buildZip([]rawEntry{{name: "bag/a", data: []byte("a")}}, true), func(z []byte) []byte {
			loc := bytes.LastIndex(z, []byte("PK\x06\x07"))
			return append(append(z[:loc:loc], "gap"...), z[loc:]...)
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := OpenZip(bytes.NewReader(c.z), int64(len(c.z)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, is := range r.Issues {
				if is.Code == c.code && strings.Contains(is.String(), c.msg) {
					return
				}
			}
			t.Fatalf("no %s issue with %q: %+v", c.code, c.msg, r.Issues)
		})
	}
}

// TestZipEntryType: what the attributes may say, whoever made the zip.
func TestZipEntryType(t *testing.T) {
	for _, c := range []struct {
		name    string
		creator uint16 // the "made by" system
		attrs   uint32
		code    string
	}{
		{"bag/a", 3, 0o100644 << 16, ""},
		{"bag/a", 0, 0x20, ""}, // MS-DOS archive bit
		{"bag/a", 0, 0, ""},
		{"bag/d/", 3, 0o040755<<16 | 0x10, ""},
		{"bag/d/", 0, 0x10, ""},
		{"bag/a", 3, 0o120777 << 16, "symlink"},
		{"bag/a", 0, 0o120777 << 16, "symlink"}, // Go's Mode ignores it; others may not
		{"bag/a", 11, 0o120777 << 16, "symlink"},
		{"bag/a", 3, 0o010644 << 16, "special-file"},
		{"bag/a", 3, 0o020644 << 16, "special-file"},
		{"bag/a", 3, 0o140644 << 16, "special-file"},
		{"bag/a", 3, 0o040755 << 16, "zip-attributes"},
		{"bag/a", 0, 0x10, "zip-attributes"},
		{"bag/d/", 3, 0o100644 << 16, "zip-attributes"},
		{"bag/a", 3, 0o104755 << 16, "zip-attributes"},
		{"bag/a", 0, 0x08, "zip-attributes"},
	} {
		h := &zip.FileHeader{Name: c.name, CreatorVersion: c.creator<<8 | 20, ExternalAttrs: c.attrs}
		is := zipEntryType(h)
		switch {
		case c.code == "" && is != nil:
			t.Errorf("%s made by %d with %#o: %v", c.name, c.creator, c.attrs, is)
		case c.code != "" && (is == nil || is.Code != c.code):
			t.Errorf("%s made by %d with %#o: %v, want %s", c.name, c.creator, c.attrs, is, c.code)
		}
	}
	h := &zip.FileHeader{Name: "bag/d/", UncompressedSize64: 0, CompressedSize64: 40}
	if is := zipEntryType(h); is == nil || is.Code != "zip-malformed" {
		t.Errorf("a folder entry hiding 40 bytes: %v", is)
	}
}
