package media

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// globalArgs are given to every ffmpeg: quiet, errors only, never reading
// the terminal.
var globalArgs = []string{"-hide_banner", "-nostdin", "-nostats", "-v", "error"}

// Pipe names: frames go in on stdin and out on stdout.
const (
	pipeIn  = "pipe:0"
	pipeOut = "pipe:1"
)

// decoderArgs is the Decoder's command line (without the program name):
// the first video stream of input (and with opt.Audio the first audio
// stream) to BGR24 frames in NUT on stdout.
func decoderArgs(input string, opt DecodeOptions) ([]string, error) {
	args := append(append([]string(nil), globalArgs...),
		// Stored orientation: the encoder records the rotation again, and
		// detection rotates for itself.
		"-noautorotate",
		// The input's own timestamps, not shifted to start at zero.
		"-copyts",
		"-i", input,
		"-map", "0:v:0")
	if opt.Audio {
		args = append(args, "-map", "0:a:0?", "-c:a", "copy")
	}
	args = append(args,
		"-c:v", "rawvideo", "-pix_fmt", "bgr24",
		// Neither drop nor duplicate frames, and keep the input's time base
		// (not 1/frame rate): timestamps pass as they are.
		"-fps_mode", "passthrough", "-enc_time_base:v", "-1")
	if !opt.Metadata {
		args = append(args, "-map_metadata", "-1", "-map_chapters", "-1")
	}
	args = append(args,
		// NUT cannot code negative times: see pipeOffset.
		"-output_ts_offset", strconv.Itoa(pipeOffset),
		"-f", "nut", "-write_index", "0", pipeOut)
	return args, nil
}

// encoderArgs is the Encoder's command line (without the program name):
// NUT from a Decoder on stdin (with an audio stream when hasAudio) to the
// container in s.format, written to out: pipeOut, or a name from
// outputFile.
func encoderArgs(out string, hasAudio bool, s encodeSettings, opt EncodeOptions) ([]string, error) {
	if out != pipeOut {
		if err := checkOutputName(out); err != nil {
			return nil, err
		}
	}
	args := append(append([]string(nil), globalArgs...),
		// Undo the decoder's pipe offset exactly and keep every timestamp.
		"-copyts", "-itsoffset", "-"+strconv.Itoa(pipeOffset),
		"-f", "nut", "-i", pipeIn,
		"-map", "0:v:0")
	if hasAudio {
		args = append(args, "-map", "0:a:0")
	}
	args = append(args, "-c:v", s.codec, "-preset", s.preset, "-crf", s.crf, "-pix_fmt", s.pixfmt,
		"-fps_mode", "passthrough", "-enc_time_base:v", "-1")
	if s.codec == "libx265" {
		args = append(args, "-x265-params", "log-level=error")
		if s.format != FormatMatroska {
			args = append(args, "-tag:v", "hvc1")
		}
	}
	if hasAudio {
		if opt.Audio == nil {
			args = append(args, "-c:a", "copy")
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
			args = append(args, "-af", af, "-c:a", ac, "-b:a", br)
		}
	}
	if !opt.KeepMetadata {
		args = append(args, "-map_metadata", "-1", "-map_chapters", "-1",
			// bitexact: no encoder name or version tags, no creation time.
			"-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact")
	}
	if s.format != FormatMatroska {
		// A track that starts late (MPEG-TS sources) gets an empty edit in
		// movie time units: 1/90000 keeps 90 kHz and millisecond offsets
		// exact, where the default 1/1000 would round them.
		args = append(args, "-movie_timescale", "90000")
	}
	switch {
	case s.format == FormatMatroska:
	case out == pipeOut:
		args = append(args, "-movflags", "+frag_keyframe+delay_moov+default_base_moof")
	default:
		args = append(args, "-movflags", "+faststart")
	}
	return append(args, "-f", s.format, "-y", out), nil
}

// outputFile turns the path of a file the caller created into the name
// ffmpeg writes: the same file, as an absolute path. ffmpeg reads the start
// of a name as a scheme ("pipe:", "http:", "file:" ...: a protocol), and a
// relative path can start like that ("s3://b/x.mp4" is a valid name for
// ./s3:/b/x.mp4); an absolute one starts with "/" and is only ever the
// local file.
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

// checkOutputName refuses any output file name but an absolute local path.
func checkOutputName(name string) error {
	if !filepath.IsAbs(name) || strings.HasPrefix(name, "s3://") {
		return fmt.Errorf("media: encoder output %q is not an absolute local path", name)
	}
	return nil
}
