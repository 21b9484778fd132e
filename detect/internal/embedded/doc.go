// Package embedded carries the model files the default detectors need,
// built into custody. `make models` (which make build, test, bench, eval
// and demo run first) copies them from ../shared/models into this
// directory, which git ignores except for this file, and writes the Go file
// that embeds them (files_gen.go). Which files is decided by one table,
// detect.KnownModels (field Embed). A plain `go build` before that step
// builds a custody without models, which refuses to redact and says how to
// build it; CGO_ENABLED=0 builds, which cannot redact, never carry them.
package embedded

// Files maps a path relative to the models directory (as in
// ../shared/models, e.g. "yunet/face_detection_yunet_2022mar.onnx") to the
// file's contents, which are read-only data of the binary. Empty in a build
// without models.
var Files map[string]string
