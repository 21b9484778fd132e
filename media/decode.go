package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sync"
)

// ErrNoFrames means the input has a video stream but not one decodable frame
// (a zero-length recording, or one corrupt from its start).
var ErrNoFrames = errors.New("video has no decodable frames")

// DecodeOptions selects what a Decoder carries besides the video.
type DecodeOptions struct {
	// Audio carries the first audio stream, stream-copied, in
	// Frame.Packets for the encoder. Other audio, subtitle and data
	// streams (GPS telemetry tracks among them) are never carried.
	Audio bool
	// Metadata carries the container's metadata tags to the encoder.
	// Without it they are dropped at the source.
	Metadata bool
	// PixelFormat of the frames: PixBGR24 (the default, what OpenCV
	// takes) or PixYUV420P (the planes most H.264/H.265 footage is coded
	// in, passed through unconverted: half the bytes on each pipe, and no
	// colour conversion on either side when the encoder writes 4:2:0).
	PixelFormat string
}

// Decoder decodes the first video stream of an input to raw frames (BGR24
// or yuv420p, see DecodeOptions.PixelFormat) with ffmpeg, reading them
// from a pipe one at a time: memory does not grow with the length of the
// video. Frames come in presentation order with their exact timestamps; no
// frame is dropped or duplicated (variable frame rate is kept as it is).
// Frames are in stored orientation: ffmpeg's autorotate is off, the
// rotation is the caller's to apply (Info.Video.Rotation).
type Decoder struct {
	// Width and Height are the stored picture size.
	Width, Height int
	// TimeBase is the unit of Frame.PTS.
	TimeBase Rational
	// PixelFormat is the layout of Frame.Data: PixBGR24 or PixYUV420P.
	PixelFormat string
	// Args is the ffmpeg command line (without the program name).
	Args []string

	ctx     context.Context
	layout  *Layout
	video   int
	nut     *nutReader
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	stdout  io.ReadCloser
	stderr  *Tail
	frames  int
	trail   []Packet
	offset  int64 // pipeOffset in TimeBase ticks
	err     error // sticky read error
	eof     bool
	waitErr error
	once    sync.Once
}

// Layout describes the streams on the pipe from a Decoder, for the Encoder
// that writes them back.
type Layout struct {
	streams []nutStream
	infos   [][]byte
	video   int
	audio   int // -1 when none
}

// HasAudio says whether an audio stream is carried.
func (l *Layout) HasAudio() bool { return l.audio >= 0 }

// NewDecoder starts ffmpeg on input (a path, or a URL ffmpeg can read: the
// input is opened exactly once) and reads the stream headers. It fails with
// ErrNoFrames when the video has no decodable frame and with an error
// wrapping ErrFFmpeg when ffmpeg cannot read the input. Close must be
// called.
func NewDecoder(ctx context.Context, input string, opt DecodeOptions) (*Decoder, error) {
	bin, err := ffmpegPath()
	if err != nil {
		return nil, err
	}
	switch opt.PixelFormat {
	case "":
		opt.PixelFormat = PixBGR24
	case PixBGR24, PixYUV420P:
	default:
		return nil, fmt.Errorf("%w: frame pixel format %q (want %s or %s)", ErrUnsupported, opt.PixelFormat, PixBGR24, PixYUV420P)
	}
	args, err := decoderArgs(input, opt)
	if err != nil {
		return nil, err
	}

	cctx, cancel := context.WithCancel(ctx)
	cmd := command(cctx, bin, args...)
	d := &Decoder{ctx: ctx, Args: args, cmd: cmd, cancel: cancel, stderr: NewTail(8192), video: -1, PixelFormat: opt.PixelFormat}
	cmd.Stderr = d.stderr
	if d.stdout, err = startPiped(cmd, false); err != nil {
		cancel()
		return nil, err
	}
	d.nut = newNUTReader(d.stdout)
	if err := d.nut.readHeader(); err != nil {
		werr := d.wait()
		_ = d.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if werr != nil {
			return nil, werr
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errNUT) {
			// ffmpeg succeeded and wrote nothing: nothing decoded.
			return nil, fmt.Errorf("%w: %s", ErrNoFrames, input)
		}
		return nil, err
	}
	l := &Layout{streams: d.nut.streams, video: -1, audio: -1}
	if opt.Metadata {
		l.infos = d.nut.infos
	}
	for i, s := range l.streams {
		switch {
		case s.Class == nutVideo && l.video < 0:
			l.video = i
		case s.Class == nutAudio && l.audio < 0:
			l.audio = i
		}
	}
	if l.video < 0 {
		_ = d.Close()
		return nil, fmt.Errorf("%w: ffmpeg produced no video stream", ErrFFmpeg)
	}
	v := l.streams[l.video]
	d.layout, d.video = l, l.video
	d.Width, d.Height, d.TimeBase = int(v.Width), int(v.Height), v.TimeBase
	if d.Width <= 0 || d.Height <= 0 || d.Width > 1<<15 || d.Height > 1<<15 {
		_ = d.Close()
		return nil, fmt.Errorf("%w: picture size %dx%d", ErrUnsupported, d.Width, d.Height)
	}
	d.offset = pipeOffset * d.TimeBase.Den / d.TimeBase.Num
	return d, nil
}

