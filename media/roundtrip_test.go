package media

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestRoundTrip decodes and re-encodes clips of every kind custody must
// take and checks that frames, timestamps, size, rotation and audio packets
// survive exactly.
func TestRoundTrip(t *testing.T) {
	needFullBuild(t)
	src := "testsrc2=size=%s:rate=30:duration=2"
	sine := []string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2"}
	cases := []struct {
		name    string
		file    string
		args    []string
		w, h    int
		pixfmt  string
		out     string // output name; default out.mp4
		audio   bool
		adts    bool   // AAC in ADTS framing: compare payloads without the 7-byte ADTS headers
		ticks   bool   // audio in a 90 kHz time base, written at its sample rate: times within a sample
		rotate  string // rotate tag set on a stream copy of the clip
		codecIn string
	}{
		{name: "h264 vfr aac", file: "vfr.mp4", w: 320, h: 240, pixfmt: "yuv420p", audio: true, codecIn: "h264",
			args: append(append([]string{"-f", "lavfi", "-i", strings.Replace(src, "%s", "320x240", 1)}, sine...),
				"-vf", `select=not(eq(mod(n\,4)\,1))*not(eq(mod(n\,7)\,3))`, "-fps_mode", "vfr",
				"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")},
		{name: "h265 matroska", file: "hevc.mkv", w: 320, h: 240, pixfmt: "yuv420p", audio: true, codecIn: "hevc",
			args: append(append([]string{"-f", "lavfi", "-i", strings.Replace(src, "%s", "320x240", 1)}, sine...),
				"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-c:a", "aac", "-shortest")},
		{name: "mjpeg avi pcm", file: "mjpeg.avi", w: 320, h: 240, pixfmt: "yuv420p", audio: true, codecIn: "mjpeg", out: "out.mov",
			args: append(append([]string{"-f", "lavfi", "-i", strings.Replace(src, "%s", "320x240", 1)}, sine...),
				"-c:v", "mjpeg", "-q:v", "3", "-c:a", "pcm_s16le", "-shortest")},
		// MPEG-1/2 with MP2 audio: ffmpeg's NUT main header then carries
		// elision headers and a ten-byte varint.
		{name: "mpeg-1 mp2 program stream", file: "m1.mpg", w: 320, h: 240, pixfmt: "yuv420p", audio: true, codecIn: "mpeg1video", out: "out.mov", ticks: true,
			args: append(append([]string{"-f", "lavfi", "-i", strings.Replace(src, "%s", "320x240", 1)}, sine...),
				"-c:v", "mpeg1video", "-q:v", "4", "-c:a", "mp2", "-shortest")},
		{name: "mpeg-2 mp2 transport stream", file: "m2.ts", w: 320, h: 240, pixfmt: "yuv420p", audio: true, codecIn: "mpeg2video", out: "out.mov", ticks: true,
			args: append(append([]string{"-f", "lavfi", "-i", strings.Replace(src, "%s", "320x240", 1)}, sine...),
				"-c:v", "mpeg2video", "-q:v", "4", "-c:a", "mp2", "-shortest", "-f", "mpegts")},
		{name: "hevc 10-bit", file: "h10.mkv", w: 320, h: 240, pixfmt: "yuv420p", audio: true, codecIn: "hevc",
			args: append(append([]string{"-f", "lavfi", "-i", strings.Replace(src, "%s", "320x240", 1)}, sine...),
				"-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-preset", "ultrafast", "-x265-params", "log-level=error",
				"-c:a", "aac", "-shortest")},
		// testsrc, not testsrc2: the latter rounds sizes to even.
		{name: "odd size", file: "odd.mp4", w: 321, h: 239, pixfmt: "yuv444p", codecIn: "h264",
			args: []string{"-f", "lavfi", "-i", "testsrc=size=321x239:rate=30:duration=2",
				"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"}},
		{name: "odd height only", file: "oddh.mp4", w: 320, h: 239, pixfmt: "yuv444p", codecIn: "h264",
			args: []string{"-f", "lavfi", "-i", "testsrc=size=320x239:rate=30:duration=2",
				"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"}},
		{name: "odd size mjpeg", file: "odd.avi", w: 321, h: 239, pixfmt: "yuv444p", codecIn: "mjpeg",
			args: []string{"-f", "lavfi", "-i", "testsrc=size=321x239:rate=25:duration=2",
				"-c:v", "mjpeg", "-pix_fmt", "yuvj444p"}},
		{name: "rotated 90", file: "rot.mp4", w: 240, h: 320, pixfmt: "yuv420p", audio: true, rotate: "90", codecIn: "h264",
			args: append(append([]string{"-f", "lavfi", "-i", strings.Replace(src, "%s", "240x320", 1)}, sine...),
				"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")},
		{name: "mpegts offset start", file: "cam.ts", w: 320, h: 240, pixfmt: "yuv420p", audio: true, adts: true, codecIn: "h264",
			args: append(append([]string{"-f", "lavfi", "-i", strings.Replace(src, "%s", "320x240", 1)}, sine...),
				"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-output_ts_offset", "1.4")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := makeClip(t, dir, tc.file, tc.args...)
			if tc.rotate != "" {
				in = makeClip(t, dir, "rotated-"+tc.file, "-i", in, "-c", "copy", "-metadata:s:v:0", "rotate="+tc.rotate)
			}
			pin := probeJSONFile(t, in)
			if got := pin.video().CodecName; got != tc.codecIn {
				t.Fatalf("test clip codec %s, want %s", got, tc.codecIn)
			}
			info, err := Probe(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			name := tc.out
			if name == "" {
				name = "out.mp4"
			}
			out := filepath.Join(dir, name)
			format, err := FormatForPath(out)
			if err != nil {
				t.Fatal(err)
			}
			n := transcode(t, in, out, DecodeOptions{Audio: true},
				EncodeOptions{Preset: "ultrafast", Rotation: info.Video.Rotation, Format: format}, nil)

			inPTS, outPTS := framePTS(t, in), framePTS(t, out)
			if n != len(inPTS) {
				t.Errorf("decoded %d frames, ffprobe counts %d", n, len(inPTS))
			}
			if !slices.Equal(inPTS, outPTS) {
				t.Errorf("frame timestamps differ:\n in  %d %v\n out %d %v", len(inPTS), head(inPTS), len(outPTS), head(outPTS))
			}
			pout := probeJSONFile(t, out)
			v := pout.video()
			if v.Width != tc.w || v.Height != tc.h {
				t.Errorf("output %dx%d, want %dx%d", v.Width, v.Height, tc.w, tc.h)
			}
			if v.PixFmt != tc.pixfmt {
				t.Errorf("output pix_fmt %s, want %s", v.PixFmt, tc.pixfmt)
			}
			if got, want := v.rotation(), pin.video().rotation(); got != want {
				t.Errorf("output rotation %v, want %v", got, want)
			}
			if tc.audio {
				var inMD5 string
				if tc.adts {
					// MP4 carries AAC without ADTS headers; ffmpeg strips them
					// on the copy. The payload must still be bit-exact.
					inMD5 = strings.TrimSpace(run(t, "ffmpeg", "-v", "error", "-i", in, "-map", "0:a", "-c", "copy",
						"-bsf:a", "aac_adtstoasc", "-f", "md5", "-"))
				} else {
					inMD5 = audioMD5(t, in)
				}
				if outMD5 := audioMD5(t, out); inMD5 != outMD5 {
					t.Errorf("audio packets differ: md5 %s in, %s out", inMD5, outMD5)
				}
				a, b := audioPackets(t, in), audioPackets(t, out)
				if tc.adts {
					a, b = dropSizes(a), dropSizes(b)
				}
				if !slices.Equal(a, b) && !(tc.ticks && sameWithin(a, b, 1.0/48000)) {
					t.Errorf("audio packet timing differs:\n in  %d %v\n out %d %v", len(a), head(a), len(b), head(b))
				}
			}
		})
	}
}

