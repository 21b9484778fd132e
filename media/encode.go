package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Output container formats.
const (
	FormatMP4      = "mp4"
	FormatMOV      = "mov"
	FormatMatroska = "matroska"
)

// AudioEdit re-encodes the audio with some ranges silenced. Without an
// AudioEdit the audio is stream-copied, bit-exact.
type AudioEdit struct {
	// Mute lists the ranges to silence.
	Mute []TimeRange
	// Bleep replaces the muted ranges with a 1 kHz tone instead of silence.
	Bleep bool
	// Codec and Bitrate of the re-encoded audio; default aac at 192k.
	Codec   string
	Bitrate string
}

// DefaultCRF is the default x264 quality: close to the bitrate of typical
// body-worn camera sources, with no visible loss on a second generation.
// Each step down costs about 10% more bits and CPU.
const DefaultCRF = 20

// EncodeOptions configures an Encoder. The zero value is libx264, CRF 20,
// preset veryfast, MP4, metadata stripped, audio copied.
type EncodeOptions struct {
	// Codec is the video encoder: "libx264" (default) or "libx265".
	Codec string
	// CRF is the constant rate factor (lower is better; 0 means
	// DefaultCRF). Use a negative value for CRF 0 (lossless).
	CRF int
	// Preset is the x264/x265 speed preset (default "veryfast").
	Preset string
	// Rotation is the display rotation to record on the output, in the
	// convention of Info.Video.Rotation (ffprobe's display-matrix angle).
	Rotation int
	// KeepMetadata keeps the container metadata the decoder carried
	// (DecodeOptions.Metadata) and ffmpeg's encoder tags. Otherwise every
	// tag is stripped: location, device make, model and serial, creation
	// time, user data, encoder names.
	KeepMetadata bool
	// Format is the output container: FormatMP4 (default), FormatMOV or
	// FormatMatroska. A stream encoder writing MP4 or MOV writes it
	// fragmented, since a pipe cannot be rewound.
	Format string
	// Audio, when set, re-encodes the audio with the edit applied.
	Audio *AudioEdit
	// Color, when set, is the colour description to record on the
	// output: that of the input, for frames passed through in its own
	// Y'CbCr (yuv420p). Empty fields are left unspecified.
	Color *VideoInfo
}

// encodeSettings are EncodeOptions with the defaults resolved.
type encodeSettings struct {
	codec, preset, crf, pixfmt, format string
}

func (o *EncodeOptions) defaults(width, height int) (encodeSettings, error) {
	var codec, preset, crf, pixfmt, format string
	codec = o.Codec
	if codec == "" {
		codec = "libx264"
	}
	if codec != "libx264" && codec != "libx265" {
		return encodeSettings{}, fmt.Errorf("%w: video codec %q (want libx264 or libx265)", ErrUnsupported, codec)
	}
	preset = o.Preset
	if preset == "" {
		preset = "veryfast"
	}
	switch preset {
	case "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo":
	default:
		return encodeSettings{}, fmt.Errorf("%w: preset %q", ErrUnsupported, preset)
	}
	c := o.CRF
	switch {
	case c == 0:
		c = DefaultCRF
	case c < 0:
		c = 0
	case c > 51:
		return encodeSettings{}, fmt.Errorf("%w: CRF %d (want 0-51)", ErrUnsupported, c)
	}
	crf = strconv.Itoa(c)
	// 4:2:0 subsampling needs even sizes and H.264/H.265 crop in units of
	// two chroma-subsampled pixels, so an odd size cannot be kept with
	// 4:2:0. 4:4:4 keeps the exact size and all colour detail.
	pixfmt = "yuv420p"
	if width%2 != 0 || height%2 != 0 {
		pixfmt = "yuv444p"
	}
	format = o.Format
	if format == "" {
		format = FormatMP4
	}
	switch format {
	case FormatMP4, FormatMOV:
	case FormatMatroska:
		if o.Rotation%360 != 0 {
			return encodeSettings{}, fmt.Errorf("%w: Matroska output cannot record a %d° rotation: use MP4 or MOV", ErrUnsupported, o.Rotation)
		}
	default:
		return encodeSettings{}, fmt.Errorf("%w: container %q (want mp4, mov or matroska)", ErrUnsupported, format)
	}
	return encodeSettings{codec: codec, preset: preset, crf: crf, pixfmt: pixfmt, format: format}, nil
}

// FormatForPath picks the output container from a file name's extension:
// .mp4/.m4v, .mov or .mkv.
func FormatForPath(path string) (string, error) {
	ext := strings.ToLower(path)
	if i := strings.LastIndexByte(ext, '.'); i >= 0 {
		ext = ext[i:]
	} else {
		ext = ""
	}
	switch ext {
	case ".mp4", ".m4v":
		return FormatMP4, nil
	case ".mov":
		return FormatMOV, nil
	case ".mkv":
		return FormatMatroska, nil
	}
	return "", fmt.Errorf("%w: output %s: name it .mp4, .mov or .mkv", ErrUnsupported, path)
}

