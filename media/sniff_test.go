package media

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sniffClips are real recordings ffmpeg makes for the sniffer's table
// tests, one per container, two seconds each.
var sniffClips = []struct {
	name string
	args []string
}{
	{"faststart.mp4", []string{"-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart"}},
	{"plain.mp4", []string{"-c:v", "libx264", "-c:a", "aac"}},
	{"quicktime.mov", []string{"-c:v", "libx264", "-c:a", "aac"}},
	{"fragmented.mp4", []string{"-c:v", "libx264", "-c:a", "aac", "-movflags", "frag_keyframe+empty_moov"}},
	{"camera.ts", []string{"-c:v", "libx264", "-c:a", "aac"}},
	{"bluray.m2ts", []string{"-c:v", "libx264", "-c:a", "aac"}},
	{"cctv.avi", []string{"-c:v", "mjpeg", "-c:a", "pcm_s16le"}},
	{"clip.mkv", []string{"-c:v", "libx264", "-c:a", "aac"}},
	{"clip.webm", []string{"-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus"}},
	{"dvd.mpg", []string{"-c:v", "mpeg2video", "-c:a", "mp2", "-f", "vob"}},
	{"clip.flv", []string{"-c:v", "libx264", "-c:a", "aac"}},
	{"clip.asf", []string{"-c:v", "wmv2", "-c:a", "wmav2"}},
	{"raw.h264", []string{"-an", "-c:v", "libx264"}},
	{"raw.hevc", []string{"-an", "-c:v", "libx265", "-x265-params", "log-level=error"}},
	{"audio.wav", []string{"-vn"}},
	{"audio.aiff", []string{"-vn"}},
	{"audio.ogg", []string{"-vn", "-c:a", "libvorbis"}},
	{"audio.mp3", []string{"-vn", "-c:a", "libmp3lame"}},
	{"audio.aac", []string{"-vn", "-c:a", "aac", "-f", "adts"}},
}

var (
	sniffOnce sync.Once
	sniffDir  string
)

// sniffFixtures makes the clips once for all the tests that use them.
func sniffFixtures(t testing.TB) string {
	t.Helper()
	sniffOnce.Do(func() {
		dir, err := os.MkdirTemp("", "custody-sniff-")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range sniffClips {
			args := append([]string{"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
				"-t", "2", "-g", "25"}, c.args...)
			makeClip(t, dir, c.name, args...)
		}
		sniffDir = dir
	})
	if sniffDir == "" {
		t.Fatal("fixtures were not made")
	}
	return sniffDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sniffDir != "" {
		os.RemoveAll(sniffDir)
	}
	os.Exit(code)
}

// cut writes the first n bytes of src (n < 0: all but the last -n).
func cut(t *testing.T, src string, n int64, name string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if n < 0 {
		n += int64(len(data))
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data[:n], 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sniffPath(t *testing.T, p string) Signature {
	t.Helper()
	s, err := SniffFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSniffRealFiles: every container ffmpeg wrote is recognised, with no
// problem while whole, and as truncated once cut where the container
// declares its size.
func TestSniffRealFiles(t *testing.T) {
	dir := sniffFixtures(t)
	for _, tc := range []struct {
		file, format string
		detail       string // substring
		cutShows     bool   // a cut in the middle is visible to the sniffer
	}{
		{"faststart.mp4", "mp4", "ftyp isom", true},
		{"plain.mp4", "mp4", "ftyp isom", true},
		{"quicktime.mov", "mov", "ftyp qt", true},
		{"fragmented.mp4", "mp4", "ftyp iso", true},
		{"camera.ts", "mpegts", "188", true},
		{"bluray.m2ts", "m2ts", "192", true},
		{"cctv.avi", "avi", "RIFF AVI", true},
		{"clip.mkv", "matroska", "matroska", true},
		{"clip.webm", "webm", "webm", true},
		{"dvd.mpg", "mpeg-ps", "MPEG-2", false},
		{"clip.flv", "flv", "", false},
		{"clip.asf", "asf", "", false},
		{"raw.h264", "h264", "Annex B", false},
		{"raw.hevc", "hevc", "Annex B", false},
		{"audio.wav", "wav", "RIFF WAVE", true},
		{"audio.aiff", "aiff", "AIFF", true},
		{"audio.ogg", "ogg", "", false},
		{"audio.mp3", "mp3", "", false},
		{"audio.aac", "aac", "ADTS", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			s := sniffPath(t, p)
			if s.Format != tc.format || !strings.Contains(s.Detail, tc.detail) || len(s.Problems) > 0 || s.TruncatedAt != 0 {
				t.Fatalf("whole file: got %+v, want format %s, detail ~%q, no problems", s, tc.format, tc.detail)
			}
			fi, _ := os.Stat(p)
			// An odd cut, so that no packet or box ends there by chance.
			n := fi.Size()/2 + 101
			c := sniffPath(t, cut(t, p, n, "cut-"+tc.file))
			if c.Format != tc.format {
				t.Fatalf("cut file: format %q, want %q", c.Format, tc.format)
			}
			if tc.cutShows != (c.TruncatedAt == n) {
				t.Fatalf("cut at %d: TruncatedAt %d, problems %q (want truncation shown: %v)", n, c.TruncatedAt, c.Problems, tc.cutShows)
			}
		})
	}
}

// TestSniffISOLayouts: the box layouts cameras write, and the no-moov file
// of a camera whose battery died.
func TestSniffISOLayouts(t *testing.T) {
	dir := sniffFixtures(t)
	plain, _ := os.ReadFile(filepath.Join(dir, "plain.mp4"))
	mov, _ := os.ReadFile(filepath.Join(dir, "quicktime.mov"))
	ftypLen := int(binary.BigEndian.Uint32(plain))
	movFtyp := int(binary.BigEndian.Uint32(mov))
	moovAt := bytes.LastIndex(plain, []byte("moov")) - 4

	write := func(name string, data []byte) string {
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, data, 0o644)
		return p
	}
	// A camera that died mid-recording: mdat's size never written (0, to
	// the end of the file) and no moov.
	deadBattery := append([]byte(nil), plain[:moovAt]...)
	mdatAt := bytes.Index(deadBattery, []byte("mdat")) - 4
	binary.BigEndian.PutUint32(deadBattery[mdatAt:], 0)

	for _, tc := range []struct {
		name    string
		data    []byte
		format  string
		noIndex bool
		trunc   bool
		first   string
	}{
		{"free, mdat, moov (no ftyp)", plain[ftypLen:], "mp4", false, false, "free"},
		{"wide, mdat, moov (old QuickTime)", mov[movFtyp:], "mp4", false, false, "wide"},
		{"cut before moov", plain[:moovAt], "mp4", true, false, "ftyp"},
		{"cut inside mdat", plain[:moovAt/2], "mp4", true, true, "ftyp"},
		{"dead battery: mdat to the end, no moov", deadBattery, "mp4", true, false, "ftyp"},
		{"mdat first, cut, no ftyp", deadBattery[mdatAt:], "mp4", true, false, "mdat"},
		{"cut inside moov", plain[:moovAt+20], "mp4", false, true, "ftyp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sniffPath(t, write("x.mp4", tc.data))
			if s.Format != tc.format || s.NoIndex != tc.noIndex || (s.TruncatedAt > 0) != tc.trunc || len(s.Boxes) == 0 || s.Boxes[0].Type != tc.first {
				t.Fatalf("got %+v", s)
			}
			if tc.noIndex && !strings.Contains(strings.Join(s.Problems, "; "), "no moov box") {
				t.Fatalf("problems %q do not say the moov is missing", s.Problems)
			}
		})
	}
}

