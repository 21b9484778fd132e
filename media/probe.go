package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrNotMedia means ffprobe found no audio or video stream in the input.
var ErrNotMedia = errors.New("not a video or audio recording")

// ErrToolMissing means ffmpeg or ffprobe is not installed.
var ErrToolMissing = errors.New("ffprobe/ffmpeg not found on PATH")

// Info is what custody records about a recording's container and streams.
type Info struct {
	Container string `json:"container"`
	// Damaged is set for a recording that could not be read whole;
	// Damage says what could and could not be read. Duration is then the
	// part that decodes, not what the container declares.
	Damaged    bool              `json:"damaged,omitempty"`
	Damage     *Damage           `json:"damage,omitempty"`
	Duration   float64           `json:"duration_s,omitempty"`
	Bitrate    int64             `json:"bitrate,omitempty"`
	Video      *VideoInfo        `json:"video,omitempty"`
	Audio      *AudioInfo        `json:"audio,omitempty"`
	Streams    int               `json:"streams"`
	Created    *time.Time        `json:"creation_time,omitempty"`
	DeviceTags map[string]string `json:"device_tags,omitempty"`

	// start is the container's start time; video and audio the ffprobe
	// indexes of the streams described (-1: none).
	start        float64
	video, audio int
}

// VideoInfo describes the first video stream.
type VideoInfo struct {
	Codec     string  `json:"codec"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	FrameRate string  `json:"frame_rate,omitempty"` // exact rational, e.g. "30000/1001"
	FPS       float64 `json:"fps,omitempty"`
	Frames    int64   `json:"frames,omitempty"`
	Rotation  int     `json:"rotation,omitempty"`
	PixFmt    string  `json:"pix_fmt,omitempty"`
	// ColorRange is "tv" (limited) or "pc" (full), when the stream says.
	ColorRange string `json:"color_range,omitempty"`
	// ColorSpace, ColorPrimaries and ColorTransfer describe the colours
	// (ffmpeg's names, e.g. bt709), when the stream says.
	ColorSpace     string `json:"color_space,omitempty"`
	ColorPrimaries string `json:"color_primaries,omitempty"`
	ColorTransfer  string `json:"color_transfer,omitempty"`
}

// AudioInfo describes the first audio stream.
type AudioInfo struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sample_rate,omitempty"`
	Channels   int    `json:"channels,omitempty"`
}

// Non-media formats that ffprobe nevertheless "recognises" (plain text is
// demuxed as an ANSI "video" by the tty demuxer).
var nonMediaFormats = map[string]bool{"tty": true, "lrc": true, "srt": true, "ass": true, "webvtt": true, "data": true, "bin": true, "ffmetadata": true}

// stillFormats are ffprobe's demuxers for single images. custody stores
// footage; a photograph is refused so that it is not mistaken for a
// recording (and custody detect reads stills directly).
var stillFormats = map[string]bool{"image2": true, "png_pipe": true, "jpeg_pipe": true, "bmp_pipe": true, "tiff_pipe": true,
	"webp_pipe": true, "gif": true, "gif_pipe": true, "pgm_pipe": true, "ppm_pipe": true, "qoi_pipe": true, "svg_pipe": true, "j2k_pipe": true}

// deviceTagKeys are the container tags that identify the recording device.
var deviceTagKeys = []string{"make", "model", "com.apple.quicktime.make", "com.apple.quicktime.model",
	"com.android.manufacturer", "com.android.model", "serial", "serial_number", "device", "encoder", "handler_name", "firmware", "com.apple.quicktime.software"}

