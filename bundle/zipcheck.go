package bundle

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"sort"
)

// The physical layout of a zip bundle. Go's archive/zip, like most readers,
// finds the end record and trusts the central directory; it silently
// tolerates data before the zip (it computes a base offset), after it, and
// between entries. Other tools read local headers from the front, or the
// first end record they find, so a small zip concatenated in front of a
// genuine bundle verified as the genuine bundle while those tools showed
// the planted entries. A bundle zip must therefore be exactly one archive
// laid out as zip writers lay it out: the first local header at byte 0,
// each entry (local header, data, data descriptor) directly after the one
// before, the central directory directly after the last entry and exactly
// where the end record says, the end record at the very end (custody writes
// no zip comment), and every local header agreeing with its central
// directory entry. Issues found here are zip-prefix, zip-trailing,
// zip-comment, zip-gap, zip-overlap, zip-header-mismatch and zip-malformed.

const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigDescriptor = 0x08074b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigLocator64  = 0x07064b50

	localLen     = 30
	centralLen   = 46
	endLen       = 22
	end64Len     = 56
	locator64Len = 20
	sat16        = 0xFFFF
	sat32        = 0xFFFFFFFF
	zip64Tag     = 0x0001
	flagDesc     = 0x8 // sizes and CRC follow the data, in a data descriptor
)

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

type zipLayout struct {
	ra     io.ReaderAt
	size   int64
	issues []Issue
}

// zipEnd is what the end record (and zip64 end record) says.
type zipEnd struct {
	at            int64 // where the central directory must end
	records       uint64
	cdSize, cdOff uint64
}

// zipDir is where the central directory is.
type zipDir struct {
	base, start int64 // base: bytes before the zip proper; start of the directory
	size        uint64
	records     uint64
}

// zipEntry is one central directory entry, as far as the layout needs.
type zipEntry struct {
	name          string
	flags, method uint16
	crc           uint32
	csize, usize  uint64
	off           int64 // of its local header, in the file
}

func (z *zipLayout) issue(code, subject, format string, a ...any) {
	z.issues = append(z.issues, issuef(code, subject, format, a...))
}

func (z *zipLayout) readAt(b []byte, off int64) error {
	if off < 0 || off > z.size-int64(len(b)) {
		return io.ErrUnexpectedEOF
	}
	_, err := z.ra.ReadAt(b, off)
	if err == io.EOF {
		err = nil
	}
	return err
}

// checkZipLayout checks the zip of size bytes in ra is laid out exactly as
// one archive (see above). It reads only headers. A directory of more than
// maxEntries entries is left to the caller's limit.
func checkZipLayout(ra io.ReaderAt, size int64, maxEntries int) []Issue {
	z := &zipLayout{ra: ra, size: size}
	end, ok := z.findEnd()
	if !ok {
		return z.issues
	}
	dir, ok := z.directory(end)
	if !ok || dir.records > uint64(maxEntries) {
		return z.issues
	}
	entries, ok := z.central(dir)
	if !ok {
		return z.issues
	}
	z.locals(entries, dir)
	return z.issues
}

// findEnd finds the end record as Go's reader does (the last signature in
// the last 65 KiB) and checks nothing follows it.
func (z *zipLayout) findEnd() (zipEnd, bool) {
	n := min(z.size, 65*1024)
	buf := make([]byte, n)
	if err := z.readAt(buf, z.size-n); err != nil || n < endLen {
		z.issue("zip-malformed", "", "too short to be a zip")
		return zipEnd{}, false
	}
	p := -1
	for i := len(buf) - endLen; i >= 0; i-- {
		if le32(buf[i:]) == sigEnd {
			p = i
			break
		}
	}
	if p < 0 || p+endLen+int(le16(buf[p+20:])) > len(buf) {
		z.issue("zip-malformed", "", "no end of central directory record at the end of the file")
		return zipEnd{}, false
	}
	b := buf[p:]
	at := z.size - n + int64(p)
	comment := int64(le16(b[20:]))
	if trailing := z.size - (at + endLen + comment); trailing > 0 {
		z.issue("zip-trailing", "", "%d bytes follow the zip's end record: custody writes nothing after it, and other tools may read what is there", trailing)
	}
	if comment > 0 {
		z.issue("zip-comment", "", "the zip has a %d-byte comment: custody writes none, and a comment can hide data that other tools show or read as another archive", comment)
	}
	if le16(b[4:]) != 0 || le16(b[6:]) != 0 || le16(b[8:]) != le16(b[10:]) {
		z.issue("zip-malformed", "", "a zip split across several disks; a bundle is one file")
		return zipEnd{}, false
	}
	e := zipEnd{at: at, records: uint64(le16(b[10:])), cdSize: uint64(le32(b[12:])), cdOff: uint64(le32(b[16:]))}
	return z.end64(e, e.records == sat16 || e.cdSize == sat32 || e.cdOff == sat32)
}

