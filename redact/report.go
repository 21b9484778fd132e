package redact

import (
	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/media"
)

// Report is everything the custody ledger records about one redaction: what
// went in and came out (by sha256), every parameter, the detector and its
// model hashes, and every track and edit with its time range and reason.
type Report struct {
	Input        string `json:"input"`
	InputSHA256  string `json:"input_sha256,omitempty"`
	Output       string `json:"output"`
	OutputSHA256 string `json:"output_sha256,omitempty"`
	OutputBytes  int64  `json:"output_bytes"`

	// Incomplete is set when the input was truncated or damaged; Stopped
	// says where.
	Incomplete bool             `json:"incomplete"`
	Stopped    *IncompleteError `json:"stopped,omitempty"`

	// Frames were decoded, redacted and encoded; Expected is the count the
	// container announced (0 if it did not).
	Frames   int `json:"frames"`
	Expected int `json:"expected_frames,omitempty"`
	// FirstTime and LastTime are the first and last frames' presentation
	// times, in seconds; Duration is the span the frames cover (LastTime -
	// FirstTime plus one mean frame interval).
	FirstTime float64 `json:"first_time"`
	LastTime  float64 `json:"last_time"`
	Duration  float64 `json:"duration"`
	// Width and Height are the stored picture size; Rotation the display
	// rotation recorded on input and output.
	Width    int `json:"width"`
	Height   int `json:"height"`
	Rotation int `json:"rotation,omitempty"`

	Detector string         `json:"detector"`
	Models   []detect.Model `json:"models"`
	Params   Params         `json:"params"`

	// Tracks lists every detector track, masked or excluded by an edit.
	Tracks []TrackRecord `json:"tracks"`
	// Edits lists every edit applied, with the frames it covered.
	Edits []EditRecord `json:"edits,omitempty"`
	// MaskedFrames counts frames with at least one mask.
	MaskedFrames int `json:"masked_frames"`

	// Audio is "copied" (bit-exact), "muted" (re-encoded with ranges
	// silenced), "removed" or "none" (the input had none).
	Audio string `json:"audio"`

	FFmpeg FFmpegRecord `json:"ffmpeg"`
	// Seconds is the wall-clock time taken; FPS the frames per second.
	Seconds  float64  `json:"seconds"`
	FPS      float64  `json:"fps"`
	Warnings []string `json:"warnings,omitempty"`
}

// Params are the tool parameters of a run.
type Params struct {
	// Every is the detection stride in frames; Interval, when set, the
	// time between passes it was derived from (ScanOptions.Interval), and
	// Cadence the preset named on the command line.
	Every    int     `json:"every"`
	Interval float64 `json:"interval,omitempty"`
	Cadence  string  `json:"cadence,omitempty"`
	// Detection is the detector's configuration in effect (detect.Config
	// String: thresholds, minimum face, text mode and text_every), when
	// the detector reports it.
	Detection    string            `json:"detection,omitempty"`
	Margin       float64           `json:"margin"`
	Style        Style             `json:"style"`
	Shape        Shape             `json:"shape"`
	Tracker      TrackerOptions    `json:"tracker"`
	Codec        string            `json:"codec"`
	Preset       string            `json:"preset"`
	CRF          int               `json:"crf"`
	Mute         []media.TimeRange `json:"mute,omitempty"`
	Bleep        bool              `json:"bleep,omitempty"`
	NoAudio      bool              `json:"no_audio,omitempty"`
	KeepMetadata bool              `json:"keep_metadata"`
	// EditsSHA256 identifies the edits applied, when given as a file.
	EditsSHA256 string `json:"edits_sha256,omitempty"`
}

// TrackRecord is one detector track as the audit records it.
type TrackRecord struct {
	ID    int          `json:"id"`
	Label detect.Label `json:"label"`
	// First and Last frames masked (look-back and hold included), and
	// their presentation times.
	First int     `json:"first"`
	Last  int     `json:"last"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Hits counts frames with a matched detection.
	Hits     int     `json:"hits"`
	MaxScore float64 `json:"max_score"`
	Masked   bool    `json:"masked"`
	// Reason says why the track was masked ("detected by <detector>") or
	// not ("excluded: <the DPO's reason>").
	Reason string `json:"reason"`
}

// EditRecord is one edit as applied.
type EditRecord struct {
	Kind   string  `json:"kind"` // "exclude", "region" or "frames"
	Track  int     `json:"track,omitempty"`
	Label  string  `json:"label,omitempty"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	First  int     `json:"first_frame"`
	Last   int     `json:"last_frame"`
	Frames int     `json:"frames"` // frames the edit applied to
	Reason string  `json:"reason"`
}

// FFmpegRecord gives the ffmpeg version and exact command lines used.
type FFmpegRecord struct {
	Version string   `json:"version"`
	Decode  []string `json:"decode"`
	Encode  []string `json:"encode"`
}

// Record is one line of `custody detect --json`: the regions redact would
// mask on one image or video frame, after margins and tracking, in display
// pixels. Frames with nothing to mask produce no record.
type Record struct {
	File   string       `json:"file"`
	Frame  int          `json:"frame"`
	Time   float64      `json:"time"`
	Width  int          `json:"width"`
	Height int          `json:"height"`
	Boxes  []detect.Box `json:"boxes"`
}
