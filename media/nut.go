package media

// NUT is the container custody uses on the pipes between ffmpeg and Go. It is
// the one container ffmpeg reads and writes on a pipe that carries raw video
// next to stream-copied audio with exact rational timestamps, so a frame's
// time survives the round trip (variable frame rate included) and the audio
// packets reach the encoder untouched. Only what ffmpeg's own NUT muxer
// produces, and what its demuxer accepts, is implemented; the layout follows
// FFmpeg's doc/nut.texi and libavformat/nut{dec,enc}.c.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	nutMainStartcode      = 0x4E4D7A561F5F04AD
	nutStreamStartcode    = 0x4E5311405BF2F9DB
	nutSyncpointStartcode = 0x4E4BE4ADEECA4569
	nutIndexStartcode     = 0x4E58DD672F23E64E
	nutInfoStartcode      = 0x4E49AB68B596BA78
	nutID                 = "nut/multimedia container\x00"
)

// Frame code flags.
const (
	nutFlagKey       = 1
	nutFlagEOR       = 2
	nutFlagCodedPTS  = 8
	nutFlagStreamID  = 16
	nutFlagSizeMSB   = 32
	nutFlagChecksum  = 64
	nutFlagReserved  = 128
	nutFlagSMData    = 256
	nutFlagHeaderIdx = 1024
	nutFlagMatchTime = 2048
	nutFlagCoded     = 4096
	nutFlagInvalid   = 8192
)

// Limits that keep a corrupt or hostile stream from making us allocate
// without bound.
const (
	nutMaxHeader  = 1 << 24 // any header packet
	nutMaxStreams = 256
	nutMaxAlloc   = 1 << 26 // a packet not read into the caller's frame buffer
)

var errNUT = errors.New("malformed NUT stream from ffmpeg")

func nutErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errNUT, fmt.Sprintf(format, args...))
}

// Stream classes.
const (
	nutVideo = 0
	nutAudio = 1
)

// nutStream is one stream header.
type nutStream struct {
	Class          uint64
	Fourcc         []byte
	TimeBase       Rational
	MsbPTSShift    uint64
	MaxPTSDistance uint64
	DecodeDelay    uint64
	Flags          uint64
	Extradata      []byte
	// Video.
	Width, Height  uint64
	SARNum, SARDen uint64
	Colorspace     uint64
	// Audio.
	SampleRateNum, SampleRateDen uint64
	Channels                     uint64
}

type nutFrameCode struct {
	flags     uint64
	stream    uint64
	sizeMul   uint64
	sizeLSB   uint64
	ptsDelta  int64
	reserved  uint64
	headerIdx uint64
}

// nutPacket is one frame (in NUT's sense: a packet of one stream).
type nutPacket struct {
	Stream int
	PTS    int64
	Key    bool
	Data   []byte
}

// crcTable is CRC-32 with polynomial 0x04C11DB7, MSB first, initial value 0
// and no final xor: NUT's checksum.
var crcTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func nutCRC(crc uint32, p []byte) uint32 {
	for _, b := range p {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^b]
	}
	return crc
}

// ---- reading ----

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

// nutMaxVarint is the longest varint read: ten bytes carry 64 bits, and
// ffmpeg writes a frame code's match field, 1-2^62, in ten (main headers
// with elision headers: MPEG-1/2 video, MP2 and MP3 audio).
const nutMaxVarint = 10

func (n *nutReader) readV() (uint64, error) {
	var v uint64
	for i := 0; ; i++ {
		b, err := n.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if i == nutMaxVarint {
			return 0, nutErrorf("varint too long")
		}
		v = v<<7 | uint64(b&0x7f)
		if b&0x80 == 0 {
			return v, nil
		}
	}
}

// varint reading from a byte slice (header packets are read whole first).
type nutBuf struct {
	p   []byte
	err error
}

