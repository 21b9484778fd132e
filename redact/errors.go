package redact

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/custody-evidence/custody/media"
)

// Sentinel errors of the redactor, for errors.Is. Inputs that are not
// recordings fail earlier, in media.Probe, with media.ErrNotMedia; a video
// stream without one decodable frame gives media.ErrNoFrames.
var (
	// ErrIncomplete: the input is truncated or broken. Everything that
	// decoded was redacted and written under an ".incomplete" name; the
	// error is an *IncompleteError saying where decoding stopped.
	ErrIncomplete = errors.New("input video is truncated or damaged")
	// ErrNoVideo: the input is a recording without a video stream.
	ErrNoVideo = errors.New("input has no video stream")
	// ErrOutputExists: the output file is already there; custody does not
	// overwrite.
	ErrOutputExists = errors.New("output already exists")
	// ErrOptions: an invalid option value.
	ErrOptions = errors.New("invalid redaction option")
	// ErrEdits: the edits file is malformed or refers to something that is
	// not in the video.
	ErrEdits = errors.New("invalid edits")
	// ErrNoDetector: Options.Detector is nil.
	ErrNoDetector = errors.New("no detector given")
)

// IncompleteError describes where a truncated or damaged input stopped.
type IncompleteError struct {
	// Frames is the number of frames decoded and redacted.
	Frames int `json:"frames"`
	// LastTime is the presentation time of the last good frame, in seconds
	// (0 when no frame decoded).
	LastTime float64 `json:"last_time"`
	// Expected is the frame count the container announced (0 if unknown).
	Expected int `json:"expected,omitempty"`
	// Reason is ffmpeg's own complaint.
	Reason string `json:"reason,omitempty"`
	// Output is where the redacted part was written ("" when it was not
	// kept).
	Output string `json:"output,omitempty"`
}

func (e *IncompleteError) Error() string {
	msg := fmt.Sprintf("input video stops after frame %d (t=%.3fs)", e.Frames, e.LastTime)
	if e.Frames == 0 {
		msg = "input video stops before its first frame"
	}
	if e.Expected > e.Frames {
		msg += fmt.Sprintf(" of %d announced", e.Expected)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Output != "" {
		msg += "; the redacted part is in " + e.Output
	}
	return msg
}

func (e *IncompleteError) Unwrap() error { return ErrIncomplete }

func optErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrOptions, fmt.Sprintf(format, args...))
}

// Damaged says, as an *IncompleteError, that a recording known to be
// damaged has no video that decodes (its media Info, from import or
// probing, has no video stream, or nothing of it decodes): there is
// nothing to redact, and the run stops as incomplete before reading a
// byte. Nil for anything else.
func Damaged(info *media.Info) error {
	if info == nil || !info.Damaged || info.Video != nil && (info.Damage == nil || info.Damage.DecodableDuration > 0) {
		return nil
	}
	reason := "damaged"
	if info.Damage != nil {
		reason = info.Damage.Summary()
	}
	return &IncompleteError{Reason: "the recording is damaged and no video in it decodes (" + reason + ")"}
}

// nothingDecodes turns the decoder's failure to give a single frame of a
// recording known to be damaged into an *IncompleteError: it is redacted
// as far as it decodes, which is nowhere. Other errors pass unchanged.
func nothingDecodes(ctx context.Context, info *media.Info, err error) error {
	if ctx.Err() != nil || !info.Damaged || !errors.Is(err, media.ErrNoFrames) && !errors.Is(err, media.ErrFFmpeg) {
		return err
	}
	return &IncompleteError{Reason: "the recording is damaged and no frame decodes: " + err.Error()}
}

// ProbeInput probes a redaction's input. A local file that ffprobe cannot
// read but whose bytes are a recording's (an MP4 cut off before its moov
// was written) is a damaged recording of which nothing decodes: an
// *IncompleteError, not media.ErrNotMedia.
func ProbeInput(ctx context.Context, input string) (*media.Info, error) {
	info, err := media.Probe(ctx, input)
	if err == nil || !errors.Is(err, media.ErrNotMedia) {
		return info, err
	}
	sig, serr := media.SniffFile(input)
	if serr != nil || !sig.Recording() {
		return nil, err
	}
	why := strings.TrimPrefix(err.Error(), media.ErrNotMedia.Error()+": ")
	if sig.NoIndex {
		why = "no moov box; " + why
	}
	return nil, &IncompleteError{Reason: fmt.Sprintf("the recording (%s) is damaged and nothing in it decodes: %s", sig, why)}
}
