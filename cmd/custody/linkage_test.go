//go:build cgo && linux

package main

import (
	"debug/elf"
	"os"
	"strings"
	"testing"
)

// TestLinkedLibraries checks that the full build, linked as the Makefile
// links it, loads only the OpenCV modules custody calls. Each of the
// others drags in tens of libraries (Qt, GStreamer, GDAL) that every
// command would pay for in memory at start-up, so a new call into, say,
// gocv.IMRead must be a deliberate choice, made here.
func TestLinkedLibraries(t *testing.T) {
	if !strings.Contains(os.Getenv("CGO_LDFLAGS"), "--gc-sections") {
		t.Skip("CGO_LDFLAGS is not the Makefile's: run `make test`, which links as `make build` does")
	}
	bin := buildCustody(t, t.TempDir(), false)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"core": true, "imgproc": true, "dnn": true, "objdetect": true}
	var cv []string
	for _, l := range libs {
		if m, ok := strings.CutPrefix(l, "libopencv_"); ok {
			m, _, _ = strings.Cut(m, ".so")
			cv = append(cv, m)
			if !allowed[m] {
				t.Errorf("the full build links %s: custody calls no function of OpenCV's %s module, or should not (see the Makefile's CGO_LDFLAGS)", l, m)
			}
		}
	}
	if len(cv) == 0 {
		t.Fatalf("no OpenCV library linked at all (%v): is this the cgo build?", libs)
	}
	t.Logf("OpenCV modules linked: %v", cv)
}
