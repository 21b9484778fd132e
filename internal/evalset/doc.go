// Package evalset builds the redaction benchmark's data sets and scores
// masks against them: the labelled dlib faces and hard variants of them
// (small, turned, dark, blurred, low-quality JPEG, seen from the ceiling),
// rendered name badges worn on lanyards and clips, and variants of the
// shared clips, each with its ground truth carried through every
// transformation.
//
// Everything is generated reproducibly (fixed seeds, pure Go image code,
// ffmpeg only to decode and encode video) from ../shared into a git-ignored
// cache (CacheDir, .cache/eval by default), never committed. Data sets keep
// a split: images from dlib's training.xml (Tuning) are for choosing
// thresholds, images from testing.xml (Reporting) for the figures reported.
//
// The package knows nothing about the detectors under test: a caller turns
// a configuration's output into Masks (the pixels it would paint) and
// Score compares them with the ground truth. It builds without cgo, so that
// package detect's own tests can use it; evalset/evalrun adapts
// detect.Config and redact.ScanOptions to it, and evalset/refyunet is the
// plain YuNet reference and the independent detector that labels faces in
// the clips.
package evalset
