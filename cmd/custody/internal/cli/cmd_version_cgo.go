//go:build cgo

package cli

import (
	"github.com/custody-evidence/custody/detect"
	"gocv.io/x/gocv"
)

// versionMedia is the full build's part of `custody version`: OpenCV and
// the models built in, each checked against the table.
func versionMedia() (build, opencv string, models []modelInfo) {
	for _, m := range detect.Embedded() {
		mi := modelInfo{Name: m.Name, File: m.Dir + "/" + m.File, Size: m.Size, SHA256: m.SHA256Got, Present: m.Present,
			License: m.License, LicenseFile: m.LicenseFile, Origin: m.Origin, LicenseText: m.LicenseText}
		if m.Err != nil {
			mi.Error = m.Err.Error()
		}
		models = append(models, mi)
	}
	return "full", gocv.OpenCVVersion(), models
}
