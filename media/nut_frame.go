package media

import (
	"io"
)

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

// nutFrameHeader is what a frame header says about its frame.
type nutFrameHeader struct {
	flags     uint64
	stream    uint64
	pts       int64
	size      uint64 // the whole frame, elided header included
	headerIdx uint64
}

// readFrameHeader reads the fields of a frame header after its frame
// code: what the code does not fix is coded explicitly.
func (n *nutReader) readFrameHeader(code byte) (nutFrameHeader, error) {
	fc := n.codes[code]
	h := nutFrameHeader{flags: fc.flags, stream: fc.stream, size: fc.sizeLSB, headerIdx: fc.headerIdx}
	if h.flags&nutFlagInvalid != 0 {
		return h, nutErrorf("invalid frame code 0x%02x", code)
	}
	v := func() uint64 {
		x, err := readV(n.r)
		if err != nil && n.err == nil {
			n.err = unexpected(err)
		}
		return x
	}
	if h.flags&nutFlagCoded != 0 {
		h.flags ^= v()
	}
	if h.flags&nutFlagStreamID != 0 {
		h.stream = v()
	}
	if n.err != nil {
		return h, n.err
	}
	if h.stream >= uint64(len(n.streams)) {
		return h, nutErrorf("frame for stream %d", h.stream)
	}
	h.pts = n.lastPTS[h.stream] + fc.ptsDelta
	if h.flags&nutFlagCodedPTS != 0 {
		h.pts = decodePTS(v(), n.streams[h.stream].MsbPTSShift, n.lastPTS[h.stream])
	}
	if h.flags&nutFlagSizeMSB != 0 {
		h.size += fc.sizeMul * v()
	}
	if h.flags&nutFlagMatchTime != 0 {
		v()
	}
	if h.flags&nutFlagHeaderIdx != 0 {
		h.headerIdx = v()
	}
	reserved := fc.reserved
	if h.flags&nutFlagReserved != 0 {
		reserved = v()
	}
	if reserved > 256 {
		return h, nutErrorf("%d reserved fields", reserved)
	}
	for range reserved {
		v()
	}
	if h.flags&nutFlagChecksum != 0 {
		var c [4]byte
		if _, err := io.ReadFull(n.r, c[:]); err != nil && n.err == nil {
			n.err = unexpected(err)
		}
	}
	return h, n.err
}

// decodePTS is a coded timestamp: either its low shift bits, completed
// from the stream's last timestamp, or the whole value plus 1<<shift.
func decodePTS(coded, shift uint64, last int64) int64 {
	if coded < 1<<shift {
		mask := int64(1)<<shift - 1
		delta := last - mask/2
		return (int64(coded)-delta)&mask + delta
	}
	return int64(coded - 1<<shift)
}

func (n *nutReader) readFrame(code byte, bufStream int, buf []byte) (nutPacket, error) {
	h, err := n.readFrameHeader(code)
	if err != nil {
		return nutPacket{}, err
	}
	if h.headerIdx >= uint64(len(n.elision)) {
		return nutPacket{}, nutErrorf("elision header %d", h.headerIdx)
	}
	size := h.size
	if size > 4096 {
		h.headerIdx = 0
	}
	head := n.elision[h.headerIdx]
	if size < uint64(len(head)) || size > 1<<31 {
		return nutPacket{}, nutErrorf("frame size %d", size)
	}
	size -= uint64(len(head))
	n.lastPTS[h.stream] = h.pts
	if h.flags&nutFlagSMData != 0 {
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
	case int(h.stream) == bufStream && uint64(cap(buf)) >= total:
		data = buf[:total]
	case total > nutMaxAlloc:
		return nutPacket{}, nutErrorf("%d-byte packet for stream %d", total, h.stream)
	default:
		data = make([]byte, total)
	}
	copy(data, head)
	if _, err := io.ReadFull(n.r, data[len(head):]); err != nil {
		return nutPacket{}, unexpected(err)
	}
	return nutPacket{Stream: int(h.stream), PTS: h.pts, Key: h.flags&nutFlagKey != 0, Data: data}, nil
}

// skipSMData skips a frame's side and meta data (NUT version 4), which
// custody does not use, and returns how many bytes they took.
func (n *nutReader) skipSMData() (uint64, error) {
	cr := &byteTap{r: n.r}
	rv := func() uint64 {
		v, err := readV(cr)
		if err != nil && cr.err == nil {
			cr.err = err // too long: stop here
		}
		return v
	}
	skip := func(k uint64) {
		for ; k > 0 && cr.err == nil; k-- {
			cr.ReadByte()
		}
	}
	for range 2 { // side data, then meta data
		count := rv()
		if count > 1024 {
			return 0, nutErrorf("%d side data entries", count)
		}
		for range count {
			skip(rv()) // name
			switch val := signedV(rv()); {
			case val == -1: // a string
				skip(rv())
			case val == -2: // a typed value
				skip(rv()) // type
				skip(rv()) // value
			case val <= -3: // a number (s, v, or a timestamp s)
				rv()
			}
		}
	}
	if cr.err != nil {
		return 0, unexpected(cr.err)
	}
	return cr.n, nil
}