// end64 reads the zip64 end record, if its locator precedes the end
// record: needed when the end record's fields are saturated, and
// otherwise required to agree with them.
func (z *zipLayout) end64(e zipEnd, saturated bool) (zipEnd, bool) {
	locAt := e.at - locator64Len
	var loc [locator64Len]byte
	if z.readAt(loc[:], locAt) != nil || le32(loc[:]) != sigLocator64 {
		if saturated {
			z.issue("zip-malformed", "", "the end record refers to zip64 records that are not there")
			return e, false
		}
		return e, true
	}
	at64 := le64(loc[8:])
	var b [end64Len]byte
	if le32(loc[4:]) != 0 || le32(loc[16:]) != 1 || at64 > math.MaxInt64 || z.readAt(b[:], int64(at64)) != nil || le32(b[:]) != sigEnd64 {
		z.issue("zip-malformed", "", "the zip64 end record is missing, or on another disk")
		return e, false
	}
	if rest := le64(b[4:]); rest < end64Len-12 || rest > uint64(locAt) || int64(at64)+12+int64(rest) != locAt {
		z.issue("zip-gap", "", "the zip64 end record does not end where its locator begins: %d bytes are unaccounted for", locAt-int64(at64)-end64Len)
		return e, false
	}
	if le32(b[16:]) != 0 || le32(b[20:]) != 0 || le64(b[24:]) != le64(b[32:]) {
		z.issue("zip-malformed", "", "a zip split across several disks; a bundle is one file")
		return e, false
	}
	e64 := zipEnd{at: int64(at64), records: le64(b[32:]), cdSize: le64(b[40:]), cdOff: le64(b[48:])}
	if !saturated && (e64.records != e.records || e64.cdSize != e.cdSize || e64.cdOff != e.cdOff) {
		z.issue("zip-malformed", "", "the end record and the zip64 end record disagree about the central directory")
		return e, false
	}
	return e64, true
}

// directory locates the central directory. Go's reader takes any shortfall
// between where the end record says it is and where it ends as data put in
// front of the zip (a base offset), unless a directory entry is at the
// stated offset; either way something is where custody writes nothing.
func (z *zipLayout) directory(e zipEnd) (zipDir, bool) {
	if e.cdSize > uint64(e.at) || e.cdOff > uint64(e.at) {
		z.issue("zip-malformed", "", "the end record puts the central directory outside the file")
		return zipDir{}, false
	}
	base := e.at - int64(e.cdSize) - int64(e.cdOff)
	if base < 0 {
		z.issue("zip-malformed", "", "the end record puts the central directory past itself")
		return zipDir{}, false
	}
	if base > 0 {
		var sig [4]byte
		if z.readAt(sig[:], int64(e.cdOff)) == nil && le32(sig[:]) == sigCentral {
			z.issue("zip-gap", "", "%d bytes between the central directory and the end record belong to nothing: something is hidden there", base)
			base = 0
		} else {
			z.issue("zip-prefix", "", "%d bytes come before the zip itself (its offsets are counted from there): something, such as another zip, was put in front of the bundle, and other tools may read that instead", base)
		}
	}
	return zipDir{base: base, start: base + int64(e.cdOff), size: e.cdSize, records: e.records}, true
}

