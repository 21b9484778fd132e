package media

import (
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strings"
)

// Rational is an exact ratio, used for time bases.
type Rational struct{ Num, Den int64 }

func (r Rational) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// Float is r as a float64 (0 for a zero denominator).
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// TimeRange is an interval [Start, End] in seconds on the input's timeline.
type TimeRange struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Packet is a compressed packet of a stream other than the video (the audio)
// carried unchanged from the decoder to the encoder.
type Packet struct {
	Stream int
	PTS    int64
	Key    bool
	Data   []byte
}

// Pixel formats for DecodeOptions.PixelFormat.
const (
	PixBGR24   = "bgr24"
	PixYUV420P = "yuv420p"
)

// FrameBytes is the size of one unpadded frame of the pixel format: BGR24
// is 3 bytes a pixel; yuv420p is a Y plane then U and V planes of half the
// width and height, rounded up.
func FrameBytes(pixfmt string, w, h int) int {
	if pixfmt == PixYUV420P {
		return w*h + 2*((w+1)/2)*((h+1)/2)
	}
	return w * h * 3
}

// Frame is one decoded video frame. Data holds it unpadded in the decoder's
// pixel format: Height rows of Width BGR pixels (3 bytes each), exactly
// what gocv.NewMatFromBytes wraps as a CV_8UC3 Mat without copying; or the
// Y, U and V planes of yuv420p one after the other.
type Frame struct {
	// Index counts decoded frames from 0.
	Index int
	// PTS is the presentation timestamp in the decoder's TimeBase, on the
	// pipe's timeline; hand it back to the encoder unchanged.
	PTS int64
	// Time is the presentation time in seconds on the input's own timeline
	// (what ffprobe reports as pts_time).
	Time float64
	Data []byte
	// Packets are the non-video packets (audio) that precede this frame in
	// the stream. The encoder writes them before the frame, which keeps the
	// interleaving without holding audio apart from video.
	Packets []Packet
}

// pipeOffset shifts every timestamp on the NUT pipes forward, because NUT
// cannot code negative times while MP4 audio commonly starts before zero
// (encoder priming). ffmpeg's own fix-up would shift the streams by a
// rounded amount; a whole number of seconds is exact in every time base
// 1/N. The encoder subtracts it again (-itsoffset) under -copyts.
const pipeOffset = 1000

// ErrFFmpeg wraps every failure of an ffmpeg child process; the message
// carries the end of its stderr.
var ErrFFmpeg = errors.New("ffmpeg failed")

// ErrUnsupported reports an input or option custody does not handle, such
// as a video whose picture size changes mid-stream.
var ErrUnsupported = errors.New("unsupported video")

func ffmpegPath() (string, error) {
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", ErrToolMissing
	}
	return p, nil
}

// tailLines keeps the last few non-empty lines of an ffmpeg stderr tail for
// a one-line error message.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var keep []string
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			keep = append([]string{l}, keep...)
		}
	}
	return strings.Join(keep, "; ")
}

// seconds converts ticks of tb to seconds.
func seconds(ticks int64, tb Rational) float64 {
	if tb.Den == 0 {
		return math.NaN()
	}
	return float64(ticks) * float64(tb.Num) / float64(tb.Den)
}