var noTagRE = regexp.MustCompile(`Could not find tag for codec (\S+)`)

// Encoder encodes frames from a Decoder back into a video with ffmpeg:
// same frame count, timestamps, picture size and rotation, with the audio
// stream-copied or, with an AudioEdit, re-encoded with ranges muted.
type Encoder struct {
	// Args is the ffmpeg command line (without the program name).
	Args []string

	ctx      context.Context
	cmd      *exec.Cmd
	cancel   context.CancelFunc
	stdin    io.WriteCloser
	nut      *nutWriter
	stderr   *Tail
	layout   *Layout
	path     string
	file     *os.File // the inherited output, for NewOpenFileEncoder
	format   string
	rotation int
	patcher  *rotationPatcher
	frames   int
	codec    string
	preset   string
	crf      int
	err      error
	once     sync.Once
	waitErr  error
	finished bool
}

// NewFileEncoder starts ffmpeg writing to the file at path (created or
// truncated). The caller chooses a temporary name and renames it on
// success: see Close.
func NewFileEncoder(ctx context.Context, path string, layout *Layout, width, height int, opt EncodeOptions) (*Encoder, error) {
	return newEncoder(ctx, path, nil, nil, layout, width, height, opt)
}

// NewOpenFileEncoder starts ffmpeg writing into f, an open, empty regular
// file, which may have no name (an O_TMPFILE: see internal/atomicfile).
// ffmpeg inherits it and opens it by its descriptor (inheritedPath), so
// that the output is seekable (MP4 +faststart) without a name on disk.
func NewOpenFileEncoder(ctx context.Context, f *os.File, layout *Layout, width, height int, opt EncodeOptions) (*Encoder, error) {
	if f == nil {
		return nil, errors.New("media: NewOpenFileEncoder with a nil file")
	}
	return newEncoder(ctx, inheritedPath(f), f, nil, layout, width, height, opt)
}

// NewStreamEncoder starts ffmpeg writing the container to w. MP4 and MOV
// are written fragmented.
func NewStreamEncoder(ctx context.Context, w io.Writer, layout *Layout, width, height int, opt EncodeOptions) (*Encoder, error) {
	if w == nil {
		return nil, errors.New("media: NewStreamEncoder with a nil writer")
	}
	return newEncoder(ctx, "", nil, w, layout, width, height, opt)
}

// newEncoder writes to w, or to the file at path; file, when set, is
// inherited by ffmpeg (path then names it).
func newEncoder(ctx context.Context, path string, file *os.File, w io.Writer, layout *Layout, width, height int, opt EncodeOptions) (*Encoder, error) {
	bin, err := ffmpegPath()
	if err != nil {
		return nil, err
	}
	if layout == nil || layout.video < 0 {
		return nil, errors.New("media: encoder needs the decoder's layout")
	}
	v := layout.streams[layout.video]
	if int(v.Width) != width || int(v.Height) != height {
		return nil, fmt.Errorf("media: encoder size %dx%d differs from the stream's %dx%d", width, height, v.Width, v.Height)
	}
	set, err := opt.defaults(width, height)
	if err != nil {
		return nil, err
	}
	if opt.Audio != nil && !layout.HasAudio() {
		opt.Audio = nil // nothing to mute
	}
	out := pipeOut
	if w == nil {
		if path, err = outputFile(path); err != nil {
			return nil, err
		}
		out = path
	}
	args, err := encoderArgs(out, layout.HasAudio(), set, opt)
	if err != nil {
		return nil, err
	}

	cctx, cancel := context.WithCancel(ctx)
	cmd := command(cctx, bin, args...)
	if file != nil {
		cmd.ExtraFiles = []*os.File{file}
	}
	e := &Encoder{Args: args, ctx: ctx, cmd: cmd, cancel: cancel, stderr: NewTail(8192), layout: layout,
		path: path, file: file, format: set.format, rotation: opt.Rotation, codec: set.codec, preset: set.preset}
	e.crf, _ = strconv.Atoi(set.crf)
	cmd.Stderr = e.stderr
	if w != nil {
		if opt.Rotation%360 != 0 {
			e.patcher = &rotationPatcher{w: w, rotation: opt.Rotation}
			cmd.Stdout = e.patcher
		} else {
			cmd.Stdout = w
		}
	}
	if e.stdin, err = startPiped(cmd, true); err != nil {
		cancel()
		return nil, err
	}
	e.nut, err = newNUTWriter(e.stdin, layout.streams, layout.infos)
	if err != nil {
		return nil, e.fail(err)
	}
	return e, nil
}