// Layout returns the stream layout to give NewEncoder.
func (d *Decoder) Layout() *Layout { return d.layout }

// FrameSize is the size in bytes of one frame (see FrameBytes).
func (d *Decoder) FrameSize() int { return FrameBytes(d.PixelFormat, d.Width, d.Height) }

// Frames is the number of frames returned so far.
func (d *Decoder) Frames() int { return d.frames }

// ReadFrame reads the next frame into f, reusing f.Data and f.Packets when
// they are large enough. It returns io.EOF after the last frame; then
// Trailing holds the packets that followed it. Any other error means the
// stream broke off: ffmpeg's own message is in the error.
func (d *Decoder) ReadFrame(f *Frame) error {
	if d.err != nil {
		return d.err
	}
	if d.eof {
		return io.EOF
	}
	size := d.FrameSize()
	if cap(f.Data) < size {
		f.Data = make([]byte, size)
	}
	f.Packets = f.Packets[:0]
	for {
		p, err := d.nut.readPacket(d.video, f.Data[:size])
		if err == io.EOF {
			d.eof = true
			d.trail = append(d.trail[:0], f.Packets...)
			f.Packets = f.Packets[:0]
			if werr := d.wait(); werr != nil {
				d.err = werr
				return werr
			}
			return io.EOF
		}
		if err != nil {
			// A broken pipe mid-frame: ffmpeg died or was killed. Its exit
			// status says why.
			if werr := d.wait(); werr != nil {
				err = werr
			} else {
				err = fmt.Errorf("%w: reading frames: %v", ErrFFmpeg, err)
			}
			d.err = err
			return err
		}
		if p.Stream != d.video {
			if p.Stream == d.layout.audio {
				f.Packets = append(f.Packets, Packet{Stream: p.Stream, PTS: p.PTS, Key: p.Key, Data: p.Data})
			}
			continue
		}
		if len(p.Data) != size {
			d.err = fmt.Errorf("%w: frame %d is %d bytes, want %d for %dx%d: the picture size changes mid-stream",
				ErrUnsupported, d.frames, len(p.Data), size, d.Width, d.Height)
			return d.err
		}
		f.Data = p.Data
		f.Index = d.frames
		f.PTS = p.PTS
		f.Time = seconds(p.PTS-d.offset, d.TimeBase)
		d.frames++
		return nil
	}
}

// Trailing returns the packets that followed the last frame (valid after
// ReadFrame returned io.EOF).
func (d *Decoder) Trailing() []Packet { return d.trail }

// Stderr returns the end of ffmpeg's error output: after io.EOF, any
// complaints about damaged data are there.
func (d *Decoder) Stderr() string { return d.stderr.String() }

// wait reaps ffmpeg once, draining stdout so that it can exit, and turns a
// failure into an error carrying its stderr.
func (d *Decoder) wait() error {
	d.once.Do(func() {
		_, _ = io.Copy(io.Discard, d.stdout)
		err := d.cmd.Wait()
		d.stdout.Close()
		if err != nil {
			if ctxErr := d.ctx.Err(); ctxErr != nil {
				d.waitErr = ctxErr
				return
			}
			msg := tailLines(d.stderr.String(), 3)
			if msg == "" {
				msg = err.Error()
			}
			d.waitErr = fmt.Errorf("%w: decoding: %s", ErrFFmpeg, msg)
		}
	})
	return d.waitErr
}

// Close stops ffmpeg if it is still running and reaps it. Errors are
// reported by ReadFrame, so Close returns nil; it is safe to call twice.
func (d *Decoder) Close() error {
	d.cancel()
	_ = d.wait() // an early stop kills ffmpeg on purpose: not a failure
	return nil
}

var damageRE = regexp.MustCompile(`(?i)partial file|ended prematurely|truncat|end of file|invalid data found|error while decoding|corrupt|missing picture|invalid nal`)

var truncRE = regexp.MustCompile(`(?i)partial file|ended prematurely|truncat|unexpected end|end of file|moov atom not found`)

// Truncated reports whether ffmpeg's stderr says the input ended before
// its end: a cut-off file or stream.
func (d *Decoder) Truncated() bool { return truncRE.MatchString(d.stderr.String()) }

// Damaged reports whether ffmpeg's stderr shows the input is damaged
// (truncated or corrupt) even though decoding ran to the end.
func (d *Decoder) Damaged() bool { return damageRE.MatchString(d.stderr.String()) }