func (b *nutBuf) v() uint64 {
	var v uint64
	for i := 0; ; i++ {
		if len(b.p) == 0 || i == nutMaxVarint {
			if b.err == nil {
				b.err = nutErrorf("truncated header")
			}
			return 0
		}
		c := b.p[0]
		b.p = b.p[1:]
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return v
		}
	}
}

func (b *nutBuf) s() int64 {
	v := int64(b.v()) + 1
	if v&1 != 0 {
		return -(v >> 1)
	}
	return v >> 1
}

func (b *nutBuf) bytes(n uint64) []byte {
	if uint64(len(b.p)) < n {
		if b.err == nil {
			b.err = nutErrorf("truncated header")
		}
		return nil
	}
	out := append([]byte(nil), b.p[:n]...)
	b.p = b.p[n:]
	return out
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
	var raw []byte
	size, err := n.readVRaw(&raw)
	if err != nil {
		return nil, unexpected(err)
	}
	hcrc = nutCRC(hcrc, raw)
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

func (n *nutReader) readVRaw(raw *[]byte) (uint64, error) {
	var v uint64
	for i := 0; ; i++ {
		b, err := n.r.ReadByte()
		if err != nil {
			return 0, err
		}
		*raw = append(*raw, b)
		if i == nutMaxVarint {
			return 0, nutErrorf("varint too long")
		}
		v = v<<7 | uint64(b&0x7f)
		if b&0x80 == 0 {
			return v, nil
		}
	}
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
		for f := uint64(8); f < fields; f++ {
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

// readPacket reads the next frame. buf, when it has room, receives the
// payload of a frame of stream bufStream (the reused video frame buffer);
// other payloads are freshly allocated. It returns io.EOF at a clean end.
func (n *nutReader) readPacket(bufStream int, buf []byte) (nutPacket, error) {
	if n.err != nil {
		return nutPacket{}, n.err
	}
	p, err := n.readPacket1(bufStream, buf)
	if err != nil {
		n.err = err
	}
	return p, err
}

func (n *nutReader) readPacket1(bufStream int, buf []byte) (nutPacket, error) {
	for {
		var code uint64
		var fc byte
		if n.pending != 0 {
			code, n.pending = n.pending, 0
		} else {
			b, err := n.r.ReadByte()
			if err != nil {
				return nutPacket{}, err // io.EOF between packets is a clean end
			}
			if b == 'N' {
				if code, err = n.readStartcodeRest(b); err != nil {
					return nutPacket{}, err
				}
			} else {
				fc = b
			}
		}
		switch code {
		case 0:
			return n.readFrame(fc, bufStream, buf)
		case nutSyncpointStartcode:
			body, err := n.readPacketBody(code)
			if err != nil {
				return nutPacket{}, err
			}
			b := &nutBuf{p: body}
			tt := b.v()
			b.v() // back_ptr
			if b.err != nil {
				return nutPacket{}, b.err
			}
			tb := n.timeBases[tt%uint64(len(n.timeBases))]
			ts := int64(tt / uint64(len(n.timeBases)))
			for i, s := range n.streams {
				// av_rescale_rnd(ts, tb.num*s.den, tb.den*s.num, ROUND_DOWN), exact in practice.
				n.lastPTS[i] = floorDiv(ts*tb.Num*s.TimeBase.Den, tb.Den*s.TimeBase.Num)
			}
		case nutMainStartcode, nutStreamStartcode, nutIndexStartcode, nutInfoStartcode:
			if _, err := n.readPacketBody(code); err != nil {
				return nutPacket{}, err
			}
		default:
			return nutPacket{}, nutErrorf("unknown startcode %016x", code)
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (n *nutReader) readFrame(code byte, bufStream int, buf []byte) (nutPacket, error) {
	fc := n.codes[code]
	flags := fc.flags
	if flags&nutFlagInvalid != 0 {
		return nutPacket{}, nutErrorf("invalid frame code 0x%02x", code)
	}
	v := func() uint64 {
		x, err := n.readV()
		if err != nil && n.err == nil {
			n.err = unexpected(err)
		}
		return x
	}
	if flags&nutFlagCoded != 0 {
		flags ^= v()
	}
	stream := fc.stream
	if flags&nutFlagStreamID != 0 {
		stream = v()
	}
	if n.err != nil {
		return nutPacket{}, n.err
	}
	if stream >= uint64(len(n.streams)) {
		return nutPacket{}, nutErrorf("frame for stream %d", stream)
	}
	st := &n.streams[stream]
	var pts int64
	if flags&nutFlagCodedPTS != 0 {
		coded := v()
		shift := st.MsbPTSShift
		if coded < 1<<shift {
			mask := int64(1)<<shift - 1
			delta := n.lastPTS[stream] - mask/2
			pts = ((int64(coded)-delta)&mask + delta)
		} else {
			pts = int64(coded - 1<<shift)
		}
	} else {
		pts = n.lastPTS[stream] + fc.ptsDelta
	}
	size := fc.sizeLSB
	if flags&nutFlagSizeMSB != 0 {
		size += fc.sizeMul * v()
	}
	if flags&nutFlagMatchTime != 0 {
		v()
	}
	headerIdx := fc.headerIdx
	if flags&nutFlagHeaderIdx != 0 {
		headerIdx = v()
	}
	reserved := fc.reserved
	if flags&nutFlagReserved != 0 {
		reserved = v()
	}
	if reserved > 256 {
		return nutPacket{}, nutErrorf("%d reserved fields", reserved)
	}
	for range reserved {
		v()
	}
	if flags&nutFlagChecksum != 0 {
		var c [4]byte
		if _, err := io.ReadFull(n.r, c[:]); err != nil && n.err == nil {
			n.err = unexpected(err)
		}
	}
	if n.err != nil {
		return nutPacket{}, n.err
	}
	if headerIdx >= uint64(len(n.elision)) {
		return nutPacket{}, nutErrorf("elision header %d", headerIdx)
	}
	if size > 4096 {
		headerIdx = 0
	}
	head := n.elision[headerIdx]
	if size < uint64(len(head)) || size > 1<<31 {
		return nutPacket{}, nutErrorf("frame size %d", size)
	}
	size -= uint64(len(head))
	n.lastPTS[stream] = pts
	if flags&nutFlagSMData != 0 {
		// Side and meta data (NUT version 4) are not used by custody; skip.
		skipped, err := n.skipSMData()
		if err != nil {
			return nutPacket{}, err
		}
		if skipped > size {
			return nutPacket{}, nutErrorf("side data larger than frame")
		}
		size -= skipped
	}
	total := uint64(len(head)) + size
	var data []byte
	switch {
	case int(stream) == bufStream && uint64(cap(buf)) >= total:
		data = buf[:total]
	case total > nutMaxAlloc:
		return nutPacket{}, nutErrorf("%d-byte packet for stream %d", total, stream)
	default:
		data = make([]byte, total)
	}
	copy(data, head)
	if _, err := io.ReadFull(n.r, data[len(head):]); err != nil {
		return nutPacket{}, unexpected(err)
	}
	return nutPacket{Stream: int(stream), PTS: pts, Key: flags&nutFlagKey != 0, Data: data}, nil
}

func (n *nutReader) skipSMData() (uint64, error) {
	var count uint64
	cr := &countingByteReader{r: n.r}
	rv := func() uint64 {
		var v uint64
		for i := 0; i < 10; i++ {
			b, err := cr.ReadByte()
			if err != nil {
				return 0
			}
			v = v<<7 | uint64(b&0x7f)
			if b&0x80 == 0 {
				return v
			}
		}
		return 0
	}
	skip := func(k uint64) {
		for ; k > 0 && cr.err == nil; k-- {
			cr.ReadByte()
		}
	}
	rs := func() int64 {
		v := int64(rv()) + 1
		if v&1 != 0 {
			return -(v >> 1)
		}
		return v >> 1
	}
	for range 2 { // side data, then meta data
		count = rv()
		if count > 1024 {
			return 0, nutErrorf("%d side data entries", count)
		}
		for range count {
			skip(rv()) // name
			switch val := rs(); {
			case val == -1:
				skip(rv())
			case val == -2:
				skip(rv()) // type
				skip(rv()) // value
			case val == -3:
				rs()
			case val == -4:
				rv()
			case val < -4:
				rs()
			}
		}
	}
	if cr.err != nil {
		return 0, unexpected(cr.err)
	}
	return cr.n, nil
}

type countingByteReader struct {
	r   *bufio.Reader
	n   uint64
	err error
}

func (c *countingByteReader) ReadByte() (byte, error) {
	if c.err != nil {
		return 0, c.err
	}
	b, err := c.r.ReadByte()
	if err != nil {
		c.err = err
		return 0, err
	}
	c.n++
	return b, nil
}

// ---- writing ----

// nutWriter muxes NUT for ffmpeg to read from a pipe. Every frame carries
// its stream id, full timestamp, size and a header checksum, so a single
// frame code suffices; a syncpoint precedes any frame that would otherwise
// start more than max_distance bytes after the previous one, which ffmpeg's
// demuxer requires.
type nutWriter struct {
	raw      io.Writer
	w        *bufio.Writer
	streams  []nutStream
	tbIndex  []int
	tbs      []Rational
	pos      int64
	lastSync int64
	err      error
	hdr      []byte
}

const nutWriteMaxDistance = 65536

func newNUTWriter(w io.Writer, streams []nutStream, infos [][]byte) (*nutWriter, error) {
	nw := &nutWriter{raw: w, w: bufio.NewWriterSize(w, 1<<16), streams: streams, lastSync: -1 << 62}
	for _, s := range streams {
		idx := -1
		for i, tb := range nw.tbs {
			if tb == s.TimeBase {
				idx = i
			}
		}
		if idx < 0 {
			idx = len(nw.tbs)
			nw.tbs = append(nw.tbs, s.TimeBase)
		}
		nw.tbIndex = append(nw.tbIndex, idx)
	}
	nw.write([]byte(nutID))
	nw.packet(nutMainStartcode, nw.mainHeader())
	for i, s := range streams {
		nw.packet(nutStreamStartcode, nw.streamHeader(i, s))
	}
	for _, info := range infos {
		nw.packet(nutInfoStartcode, info)
	}
	return nw, nw.err
}

func putV(p []byte, v uint64) []byte {
	var tmp [10]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(p, tmp[i:]...)
}

func putS(p []byte, v int64) []byte {
	if v > 0 {
		return putV(p, uint64(2*v-1))
	}
	return putV(p, uint64(-2*v))
}

func (nw *nutWriter) mainHeader() []byte {
	var p []byte
	p = putV(p, 3) // version
	p = putV(p, uint64(len(nw.streams)))
	p = putV(p, nutWriteMaxDistance)
	p = putV(p, uint64(len(nw.tbs)))
	for _, tb := range nw.tbs {
		p = putV(p, uint64(tb.Num))
		p = putV(p, uint64(tb.Den))
	}
	// Frame code 0: everything coded explicitly.
	p = putV(p, nutFlagStreamID|nutFlagCodedPTS|nutFlagSizeMSB|nutFlagChecksum|nutFlagCoded)
	p = putV(p, 6)              // fields
	p = putS(p, 0)              // pts delta
	p = putV(p, 1)              // size mul
	p = putV(p, 0)              // stream
	p = putV(p, 0)              // size lsb
	p = putV(p, 0)              // reserved count
	p = putV(p, 1)              // count
	p = putV(p, nutFlagInvalid) // codes 1..255 unused
	p = putV(p, 6)
	p = putS(p, 0)
	p = putV(p, 1)
	p = putV(p, 0)
	p = putV(p, 0)
	p = putV(p, 0)
	p = putV(p, 254) // 255 codes minus 'N'
	p = putV(p, 0)   // no elision headers
	return p
}

func (nw *nutWriter) streamHeader(id int, s nutStream) []byte {
	var p []byte
	p = putV(p, uint64(id))
	p = putV(p, s.Class)
	p = putV(p, uint64(len(s.Fourcc)))
	p = append(p, s.Fourcc...)
	p = putV(p, uint64(nw.tbIndex[id]))
	p = putV(p, s.MsbPTSShift)
	p = putV(p, s.MaxPTSDistance)
	p = putV(p, s.DecodeDelay)
	p = putV(p, s.Flags)
	p = putV(p, uint64(len(s.Extradata)))
	p = append(p, s.Extradata...)
	switch s.Class {
	case nutVideo:
		p = putV(p, s.Width)
		p = putV(p, s.Height)
		p = putV(p, s.SARNum)
		p = putV(p, s.SARDen)
		p = putV(p, s.Colorspace)
	case nutAudio:
		p = putV(p, s.SampleRateNum)
		p = putV(p, s.SampleRateDen)
		p = putV(p, s.Channels)
	}
	return p
}

func (nw *nutWriter) write(p []byte) {
	if nw.err != nil {
		return
	}
	n, err := nw.w.Write(p)
	nw.pos += int64(n)
	nw.err = err
}

// packet writes a header packet: startcode, forward pointer, payload and
// checksums.
func (nw *nutWriter) packet(startcode uint64, payload []byte) {
	h := nw.hdr[:0]
	h = binary.BigEndian.AppendUint64(h, startcode)
	fwd := uint64(len(payload) + 4)
	h = putV(h, fwd)
	if fwd > 4096 {
		h = binary.BigEndian.AppendUint32(h, nutCRC(0, h))
	}
	nw.hdr = h
	nw.write(h)
	nw.write(payload)
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], nutCRC(0, payload))
	nw.write(c[:])
}

// writePacket writes one frame. pts must be >= 0 (NUT cannot code a
// negative time).
func (nw *nutWriter) writePacket(p nutPacket) error {
	if nw.err != nil {
		return nw.err
	}
	if p.Stream < 0 || p.Stream >= len(nw.streams) {
		return fmt.Errorf("NUT writer: no stream %d", p.Stream)
	}
	if p.PTS < 0 {
		return fmt.Errorf("NUT writer: negative timestamp %d", p.PTS)
	}
	s := nw.streams[p.Stream]
	// A frame header is at most ~40 bytes: resync before it if its start
	// would lie beyond max_distance from the last syncpoint.
	if nw.pos+64-nw.lastSync > nutWriteMaxDistance {
		nw.lastSync = nw.pos
		var sp []byte
		sp = putV(sp, uint64(p.PTS)*uint64(len(nw.tbs))+uint64(nw.tbIndex[p.Stream]))
		sp = putV(sp, 0) // back_ptr: no seeking on a pipe
		nw.packet(nutSyncpointStartcode, sp)
	}
	h := nw.hdr[:0]
	h = append(h, 0) // frame code 0
	var coded uint64
	if p.Key {
		coded = nutFlagKey
	}
	h = putV(h, coded)
	h = putV(h, uint64(p.Stream))
	h = putV(h, uint64(p.PTS)+1<<s.MsbPTSShift)
	h = putV(h, uint64(len(p.Data)))
	h = binary.BigEndian.AppendUint32(h, nutCRC(0, h))
	nw.hdr = h
	nw.write(h)
	if len(p.Data) < nw.w.Available() || nw.err != nil {
		nw.write(p.Data)
		return nw.err
	}
	// A raw frame goes straight to the pipe, not through the buffer: one
	// large write instead of a copy and many small ones.
	if nw.err = nw.w.Flush(); nw.err != nil {
		return nw.err
	}
	n, err := nw.raw.Write(p.Data)
	nw.pos += int64(n)
	nw.err = err
	return err
}

func (nw *nutWriter) flush() error {
	if nw.err != nil {
		return nw.err
	}
	nw.err = nw.w.Flush()
	return nw.err
}