type probeJSON struct {
	Format struct {
		FormatName string            `json:"format_name"`
		StartTime  string            `json:"start_time"`
		Duration   string            `json:"duration"`
		BitRate    string            `json:"bit_rate"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
	Streams []struct {
		Index        int               `json:"index"`
		CodecType    string            `json:"codec_type"`
		CodecName    string            `json:"codec_name"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		PixFmt       string            `json:"pix_fmt"`
		ColorRange   string            `json:"color_range"`
		ColorSpace   string            `json:"color_space"`
		ColorPrim    string            `json:"color_primaries"`
		ColorTrc     string            `json:"color_transfer"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		RFrameRate   string            `json:"r_frame_rate"`
		NbFrames     string            `json:"nb_frames"`
		SampleRate   string            `json:"sample_rate"`
		Channels     int               `json:"channels"`
		Disposition  map[string]int    `json:"disposition"`
		Tags         map[string]string `json:"tags"`
		SideData     []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
}

// Probe runs `ffprobe -print_format json` on input (a path or a URL ffmpeg
// can read) and summarises the result. It returns ErrNotMedia for anything
// without a real audio or video stream.
func Probe(ctx context.Context, input string) (*Info, error) {
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		return nil, ErrToolMissing
	}
	// A path that does not exist or cannot be read is a usage error, not
	// a file that is not media: say so plainly rather than as ffprobe does.
	// (URLs, which ffmpeg reads itself, are left to ffprobe.)
	if !isURL(input) {
		f, err := os.Open(input)
		if err != nil {
			return nil, err
		}
		f.Close()
	}
	cmd := command(ctx, bin, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--", input)
	var stdout bytes.Buffer
	stderr := NewTail(4096)
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, &ProbeError{Stderr: msg}
	}
	return parseProbe(stdout.Bytes())
}

// ProbeError is ffprobe's refusal of a file: it is ErrNotMedia, and
// Stderr keeps all that ffprobe said (the last line is usually the
// least specific: "Invalid data found when processing input").
type ProbeError struct{ Stderr string }

func (e *ProbeError) Error() string {
	return fmt.Sprintf("%v: ffprobe: %s", ErrNotMedia, lastLine(e.Stderr))
}
func (e *ProbeError) Unwrap() error { return ErrNotMedia }

var colorNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// colorName keeps a colour description name ffprobe printed if it is one
// (ffmpeg's names are short lower-case words), and drops "unknown" and
// anything else.
func colorName(s string) string {
	if s == "unknown" || s == "reserved" || !colorNameRE.MatchString(s) {
		return ""
	}
	return s
}

func parseProbe(data []byte) (*Info, error) {
	var p probeJSON
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("ffprobe printed unreadable JSON: %v", err)
	}
	info := &Info{Container: p.Format.FormatName, Streams: len(p.Streams), video: -1, audio: -1}
	if nonMediaFormats[p.Format.FormatName] {
		return nil, fmt.Errorf("%w: ffprobe sees format %q", ErrNotMedia, p.Format.FormatName)
	}
	if stillFormats[p.Format.FormatName] {
		return nil, fmt.Errorf("%w: a still image (%s), not a video or audio recording", ErrNotMedia, p.Format.FormatName)
	}
	info.Duration, _ = strconv.ParseFloat(p.Format.Duration, 64)
	info.start, _ = strconv.ParseFloat(p.Format.StartTime, 64)
	info.Bitrate, _ = strconv.ParseInt(p.Format.BitRate, 10, 64)
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			// Cover art is a video stream too; it does not make a file a recording.
			if info.Video != nil || s.Disposition["attached_pic"] == 1 {
				continue
			}
			v := &VideoInfo{Codec: s.CodecName, Width: s.Width, Height: s.Height, PixFmt: s.PixFmt}
			if s.ColorRange == "tv" || s.ColorRange == "pc" {
				v.ColorRange = s.ColorRange
			}
			v.ColorSpace, v.ColorPrimaries, v.ColorTransfer = colorName(s.ColorSpace), colorName(s.ColorPrim), colorName(s.ColorTrc)
			rate := s.AvgFrameRate
			if rate == "" || rate == "0/0" {
				rate = s.RFrameRate
			}
			if f := ratio(rate); f > 0 {
				v.FrameRate, v.FPS = rate, f
			}
			v.Frames, _ = strconv.ParseInt(s.NbFrames, 10, 64)
			if r, ok := s.Tags["rotate"]; ok {
				v.Rotation, _ = strconv.Atoi(r)
			}
			for _, sd := range s.SideData {
				if sd.Rotation != nil {
					v.Rotation = int(*sd.Rotation)
				}
			}
			info.Video, info.video = v, s.Index
		case "audio":
			if info.Audio != nil {
				continue
			}
			a := &AudioInfo{Codec: s.CodecName, Channels: s.Channels}
			a.SampleRate, _ = strconv.Atoi(s.SampleRate)
			info.Audio, info.audio = a, s.Index
		}
	}
	if info.Video == nil && info.Audio == nil {
		return nil, fmt.Errorf("%w: no audio or video stream", ErrNotMedia)
	}
	if info.Video != nil && (info.Video.Width <= 0 || info.Video.Height <= 0) {
		return nil, fmt.Errorf("%w: video stream has no picture size", ErrNotMedia)
	}
	if ct, ok := p.Format.Tags["creation_time"]; ok {
		if t, err := time.Parse(time.RFC3339Nano, ct); err == nil && !t.IsZero() && t.Year() > 1970 {
			t = t.UTC()
			info.Created = &t
		}
	}
	for _, k := range deviceTagKeys {
		for tk, tv := range p.Format.Tags {
			if strings.EqualFold(tk, k) && tv != "" {
				if info.DeviceTags == nil {
					info.DeviceTags = map[string]string{}
				}
				info.DeviceTags[strings.ToLower(tk)] = tv
			}
		}
	}
	return info, nil
}

func ratio(s string) float64 {
	n, d, ok := strings.Cut(s, "/")
	if !ok {
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	a, err1 := strconv.ParseFloat(n, 64)
	b, err2 := strconv.ParseFloat(d, 64)
	if err1 != nil || err2 != nil || b == 0 {
		return 0
	}
	return a / b
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Tail is an io.Writer that keeps only the last N bytes written, so that a
// chatty child process cannot grow our memory.
type Tail struct {
	max int
	buf []byte
}

// NewTail returns a Tail keeping at most max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

func (t *Tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *Tail) String() string { return string(t.buf) }

// isURL reports whether ffmpeg would read input through a network
// protocol (scheme://...) rather than as a local path.
func isURL(input string) bool {
	scheme, _, ok := strings.Cut(input, "://")
	if !ok || len(scheme) < 2 {
		return false
	}
	for _, r := range scheme {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
