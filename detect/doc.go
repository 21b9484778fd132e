// Package detect finds the regions of a video frame or still image that
// identify a person: faces, and name badges, ID cards and other legible text.
//
// Every detector reports boxes in the pixel coordinates of the frame it was
// given. Detectors are tuned for recall: a missed face is a privacy breach,
// a spurious box only costs a little picture. The pure-Go types in this file
// set (Box, Label, Model, Config, the model table and the geometry helpers
// such as Expand and Coverage) build without cgo so that ledger records and
// export bundles can describe detections on a CGO_ENABLED=0 build; the
// detectors themselves need OpenCV and build only with cgo.
//
// Open builds a detector from a Config: a face detector (YuNet 2022mar by
// default; UltraFace RFB-320, OpenCV's res10 SSD or Debian's Haar cascades
// when named, with a warning that they are weaker) and the PP-OCRv3 text
// detector with badge logic. The models the defaults need are built into
// the binary (KnownModels marked Embed; see detect/internal/embedded);
// --models or $CUSTODY_MODELS names a directory to use instead (ModelsDir).
// Every model file is identified by sha256 against KnownModels; a missing,
// unknown or corrupt file is an error, never silently skipped, and nothing
// falls back to a weaker detector.
//
// Faces of every size are found by running each model over a plan of
// rescaled passes (planScales): the finest brings the smallest wanted face
// (Config.MinFace, 20 px by default) into the model's reliable range, the
// coarsest brings a face as large as the frame into it. Models with a fixed
// input (UltraFace, SSD) run in overlapping tiles. Duplicates merge by NMS.
//
// The redactor grows every box by a margin before masking; Expand is that
// function, and the evaluation (go test ./detect -eval -run 'TestEval$' -v) measures
// recall with it, so the recall reported is the recall delivered.
package detect
