package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// nutReader demuxes a NUT stream read sequentially from a pipe.
type nutReader struct {
	r   *bufio.Reader
	err error

	version     uint64
	maxDistance uint64
	timeBases   []Rational
	codes       [256]nutFrameCode
	elision     [][]byte // elision headers; [0] is empty
	flags       uint64
	streams     []nutStream
	lastPTS     []int64
	infos       [][]byte // info packets seen before the first syncpoint, raw
	headerDone  bool
	pending     uint64 // a startcode read ahead by readHeader

	scratch []byte
}

func newNUTReader(r io.Reader) *nutReader {
	// A small buffer: frame payloads are read straight into the caller's
	// buffer, and only what the buffer already holds is copied.
	return &nutReader{r: bufio.NewReaderSize(r, 1<<16)}
}

func (n *nutReader) readStartcodeRest(first byte) (uint64, error) {
	var buf [7]byte
	if _, err := io.ReadFull(n.r, buf[:]); err != nil {
		return 0, unexpected(err)
	}
	code := uint64(first)
	for _, b := range buf {
		code = code<<8 | uint64(b)
	}
	return code, nil
}

// readPacketBody reads a header packet after its startcode and returns its
// payload with the checksum verified and stripped.
func (n *nutReader) readPacketBody(startcode uint64) ([]byte, error) {
	var sc [8]byte
	binary.BigEndian.PutUint64(sc[:], startcode)
	hcrc := nutCRC(0, sc[:])
	tap := &byteTap{r: n.r, keep: true}
	size, err := readV(tap)
	if err != nil {
		return nil, unexpected(err)
	}
	hcrc = nutCRC(hcrc, tap.got)
	if size > 4096 {
		var c [4]byte
		if _, err := io.ReadFull(n.r, c[:]); err != nil {
			return nil, unexpected(err)
		}
		if binary.BigEndian.Uint32(c[:]) != hcrc {
			return nil, nutErrorf("packet header checksum mismatch")
		}
	}
	if size < 4 || size > nutMaxHeader {
		return nil, nutErrorf("header packet size %d", size)
	}
	if cap(n.scratch) < int(size) {
		n.scratch = make([]byte, size)
	}
	body := n.scratch[:size]
	if _, err := io.ReadFull(n.r, body); err != nil {
		return nil, unexpected(err)
	}
	if nutCRC(0, body[:size-4]) != binary.BigEndian.Uint32(body[size-4:]) {
		return nil, nutErrorf("packet checksum mismatch")
	}
	return body[:size-4], nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readHeader reads the file id, the main header, every stream header and
// the info packets up to the first syncpoint.
func (n *nutReader) readHeader() error {
	id := make([]byte, len(nutID))
	if _, err := io.ReadFull(n.r, id); err != nil {
		return fmt.Errorf("%w: no NUT header: %v", errNUT, unexpected(err))
	}
	if string(id) != nutID {
		return nutErrorf("bad file id")
	}
	seenStreams := 0
	for {
		b, err := n.r.ReadByte()
		if err != nil {
			return fmt.Errorf("%w: stream ended before the first frame: %v", errNUT, unexpected(err))
		}
		if b != 'N' {
			return nutErrorf("unexpected byte 0x%02x in headers", b)
		}
		code, err := n.readStartcodeRest(b)
		if err != nil {
			return err
		}
		switch code {
		case nutMainStartcode:
			body, err := n.readPacketBody(code)
			if err != nil {
				return err
			}
			if n.streams != nil {
				continue // a repeat
			}
			if err := n.parseMain(body); err != nil {
				return err
			}
		case nutStreamStartcode:
			body, err := n.readPacketBody(code)
			if err != nil {
				return err
			}
			if n.streams == nil {
				return nutErrorf("stream header before main header")
			}
			if err := n.parseStream(body, &seenStreams); err != nil {
				return err
			}
		case nutInfoStartcode:
			body, err := n.readPacketBody(code)
			if err != nil {
				return err
			}
			n.infos = append(n.infos, append([]byte(nil), body...))
		case nutIndexStartcode:
			if _, err := n.readPacketBody(code); err != nil {
				return err
			}
		case nutSyncpointStartcode:
			if n.streams == nil || seenStreams != len(n.streams) {
				return nutErrorf("frames before all stream headers")
			}
			n.pending = code
			n.headerDone = true
			return nil
		default:
			return nutErrorf("unknown startcode %016x", code)
		}
	}
}

func (n *nutReader) parseMain(body []byte) error {
	b := &nutBuf{p: body}
	n.version = b.v()
	if n.version < 2 || n.version > 4 {
		return nutErrorf("version %d", n.version)
	}
	if n.version > 3 {
		b.v() // minor version
	}
	nStreams := b.v()
	if nStreams == 0 || nStreams > nutMaxStreams {
		return nutErrorf("%d streams", nStreams)
	}
	n.maxDistance = min(b.v(), 65536)
	tbCount := b.v()
	if tbCount == 0 || tbCount > 1024 {
		return nutErrorf("%d time bases", tbCount)
	}
	for range tbCount {
		num, den := b.v(), b.v()
		if num == 0 || den == 0 || num >= 1<<31 || den >= 1<<31 {
			return nutErrorf("time base %d/%d", num, den)
		}
		n.timeBases = append(n.timeBases, Rational{int64(num), int64(den)})
	}
	if err := n.parseFrameCodes(b, nStreams); err != nil {
		return err
	}
	n.elision = [][]byte{nil}
	if len(b.p) > 0 {
		hc := b.v()
		if hc >= 128 {
			return nutErrorf("%d elision headers", hc)
		}
		for range hc {
			l := b.v()
			if l == 0 || l >= 256 {
				return nutErrorf("elision header length %d", l)
			}
			n.elision = append(n.elision, b.bytes(l))
		}
	}
	if n.version > 3 && len(b.p) > 0 {
		n.flags = b.v()
	}
	if b.err != nil {
		return b.err
	}
	n.streams = make([]nutStream, nStreams)
	n.lastPTS = make([]int64, nStreams)
	for i := range n.streams {
		n.streams[i].Class = ^uint64(0) // not yet seen
	}
	return nil
}

// parseFrameCodes reads the main header's frame code table: runs of codes
// that share their fields, each field carried over from the run before
// unless given ('N' is never a frame code).
func (n *nutReader) parseFrameCodes(b *nutBuf, nStreams uint64) error {
	var pts int64
	mul, stream, headIdx := uint64(1), uint64(0), uint64(0)
	for i := 0; i < 256; {
		flags, fields := b.v(), b.v()
		var size, res, count uint64
		if fields > 0 {
			pts = b.s()
		}
		if fields > 1 {
			mul = b.v()
		}
		if fields > 2 {
			stream = b.v()
		}
		if fields > 3 {
			size = b.v()
		}
		if fields > 4 {
			res = b.v()
		}
		if fields > 5 {
			count = b.v()
		} else {
			count = mul - size
		}
		if fields > 6 {
			b.s()
		}
		if fields > 7 {
			headIdx = b.v()
		}
		// Fields beyond those known are skipped, up to the header's end
		// (fields is a number the stream gives).
		for f := uint64(8); f < fields && b.err == nil; f++ {
			b.v()
		}
		if b.err != nil {
			return b.err
		}
		limit := 256 - i
		if i <= 'N' {
			limit--
		}
		if count == 0 || count > uint64(limit) {
			return nutErrorf("frame code count %d at %d", count, i)
		}
		if stream >= nStreams {
			return nutErrorf("frame code for stream %d of %d", stream, nStreams)
		}
		for j := uint64(0); j < count; i++ {
			if i == 'N' {
				n.codes[i] = nutFrameCode{flags: nutFlagInvalid}
				continue
			}
			n.codes[i] = nutFrameCode{flags: flags, stream: stream, sizeMul: mul, sizeLSB: size + j,
				ptsDelta: pts, reserved: res, headerIdx: headIdx}
			j++
		}
	}
	return nil
}

func (n *nutReader) parseStream(body []byte, seen *int) error {
	b := &nutBuf{p: body}
	id := b.v()
	if b.err != nil || id >= uint64(len(n.streams)) {
		return nutErrorf("stream id %d", id)
	}
	if n.streams[id].Class != ^uint64(0) {
		return nil // a repeat
	}
	var s nutStream
	s.Class = b.v()
	fl := b.v()
	if fl != 2 && fl != 4 {
		return nutErrorf("fourcc length %d", fl)
	}
	s.Fourcc = b.bytes(fl)
	tb := b.v()
	if tb >= uint64(len(n.timeBases)) {
		return nutErrorf("time base id %d", tb)
	}
	s.TimeBase = n.timeBases[tb]
	s.MsbPTSShift = b.v()
	if s.MsbPTSShift >= 16 {
		return nutErrorf("msb_pts_shift %d", s.MsbPTSShift)
	}
	s.MaxPTSDistance = b.v()
	s.DecodeDelay = b.v()
	s.Flags = b.v()
	ed := b.v()
	if ed > nutMaxHeader {
		return nutErrorf("extradata size %d", ed)
	}
	s.Extradata = b.bytes(ed)
	switch s.Class {
	case nutVideo:
		s.Width, s.Height = b.v(), b.v()
		s.SARNum, s.SARDen = b.v(), b.v()
		s.Colorspace = b.v()
	case nutAudio:
		s.SampleRateNum, s.SampleRateDen = b.v(), b.v()
		s.Channels = b.v()
	}
	if b.err != nil {
		return b.err
	}
	n.streams[id] = s
	*seen++
	return nil
}
