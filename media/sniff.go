package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Signature is what a file's own bytes say it is, read without ffmpeg: the
// container signature of a recording, and for the containers that declare
// their own size (ISO-BMFF boxes, RIFF and AIFF chunks, a Matroska segment,
// MPEG transport packets) whether the file stops short of it. It lets
// custody tell a damaged recording, which ffprobe may not read at all (an
// MP4 whose moov was never written), from a file that is not a recording.
type Signature struct {
	// Format is a short name: mp4, mov, mpegts, m2ts, avi, wav, aiff,
	// matroska, webm, mpeg-ps, flv, ogg, asf, mp3, aac, h264, hevc, dhav
	// (Dahua CCTV) or hikvision; "" when the bytes are not a recording
	// custody knows.
	Format string `json:"format,omitempty"`
	// Detail names the brand, document type or form: "ftyp isom".
	Detail string `json:"detail,omitempty"`
	// Image is set, and Format empty, for containers of still images that
	// share a recording's signature (HEIF, AVIF, JPEG 2000, WebP).
	Image string `json:"image,omitempty"`
	// Boxes are the first top-level ISO-BMFF boxes; BoxCount counts all
	// that were walked.
	Boxes    []Box `json:"boxes,omitempty"`
	BoxCount int   `json:"box_count,omitempty"`
	// Problems are structural faults, one sentence each: a box, chunk or
	// packet that runs past the end of the file, an MP4 without its moov.
	Problems []string `json:"problems,omitempty"`
	// TruncatedAt is the file's size when its container declares more
	// bytes than there are: the data stops at that byte.
	TruncatedAt int64 `json:"truncated_at,omitempty"`
	// NoIndex is set for an ISO-BMFF file without a moov box: its sample
	// table, codec set-up and timing were never written.
	NoIndex bool `json:"no_index,omitempty"`
}

// Box is one top-level ISO-BMFF box.
type Box struct {
	Type   string `json:"type"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"` // as declared; 0: to the end of the file
}

// Recording reports whether the bytes carry a recording's signature.
func (s Signature) Recording() bool { return s.Format != "" }

// String describes the signature in a few words.
func (s Signature) String() string {
	switch {
	case s.Format != "" && s.Detail != "":
		return s.Format + " (" + s.Detail + ")"
	case s.Format != "":
		return s.Format
	case s.Image != "":
		return "still image (" + s.Image + ")"
	}
	return "no recording signature"
}

const (
	// SniffPrefix is how much of the start of a file Sniff reads.
	SniffPrefix = 64 << 10
	// maxBoxes bounds the walk of an ISO-BMFF file's top-level boxes
	// (16 bytes read per box); keptBoxes how many Signature lists.
	maxBoxes  = 4096
	keptBoxes = 24
)

