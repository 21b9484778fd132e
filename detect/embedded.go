//go:build cgo

package detect

import "github.com/custody-evidence/custody/detect/internal/embedded"

// The full build carries the models the defaults need (see
// detect/internal/embedded); a CGO_ENABLED=0 build, which has no
// detectors, does not import them and so does not carry them.
func init() { embeddedFiles = embedded.Files }
