package evalset

import (
	"encoding/csv"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Photo is one labelled dlib photo.
type Photo struct {
	File  string // base name
	Path  string
	Split Split
	Faces []image.Rectangle
}

// Photos reads ../shared/data/faces_dlib/annotations_all.csv (the 43 boxes
// of training.xml and testing.xml, with the split each image belongs to)
// and returns the photos of one split, in file order.
func Photos(shared string, split Split) ([]Photo, error) {
	dir := filepath.Join(shared, "data", "faces_dlib")
	f, err := os.Open(filepath.Join(dir, "annotations_all.csv"))
	if err != nil {
		return nil, fmt.Errorf("evalset: the labelled faces are missing (see ../shared/README.md): %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("evalset: annotations_all.csv: %w", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "image,x,y,w,h,split" {
		return nil, fmt.Errorf("evalset: annotations_all.csv: unexpected header")
	}
	byFile := map[string]*Photo{}
	for i, r := range rows[1:] {
		if Split(r[5]) != split {
			continue
		}
		var v [4]int
		for j := range v {
			if v[j], err = strconv.Atoi(r[j+1]); err != nil {
				return nil, fmt.Errorf("evalset: annotations_all.csv row %d: %w", i+2, err)
			}
		}
		p := byFile[r[0]]
		if p == nil {
			p = &Photo{File: r[0], Path: filepath.Join(dir, r[0]), Split: split}
			byFile[r[0]] = p
		}
		p.Faces = append(p.Faces, image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]))
	}
	var out []Photo
	for _, p := range byFile {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	if len(out) == 0 {
		return nil, fmt.Errorf("evalset: no %s photos in annotations_all.csv", split)
	}
	return out, nil
}