// SniffFile sniffs the file at path (see Sniff).
func SniffFile(path string) (Signature, error) {
	f, err := os.Open(path)
	if err != nil {
		return Signature{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Signature{}, err
	}
	return Sniff(f, fi.Size()), nil
}

// Sniff reads at most SniffPrefix bytes from the start of r (a file of
// size bytes) and, for ISO-BMFF, the headers of up to 4096 top-level
// boxes, and says which recording container they are, if any. It never
// fails: unreadable bytes are simply not a signature.
func Sniff(r io.ReaderAt, size int64) Signature {
	if size <= 0 {
		return Signature{}
	}
	p := make([]byte, min(size, SniffPrefix))
	n, _ := r.ReadAt(p, 0)
	p = p[:n]
	if s, ok := sniffISO(r, size, p); ok {
		return s
	}
	for _, sniff := range []func([]byte, int64) (Signature, bool){sniffRIFF, sniffAIFF, sniffMatroska, sniffMagic, sniffPS, sniffTS, sniffAnnexB, sniffAudio} {
		if s, ok := sniff(p, size); ok {
			return s
		}
	}
	return Signature{}
}

func be32(p []byte) uint32 { return binary.BigEndian.Uint32(p) }
func le32(p []byte) uint32 { return binary.LittleEndian.Uint32(p) }

// shortOf records that what, by its declared size, runs to byte end of a
// file that has only size bytes.
func (s *Signature) shortOf(what string, end, size int64) {
	s.Problems = append(s.Problems, fmt.Sprintf("%s runs to byte %d, but the file ends at byte %d (%d bytes missing)", what, end, size, end-size))
	s.TruncatedAt = size
}

// sniffRIFF: AVI and WAV (RIFF, and RF64/BW64 for large WAV), and WebP,
// which is a still image.
func sniffRIFF(p []byte, size int64) (Signature, bool) {
	if len(p) < 12 {
		return Signature{}, false
	}
	magic, form := string(p[:4]), string(p[8:12])
	if magic == "RF64" || magic == "BW64" {
		return Signature{Format: "wav", Detail: magic}, form == "WAVE"
	}
	if magic != "RIFF" {
		return Signature{}, false
	}
	var s Signature
	switch form {
	case "AVI ", "AVIX":
		s.Format = "avi"
	case "WAVE":
		s.Format = "wav"
	case "CDXA":
		s.Format = "mpeg-ps"
	case "WEBP":
		return Signature{Image: "webp"}, true
	default:
		return Signature{}, false
	}
	s.Detail = "RIFF " + form
	// 0 and 0xFFFFFFFF are what writers to a pipe leave: size unknown.
	if n := le32(p[4:8]); n != 0 && n != 0xFFFFFFFF && int64(n)+8 > size {
		s.shortOf("the RIFF chunk", int64(n)+8, size)
	}
	return s, true
}

func sniffAIFF(p []byte, size int64) (Signature, bool) {
	if len(p) < 12 || string(p[:4]) != "FORM" || (string(p[8:12]) != "AIFF" && string(p[8:12]) != "AIFC") {
		return Signature{}, false
	}
	s := Signature{Format: "aiff", Detail: "FORM " + string(p[8:12])}
	if n := be32(p[4:8]); n != 0 && int64(n)+8 > size {
		s.shortOf("the FORM chunk", int64(n)+8, size)
	}
	return s, true
}

var asfGUID = []byte{0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C}

// sniffMagic: containers recognised by a fixed magic number alone.
func sniffMagic(p []byte, _ int64) (Signature, bool) {
	switch {
	case bytes.HasPrefix(p, asfGUID):
		return Signature{Format: "asf"}, true
	case len(p) >= 9 && string(p[:4]) == "FLV\x01" && p[4]&0xFA == 0 && be32(p[5:9]) >= 9:
		return Signature{Format: "flv"}, true
	case bytes.HasPrefix(p, []byte("OggS\x00")):
		return Signature{Format: "ogg"}, true
	case bytes.HasPrefix(p, []byte("DHAV")):
		return Signature{Format: "dhav", Detail: "Dahua DHAV"}, true
	case bytes.HasPrefix(p, []byte("IMKH")):
		return Signature{Format: "hikvision", Detail: "IMKH header, MPEG-PS"}, true
	}
	return Signature{}, false
}

// sniffPS: an MPEG program stream starts with a pack header whose marker
// bits say MPEG-2 ('01') or MPEG-1 ('0010').
func sniffPS(p []byte, _ int64) (Signature, bool) {
	if len(p) < 12 || !bytes.HasPrefix(p, []byte{0, 0, 1, 0xBA}) {
		return Signature{}, false
	}
	switch {
	case p[4]&0xC4 == 0x44:
		return Signature{Format: "mpeg-ps", Detail: "MPEG-2 pack header"}, true
	case p[4]&0xF1 == 0x21:
		return Signature{Format: "mpeg-ps", Detail: "MPEG-1 pack header"}, true
	}
	return Signature{}, false
}

// sniffTS: MPEG transport packets, 188 bytes each (or 192 in M2TS, a
// 4-byte timestamp before each), every one starting with the sync byte
// 0x47. At least five in a row, or every packet of a shorter file.
func sniffTS(p []byte, size int64) (Signature, bool) {
	for _, t := range []struct {
		format       string
		stride, sync int
	}{{"mpegts", 188, 0}, {"m2ts", 192, 4}} {
		for off := 0; off < t.stride && off+t.sync < len(p); off++ {
			if p[off+t.sync] != 0x47 || !syncRun(p[off+t.sync:], t.stride) {
				continue
			}
			s := Signature{Format: t.format, Detail: fmt.Sprintf("%d-byte packets", t.stride)}
			if off > 0 {
				s.Problems = append(s.Problems, fmt.Sprintf("%d bytes before the first transport packet", off))
			}
			if rest := (size - int64(off)) % int64(t.stride); rest != 0 {
				s.Problems = append(s.Problems, fmt.Sprintf("the file ends %d bytes into a %d-byte transport packet", rest, t.stride))
				s.TruncatedAt = size
			}
			return s, true
		}
	}
	return Signature{}, false
}

// syncRun: five sync bytes in a row; in a file too short for five, every
// packet's, the first being the programme association table (PID 0), as
// a recorder writes it.
func syncRun(p []byte, stride int) bool {
	n := 0
	for i := 0; i < len(p) && n < 5; i += stride {
		if p[i] != 0x47 {
			return false
		}
		n++
	}
	return n >= 5 || n >= 2 && len(p) < 5*stride && p[1]&0x9F == 0x00 && p[2] == 0
}

// sniffAnnexB: a raw H.264 or HEVC elementary stream (what many CCTV
// recorders export as .264/.h264/.265), starting with a start code and a
// parameter set or access unit delimiter.
func sniffAnnexB(p []byte, _ int64) (Signature, bool) {
	var nal []byte
	switch {
	case bytes.HasPrefix(p, []byte{0, 0, 0, 1}):
		nal = p[4:]
	case bytes.HasPrefix(p, []byte{0, 0, 1}):
		nal = p[3:]
	default:
		return Signature{}, false
	}
	if len(nal) < 2 || nal[0]&0x80 != 0 {
		return Signature{}, false
	}
	if t := nal[0] & 0x1F; t == 7 || t == 9 {
		return Signature{Format: "h264", Detail: "Annex B elementary stream"}, true
	}
	// HEVC: a two-byte header, layer 0, temporal id at least 1.
	if t := nal[0] >> 1; (t == 32 || t == 35) && nal[0]&1 == 0 && nal[1]&0xF8 == 0 && nal[1]&7 != 0 {
		return Signature{Format: "hevc", Detail: "Annex B elementary stream"}, true
	}
	return Signature{}, false
}

// sniffAudio: MP3 (MPEG audio frames, optionally after an ID3v2 tag) and
// AAC in ADTS frames, three frames in a row.
func sniffAudio(p []byte, _ int64) (Signature, bool) {
	detail := ""
	if len(p) >= 10 && string(p[:3]) == "ID3" && p[3] >= 2 && p[3] <= 4 && p[6]|p[7]|p[8]|p[9] < 0x80 {
		n := 10 + (int(p[6])<<21 | int(p[7])<<14 | int(p[8])<<7 | int(p[9]))
		if p[5]&0x10 != 0 {
			n += 10 // footer
		}
		if n >= len(p) {
			// The tag is all we can see; it is an audio tag all the same.
			return Signature{Format: "mp3", Detail: "ID3v2 tag"}, true
		}
		p, detail = p[n:], "ID3v2 tag, "
	}
	if frameRun(p, mpaFrameLen) {
		return Signature{Format: "mp3", Detail: detail + "MPEG audio frames"}, true
	}
	if frameRun(p, adtsFrameLen) {
		return Signature{Format: "aac", Detail: detail + "ADTS frames"}, true
	}
	return Signature{}, false
}

// frameRun: three frames in a row, or two that run to the end of p.
func frameRun(p []byte, frameLen func([]byte) int) bool {
	off, n := 0, 0
	for n < 3 && off+7 <= len(p) {
		l := frameLen(p[off:])
		if l == 0 {
			return false
		}
		off += l
		n++
	}
	return n >= 3 || n >= 2 && off+7 > len(p)
}

var (
	mpaBitrates = [5][16]int{ // kbit/s: V1 L1, V1 L2, V1 L3, V2 L1, V2 L2/L3
		{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	}
	mpaRates = [3]int{44100, 48000, 32000}
)

// mpaFrameLen is the length of the MPEG audio frame whose header starts
// h, or 0 if h is not one.
func mpaFrameLen(h []byte) int {
	if len(h) < 4 || h[0] != 0xFF || h[1]&0xE0 != 0xE0 {
		return 0
	}
	ver, layer := h[1]>>3&3, h[1]>>1&3 // ver 3: MPEG-1, 2: MPEG-2, 0: 2.5; layer 3: I, 2: II, 1: III
	bri, sri, pad := int(h[2]>>4), int(h[2]>>2&3), int(h[2]>>1&1)
	if ver == 1 || layer == 0 || bri == 0 || bri == 15 || sri == 3 {
		return 0
	}
	rate := mpaRates[sri]
	table := 3 + min(int(3-layer), 1) // MPEG-2/2.5: L1, or L2/L3
	if ver == 3 {
		table = int(3 - layer)
	} else {
		rate /= 2
		if ver == 0 {
			rate /= 2
		}
	}
	br := mpaBitrates[table][bri] * 1000
	switch {
	case layer == 3:
		return (12*br/rate + pad) * 4
	case layer == 1 && ver != 3:
		return 72*br/rate + pad
	}
	return 144*br/rate + pad
}

// adtsFrameLen is the length of the ADTS frame whose header starts h, or 0.
func adtsFrameLen(h []byte) int {
	if len(h) < 7 || h[0] != 0xFF || h[1]&0xF6 != 0xF0 || h[2]>>2&0xF >= 13 {
		return 0
	}
	n := int(h[3]&3)<<11 | int(h[4])<<3 | int(h[5]>>5)
	if n < 7 {
		return 0
	}
	return n
}

// sniffMatroska: an EBML header whose DocType is matroska or webm, and
// the segment after it, whose declared size the file may fall short of.
func sniffMatroska(p []byte, size int64) (Signature, bool) {
	if !bytes.HasPrefix(p, []byte{0x1A, 0x45, 0xDF, 0xA3}) {
		return Signature{}, false
	}
	hsize, n, ok := ebmlSize(p[4:])
	if !ok || hsize > 4096 || 4+n+int(hsize) > len(p) {
		return Signature{}, false
	}
	body, end := p[4+n:4+n+int(hsize)], 4+n+int(hsize)
	var doc string
	for len(body) > 0 && doc == "" {
		id, idn, ok1 := ebmlID(body)
		sz, szn, ok2 := ebmlSize(body[idn:])
		if !ok1 || !ok2 || uint64(idn+szn)+sz > uint64(len(body)) {
			break
		}
		if id == 0x4282 {
			doc = string(body[idn+szn : idn+szn+int(sz)])
		}
		body = body[idn+szn+int(sz):]
	}
	var s Signature
	switch doc {
	case "matroska", "webm":
		s = Signature{Format: doc, Detail: "EBML DocType " + doc}
	default:
		return Signature{}, false
	}
	if id, idn, ok := ebmlID(p[end:]); ok && id == 0x18538067 {
		if sz, szn, ok := ebmlSize(p[end+idn:]); ok && sz != unknownSize(szn) {
			if total := int64(end+idn+szn) + int64(min(sz, 1<<62)); total > size {
				s.shortOf("the Matroska segment", total, size)
			}
		}
	}
	return s, true
}

// ebmlID reads an element id (its length marker kept, as the spec
// writes ids).
func ebmlID(p []byte) (uint32, int, bool) {
	if len(p) == 0 || p[0] == 0 {
		return 0, 0, false
	}
	n := 1
	for p[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if n > 4 || len(p) < n {
		return 0, 0, false
	}
	var id uint32
	for _, b := range p[:n] {
		id = id<<8 | uint32(b)
	}
	return id, n, true
}

// ebmlSize reads a variable-length size (the marker removed).
func ebmlSize(p []byte) (uint64, int, bool) {
	if len(p) == 0 || p[0] == 0 {
		return 0, 0, false
	}
	n := 1
	for p[0]&(0x80>>(n-1)) == 0 {
		n++
	}
	if len(p) < n {
		return 0, 0, false
	}
	v := uint64(p[0] & (0xFF >> n))
	for _, b := range p[1:n] {
		v = v<<8 | uint64(b)
	}
	return v, n, true
}

// unknownSize is the all-ones size of an n-byte vint: "size unknown", as
// live recorders write it.
func unknownSize(n int) uint64 { return 1<<(7*n) - 1 }

// isoFirst are the boxes an ISO-BMFF file may start with: ftyp, or, from
// older QuickTime writers and cameras, mdat, moov or padding; fragmented
// segments start with styp, sidx or moof.
var isoFirst = map[string]bool{"ftyp": true, "moov": true, "mdat": true, "free": true, "skip": true, "wide": true,
	"pnot": true, "styp": true, "sidx": true, "moof": true}

// isoImages are ftyp major brands of still-image formats.
var isoImages = map[string]string{"heic": "heif", "heix": "heif", "heim": "heif", "heis": "heif", "mif1": "heif", "mif2": "heif",
	"msf1": "heif", "avif": "avif", "avis": "avif", "jp2 ": "jpeg2000", "jpx ": "jpeg2000", "jpm ": "jpeg2000", "crx ": "canon raw"}

var errBadBox = errors.New("not a box")

// sniffISO recognises ISO-BMFF (MP4, MOV, 3GP, M4A) and walks its
// top-level boxes, reading only their headers.
func sniffISO(r io.ReaderAt, size int64, p []byte) (Signature, bool) {
	if len(p) < 8 || !isoFirst[string(p[4:8])] {
		return Signature{}, false
	}
	first, err := isoHeader(p, 0, size)
	if err != nil {
		return Signature{}, false
	}
	s := Signature{Format: "mp4"}
	if first.Type == "ftyp" {
		if first.Size < 16 || first.Size > 4096 || len(p) < 16 || !printable(p[8:12]) {
			return Signature{}, false
		}
		brand := string(p[8:12])
		if img, ok := isoImages[brand]; ok {
			return Signature{Image: img}, true
		}
		if brand == "qt  " {
			s.Format = "mov"
		}
		s.Detail = "ftyp " + brand
	} else if raw := be32(p); raw > 1 && first.Size > size {
		// Without ftyp a box name is a weak signature ("1234mdat" could
		// be text): the first box must end inside the file, unless its
		// size field is 0 (to the end) or 1 (64-bit), which text never is.
		return Signature{}, false
	}
	if !s.walkBoxes(r, size) && first.Type != "ftyp" {
		// Nor may a box without ftyp be followed by something that is
		// not a box.
		return Signature{}, false
	}
	return s, true
}

// walkBoxes reads the top-level box headers to the end of the file. It
// reports false if a header was not a box at all.
func (s *Signature) walkBoxes(r io.ReaderAt, size int64) bool {
	var hdr [16]byte
	off, moov := int64(0), false
	for off < size && s.BoxCount < maxBoxes {
		n, _ := r.ReadAt(hdr[:min(16, size-off)], off)
		if n < 8 {
			s.Problems = append(s.Problems, fmt.Sprintf("the file ends inside a box header at byte %d", off))
			s.TruncatedAt = size
			break
		}
		b, err := isoHeader(hdr[:n], off, size)
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("no box at byte %d, where the previous box ends (%q)", off, printableOr(hdr[4:8])))
			return false
		}
		s.BoxCount++
		if len(s.Boxes) < keptBoxes {
			s.Boxes = append(s.Boxes, b)
		}
		moov = moov || b.Type == "moov"
		end := size
		if b.Size != 0 {
			end = off + b.Size
		}
		if end > size {
			s.shortOf(fmt.Sprintf("the %s box at byte %d", b.Type, off), end, size)
			break
		}
		off = end
	}
	if s.BoxCount == maxBoxes && off < size {
		s.Problems = append(s.Problems, fmt.Sprintf("box walk stopped after %d boxes, at byte %d", maxBoxes, off))
		return true
	}
	if !moov {
		s.NoIndex = true
		s.Problems = append(s.Problems, "no moov box: the sample table, codec set-up and timing were never written (a recording cut off before the camera closed the file)")
	}
	return true
}

// isoHeader parses the box header at the start of h (at offset off of a
// file of size bytes).
func isoHeader(h []byte, off, size int64) (Box, error) {
	if len(h) < 8 || !printable(h[4:8]) {
		return Box{}, errBadBox
	}
	b := Box{Type: string(h[4:8]), Offset: off, Size: int64(be32(h))}
	switch b.Size {
	case 0:
	case 1:
		if len(h) < 16 {
			return Box{}, errBadBox
		}
		large := binary.BigEndian.Uint64(h[8:16])
		if large < 16 || large > 1<<62 {
			return Box{}, errBadBox
		}
		b.Size = int64(large)
	default:
		if b.Size < 8 {
			return Box{}, errBadBox
		}
	}
	return b, nil
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

func printableOr(b []byte) string {
	if printable(b) {
		return string(b)
	}
	return fmt.Sprintf("%x", b)
}