// central parses the central directory, which must hold exactly the
// entries the end record counts in exactly its declared size.
func (z *zipLayout) central(d zipDir) ([]zipEntry, bool) {
	br := bufio.NewReader(io.NewSectionReader(z.ra, d.start, int64(d.size)))
	var out []zipEntry
	var used uint64
	for used < d.size && uint64(len(out)) <= d.records {
		var h [centralLen]byte
		if _, err := io.ReadFull(br, h[:]); err != nil || le32(h[:]) != sigCentral {
			z.issue("zip-malformed", "", "the central directory does not hold whole entries in its declared %d bytes", d.size)
			return nil, false
		}
		v := make([]byte, int(le16(h[28:]))+int(le16(h[30:]))+int(le16(h[32:])))
		if _, err := io.ReadFull(br, v); err != nil {
			z.issue("zip-malformed", "", "the central directory does not hold whole entries in its declared %d bytes", d.size)
			return nil, false
		}
		used += centralLen + uint64(len(v))
		nlen := int(le16(h[28:]))
		e := zipEntry{name: string(v[:nlen]), flags: le16(h[8:]), method: le16(h[10:]), crc: le32(h[16:]),
			csize: uint64(le32(h[20:])), usize: uint64(le32(h[24:])), off: int64(le32(h[42:]))}
		if le16(h[34:]) != 0 || !e.zip64(v[nlen:nlen+int(le16(h[30:]))], le32(h[42:]) == sat32) {
			z.issue("zip-malformed", quote(e.name), "central directory entry on another disk, or with an unreadable zip64 extra field")
			return nil, false
		}
		e.off += d.base
		out = append(out, e)
	}
	switch {
	case used != d.size:
		z.issue("zip-malformed", "", "the central directory's entries do not end where its declared %d bytes do", d.size)
		return nil, false
	case uint64(len(out)) != d.records:
		z.issue("zip-malformed", "", "the end record counts %d entries, the central directory holds %d", d.records, len(out))
		return nil, false
	}
	return out, true
}

// zip64 takes the saturated sizes and offset from the zip64 extra field,
// in the order the format gives them.
func (e *zipEntry) zip64(extra []byte, offSat bool) bool {
	needU, needC := e.usize == sat32, e.csize == sat32
	if !needU && !needC && !offSat {
		return true
	}
	f, ok := findExtra(extra, zip64Tag)
	if !ok {
		return false
	}
	take := func(v *uint64) bool {
		if len(f) < 8 {
			return false
		}
		*v, f = le64(f), f[8:]
		return true
	}
	off := uint64(e.off)
	if needU && !take(&e.usize) || needC && !take(&e.csize) || offSat && !take(&off) || off > math.MaxInt64 {
		return false
	}
	e.off = int64(off)
	return true
}

// findExtra returns the first extra field with the tag.
func findExtra(extra []byte, tag uint16) ([]byte, bool) {
	for len(extra) >= 4 {
		t, n := le16(extra), int(le16(extra[2:]))
		if n > len(extra)-4 {
			return nil, false
		}
		if t == tag {
			return extra[4 : 4+n], true
		}
		extra = extra[4+n:]
	}
	return nil, false
}

// locals walks the entries in file order: each must start where the one
// before ended (the first at the start of the zip), and the last end where
// the central directory starts.
func (z *zipLayout) locals(es []zipEntry, d zipDir) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].off < es[j].off })
	next := d.base
	for i := range es {
		e := &es[i]
		limit := d.start
		if i+1 < len(es) {
			limit = es[i+1].off
		}
		switch {
		case e.off > next && next == 0:
			z.issue("zip-prefix", quote(e.name), "the first entry starts at byte %d: what comes before it is no part of the zip (another zip or a program put in front?)", e.off)
		case e.off > next:
			z.issue("zip-gap", quote(e.name), "%d bytes before its local header belong to no entry: something is hidden there", e.off-next)
		case e.off < next:
			z.issue("zip-overlap", quote(e.name), "its local header lies inside the entry before it")
		}
		end, ok := z.local(e, limit)
		if !ok {
			return
		}
		next = max(next, end)
	}
	switch {
	case next < d.start:
		z.issue("zip-gap", "", "%d bytes between the last entry and the central directory belong to no entry: something is hidden there", d.start-next)
	case next > d.start:
		z.issue("zip-overlap", "", "the last entry runs into the central directory")
	}
}

