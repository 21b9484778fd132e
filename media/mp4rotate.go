package media

// ffmpeg 5.1 drops a rotation given as stream metadata when it encodes (it
// only honours it when stream-copying), so custody writes the display
// matrix into the video track's tkhd box itself: a same-size, in-place
// change of nine integers.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

var errNoVideoTrack = errors.New("no video track header found in the MP4 output")

// displayMatrix is ffmpeg's av_display_rotation_set: the matrix whose
// av_display_rotation_get is angle (what ffprobe reports as "rotation").
func displayMatrix(angle int) [9]int32 {
	rad := -float64(angle) * math.Pi / 180
	c, s := math.Cos(rad), math.Sin(rad)
	conv := func(x float64) int32 { return int32(x * (1 << 16)) }
	return [9]int32{conv(c), conv(-s), 0, conv(s), conv(c), 0, 0, 0, 1 << 30}
}

type box struct {
	typ        string
	start, end int64 // whole box
	body       int64 // payload start
}

// readBoxes lists the boxes in [start, end) of r.
func readBoxes(r io.ReaderAt, start, end int64) ([]box, error) {
	var out []box
	for pos := start; pos+8 <= end; {
		var h [16]byte
		if _, err := r.ReadAt(h[:8], pos); err != nil {
			return nil, err
		}
		size := int64(binary.BigEndian.Uint32(h[:4]))
		typ := string(h[4:8])
		body := pos + 8
		switch size {
		case 0:
			size = end - pos
		case 1:
			if _, err := r.ReadAt(h[8:16], pos+8); err != nil {
				return nil, err
			}
			size = int64(binary.BigEndian.Uint64(h[8:16]))
			body = pos + 16
		}
		if size < body-pos || pos+size > end {
			return nil, fmt.Errorf("MP4 box %q at %d has a bad size %d", typ, pos, size)
		}
		out = append(out, box{typ: typ, start: pos, end: pos + size, body: body})
		pos += size
	}
	return out, nil
}

func findBox(bs []box, typ string) (box, bool) {
	for _, b := range bs {
		if b.typ == typ {
			return b, true
		}
	}
	return box{}, false
}

// videoMatrixOffset finds the byte offset of the display matrix in the tkhd
// of the first video track.
func videoMatrixOffset(r io.ReaderAt, size int64) (int64, error) {
	top, err := readBoxes(r, 0, size)
	if err != nil {
		return 0, err
	}
	moov, ok := findBox(top, "moov")
	if !ok {
		return 0, errNoVideoTrack
	}
	traks, err := readBoxes(r, moov.body, moov.end)
	if err != nil {
		return 0, err
	}
	for _, t := range traks {
		if t.typ != "trak" {
			continue
		}
		kids, err := readBoxes(r, t.body, t.end)
		if err != nil {
			return 0, err
		}
		tkhd, ok1 := findBox(kids, "tkhd")
		mdia, ok2 := findBox(kids, "mdia")
		if !ok1 || !ok2 {
			continue
		}
		mk, err := readBoxes(r, mdia.body, mdia.end)
		if err != nil {
			return 0, err
		}
		hdlr, ok := findBox(mk, "hdlr")
		if !ok {
			continue
		}
		var ht [4]byte
		if _, err := r.ReadAt(ht[:], hdlr.body+8); err != nil {
			return 0, err
		}
		if string(ht[:]) != "vide" {
			continue
		}
		var ver [1]byte
		if _, err := r.ReadAt(ver[:], tkhd.body); err != nil {
			return 0, err
		}
		off := tkhd.body + 40 // version 0: flags, times, id, duration, layer, group, volume
		if ver[0] == 1 {
			off = tkhd.body + 52
		}
		if off+36 > tkhd.end {
			return 0, fmt.Errorf("MP4 tkhd box too short")
		}
		return off, nil
	}
	return 0, errNoVideoTrack
}

// matrixBytes is the tkhd matrix for a rotation. MP4 stores the transpose
// of ffmpeg's display matrix (row vectors), that is the matrix of -angle.
func matrixBytes(angle int) []byte {
	m := displayMatrix(-angle)
	b := make([]byte, 0, 36)
	for _, v := range m {
		b = binary.BigEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// setMP4Rotation records the rotation on the video track of the MP4/MOV
// file f.
func setMP4Rotation(f *os.File, angle int) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	off, err := videoMatrixOffset(f, st.Size())
	if err != nil {
		return fmt.Errorf("recording rotation: %w", err)
	}
	_, err = f.WriteAt(matrixBytes(angle), off)
	return err
}

// rotationPatcher sets the rotation on a fragmented MP4 as it streams past:
// it holds back the bytes up to the end of the moov box (written first,
// and small, with empty_moov), patches the matrix and then passes
// everything through.
type rotationPatcher struct {
	w        io.Writer
	rotation int
	buf      []byte
	done     bool
	err      error
}

const maxHeldMoov = 64 << 20

func (p *rotationPatcher) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.done {
		return p.w.Write(b)
	}
	p.buf = append(p.buf, b...)
	if err := p.tryPatch(false); err != nil {
		p.err = err
		return 0, err
	}
	return len(b), nil
}

// tryPatch patches and flushes once the moov box is complete in buf.
func (p *rotationPatcher) tryPatch(final bool) error {
	r := bytes.NewReader(p.buf)
	// Walk top-level boxes present so far.
	var pos int64
	for pos+8 <= int64(len(p.buf)) {
		size := int64(binary.BigEndian.Uint32(p.buf[pos : pos+4]))
		typ := string(p.buf[pos+4 : pos+8])
		if size == 1 {
			if pos+16 > int64(len(p.buf)) {
				break
			}
			size = int64(binary.BigEndian.Uint64(p.buf[pos+8 : pos+16]))
		}
		if size < 8 {
			return fmt.Errorf("recording rotation: MP4 box %q has size %d", typ, size)
		}
		if pos+size > int64(len(p.buf)) {
			break
		}
		if typ == "moov" {
			off, err := videoMatrixOffset(r, pos+size)
			if err != nil {
				return fmt.Errorf("recording rotation: %w", err)
			}
			copy(p.buf[off:], matrixBytes(p.rotation))
			p.done = true
			_, err = p.w.Write(p.buf)
			p.buf = nil
			return err
		}
		pos += size
	}
	if len(p.buf) > maxHeldMoov || final {
		return fmt.Errorf("recording rotation: %w", errNoVideoTrack)
	}
	return nil
}

// finish reports whether the moov box was found and patched.
func (p *rotationPatcher) finish() error {
	if p.err != nil || p.done {
		return p.err
	}
	return p.tryPatch(true)
}
