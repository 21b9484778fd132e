//go:build !cgo

package ffargs

// Available says whether Compose works in this build.
const Available = false

// Compose always fails in the static build: see the package comment.
func Compose(Spec) ([]string, error) { return nil, ErrUnavailable }
