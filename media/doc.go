// Package media is custody's one door to ffmpeg and ffprobe: probing a file's
// container and streams, decoding frames to raw pixels and encoding them back.
// It runs the tools as child processes bound to a context, with pipes, and
// keeps only a bounded tail of their stderr for error messages.
//
// The decoder's and encoder's command lines are decided in command.go,
// composed with ffmpeg-go by media/internal/ffargs (the only importer of
// ffmpeg-go) and run by media itself. ffmpeg-go links in aws-sdk-go, so
// ffargs composes only in the full (cgo) build, the one with OpenCV that
// redacts; in the CGO_ENABLED=0 build the decoder and encoder compile but
// refuse to start (ErrStaticBuild), and that binary carries no AWS SDK.
package media
