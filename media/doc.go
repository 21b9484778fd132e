// Package media is custody's one door to ffmpeg and ffprobe: probing a file's
// container and streams, decoding frames to raw pixels and encoding them back.
// It runs the tools as child processes bound to a context, with pipes, and
// keeps only a bounded tail of their stderr for error messages.
//
// The decoder's and encoder's command lines are composed with ffmpeg-go
// (command.go) and run by media itself; ffmpeg-go links in aws-sdk-go, so
// the decoder and encoder exist only in cgo builds, the ones with OpenCV
// that redact. The CGO_ENABLED=0 build has Probe and the shared types.
package media
