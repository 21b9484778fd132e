package media

// NUT is the container custody uses on the pipes between ffmpeg and Go. It is
// the one container ffmpeg reads and writes on a pipe that carries raw video
// next to stream-copied audio with exact rational timestamps, so a frame's
// time survives the round trip (variable frame rate included) and the audio
// packets reach the encoder untouched. Only what ffmpeg's own NUT muxer
// produces, and what its demuxer accepts, is implemented; the layout follows
// FFmpeg's doc/nut.texi and libavformat/nut{dec,enc}.c.
//
// This file has what the reader and the writer share: the constants, the
// stream and packet types, the checksum and the varints. nut_read.go reads
// the headers, nut_frame.go the frames, nut_write.go writes.

import (
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

// ---- varints ----

// NUT codes numbers as varints ("v"): seven bits a byte, most significant
// first, the top bit set on every byte but the last; signed ones ("s") are
// mapped onto them as 1, -1, 2, -2, ... Ten bytes carry 64 bits, and
// FFmpeg writes ten: a frame code's match field, 1-2^62, in the main
// header of a stream with elision headers (MPEG-1/2 video, MP2 or MP3
// audio; with 9, such a file failed as "no decodable frames"). Anything
// longer is malformed.
const nutMaxVarint = 10

var errVarintTooLong = nutErrorf("varint too long")

// readV reads one varint. It is the one varint reader: for frame headers
// on the pipe, header packets read whole (nutBuf), and side data (byteTap).
func readV(r io.ByteReader) (uint64, error) {
	var v uint64
	for range nutMaxVarint {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		v = v<<7 | uint64(b&0x7f)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errVarintTooLong
}

// signedV is the signed number ("s") a varint codes.
func signedV(v uint64) int64 {
	s := int64(v) + 1
	if s&1 != 0 {
		return -(s >> 1)
	}
	return s >> 1
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

// byteTap reads bytes through r, counting them and, with keep, keeping
// them (a header checksum covers the bytes as sent). The first error
// sticks: every later read returns it.
type byteTap struct {
	r    io.ByteReader
	n    uint64
	keep bool
	got  []byte
	err  error
}

func (t *byteTap) ReadByte() (byte, error) {
	if t.err != nil {
		return 0, t.err
	}
	b, err := t.r.ReadByte()
	if err != nil {
		t.err = err
		return 0, err
	}
	t.n++
	if t.keep {
		t.got = append(t.got, b)
	}
	return b, nil
}

// nutBuf reads a header packet that was read whole. The first error
// sticks; reading past the end is a truncated header.
type nutBuf struct {
	p   []byte
	err error
}

func (b *nutBuf) ReadByte() (byte, error) {
	if len(b.p) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	c := b.p[0]
	b.p = b.p[1:]
	return c, nil
}

func (b *nutBuf) v() uint64 {
	v, err := readV(b)
	if err != nil && b.err == nil {
		b.err = nutErrorf("truncated header")
		if errors.Is(err, errNUT) {
			b.err = err
		}
	}
	return v
}

func (b *nutBuf) s() int64 { return signedV(b.v()) }

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
