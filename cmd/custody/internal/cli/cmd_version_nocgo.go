//go:build !cgo

package cli

// versionMedia: the static build has no OpenCV and carries no models.
func versionMedia() (build, opencv string, models []modelInfo) {
	return "static", "", []modelInfo{}
}