// sameWithin says whether two "pts,dts,size" listings have the same sizes
// and times within tol seconds.
func sameWithin(a, b []string, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		fa, fb := strings.Split(a[i], ","), strings.Split(b[i], ",")
		if len(fa) != 3 || len(fb) != 3 || fa[2] != fb[2] {
			return false
		}
		for j := 0; j < 2; j++ {
			x, err1 := strconv.ParseFloat(fa[j], 64)
			y, err2 := strconv.ParseFloat(fb[j], 64)
			if err1 != nil || err2 != nil || math.Abs(x-y) > tol {
				return false
			}
		}
	}
	return true
}

// dropSizes keeps pts and dts of "pts,dts,size" rows.
func dropSizes(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r[:strings.LastIndexByte(r, ',')]
	}
	return out
}

func head(s []string) []string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// TestDecodeTruncated: a clip cut short decodes up to the cut, and the
// decoder says the input was damaged.
func TestDecodeTruncated(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	full := makeClip(t, dir, "full.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=4",
		"-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart")
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.mp4")
	if err := os.WriteFile(cut, data[:len(data)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(context.Background(), cut, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var f Frame
	for {
		if err := d.ReadFrame(&f); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("ReadFrame: %v", err)
			}
			break
		}
	}
	if d.Frames() == 0 || d.Frames() >= 120 {
		t.Errorf("decoded %d frames of a 120-frame clip cut at 60%%", d.Frames())
	}
	if !d.Damaged() {
		t.Errorf("Damaged() = false; stderr: %q", d.Stderr())
	}
}

// TestDecodeErrors: inputs that are not video at all fail cleanly.
func TestDecodeErrors(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.mp4")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(text, []byte("not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{empty, text, filepath.Join(dir, "missing.mp4")} {
		_, err := NewDecoder(context.Background(), p, DecodeOptions{})
		if err == nil {
			t.Errorf("%s: no error", filepath.Base(p))
			continue
		}
		if !errors.Is(err, ErrFFmpeg) && !errors.Is(err, ErrNoFrames) {
			t.Errorf("%s: error %v does not wrap ErrFFmpeg or ErrNoFrames", filepath.Base(p), err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", filepath.Base(p), err)
		}
	}
	if _, err := NewDecoder(context.Background(), text, DecodeOptions{PixelFormat: "rgb48le"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("pixel format rgb48le: error %v, want ErrUnsupported", err)
	}
}

// TestYUV420PassThrough: yuv420p frames pass through the pipes unconverted.
// Decoded, encoded losslessly and decoded again, every plane of every frame
// is the same bytes, where a trip through BGR24 would round the colours;
// timestamps and audio survive as in TestRoundTrip.
func TestYUV420PassThrough(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	in := makeClip(t, dir, "vfr.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=1",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
		"-vf", `select=not(eq(mod(n\,4)\,1))`, "-fps_mode", "vfr",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")
	out := filepath.Join(dir, "out.mp4")
	yuv := DecodeOptions{Audio: true, PixelFormat: PixYUV420P}
	n := transcode(t, in, out, yuv, EncodeOptions{CRF: -1, Preset: "ultrafast"}, nil)

	frames := func(path string, opt DecodeOptions) [][]byte {
		d, err := NewDecoder(context.Background(), path, opt)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if d.PixelFormat != opt.PixelFormat || d.FrameSize() != FrameBytes(opt.PixelFormat, 320, 240) {
			t.Fatalf("decoder format %s, %d bytes a frame", d.PixelFormat, d.FrameSize())
		}
		var all [][]byte
		var f Frame
		for {
			err := d.ReadFrame(&f)
			if errors.Is(err, io.EOF) {
				return all
			}
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, slices.Clone(f.Data))
		}
	}
	a, b := frames(in, yuv), frames(out, yuv)
	if len(a) != n || len(b) != n {
		t.Fatalf("frames: %d in, %d out, %d transcoded", len(a), len(b), n)
	}
	if got, want := len(a[0]), 320*240*3/2; got != want {
		t.Fatalf("yuv420p frame is %d bytes, want %d", got, want)
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("frame %d differs after a lossless yuv420p round trip", i)
		}
	}
	if !slices.Equal(framePTS(t, in), framePTS(t, out)) {
		t.Errorf("frame timestamps differ")
	}
	if audioMD5(t, in) != audioMD5(t, out) {
		t.Errorf("audio packets differ")
	}
	// The same trip through BGR24 is not exact: the test can tell.
	out2 := filepath.Join(dir, "out-bgr.mp4")
	transcode(t, in, out2, DecodeOptions{Audio: true}, EncodeOptions{CRF: -1, Preset: "ultrafast"}, nil)
	c := frames(out2, yuv)
	same := 0
	for i := range a {
		if slices.Equal(a[i], c[i]) {
			same++
		}
	}
	if same == len(a) {
		t.Errorf("a BGR24 round trip kept every frame exact too: the comparison proves nothing")
	}
}

func TestFrameBytes(t *testing.T) {
	for _, tc := range []struct {
		pixfmt string
		w, h   int
		want   int
	}{
		{PixBGR24, 608, 1080, 608 * 1080 * 3},
		{"", 3, 3, 27},
		{PixYUV420P, 608, 1080, 608*1080 + 2*304*540},
		{PixYUV420P, 321, 239, 321*239 + 2*161*120},
	} {
		if got := FrameBytes(tc.pixfmt, tc.w, tc.h); got != tc.want {
			t.Errorf("FrameBytes(%q, %d, %d) = %d, want %d", tc.pixfmt, tc.w, tc.h, got, tc.want)
		}
	}
}
