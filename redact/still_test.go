package redact

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/custody-evidence/custody/media"
)

// withEXIF returns a JPEG with an APP1 Exif segment carrying orientation o
// (in byte order bo) spliced in after SOI.
func withEXIF(jpeg []byte, o uint16, bo binary.ByteOrder) []byte {
	return withEXIFPadded(jpeg, o, bo, 0)
}

// withEXIFPadded is withEXIF with pad bytes after the IFD, as a camera's
// embedded thumbnail would add.
func withEXIFPadded(jpeg []byte, o uint16, bo binary.ByteOrder, pad int) []byte {
	var t bytes.Buffer
	if bo == binary.LittleEndian {
		t.WriteString("II*\x00")
	} else {
		t.WriteString("MM\x00*")
	}
	binary.Write(&t, bo, uint32(8))      // IFD0 offset
	binary.Write(&t, bo, uint16(2))      // two entries
	binary.Write(&t, bo, uint16(0x010F)) // Make, ASCII: skipped
	binary.Write(&t, bo, uint16(2))
	binary.Write(&t, bo, uint32(4))
	t.WriteString("cam\x00")
	binary.Write(&t, bo, uint16(0x0112)) // Orientation, SHORT, 1
	binary.Write(&t, bo, uint16(3))
	binary.Write(&t, bo, uint32(1))
	binary.Write(&t, bo, o)
	binary.Write(&t, bo, uint16(0))
	binary.Write(&t, bo, uint32(0)) // no next IFD
	t.Write(make([]byte, pad))
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	out := append([]byte{0xFF, 0xD8, 0xFF, 0xE1}, byte((len(seg)+2)>>8), byte(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpeg[2:]...)
}

func TestParseEXIFOrientation(t *testing.T) {
	plain := []byte{0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 1, 2, 0xFF, 0xDA, 0, 2}
	tiff := func(s string) []byte {
		seg := append([]byte("Exif\x00\x00"), s...)
		return append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
	}
	cases := []struct {
		name string
		in   []byte
		want int // 0: no orientation
	}{
		{"empty", nil, 0},
		{"not a JPEG", []byte("\x89PNG\r\n\x1a\n...."), 0},
		{"JPEG without EXIF", plain, 0},
		{"little-endian 6", withEXIF(plain, 6, binary.LittleEndian), 6},
		{"big-endian 8", withEXIF(plain, 8, binary.BigEndian), 8},
		{"big-endian 1", withEXIF(plain, 1, binary.BigEndian), 1},
		{"out of range 0", withEXIF(plain, 0, binary.BigEndian), 0},
		{"out of range 9", withEXIF(plain, 9, binary.LittleEndian), 0},
		{"bad byte order", tiff("XX*\x00\x00\x00\x00\x08\x00\x00"), 0},
		{"IFD offset past the end", tiff("MM\x00*\x00\x00\xff\xff"), 0},
		{"entry count past the end", tiff("MM\x00*\x00\x00\x00\x08\x00\x09"), 0},
		{"segment length past the end", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x40, 0x00, 'E', 'x'}, 0},
		{"EXIF after the image data is not read", append(append([]byte{}, plain...), withEXIF(plain, 6, binary.BigEndian)[2:]...), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseEXIFOrientation(c.in)
			if c.want == 0 {
				if err == nil {
					t.Fatalf("got orientation %d, want none", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %d, %v; want %d", got, err, c.want)
			}
		})
	}
}

// TestOrientBGR checks the eight orientations against their definitions on
// a 3x2 image whose pixels are all different.
func TestOrientBGR(t *testing.T) {
	// Pixel value = 10*row + column, stored in B.
	src := make([]byte, 3*2*3)
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			src[(y*3+x)*3] = byte(10*y + x)
		}
	}
	want := map[int][][]byte{
		1: {{0, 1, 2}, {10, 11, 12}},
		2: {{2, 1, 0}, {12, 11, 10}},
		3: {{12, 11, 10}, {2, 1, 0}},
		4: {{10, 11, 12}, {0, 1, 2}},
		5: {{0, 10}, {1, 11}, {2, 12}},
		6: {{10, 0}, {11, 1}, {12, 2}},
		7: {{12, 2}, {11, 1}, {10, 0}},
		8: {{2, 12}, {1, 11}, {0, 10}},
	}
	for o := 1; o <= 8; o++ {
		out, w, h := orientBGR(src, 3, 2, o)
		if h != len(want[o]) || w != len(want[o][0]) {
			t.Fatalf("orientation %d: %dx%d", o, w, h)
		}
		for y := range want[o] {
			for x := range want[o][y] {
				if got := out[(y*w+x)*3]; got != want[o][y][x] {
					t.Errorf("orientation %d: pixel (%d,%d) = %d, want %d", o, x, y, got, want[o][y][x])
				}
			}
		}
	}
}

func TestReadStillRefuses(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.jpg")
	os.WriteFile(notImage, []byte("minutes of the meeting\n"), 0o644)
	// A PNG header claiming 100000 x 100000 pixels.
	var huge bytes.Buffer
	png.Encode(&huge, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := huge.Bytes()
	binary.BigEndian.PutUint32(b[16:], 100000)
	binary.BigEndian.PutUint32(b[20:], 100000)
	hugeFile := filepath.Join(dir, "huge.png")
	os.WriteFile(hugeFile, b, 0o644)
	for _, p := range []string{notImage, hugeFile, filepath.Join(dir, "empty.png")} {
		if p == filepath.Join(dir, "empty.png") {
			os.WriteFile(p, nil, 0o644)
		}
		if _, _, _, err := readStill(p); !errors.Is(err, media.ErrNotMedia) {
			t.Errorf("%s: got %v, want ErrNotMedia", filepath.Base(p), err)
		}
	}
}

func TestReadStillPNG(t *testing.T) {
	// A paletted PNG with transparency, to exercise the colour conversion.
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{10, 20, 30, 255}, color.RGBA{0, 0, 0, 0}})
	pal.SetColorIndex(1, 0, 1)
	var buf bytes.Buffer
	png.Encode(&buf, pal)
	p := filepath.Join(t.TempDir(), "p.png")
	os.WriteFile(p, buf.Bytes(), 0o644)
	bgr, w, h, err := readStill(p)
	if err != nil || w != 2 || h != 1 {
		t.Fatalf("%v %dx%d", err, w, h)
	}
	if want := []byte{30, 20, 10, 0, 0, 0}; !bytes.Equal(bgr, want) {
		t.Fatalf("got %v, want %v (BGR, transparent over black)", bgr, want)
	}
}

func FuzzParseEXIFOrientation(f *testing.F) {
	plain := []byte{0xFF, 0xD8, 0xFF, 0xDA}
	f.Add(withEXIF(plain, 6, binary.LittleEndian))
	f.Add(withEXIF(plain, 3, binary.BigEndian))
	f.Add(plain)
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseEXIFOrientation(b)
		if err == nil && (o < 1 || o > 8) {
			t.Fatalf("orientation %d accepted", o)
		}
	})
}
