package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMetadataStripped: identifying tags of the input (location, make,
// model, serial, title, encoder, creation time, per-stream handler names)
// are gone from the output unless KeepMetadata.
func TestMetadataStripped(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	secrets := map[string]string{
		"location":      "+51.5074-000.1278/",
		"make":          "AcmeCam",
		"model":         "BodyCam 3",
		"serial_number": "SN-4711-0815",
		"title":         "Ward 7 incident",
		"comment":       "officer 1234",
		"creation_time": "2024-05-01T10:00:00Z",
	}
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
		"-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
		// bitexact audio: ffmpeg's AAC encoder otherwise writes its version
		// into the audio payload, which a bit-exact copy must keep.
		"-flags:a", "+bitexact", "-movflags", "use_metadata_tags", "-metadata:s:v:0", "handler_name=SecretCam"}
	for k, v := range secrets {
		args = append(args, "-metadata", k+"="+v)
	}
	in := makeClip(t, dir, "tagged.mp4", args...)
	tags := probeJSONFile(t, in).Format.Tags
	for k := range secrets {
		if tags[k] == "" {
			t.Fatalf("test clip lacks tag %s: %v", k, tags)
		}
	}
	for _, keep := range []bool{false, true} {
		out := filepath.Join(dir, "out.mp4")
		os.Remove(out)
		transcode(t, in, out, DecodeOptions{Audio: true, Metadata: keep}, EncodeOptions{Preset: "ultrafast", KeepMetadata: keep}, nil)
		p := probeJSONFile(t, out)
		all := ""
		for k, v := range p.Format.Tags {
			all += k + "=" + v + "\n"
		}
		for _, s := range p.Streams {
			for k, v := range s.Tags {
				all += k + "=" + v + "\n"
			}
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range secrets {
			if k == "creation_time" {
				continue // written in binary form in mvhd
			}
			inTags := strings.Contains(all, v)
			inBytes := bytes.Contains(raw, []byte(v))
			if !keep && (inTags || inBytes) {
				t.Errorf("stripped output still holds %s=%q (tags %v, bytes %v)", k, v, inTags, inBytes)
			}
			if keep && k == "title" && !inTags {
				t.Errorf("KeepMetadata lost %s", k)
			}
		}
		if !keep {
			// Version strings would date the tool; "Lavc libx264" (the codec
			// used, no version) may stay.
			for _, v := range []string{"SecretCam", "Lavf5", "Lavc5"} {
				if bytes.Contains(raw, []byte(v)) {
					t.Errorf("stripped output contains %q", v)
				}
			}
			if ct := p.Format.Tags["creation_time"]; ct != "" {
				t.Errorf("stripped output has creation_time %s", ct)
			}
		}
	}
}

// pcm decodes the audio of path to mono float samples at 48 kHz.
func pcm(t *testing.T, path string) []float64 {
	t.Helper()
	raw := run(t, "ffmpeg", "-v", "error", "-i", path, "-map", "0:a", "-ac", "1", "-ar", "48000", "-f", "s16le", "-")
	s := make([]float64, len(raw)/2)
	for i := range s {
		s[i] = float64(int16(binary.LittleEndian.Uint16([]byte(raw[2*i:])))) / 32768
	}
	return s
}

func rms(s []float64) float64 {
	var sum float64
	for _, v := range s {
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(s)))
}

// crossings is the zero-crossing rate per second, twice the frequency of a
// pure tone.
func crossings(s []float64) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / (float64(len(s)) / 48000)
}

