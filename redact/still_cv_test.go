//go:build cgo

package redact

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/testenv"
)

// TestReadStillMatchesOpenCV compares readStill with OpenCV's imread (the
// decoder custody used before, and still the reference) on real photos and
// on one photo stored in each of the eight EXIF orientations: the same
// size, the same way up, and the same pixels up to the small differences
// between two JPEG decoders' inverse DCTs.
func TestReadStillMatchesOpenCV(t *testing.T) {
	dir := t.TempDir()
	src := testenv.Shared(t, "data/faces_dlib/2008_001322.jpg")
	files := []string{src, testenv.Shared(t, "data/faces_dlib/2009_004587.jpg")}
	jpeg, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for o := uint16(1); o <= 8; o++ {
		bo := binary.ByteOrder(binary.BigEndian)
		if o%2 == 0 {
			bo = binary.LittleEndian
		}
		p := filepath.Join(dir, fmt.Sprintf("orient-%d.jpg", o))
		if err := os.WriteFile(p, withEXIF(jpeg, o, bo), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	// A 60 KB segment, as with a camera's thumbnail: the orientation must
	// still be read although the segment is longer than a small buffer.
	p := filepath.Join(dir, "orient-6-thumbnail.jpg")
	if err := os.WriteFile(p, withEXIFPadded(jpeg, 6, binary.BigEndian, 60000), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, p)
	for _, p := range files {
		ref := gocv.IMRead(p, gocv.IMReadColor)
		if ref.Empty() {
			t.Fatalf("OpenCV cannot read %s", p)
		}
		want, rw, rh := ref.ToBytes(), ref.Cols(), ref.Rows()
		ref.Close()
		got, w, h, err := readStill(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if w != rw || h != rh {
			t.Fatalf("%s: %dx%d, OpenCV %dx%d", filepath.Base(p), w, h, rw, rh)
		}
		var sum int
		for i := range got {
			d := int(got[i]) - int(want[i])
			sum += max(d, -d)
		}
		if mad := float64(sum) / float64(len(got)); mad > 3 {
			t.Errorf("%s: mean absolute difference from OpenCV %.2f levels, want <= 3", filepath.Base(p), mad)
		}
	}
}
