// Package ffargs renders the ffmpeg command lines that package media
// decides, with ffmpeg-go's Stream API. It is the only package that
// imports ffmpeg-go, and it only composes argument lists: media runs them
// with its own exec.CommandContext, pipes and capped stderr, never
// ffmpeg-go's Run/Compile (which log every command line and, for an s3://
// output name, upload to S3).
//
// ffmpeg-go's ffmpeg.go imports aws-sdk-go for those s3:// outputs, and
// whatever a linked package imports is linked in and initialised. The
// decoder and encoder serve redaction, which needs OpenCV and so the full
// (cgo) build; the CGO_ENABLED=0 build, the binary a police liaison
// verifies bundles with, needs only media.Probe. So the full build
// composes with ffmpeg-go (compose_full.go) and the static build has a
// Compose that says the decoder and encoder are not in it
// (compose_static.go): the choice is made here, in two small files, and
// media's decoder and encoder build everywhere.
package ffargs

import "errors"

// ErrUnavailable is returned by Compose in a build without ffmpeg-go (the
// static build).
var ErrUnavailable = errors.New("ffmpeg decoding and encoding are not in this build of custody (the static verification build): use the full build")

// Spec is one ffmpeg command: one input, some of its streams, one output.
type Spec struct {
	Input      string
	InputArgs  map[string]string // options before -i; "" values are flags
	Streams    []string          // stream specifiers of the input, in output order ("v:0", "a:0?")
	Output     string            // a name media checked is a pipe or an absolute local path
	OutputArgs map[string]string // options of the output
	Global     []string          // global options
}
