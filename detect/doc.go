// Package detect finds the regions of a video frame or still image that
// identify a person: faces, and name badges, ID cards and other legible text.
//
// Every detector reports boxes in the pixel coordinates of the frame it was
// given. Detectors are tuned for recall: a missed face is a privacy breach,
// a spurious box only costs a little picture. The pure-Go types in this file
// set (Box, Label, Model) build without cgo so that ledger records and
// export bundles can describe detections on a CGO_ENABLED=0 build; the
// detectors themselves need OpenCV and build only with cgo.
package detect
