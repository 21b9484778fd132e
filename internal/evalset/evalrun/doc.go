// Package evalrun scores redaction configurations on the benchmark of
// package evalset: each configuration (a Row: a detect.Config plus the
// scan options of redact) runs exactly as `custody detect --json` does,
// through redact.DetectImage and redact.DetectVideo, and the regions it
// reports are scored as the pixels redact would paint.
//
// `make eval` prints its tables (TestEval in this package); tests anywhere
// can call Row.ScoreStills and Row.ScoreClip to hold a configuration to a
// floor measured on the tuning split (evalset.Tuning).
package evalrun
