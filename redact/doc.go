// Package redact produces a redacted derivative of a video: it decodes the
// frames, finds faces and badges with package detect, follows them with a
// tracker so that no region blinks off for a single frame, destroys the
// detail under each mask, and re-encodes with the original audio and timing.
package redact
