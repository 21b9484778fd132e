package media

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzSniff feeds the sniffer arbitrary bytes, as the start of files that
// may be longer than the bytes given (size = len(data) + extra). The sniffer
// parses untrusted input, so whatever the bytes it must not panic, must
// read no more than its bound, and must give a consistent answer. The
// seed corpus (testdata/fuzz/FuzzSniff) holds the first KiB of a file of
// each container ffmpeg writes, with the rest of its size.
func FuzzSniff(f *testing.F) {
	mp4 := isoBox("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))
	mp4 = append(mp4, isoBox("free", nil)...)
	mp4 = append(mp4, isoBox("mdat", make([]byte, 40))...)
	mp4 = append(mp4, isoBox("moov", isoBox("mvhd", make([]byte, 100)))...)
	f.Add(mp4, uint32(0))
	f.Add(mp4[:60], uint32(0))
	f.Add([]byte("\x00\x00\x00\x00mdat"), uint32(1<<20))
	f.Add([]byte("\x00\x00\x00\x01mdat\x00\x00\x00\x00\x00\x00\x00\x10"), uint32(0))
	f.Add([]byte("ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"), uint32(0))
	f.Add([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, 'x'}, uint32(0))
	f.Fuzz(func(t *testing.T, data []byte, extra uint32) {
		size := int64(len(data)) + int64(extra)
		r := &countingReader{r: bytes.NewReader(data)}
		s := Sniff(r, size)
		if r.n > SniffPrefix+16*maxBoxes {
			t.Fatalf("read %d bytes", r.n)
		}
		if s.Format != "" && s.Image != "" {
			t.Fatalf("both a recording and an image: %+v", s)
		}
		if s.TruncatedAt != 0 && s.TruncatedAt != size {
			t.Fatalf("truncated at %d of a %d-byte file", s.TruncatedAt, size)
		}
		if len(s.Boxes) > keptBoxes || s.BoxCount > maxBoxes || len(s.Boxes) > s.BoxCount {
			t.Fatalf("%d boxes kept of %d", len(s.Boxes), s.BoxCount)
		}
		if (s.NoIndex || len(s.Boxes) > 0) && s.Format != "mp4" && s.Format != "mov" {
			t.Fatalf("box results for format %q", s.Format)
		}
		if again := Sniff(bytes.NewReader(data), size); !reflect.DeepEqual(s, again) {
			t.Fatalf("not deterministic: %+v then %+v", s, again)
		}
		_ = s.String()
	})
}