// TestSniffNotRecordings: text, noise, images (including those in
// recording-like containers) and tiny files are not recordings.
func TestSniffNotRecordings(t *testing.T) {
	dir := t.TempDir()
	png := makeClip(t, dir, "still.png", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1")
	jpg := makeClip(t, dir, "still.jpg", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1")
	pngData, _ := os.ReadFile(png)
	jpgData, _ := os.ReadFile(jpg)
	heic := isoBox("ftyp", []byte("heic\x00\x00\x00\x00mif1heic"))
	heic = append(heic, isoBox("meta", make([]byte, 32))...)
	avif := append(isoBox("ftyp", []byte("avif\x00\x00\x00\x00avifmif1")), isoBox("meta", nil)...)
	webp := append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8 "), make([]byte, 18)...)
	noise := make([]byte, 100_000)
	x := uint32(12345)
	for i := range noise {
		x = x*1664525 + 1013904223
		noise[i] = byte(x >> 24)
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		image string
	}{
		{"text", []byte("This is a text file, not a recording.\nGGGG\n"), ""},
		{"text of Gs at the TS stride", bytes.Repeat(append([]byte("G"), bytes.Repeat([]byte("x"), 187)...), 3), ""},
		{"noise", noise, ""},
		{"png", pngData, ""},
		{"jpeg", jpgData, ""},
		{"heic", heic, "heif"},
		{"avif", avif, "avif"},
		{"webp", webp, "webp"},
		{"a word that is a box name", []byte("1234mdat is not a box\n"), ""},
		{"one byte", []byte{0x47}, ""},
		{"ftyp too short", []byte("\x00\x00\x00\x0cftypisom"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Sniff(bytes.NewReader(tc.data), int64(len(tc.data)))
			if s.Recording() || s.Image != tc.image {
				t.Fatalf("got %+v, want no recording (image %q)", s, tc.image)
			}
		})
	}
	if s := Sniff(bytes.NewReader(nil), 0); s.Recording() {
		t.Fatalf("empty file: %+v", s)
	}
}

// TestSniffReadsBoundedPrefix: Sniff reads the first SniffPrefix bytes and
// box headers only, however large the file.
func TestSniffReadsBoundedPrefix(t *testing.T) {
	dir := sniffFixtures(t)
	data, _ := os.ReadFile(filepath.Join(dir, "camera.ts"))
	big := bytes.Repeat(data, 1+SniffPrefix*8/len(data))
	r := &countingReader{r: bytes.NewReader(big)}
	if s := Sniff(r, int64(len(big))); s.Format != "mpegts" {
		t.Fatalf("got %+v", s)
	}
	if r.n > SniffPrefix {
		t.Fatalf("read %d bytes of a %d-byte file", r.n, len(big))
	}
	plain, _ := os.ReadFile(filepath.Join(dir, "plain.mp4"))
	r = &countingReader{r: bytes.NewReader(plain)}
	Sniff(r, int64(len(plain)))
	if limit := int64(SniffPrefix + 16*maxBoxes); r.n > limit {
		t.Fatalf("read %d bytes, more than %d", r.n, limit)
	}
}

type countingReader struct {
	r *bytes.Reader
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

func isoBox(typ string, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}