func audioFilter(a *AudioEdit) (string, error) {
	if len(a.Mute) == 0 {
		return "anull", nil
	}
	var cond []string
	for _, r := range a.Mute {
		if !(r.End > r.Start) || r.Start < -pipeOffset {
			return "", fmt.Errorf("%w: mute range %g-%g", ErrUnsupported, r.Start, r.End)
		}
		cond = append(cond, fmt.Sprintf("between(t\\,%.6f\\,%.6f)", r.Start, r.End))
	}
	in := strings.Join(cond, "+")
	replace := "0"
	if a.Bleep {
		replace = "0.25*sin(2*PI*1000*t)"
	}
	// aeval works sample by sample, with t the sample's own time, so the
	// mute lands exactly on the input's timeline.
	return fmt.Sprintf("aeval=exprs=if(%s\\,%s\\,val(ch)):channel_layout=same", in, replace), nil
}

// WriteFrame writes the packets that precede f and then f itself.
func (e *Encoder) WriteFrame(f *Frame) error {
	if err := e.WritePackets(f.Packets); err != nil {
		return err
	}
	if err := e.nut.writePacket(nutPacket{Stream: e.layout.video, PTS: f.PTS, Key: true, Data: f.Data}); err != nil {
		return e.fail(err)
	}
	e.frames++
	return nil
}

// WritePackets writes non-video packets (the decoder's Trailing ones).
func (e *Encoder) WritePackets(ps []Packet) error {
	if e.err != nil {
		return e.err
	}
	for _, p := range ps {
		if p.Stream != e.layout.audio {
			continue
		}
		if err := e.nut.writePacket(nutPacket{Stream: p.Stream, PTS: p.PTS, Key: p.Key, Data: p.Data}); err != nil {
			return e.fail(err)
		}
	}
	return nil
}

// fail records a write error; when ffmpeg has died, its own message is the
// better one.
func (e *Encoder) fail(err error) error {
	if e.err != nil {
		return e.err
	}
	_ = e.stdin.Close()
	if werr := e.wait(); werr != nil {
		err = werr
	} else {
		err = fmt.Errorf("%w: writing to encoder: %v", ErrFFmpeg, err)
	}
	e.err = err
	return err
}

func (e *Encoder) wait() error {
	e.once.Do(func() {
		err := e.cmd.Wait()
		if err != nil {
			if cerr := e.ctx.Err(); cerr != nil {
				e.waitErr = cerr
				return
			}
			stderr := e.stderr.String()
			if m := noTagRE.FindStringSubmatch(stderr); m != nil {
				e.waitErr = fmt.Errorf("%w: %s cannot be copied bit-exact into %s: choose a .mov or .mkv output, or drop the audio",
					ErrUnsupported, m[1], e.format)
				return
			}
			msg := tailLines(stderr, 3)
			if msg == "" {
				msg = err.Error()
			}
			e.waitErr = fmt.Errorf("%w: encoding: %s", ErrFFmpeg, msg)
			return
		}
		if e.patcher != nil {
			e.waitErr = e.patcher.finish()
		}
	})
	return e.waitErr
}

// Close finishes the stream, waits for ffmpeg and, for a file, records the
// rotation and syncs the file to disk, so that a rename makes it durable.
// After an error the output is incomplete and must not be published.
func (e *Encoder) Close() error {
	if e.err != nil {
		e.cancel()
		return e.err
	}
	if e.finished {
		return nil
	}
	e.finished = true
	if err := e.nut.flush(); err != nil {
		return e.fail(err)
	}
	if err := e.stdin.Close(); err != nil {
		return e.fail(err)
	}
	if err := e.wait(); err != nil {
		e.err = err
		return err
	}
	e.cancel()
	if e.path == "" {
		return nil
	}
	if e.file != nil {
		// The caller's file: path names it only in ffmpeg.
		e.err = finishFile(e.file, e.rotation)
		return e.err
	}
	f, err := os.OpenFile(e.path, os.O_RDWR, 0)
	if err != nil {
		e.err = err
		return err
	}
	err = finishFile(f, e.rotation)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	e.err = err
	return err
}

// finishFile records the rotation in a finished MP4 file and syncs it.
func finishFile(f *os.File, rotation int) error {
	if rotation%360 != 0 {
		if err := setMP4Rotation(f, rotation); err != nil {
			return err
		}
	}
	return f.Sync()
}

// Abort kills ffmpeg and waits for it. The output is left as it is, for
// the caller to remove or mark incomplete.
func (e *Encoder) Abort() {
	e.cancel()
	_ = e.stdin.Close()
	_ = e.wait()
	if e.err == nil {
		e.err = fmt.Errorf("%w: encoding aborted", ErrFFmpeg)
	}
}

// Settings returns the codec, preset and CRF in use, defaults resolved.
func (e *Encoder) Settings() (codec, preset string, crf int) { return e.codec, e.preset, e.crf }

// Frames is the number of video frames written.
func (e *Encoder) Frames() int { return e.frames }
