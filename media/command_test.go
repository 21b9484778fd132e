package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/media/internal/ffargs"
)

const argvGolden = "testdata/ffmpeg-argv.golden"

// TestArgvGolden pins the ffmpeg command lines that ffmpeg-go composes for
// the decoder's and encoder's option tables: they are what custody records
// as how a derivative was made. testdata/ffmpeg-argv.golden lists one
// argument a line under each case; run with -update to rewrite it, and
// review the diff.
func TestArgvGolden(t *testing.T) {
	needFullBuild(t)
	decode := []struct {
		name  string
		input string
		opt   DecodeOptions
	}{
		{"video only, metadata dropped", "/evidence/clip.mp4", DecodeOptions{}},
		{"audio", "/evidence/clip.mp4", DecodeOptions{Audio: true}},
		{"metadata", "/evidence/clip.mp4", DecodeOptions{Metadata: true}},
		{"audio and metadata", "/evidence/clip.mp4", DecodeOptions{Audio: true, Metadata: true}},
		{"loopback URL", "http://127.0.0.1:41234/clip/0a1b2c", DecodeOptions{Audio: true}},
		{"awkward name", "./-i ward 7 (copy).MOV", DecodeOptions{}},
		{"yuv420p frames", "/evidence/clip.mp4", DecodeOptions{Audio: true, PixelFormat: PixYUV420P}},
	}
	const file = "/evidence/.out.mp4.partial-123"
	mute := []TimeRange{{Start: 1.5, End: 2.25}, {Start: -0.5, End: 0.1}}
	encode := []struct {
		name  string
		out   string
		w, h  int
		audio bool
		opt   EncodeOptions
	}{
		{"defaults", file, 1280, 720, true, EncodeOptions{}},
		{"no audio", file, 1280, 720, false, EncodeOptions{}},
		{"stream mp4", pipeOut, 1280, 720, true, EncodeOptions{}},
		{"mov", file, 1280, 720, true, EncodeOptions{Format: FormatMOV}},
		{"matroska", file, 1280, 720, true, EncodeOptions{Format: FormatMatroska}},
		{"stream matroska", pipeOut, 1280, 720, true, EncodeOptions{Format: FormatMatroska}},
		{"x265 mp4", file, 1280, 720, true, EncodeOptions{Codec: "libx265"}},
		{"x265 matroska", file, 1280, 720, false, EncodeOptions{Codec: "libx265", Format: FormatMatroska}},
		{"odd size", file, 321, 241, false, EncodeOptions{}},
		{"lossless slow", file, 1280, 720, false, EncodeOptions{CRF: -1, Preset: "slow"}},
		{"crf 28 ultrafast", file, 1280, 720, false, EncodeOptions{CRF: 28, Preset: "ultrafast"}},
		{"keep metadata", file, 1280, 720, true, EncodeOptions{KeepMetadata: true}},
		{"rotated stream", pipeOut, 1280, 720, true, EncodeOptions{Rotation: 90}},
		{"mute", file, 1280, 720, true, EncodeOptions{Audio: &AudioEdit{Mute: mute}}},
		{"bleep opus", file, 1280, 720, true, EncodeOptions{Format: FormatMatroska,
			Audio: &AudioEdit{Mute: mute, Bleep: true, Codec: "libopus", Bitrate: "96k"}}},
		{"empty edit", file, 1280, 720, true, EncodeOptions{Audio: &AudioEdit{}}},
		{"colour description", file, 1920, 1080, false, EncodeOptions{Color: &VideoInfo{ColorRange: "tv", ColorSpace: "bt709",
			ColorPrimaries: "bt709", ColorTransfer: "bt709"}}},
		{"colour description, odd names dropped", file, 1920, 1080, false, EncodeOptions{Color: &VideoInfo{ColorSpace: "-i /etc/passwd",
			ColorTransfer: "unknown", ColorPrimaries: "bt2020"}}},
	}

	var b bytes.Buffer
	write := func(kind, name string, args []string) {
		fmt.Fprintf(&b, "== %s: %s\n", kind, name)
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, "\n\r") {
				t.Errorf("%s %s: argument %q cannot be written one a line", kind, name, a)
			}
			fmt.Fprintf(&b, "%s\n", a)
		}
		b.WriteString("\n")
	}
	for _, c := range decode {
		args, err := decoderArgs(c.input, c.opt)
		if err != nil {
			t.Fatalf("decode %s: %v", c.name, err)
		}
		checkArgv(t, "decode "+c.name, args, c.input, pipeOut)
		write("decode", c.name, args)
	}
	for _, c := range encode {
		set, err := c.opt.defaults(c.w, c.h)
		if err != nil {
			t.Fatalf("encode %s: %v", c.name, err)
		}
		args, err := encoderArgs(c.out, c.audio, set, c.opt)
		if err != nil {
			t.Fatalf("encode %s: %v", c.name, err)
		}
		checkArgv(t, "encode "+c.name, args, pipeIn, c.out)
		write("encode", c.name, args)
	}

	if *update {
		if err := os.WriteFile(argvGolden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(argvGolden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		got, exp := strings.Split(b.String(), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(got) || i < len(exp); i++ {
			var g, e string
			if i < len(got) {
				g = got[i]
			}
			if i < len(exp) {
				e = exp[i]
			}
			if g != e {
				t.Fatalf("ffmpeg command lines changed (run with -update if intended): %s line %d: got %q, want %q",
					argvGolden, i+1, g, e)
			}
		}
	}
}

// checkArgv checks what the golden file alone would not make obvious: the
// input comes right after its -i, the output name is the one argument after
// the output options, and only global options follow it (ffmpeg ignores
// per-file options after the last output, with a warning).
func checkArgv(t *testing.T, name string, args []string, input, output string) {
	t.Helper()
	i := slices.Index(args, "-i")
	if i < 0 || i+1 >= len(args) || args[i+1] != input {
		t.Errorf("%s: input %q is not the argument after -i: %q", name, input, args)
	}
	o := slices.Index(args, output)
	if o < 0 || slices.Contains(args[o+1:], output) {
		t.Fatalf("%s: output %q not found once: %q", name, output, args)
	}
	global := map[string]bool{"-hide_banner": true, "-nostdin": true, "-nostats": true, "-v": true, "error": true, "-copyts": true, "-y": true}
	for _, a := range args[o+1:] {
		if !global[a] {
			t.Errorf("%s: %q after the output name: %q", name, a, args)
		}
	}
	if args[o-1] == "-i" {
		t.Errorf("%s: output %q is an input: %q", name, output, args)
	}
}

// TestOutputNameNeverS3 guards ffmpeg-go's s3:// behaviour: its Output
// uploads a name starting "s3://" to S3. The only name from outside media
// that reaches Output is an encoder's file path, and it arrives as an
// absolute path, which can start neither that way nor with any other scheme
// ffmpeg would read as a protocol.
func TestOutputNameNeverS3(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"s3://bucket/key.mp4", "s3:/bucket/key.mp4", "pipe:1", "http://example.com/x.mp4", "file:x.mp4", "x.mp4", "./s3://b/k.mp4"} {
		got, err := outputFile(p)
		if err != nil {
			t.Errorf("outputFile(%q): %v", p, err)
			continue
		}
		if want := filepath.Join(wd, p); got != want || strings.HasPrefix(got, "s3:") || !filepath.IsAbs(got) {
			t.Errorf("outputFile(%q) = %q, want %q", p, got, want)
		}
	}
	if _, err := outputFile(""); err == nil {
		t.Error("outputFile(\"\") did not fail")
	}
	set, err := (&EncodeOptions{}).defaults(64, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"s3://bucket/key.mp4", "S3://bucket/key.mp4" /* still relative */, "relative.mp4", "pipe:2"} {
		if args, err := encoderArgs(name, false, set, EncodeOptions{}); err == nil {
			t.Errorf("encoderArgs(%q) composed %q", name, args)
		}
	}
}

// TestFileEncoderS3Name: a file path that starts "s3://" (a local
// directory named "s3:", as Redact's temporary name next to an output
// "s3://bucket/x.mp4" would be) is written to that local file, and the
// recorded command line names it by its absolute path.
func TestFileEncoderS3Name(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	in := makeClip(t, dir, "in.mp4", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=0.3",
		"-c:v", "libx264", "-preset", "ultrafast")
	if err := os.MkdirAll(filepath.Join(dir, "s3:", "bucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	ctx := context.Background()
	d, err := NewDecoder(ctx, in, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const name = "s3://bucket/out.mp4"
	e, err := NewFileEncoder(ctx, name, d.Layout(), d.Width, d.Height, EncodeOptions{Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "s3:", "bucket", "out.mp4")
	if !slices.Contains(e.Args, local) {
		t.Errorf("command line does not name %s: %q", local, e.Args)
	}
	for _, a := range e.Args {
		if strings.Contains(a, "s3://") {
			t.Errorf("command line passes %q", a)
		}
	}
	if _, err := pumpFrames(d, e, nil); err != nil {
		e.Abort()
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(framePTS(t, local)); n != 3 {
		t.Errorf("%s has %d frames, want 3", local, n)
	}
}

// TestStaticBuildRefuses: the decoder and encoder compose their command
// lines in the full build, and in the static build (no ffmpeg-go) refuse
// with ErrStaticBuild before starting anything.
func TestStaticBuildRefuses(t *testing.T) {
	set, err := (&EncodeOptions{}).defaults(64, 64)
	if err != nil {
		t.Fatal(err)
	}
	_, derr := decoderArgs("/in.mp4", DecodeOptions{})
	_, eerr := encoderArgs(pipeOut, false, set, EncodeOptions{})
	for name, err := range map[string]error{"decoder": derr, "encoder": eerr} {
		switch {
		case ffargs.Available && err != nil:
			t.Errorf("full build: %s command line: %v", name, err)
		case !ffargs.Available && !errors.Is(err, ErrStaticBuild):
			t.Errorf("static build: %s command line: %v, want ErrStaticBuild", name, err)
		}
	}
	if ffargs.Available {
		return
	}
	in := filepath.Join(t.TempDir(), "in.mp4")
	if _, err := NewDecoder(context.Background(), in, DecodeOptions{}); !errors.Is(err, ErrStaticBuild) && !errors.Is(err, ErrToolMissing) {
		t.Errorf("static build: NewDecoder: %v", err)
	}
}