// local checks an entry's local header against its central directory
// entry, and returns where the entry ends (after any data descriptor).
func (z *zipLayout) local(e *zipEntry, limit int64) (int64, bool) {
	subj := quote(e.name)
	var h [localLen]byte
	if z.readAt(h[:], e.off) != nil || le32(h[:]) != sigLocal {
		z.issue("zip-malformed", subj, "no local file header at byte %d, where the central directory says", e.off)
		return 0, false
	}
	v := make([]byte, int(le16(h[26:]))+int(le16(h[28:])))
	if z.readAt(v, e.off+localLen) != nil {
		z.issue("zip-malformed", subj, "its local header runs past the end of the file")
		return 0, false
	}
	if name := string(v[:le16(h[26:])]); name != e.name {
		z.issue("zip-header-mismatch", subj, "its local header names it %s: tools that read local headers would extract another file", quote(name))
	}
	flags, method := le16(h[6:]), le16(h[8:])
	if flags != e.flags || method != e.method {
		z.issue("zip-header-mismatch", subj, "its local header's flags and compression method (%#x, %d) differ from the central directory's (%#x, %d)", flags, method, e.flags, e.method)
	}
	crc, csize, usize := le32(h[14:]), uint64(le32(h[18:])), uint64(le32(h[22:]))
	if csize == sat32 || usize == sat32 {
		// A local zip64 extra holds both sizes.
		if f, ok := findExtra(v[le16(h[26:]):], zip64Tag); ok && len(f) >= 16 {
			usize, csize = le64(f), le64(f[8:])
		}
	}
	zero := crc == 0 && csize == 0 && usize == 0
	if (crc != e.crc || csize != e.csize || usize != e.usize) && !(zero && e.flags&flagDesc != 0) {
		z.issue("zip-header-mismatch", subj, "its local header's CRC-32 and sizes differ from the central directory's")
	}
	dataEnd := e.off + localLen + int64(len(v))
	if e.csize > uint64(z.size) || dataEnd > z.size-int64(e.csize) {
		z.issue("zip-malformed", subj, "entry data lies outside the file")
		return 0, false
	}
	dataEnd += int64(e.csize)
	if dataEnd > limit {
		z.issue("zip-overlap", subj, "its data runs into what follows it")
		return dataEnd, true
	}
	if e.flags&flagDesc != 0 {
		return z.descriptor(e, dataEnd, limit), true
	}
	return dataEnd, true
}

// descriptor finds the data descriptor at at, before limit: an optional
// signature, the CRC-32, and 4- or 8-byte sizes, agreeing with the central
// directory. It returns where the descriptor ends; what follows it up to
// limit is for the caller to judge.
func (z *zipLayout) descriptor(e *zipEntry, at, limit int64) int64 {
	var b [24]byte
	n := min(limit-at, 24)
	if n < 12 || z.readAt(b[:n], at) != nil {
		z.issue("zip-malformed", quote(e.name), "no room for its data descriptor")
		return limit
	}
	found := int64(-1)
	for _, f := range []struct{ sig, wide bool }{{true, false}, {true, true}, {false, false}, {false, true}} {
		d, size := b[:n], int64(12)
		if f.sig {
			if le32(d) != sigDescriptor {
				continue
			}
			d, size = d[4:], size+4
		}
		var csize, usize uint64
		switch {
		case !f.wide && len(d) >= 12:
			csize, usize = uint64(le32(d[4:])), uint64(le32(d[8:]))
		case f.wide && len(d) >= 20:
			csize, usize, size = le64(d[4:]), le64(d[12:]), size+8
		default:
			continue
		}
		if le32(d) == e.crc && csize == e.csize && usize == e.usize {
			// An empty entry's descriptor reads the same with 4- and
			// 8-byte sizes: prefer the reading that leaves no gap.
			if found < 0 || at+size == limit {
				found = at + size
			}
		}
	}
	if found < 0 {
		z.issue("zip-header-mismatch", quote(e.name), "no data descriptor agreeing with the central directory's CRC-32 and sizes follows its data")
		return limit
	}
	return found
}