// TestAudioMute: the muted range is silent (or a 1 kHz bleep), the rest of
// the audio is the original tone, and the timing is unchanged.
func TestAudioMute(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	in := makeClip(t, dir, "in.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=3",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")
	seg := func(s []float64, a, b float64) []float64 { return s[int(a*48000):int(b*48000)] }
	orig := pcm(t, in)
	level := rms(seg(orig, 0.2, 0.8))
	for _, bleep := range []bool{false, true} {
		out := filepath.Join(dir, "out.mp4")
		os.Remove(out)
		transcode(t, in, out, DecodeOptions{Audio: true},
			EncodeOptions{Preset: "ultrafast", Audio: &AudioEdit{Mute: []TimeRange{{1, 2}}, Bleep: bleep}}, nil)
		s := pcm(t, out)
		if d := math.Abs(float64(len(s)-len(orig))) / 48000; d > 0.05 {
			t.Errorf("bleep=%v: audio length changed by %.3fs", bleep, d)
		}
		before, during, after := rms(seg(s, 0.2, 0.8)), rms(seg(s, 1.1, 1.9)), rms(seg(s, 2.2, 2.8))
		if math.Abs(before-level) > 0.1*level || math.Abs(after-level) > 0.1*level {
			t.Errorf("bleep=%v: unmuted audio changed: rms %.3f/%.3f, original %.3f", bleep, before, after, level)
		}
		if !bleep && during > 0.001 {
			t.Errorf("muted range not silent: rms %.4f", during)
		}
		if bleep {
			if during < 0.1 {
				t.Errorf("bleep range too quiet: rms %.3f", during)
			}
			if f := crossings(seg(s, 1.1, 1.9)) / 2; math.Abs(f-1000) > 20 {
				t.Errorf("bleep at %.0f Hz, want 1000", f)
			}
		}
		// The mute lands on time: 20 ms after its start there is no tone.
		if r := rms(seg(s, 1.02, 1.05)); !bleep && r > 0.001 {
			t.Errorf("mute starts late: rms %.4f at 1.02-1.05s", r)
		}
		if r := rms(seg(s, 0.95, 0.98)); math.Abs(r-level) > 0.15*level {
			t.Errorf("bleep=%v: mute starts early: rms %.3f at 0.95-0.98s", bleep, r)
		}
	}
}

// TestStreamEncoder: a fragmented MP4 written to an io.Writer keeps frames,
// timestamps, audio and rotation.
func TestStreamEncoder(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	clip := makeClip(t, dir, "in.mp4", "-f", "lavfi", "-i", "testsrc2=size=240x320:rate=30:duration=2",
		"-f", "lavfi", "-i", "sine=sample_rate=48000:duration=2", "-vf", `select=not(eq(mod(n\,3)\,1))`, "-fps_mode", "vfr",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest")
	in := makeClip(t, dir, "rot.mp4", "-i", clip, "-c", "copy", "-metadata:s:v:0", "rotate=270")
	info, err := Probe(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if info.Video.Rotation == 0 {
		t.Fatal("test clip is not rotated")
	}
	ctx := context.Background()
	d, err := NewDecoder(ctx, in, DecodeOptions{Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var buf bytes.Buffer
	e, err := NewStreamEncoder(ctx, &buf, d.Layout(), d.Width, d.Height, EncodeOptions{Preset: "ultrafast", Rotation: info.Video.Rotation})
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	for {
		err := d.ReadFrame(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := e.WriteFrame(&f); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.WritePackets(d.Trailing()); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, b := framePTS(t, in), framePTS(t, out); !slices.Equal(a, b) {
		t.Errorf("timestamps differ: %d %v / %d %v", len(a), head(a), len(b), head(b))
	}
	if a, b := audioMD5(t, in), audioMD5(t, out); a != b {
		t.Errorf("audio differs")
	}
	if a, b := probeJSONFile(t, in).video().rotation(), probeJSONFile(t, out).video().rotation(); a != b {
		t.Errorf("rotation %v, want %v", b, a)
	}
}

// TestEncoderErrors: options ffmpeg cannot honour fail before any work,
// with one-line messages.
func TestEncoderErrors(t *testing.T) {
	needFullBuild(t)
	dir := t.TempDir()
	in := makeClip(t, dir, "in.avi", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=0.4",
		"-f", "lavfi", "-i", "sine=duration=0.4", "-c:v", "mjpeg", "-c:a", "pcm_s16le", "-shortest")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opt  EncodeOptions
		want error
	}{
		{"codec", EncodeOptions{Codec: "mpeg2video"}, ErrUnsupported},
		{"preset", EncodeOptions{Preset: "warp"}, ErrUnsupported},
		{"crf", EncodeOptions{CRF: 70}, ErrUnsupported},
		{"format", EncodeOptions{Format: "avi"}, ErrUnsupported},
		{"mkv rotation", EncodeOptions{Format: FormatMatroska, Rotation: 90}, ErrUnsupported},
	} {
		d, err := NewDecoder(ctx, in, DecodeOptions{Audio: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewFileEncoder(ctx, filepath.Join(dir, "x.mp4"), d.Layout(), d.Width, d.Height, tc.opt)
		d.Close()
		if !errors.Is(err, tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// PCM audio cannot be copied into MP4: a clear error naming the fix.
	d, err := NewDecoder(ctx, in, DecodeOptions{Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e, err := NewFileEncoder(ctx, filepath.Join(dir, "pcm.mp4"), d.Layout(), d.Width, d.Height, EncodeOptions{Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = pumpFrames(d, e, nil); err != nil {
		e.Abort()
	} else {
		err = e.Close()
	}
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), ".mov") {
		t.Errorf("pcm into mp4: %v", err)
	}
}
