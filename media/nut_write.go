package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

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
