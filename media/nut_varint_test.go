package media

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
)

// TestReadV: the one varint reader reads what putV writes, on every kind
// of source the NUT reader uses (the pipe, a header read whole, the tap
// that keeps the bytes for a checksum), and refuses a varint longer than
// 10 bytes or cut short.
func TestReadV(t *testing.T) {
	vals := []uint64{0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 1 << 31, 1<<56 - 1, 1 << 56, math.MaxInt64}
	for _, v := range vals {
		enc := putV(nil, v)
		if len(enc) > nutMaxVarint {
			t.Fatalf("putV(%d) is %d bytes", v, len(enc))
		}
		sources := map[string]io.ByteReader{
			"pipe":   bytes.NewReader(enc),
			"header": &nutBuf{p: enc},
			"tap":    &byteTap{r: bytes.NewReader(enc), keep: true},
		}
		for name, r := range sources {
			got, err := readV(r)
			if err != nil || got != v {
				t.Errorf("%s: readV(putV(%d)) = %d, %v", name, v, got, err)
			}
		}
		tap := &byteTap{r: bytes.NewReader(enc), keep: true}
		readV(tap)
		if !bytes.Equal(tap.got, enc) || tap.n != uint64(len(enc)) {
			t.Errorf("tap of %d kept %x (%d bytes), want %x", v, tap.got, tap.n, enc)
		}
		if len(enc) > 1 {
			if _, err := readV(bytes.NewReader(enc[:len(enc)-1])); !errors.Is(err, io.EOF) {
				t.Errorf("readV of %d cut short: %v, want EOF", v, err)
			}
		}
	}
	// A non-canonical encoding (leading 0x80 bytes) is read, up to 10 bytes.
	if got, err := readV(bytes.NewReader([]byte{0x80, 0x80, 0x05})); err != nil || got != 5 {
		t.Errorf("padded varint: %d, %v", got, err)
	}
	// The ten bytes ffmpeg 5.1 writes for a frame code's match field in
	// the main header of an MPEG-1 file with MP2 audio.
	ffmpegMatch := []byte{0x81, 0xc0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}
	if got, err := readV(bytes.NewReader(ffmpegMatch)); err != nil || got != 0xc000000000000001 {
		t.Errorf("ffmpeg's 10-byte varint: %x, %v", got, err)
	}
	long := append(bytes.Repeat([]byte{0x81}, nutMaxVarint), 0x01)
	if _, err := readV(bytes.NewReader(long)); !errors.Is(err, errNUT) {
		t.Errorf("11-byte varint: %v, want a NUT error", err)
	}
	b := &nutBuf{p: long}
	b.v()
	if !errors.Is(b.err, errNUT) {
		t.Errorf("11-byte varint in a header: %v", b.err)
	}
	b = &nutBuf{p: []byte{0x81}}
	if b.v(); b.err == nil || b.err.Error() != "malformed NUT stream from ffmpeg: truncated header" {
		t.Errorf("truncated header: %v", b.err)
	}
}

// TestSignedV: s values round-trip through putS and signedV.
func TestSignedV(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 2, -2, 63, -64, 1 << 40, -(1 << 40)} {
		b := &nutBuf{p: putS(nil, v)}
		if got := b.s(); got != v || b.err != nil {
			t.Errorf("s(putS(%d)) = %d, %v", v, got, b.err)
		}
	}
	for v, want := range map[uint64]int64{0: 0, 1: 1, 2: -1, 3: 2, 4: -2} {
		if got := signedV(v); got != want {
			t.Errorf("signedV(%d) = %d, want %d", v, got, want)
		}
	}
}
