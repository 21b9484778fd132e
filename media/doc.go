// Package media is custody's one door to ffmpeg and ffprobe: probing a file's
// container and streams, decoding frames to raw pixels and encoding them back.
// It runs the tools as child processes bound to a context, with pipes, and
// keeps only a bounded tail of their stderr for error messages.
package media
