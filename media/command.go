package media

// The decoder's and encoder's ffmpeg command lines are decided here and
// composed by ffargs with ffmpeg-go's Stream API, which is all ffmpeg-go is
// used for: startPiped runs them with our own exec.CommandContext, pipes
// and capped stderr. Only media/internal/ffargs imports ffmpeg-go, and
// only in the full (cgo) build, so that the static binary carries no AWS
// SDK (see its package comment); this file, the decoder and the encoder
// build everywhere. Do not import ffmpeg-go anywhere else.

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/custody-evidence/custody/media/internal/ffargs"
)

// globalArgs are given to every ffmpeg: quiet, errors only, never reading
// the terminal. ffmpeg-go puts global options after the outputs, where
// ffmpeg applies them as well (it looks for -v and -hide_banner in the
// whole command line before anything else).
var globalArgs = []string{"-hide_banner", "-nostdin", "-nostats", "-v", "error"}

// Pipe names: frames go in on stdin and out on stdout.
const (
	pipeIn  = "pipe:0"
	pipeOut = "pipe:1"
)

// ErrStaticBuild: the decoder and encoder are not in this build (the
// CGO_ENABLED=0 one, which has no ffmpeg-go).
var ErrStaticBuild = ffargs.ErrUnavailable

// compose returns spec's command line (without the program name), with the
// common global options and extra ones. ffmpeg-go puts global options
// after the outputs, where ffmpeg applies them as well.
func compose(spec ffargs.Spec, extra ...string) ([]string, error) {
	spec.Global = append(append([]string(nil), globalArgs...), extra...)
	args, err := ffargs.Compose(spec)
	switch {
	case errors.Is(err, ffargs.ErrUnavailable):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrFFmpeg, err)
	}
	return args, nil
}

// decoderArgs is the Decoder's command line: the first video stream of
// input (and with opt.Audio the first audio stream) to raw frames in
// opt.PixelFormat (default BGR24) in NUT on stdout.
func decoderArgs(input string, opt DecodeOptions) ([]string, error) {
	pixfmt := opt.PixelFormat
	if pixfmt == "" {
		pixfmt = PixBGR24
	}
	spec := ffargs.Spec{Input: input, Output: pipeOut, Streams: []string{"v:0"}, InputArgs: map[string]string{
		// Stored orientation: the encoder records the rotation again,
		// and detection rotates for itself.
		"noautorotate": "",
	}}
	kw := map[string]string{
		"c:v":     "rawvideo",
		"pix_fmt": pixfmt,
		// Neither drop nor duplicate frames, and keep the input's time
		// base (not 1/frame rate): timestamps pass as they are.
		"fps_mode":        "passthrough",
		"enc_time_base:v": "-1",
		// NUT cannot code negative times: see pipeOffset.
		"output_ts_offset": strconv.Itoa(pipeOffset),
		"format":           "nut",
		"write_index":      "0",
	}
	if opt.Audio {
		spec.Streams = append(spec.Streams, "a:0?")
		kw["c:a"] = "copy"
	}
	if !opt.Metadata {
		kw["map_metadata"] = "-1"
		kw["map_chapters"] = "-1"
	}
	spec.OutputArgs = kw
	// -copyts: the input's own timestamps, not shifted to start at zero.
	return compose(spec, "-copyts")
}

// encoderArgs is the Encoder's command line: NUT from a Decoder on stdin
// (with an audio stream when hasAudio) to the container in s.format, written
// to out: pipeOut, or a name from outputFile.
func encoderArgs(out string, hasAudio bool, s encodeSettings, opt EncodeOptions) ([]string, error) {
	if out != pipeOut {
		if err := checkOutputName(out); err != nil {
			return nil, err
		}
	}
	spec := ffargs.Spec{Input: pipeIn, Output: out, Streams: []string{"v:0"}, InputArgs: map[string]string{
		"format": "nut",
		// Undo the decoder's pipe offset exactly (under -copyts).
		"itsoffset": "-" + strconv.Itoa(pipeOffset),
	}}
	kw := map[string]string{
		"format":          s.format,
		"c:v":             s.codec,
		"preset":          s.preset,
		"crf":             s.crf,
		"pix_fmt":         s.pixfmt,
		"fps_mode":        "passthrough",
		"enc_time_base:v": "-1",
	}
	if c := opt.Color; c != nil {
		for k, v := range map[string]string{"color_range": c.ColorRange, "colorspace": c.ColorSpace,
			"color_primaries": c.ColorPrimaries, "color_trc": c.ColorTransfer} {
			if v = colorName(v); v != "" {
				kw[k] = v
			}
		}
	}
	if s.codec == "libx265" {
		kw["x265-params"] = "log-level=error"
		if s.format != FormatMatroska {
			kw["tag:v"] = "hvc1"
		}
	}
	if hasAudio {
		spec.Streams = append(spec.Streams, "a:0")
		if opt.Audio == nil {
			kw["c:a"] = "copy"
		} else {
			ac, br := opt.Audio.Codec, opt.Audio.Bitrate
			if ac == "" {
				ac = "aac"
			}
			if br == "" {
				br = "192k"
			}
			af, err := audioFilter(opt.Audio)
			if err != nil {
				return nil, err
			}
			kw["af"], kw["c:a"], kw["b:a"] = af, ac, br
		}
	}
	if !opt.KeepMetadata {
		kw["map_metadata"] = "-1"
		kw["map_chapters"] = "-1"
		// bitexact: no encoder name or version tags, no creation time.
		kw["fflags"] = "+bitexact"
		kw["flags:v"] = "+bitexact"
		kw["flags:a"] = "+bitexact"
	}
	if s.format != FormatMatroska {
		// A track that starts late (MPEG-TS sources) gets an empty edit in
		// movie time units: 1/90000 keeps 90 kHz and millisecond offsets
		// exact, where the default 1/1000 would round them.
		kw["movie_timescale"] = "90000"
	}
	switch {
	case s.format == FormatMatroska:
	case out == pipeOut:
		kw["movflags"] = "+frag_keyframe+delay_moov+default_base_moof"
	default:
		kw["movflags"] = "+faststart"
	}
	spec.OutputArgs = kw
	return compose(spec, "-copyts", "-y")
}

// outputFile turns the path of a file the caller created into the name
// ffmpeg writes: the same file, as an absolute path. Both ffmpeg and
// ffmpeg-go read the start of a name as a scheme: ffmpeg "pipe:", "http:"
// or "file:" as a protocol, and ffmpeg-go's Output "s3://bucket/key" as an
// upload to S3. A relative path can start like that ("s3://b/x.mp4" is a
// valid name for ./s3:/b/x.mp4), an absolute one starts with "/" and is
// only ever the local file.
func outputFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("media: encoder output path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("media: encoder output %s: %w", path, err)
	}
	if err := checkOutputName(abs); err != nil {
		return "", err
	}
	return abs, nil
}

// checkOutputName refuses any output name but an absolute local path, the
// last guard before a name reaches ffmpeg-go's Output.
func checkOutputName(name string) error {
	if !filepath.IsAbs(name) || strings.HasPrefix(name, "s3://") {
		return fmt.Errorf("media: encoder output %q is not an absolute local path", name)
	}
	return nil
}
