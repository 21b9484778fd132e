package media

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestNUTWriterFFmpeg writes NUT by hand (odd time base, uneven gaps, a
// jump of an hour, frames of several sizes, an audio stream) and checks
// that ffmpeg reads back every packet with its exact timestamp, size and
// key flag.
func TestNUTWriterFFmpeg(t *testing.T) {
	streams := []nutStream{
		{Class: nutVideo, Fourcc: []byte("BGR\x18"), TimeBase: Rational{1, 90000}, MsbPTSShift: 14, MaxPTSDistance: 90000,
			Width: 4, Height: 2, SARNum: 1, SARDen: 1},
		{Class: nutAudio, Fourcc: []byte{0x01, 0x00}, TimeBase: Rational{1, 8000}, MsbPTSShift: 14, MaxPTSDistance: 8000,
			SampleRateNum: 8000, SampleRateDen: 1, Channels: 1},
	}
	var buf bytes.Buffer
	w, err := newNUTWriter(&buf, streams, nil)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 4*2*3)
	var want []string
	vpts := []int64{0, 3003, 6006, 6007, 15015, 15015 + 3600*90000}
	for i, p := range vpts {
		for j := range frame {
			frame[j] = byte(i*7 + j)
		}
		if err := w.writePacket(nutPacket{Stream: 0, PTS: p, Key: true, Data: frame}); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmtPkt(0, p, len(frame), "K_"))
		// Audio between video frames, PCM s16le: 80 samples.
		apts := p * 8000 / 90000
		if err := w.writePacket(nutPacket{Stream: 1, PTS: apts, Key: true, Data: make([]byte, 160)}); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmtPkt(1, apts, 160, "K_"))
	}
	// A big frame that needs a syncpoint in the middle of nothing.
	big := make([]byte, 200000)
	if err := w.writePacket(nutPacket{Stream: 1, PTS: 400000000, Key: false, Data: big}); err != nil {
		t.Fatal(err)
	}
	// ffmpeg marks every packet of an intra-only codec (PCM) as a key frame
	// whatever the container says; our reader sees the flag as written.
	ours := append(slices.Clone(want), fmtPkt(1, 400000000, len(big), "__"))
	want = append(want, fmtPkt(1, 400000000, len(big), "K_"))
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hand.nut")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, "ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts,size,flags", "-of", "csv=p=0", p)
	got := fields(out)
	// ffprobe lists packets in file order, which is the order written.
	if !slices.Equal(got, want) {
		t.Errorf("ffprobe reads\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Golden header: the main and stream headers are stable bytes.
	head := buf.Bytes()[:bytes.Index(buf.Bytes(), []byte{0x4e, 0x4b, 0xe4, 0xad})] // up to the first syncpoint
	golden := filepath.Join("testdata", "nut-header.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, head, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(g, head) {
		t.Errorf("NUT header bytes changed (run with -update if intended)")
	}

	// And our reader reads what our writer wrote.
	r := newNUTReader(bytes.NewReader(buf.Bytes()))
	if err := r.readHeader(); err != nil {
		t.Fatal(err)
	}
	var back []string
	for {
		pk, err := r.readPacket(-1, nil)
		if err != nil {
			break
		}
		k := "__"
		if pk.Key {
			k = "K_"
		}
		back = append(back, fmtPkt(pk.Stream, pk.PTS, len(pk.Data), k))
	}
	if !slices.Equal(back, ours) {
		t.Errorf("reader reads back\n%s", strings.Join(back, "\n"))
	}
}

func fmtPkt(stream int, pts int64, size int, flags string) string {
	return strings.Join([]string{itoa(int64(stream)), itoa(pts), itoa(int64(size)), flags}, ",")
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestNUTReaderDamage: a stream cut short or with flipped bytes gives an
// error, never a panic or a runaway allocation.
func TestNUTReaderDamage(t *testing.T) {
	streams := []nutStream{{Class: nutVideo, Fourcc: []byte("BGR\x18"), TimeBase: Rational{1, 30}, MsbPTSShift: 14,
		MaxPTSDistance: 30, Width: 8, Height: 8}}
	var buf bytes.Buffer
	w, err := newNUTWriter(&buf, streams, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := w.writePacket(nutPacket{Stream: 0, PTS: int64(i), Key: true, Data: make([]byte, 8*8*3)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	readAll := func(b []byte) (n int, err error) {
		r := newNUTReader(bytes.NewReader(b))
		if err := r.readHeader(); err != nil {
			return 0, err
		}
		frame := make([]byte, 8*8*3)
		for {
			if _, err := r.readPacket(0, frame); err != nil {
				return n, err
			}
			n++
		}
	}
	if n, err := readAll(good); n != 5 || err.Error() != "EOF" {
		t.Fatalf("intact stream: %d frames, %v", n, err)
	}
	for cut := 0; cut < len(good)-1; cut += 7 {
		if n, err := readAll(good[:cut]); err == nil || n >= 5 {
			t.Fatalf("cut at %d: %d frames, error %v", cut, n, err)
		}
	}
	for i := len(nutID); i < len(good); i += 3 {
		bad := slices.Clone(good)
		bad[i] ^= 0x5a
		_, _ = readAll(bad) // must not panic or hang
	}
}
