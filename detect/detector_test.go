//go:build cgo

package detect

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/internal/testenv"
)

// labels reads a hand-labelled CSV (comment lines start with #; a header
// row; then key,x,y,w,h).
func labels(t testing.TB, path string) (keys []string, rects []image.Rectangle) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		v := make([]int, 4)
		for i := range v {
			if v[i], err = strconv.Atoi(row[i+1]); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		keys = append(keys, row[0])
		rects = append(rects, image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]))
	}
	return keys, rects
}

func openT(t testing.TB, cfg Config) *Composite {
	t.Helper()
	if cfg.ModelsDir == "" {
		cfg.ModelsDir = sharedModels(t)
	}
	c, _, err := OpenComposite(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Auto is the default face model and nothing else: without it, Open
// fails, naming the file, and never falls back to another model or to
// Haar cascades.
func TestOpenAutoNeverFallsBack(t *testing.T) {
	tests := []struct {
		name   string
		models []string
	}{
		{"other face models only", []string{ModelUltraFace, ModelSSD, ModelSSDConfig, ModelPPOCRDet}},
		{"ssd only", []string{ModelSSD, ModelSSDConfig, ModelPPOCRDet}},
		{"no face model", []string{ModelPPOCRDet}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := modelsDirWith(t, tc.models...)
			c, warnings, err := OpenComposite(Config{ModelsDir: dir})
			if err == nil {
				c.Close()
				t.Fatalf("auto opened %s (warnings %q), want an error", c.Name(), warnings)
			}
			if !errors.Is(err, ErrModelMissing) {
				t.Errorf("error %v, want ErrModelMissing", err)
			}
			k, _ := knownModel(DefaultFaceModel)
			for _, s := range []string{dir, k.File, "--models"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "Haar") {
				t.Errorf("error %q mentions a Haar fallback", err)
			}
		})
	}
	c, warnings, err := OpenComposite(Config{ModelsDir: modelsDirWith(t, DefaultFaceModel, ModelUltraFace, ModelSSD, ModelSSDConfig, ModelPPOCRDet), Heads: HeadsOff})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Name() != DefaultFaceModel+"+"+ModelPPOCRDet+":badges" || len(warnings) != 0 {
		t.Errorf("auto chose %s, warnings %q", c.Name(), warnings)
	}
	for _, m := range c.Models() {
		if len(m.SHA256) != 64 || m.Path == "" || m.Name == "" || m.Source != SourceDirectory {
			t.Errorf("model without identity: %+v", m)
		}
	}
}

// A weaker detector than the defaults is only ever opened by name, and
// says how it is weaker.
func TestWeaker(t *testing.T) {
	tests := []struct {
		cfg  Config
		says []string
	}{
		{Config{Face: FaceYuNet, Text: TextAll, RotatedFaces: PassOn}, nil},
		{Config{Face: FaceHaar}, []string{"Haar cascades (--detector haar)"}},
		{Config{Face: FaceUltraFace}, []string{ModelUltraFace + " (--detector ultraface)"}},
		{Config{Face: FaceSSD, Text: TextNone}, []string{ModelSSD + " (--detector ssd)", "badges and ID cards are not masked (--text none)"}},
		{Config{Text: TextNone}, []string{"badges and ID cards are not masked (--text none)"}},
	}
	for _, tc := range tests {
		tc.cfg.ModelsDir = sharedModels(t)
		c, warnings, err := OpenComposite(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		weak := c.Weaker()
		c.Close()
		if len(weak) != len(tc.says) || len(warnings) != len(tc.says) {
			t.Errorf("%+v: weaker %q, warnings %q, want %d", tc.cfg, weak, warnings, len(tc.says))
			continue
		}
		for i, s := range tc.says {
			if !strings.Contains(weak[i], s) || !strings.Contains(warnings[i], "weaker than the defaults: "+weak[i]) {
				t.Errorf("%+v: weaker %q, warnings %q, want %q", tc.cfg, weak[i], warnings[i], s)
			}
		}
	}
}

func TestOpenErrors(t *testing.T) {
	onlyYuNet := modelsDirWith(t, DefaultFaceModel)
	def, _ := knownModel(DefaultFaceModel)
	corrupt := t.TempDir()
	orig, err := os.ReadFile(testenv.Shared(t, "models/yunet/"+def.File))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, def.File), orig[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		is   error
		says []string
	}{
		{"named model missing", Config{Face: FaceUltraFace, ModelsDir: onlyYuNet}, ErrModelMissing,
			[]string{onlyYuNet, "version-RFB-320_simplified.onnx"}},
		{"explicit text mode without its model", Config{Text: TextBadges, ModelsDir: onlyYuNet}, ErrModelMissing,
			[]string{onlyYuNet, "en_PP-OCRv3_det_infer_opencv46.onnx"}},
		{"corrupt model is not skipped by auto", Config{ModelsDir: corrupt}, ErrUnknownModel,
			[]string{def.File, "corrupt"}},
		{"bad haar directory", Config{Face: FaceHaar, Text: TextNone, HaarDir: t.TempDir()}, os.ErrNotExist,
			[]string{"haarcascade_frontalface_alt2.xml", "opencv-data"}},
		{"bad config", Config{Face: "dlib"}, ErrConfig, []string{"dlib"}},
		{"default text mode without its model", Config{ModelsDir: onlyYuNet}, ErrModelMissing,
			[]string{onlyYuNet, "en_PP-OCRv3_det_infer_opencv46.onnx"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _, err := Open(tc.cfg)
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// The default text mode and an explicit --text badges are the same
// detector, recorded the same way.
func TestOpenTextDefaultIsBadges(t *testing.T) {
	def := openT(t, Config{})
	badges := openT(t, Config{Text: TextBadges})
	if def.Name() != badges.Name() || def.Config().String() != badges.Config().String() || def.TextMode() != TextBadges {
		t.Errorf("default %s %s, badges %s %s", def.Name(), def.Config(), badges.Name(), badges.Config())
	}
}

// The Go anchor generator must produce exactly as many anchors as the
// network outputs rows, for frame sizes that are and are not multiples
// of 32.
func TestYuNetAnchorsMatchNetwork(t *testing.T) {
	c := openT(t, Config{Face: FaceYuNet, Text: TextNone})
	d := innermost(c.face).(*scaledDetector)
	for _, sz := range []image.Point{{320, 320}, {365, 648}, {608, 1080}, {167, 300}, {64, 64}, {65, 99}} {
		img := gocv.NewMatWithSize(sz.Y, sz.X, gocv.MatTypeCV8UC3)
		blob := gocv.BlobFromImage(img, 1, sz, gocv.NewScalar(0, 0, 0, 0), false, false)
		net, err := d.sized.net(sz)
		if err != nil {
			t.Fatal(err)
		}
		net.SetInput(blob, "")
		outs := net.ForwardLayers([]string{"loc", "conf", "iou"})
		if rows := outs[0].Size()[0]; rows != len(yunetPriors(sz.X, sz.Y)) {
			t.Errorf("%v: network %d rows, Go %d anchors", sz, rows, len(yunetPriors(sz.X, sz.Y)))
		}
		closeAll(outs)
		blob.Close()
		img.Close()
	}
}

func TestDetectRejectsBadFrames(t *testing.T) {
	for _, kind := range []string{FaceYuNet, FaceUltraFace, FaceSSD, FaceHaar} {
		c := openT(t, Config{Face: kind})
		empty := gocv.NewMat()
		gray := gocv.NewMatWithSize(50, 50, gocv.MatTypeCV8UC1)
		for _, m := range []gocv.Mat{empty, gray} {
			if _, err := c.Detect(m); !errors.Is(err, ErrFrame) {
				t.Errorf("%s: %v, want ErrFrame", kind, err)
			}
		}
		empty.Close()
		gray.Close()
	}
}

// Tiny frames must not reach OpenCV in shapes it aborts the process on
// (YuNet's coarsest feature map is empty below 64 px).
func TestDetectTinyFrames(t *testing.T) {
	for _, kind := range []string{FaceYuNet, FaceUltraFace, FaceSSD, FaceHaar} {
		c := openT(t, Config{Face: kind, Text: TextAll})
		for _, sz := range []image.Point{{1, 1}, {33, 47}, {63, 200}, {2000, 8}} {
			img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), sz.Y, sz.X, gocv.MatTypeCV8UC3)
			if _, err := c.Detect(img); err != nil {
				t.Errorf("%s on %v: %v", kind, sz, err)
			}
			img.Close()
		}
	}
}

// Every detector finds every face of two faces_dlib photos (the full
// evaluation is TestEval) and leaves the frame untouched.
func TestFacesOnPhotos(t *testing.T) {
	dir, _, faces := loadAnnotations(t)
	for _, kind := range []string{FaceYuNet, FaceUltraFace, FaceSSD, FaceHaar} {
		c := openT(t, Config{Face: kind, Text: TextNone, Heads: HeadsOff})
		for _, name := range []string{"2008_002506.jpg", "2008_007676.jpg"} {
			img := gocv.IMRead(filepath.Join(dir, name), gocv.IMReadColor)
			before := append([]byte(nil), img.ToBytes()...)
			boxes, err := c.Detect(img)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, img.ToBytes()) {
				t.Errorf("%s modified the frame", kind)
			}
			masks := Rects(ExpandAll(boxes, DefaultMargin, image.Rect(0, 0, img.Cols(), img.Rows())))
			for _, g := range faces[name] {
				if cov := Coverage(g, masks); cov < redactedCoverage {
					t.Errorf("%s on %s: face %v only %.0f%% covered", c.Name(), name, g, 100*cov)
				}
			}
			for _, b := range boxes {
				if b.Label != LabelFace || b.Score <= 0 {
					t.Errorf("%s: bad box %+v", kind, b)
				}
			}
			img.Close()
		}
	}
}

// Close faces: the body-camera clip at arm's length, hand-labelled. The
// DNN detectors must cover every labelled face; the Haar fallback misses
// the face cut by the frame edge in frame 0 (it covers 4 of 5, the floor
// asserted).
func TestCloseFacesOnVideo(t *testing.T) {
	keys, rects := labels(t, "testdata/gen1_faces.csv")
	numbers := make([]int, len(keys))
	for i, k := range keys {
		numbers[i], _ = strconv.Atoi(k)
	}
	paths := extractFrameNumbers(t, gen1Video, numbers)
	kinds := []string{FaceYuNet, FaceUltraFace, FaceSSD, FaceHaar}
	if testing.Short() {
		kinds = kinds[:2] // SSD and Haar take seconds per 1080p frame
	}
	for _, kind := range kinds {
		c := openT(t, Config{Face: kind, Text: TextNone})
		var missed []string
		for i, n := range numbers {
			img := readFrame(t, paths[i])
			boxes, err := c.Detect(img)
			if err != nil {
				t.Fatal(err)
			}
			masks := Rects(ExpandAll(boxes, DefaultMargin, image.Rect(0, 0, img.Cols(), img.Rows())))
			if cov := Coverage(rects[i], masks); cov < redactedCoverage {
				missed = append(missed, fmt.Sprintf("frame %d: face %v only %.0f%% covered (boxes %v)", n, rects[i], 100*cov, boxes))
			}
			img.Close()
		}
		allowed := 0
		if kind == FaceHaar {
			allowed = 1
		}
		if len(missed) > allowed {
			t.Errorf("%s missed %d faces (allowed %d):\n%s", c.Name(), len(missed), allowed, strings.Join(missed, "\n"))
		} else if len(missed) > 0 {
			t.Logf("%s: %s", c.Name(), strings.Join(missed, "; "))
		}
	}
}

// The PP-OCR sample: in mode all every labelled line is covered.
func TestTextOnSample(t *testing.T) {
	names, rects := labels(t, "testdata/sample_text.csv")
	img := readFrame(t, testenv.Shared(t, "models/ppocr_det/sample.jpg"))
	defer img.Close()
	c := openT(t, Config{Face: FaceYuNet, Text: TextAll})
	boxes, err := c.DetectText(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rects {
		if cov := Coverage(r, Rects(boxes)); cov < 0.95 {
			t.Errorf("%q at %v: %.0f%% covered by %v", names[i], r, 100*cov, boxes)
		}
	}
	// Precision: the boxes stay on the sign (x 240..800, y 150..533), not
	// on the building or the pavement.
	sign := image.Rect(240, 150, 800, 533)
	for _, b := range boxes {
		if b.Label != LabelText || containedIn(b, boxFromRect(sign, 0, "")) < 0.9 {
			t.Errorf("text box %+v off the sign", b)
		}
	}
	// In badges mode, with nobody in the picture and no card, the sign is
	// not masked.
	cb := openT(t, Config{Face: FaceYuNet, Text: TextBadges})
	if boxes, err := cb.DetectText(img, nil); err != nil || len(boxes) != 0 {
		t.Errorf("badges mode masked a street sign: %v %v", boxes, err)
	}
}

// OpenCV 4.6 reuses a Net's buffers of the first input size for the next,
// giving wrong maps; textNets keeps one Net per size. Processing two sizes
// in alternation through the cache must give the same maps as a fresh
// Net for each call.
func TestTextNetPerSizeCache(t *testing.T) {
	img := readFrame(t, testenv.Shared(t, "models/ppocr_det/sample.jpg"))
	defer img.Close()
	dir := sharedModels(t)
	cached, err := newTextNets(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cached.Close()
	sizes := []image.Point{{800, 544}, {480, 320}, {800, 544}, {480, 320}}
	// One Net for every size: the failure the cache avoids, logged for
	// comparison.
	shared, err := loadONNX(cached.data, cached.model)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	for i, sz := range sizes {
		got, err := cached.probMap(img, sz)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := loadONNX(cached.data, cached.model)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ppocrForward(&fresh, img, sz)
		fresh.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(got, want); d > 1e-4 {
			t.Errorf("call %d, size %v: cached map differs from a fresh Net's by %g", i, sz, d)
		}
		if m, err := ppocrForward(&shared, img, sz); err == nil {
			t.Logf("call %d, size %v: one shared Net differs from a fresh Net by %g", i, sz, maxAbsDiff(m, want))
		}
	}
	if len(cached.nets) != 2 {
		t.Errorf("%d Nets cached, want 2 (one per size)", len(cached.nets))
	}
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return 1e9
	}
	d := 0.0
	for i := range a {
		if x := float64(a[i] - b[i]); x > d {
			d = x
		} else if -x > d {
			d = -x
		}
	}
	return d
}

func TestTextNetCacheEvicts(t *testing.T) {
	c, err := newTextNets(sharedModels(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < maxTextNets+3; i++ {
		if _, err := c.net(image.Pt(64+32*i, 64)); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.nets) != maxTextNets || len(c.lru) != maxTextNets {
		t.Errorf("%d nets, %d in LRU, want %d", len(c.nets), len(c.lru), maxTextNets)
	}
	if _, ok := c.nets[image.Pt(64, 64)]; ok {
		t.Error("oldest Net not evicted")
	}
}

// badgeScene draws an ID badge (photo from faces_dlib above a printed
// name) on the chest of the person in a frame of the body-camera clip.
// It returns the frame and the card's rectangle.
func badgeScene(t *testing.T, cardColor color.RGBA, outline bool, cropTop int) (gocv.Mat, image.Rectangle) {
	t.Helper()
	frame := readFrame(t, extractFrames(t, gen1Video, 1, 300)[0])
	card := image.Rect(340, 520, 340+150, 520+230)
	gocv.Rectangle(&frame, card, cardColor, -1)
	if outline {
		gocv.Rectangle(&frame, card, color.RGBA{R: 40, G: 40, B: 40}, 2)
	}
	photo := readFrame(t, testenv.Shared(t, "data/faces_dlib/2008_001009.jpg"))
	face := photo.Region(image.Rect(130, 60, 235, 175))
	ph := resized(face, image.Pt(90, 100))
	dst := frame.Region(image.Rect(370, 540, 460, 640))
	ph.CopyTo(&dst)
	dst.Close()
	ph.Close()
	face.Close()
	photo.Close()
	black := color.RGBA{}
	gocv.PutText(&frame, "JANE SMITH", image.Pt(350, 675), gocv.FontHersheySimplex, 0.6, black, 2)
	gocv.PutText(&frame, "Staff Nurse", image.Pt(360, 705), gocv.FontHersheySimplex, 0.55, black, 1)
	if cropTop > 0 {
		r := frame.Region(image.Rect(0, cropTop, frame.Cols(), frame.Rows()))
		c := r.Clone()
		r.Close()
		frame.Close()
		frame = c
		card = card.Sub(image.Pt(0, cropTop))
	}
	return frame, card
}

// A badge worn by a person is masked as a whole card, photo included, in
// badges and all modes; text none masks nothing.
func TestBadgeMaskedAsWholeCard(t *testing.T) {
	tests := []struct {
		name    string
		color   color.RGBA
		outline bool
		cropTop int
	}{
		{"white card on the chest", color.RGBA{R: 245, G: 245, B: 245}, true, 0},
		// No visible card edge: the extent is guessed from the text.
		{"card without an outline, close to the shirt", color.RGBA{R: 150, G: 170, B: 60}, false, 0},
		// No face: only a visible card outline makes text a badge.
		{"head out of frame", color.RGBA{R: 245, G: 245, B: 245}, true, 420},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, card := badgeScene(t, tc.color, tc.outline, tc.cropTop)
			defer img.Close()
			for _, mode := range []string{TextBadges, TextAll} {
				c := openT(t, Config{Face: FaceYuNet, Text: mode})
				boxes, err := c.Detect(img)
				if err != nil {
					t.Fatal(err)
				}
				var text []image.Rectangle
				for _, b := range boxes {
					if b.Label == LabelText {
						text = append(text, b.Rect())
					}
				}
				if cov := Coverage(card, text); cov < 0.95 {
					t.Errorf("%s: card %v only %.0f%% covered by text masks %v", mode, card, 100*cov, text)
				}
			}
			c := openT(t, Config{Face: FaceYuNet, Text: TextNone})
			boxes, err := c.Detect(img)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range boxes {
				if b.Label == LabelText {
					t.Errorf("text none returned %+v", b)
				}
			}
		})
	}
}

// With TextEvery 3 the text model runs on calls 1 and 4 only; calls 2 and
// 3 return the badge moved with its wearer's face (proved by giving them a
// blank frame, on which the model would find nothing).
func TestTextEveryCarriesWornBadges(t *testing.T) {
	img, _ := badgeScene(t, color.RGBA{R: 245, G: 245, B: 245}, true, 0)
	defer img.Close()
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), img.Rows(), img.Cols(), gocv.MatTypeCV8UC3)
	defer blank.Close()
	c := openT(t, Config{Face: FaceYuNet, Text: TextBadges, TextEvery: 3})
	faces, err := c.DetectFaces(img)
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.DetectText(img, faces)
	if err != nil || len(first) == 0 {
		t.Fatalf("first pass: %v %v", first, err)
	}
	moved := make([]Box, len(faces))
	for i, f := range faces {
		f.X += 20
		f.Y += 10
		moved[i] = f
	}
	for call := 2; call <= 3; call++ {
		got, err := c.DetectText(blank, moved)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(first) {
			t.Fatalf("call %d: %d boxes, want the %d carried", call, len(got), len(first))
		}
		for i := range got {
			if got[i].X != first[i].X+20 || got[i].Y != first[i].Y+10 || got[i].W != first[i].W || got[i].H != first[i].H {
				t.Errorf("call %d: %+v, want %+v moved by (20,10)", call, got[i], first[i])
			}
		}
	}
	// Call 4 runs the model: on the blank frame it finds nothing, and
	// with no wearer in view nothing is kept.
	if got, err := c.DetectText(blank, nil); err != nil || len(got) != 0 {
		t.Errorf("call 4 should run the model on the blank frame: %v %v", got, err)
	}
}

// A worn card not found again on a text pass while its wearer is still in
// view is kept, moved with the wearer, for cardKeepPasses passes, then
// dropped: a card turned edge-on for a moment stays masked.
func TestWornCardKeptWhileWearerInView(t *testing.T) {
	img, _ := badgeScene(t, color.RGBA{R: 245, G: 245, B: 245}, true, 0)
	defer img.Close()
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), img.Rows(), img.Cols(), gocv.MatTypeCV8UC3)
	defer blank.Close()
	c := openT(t, Config{Face: FaceYuNet, Text: TextBadges})
	faces, err := c.DetectFaces(img)
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.DetectText(img, faces)
	if err != nil || len(first) == 0 {
		t.Fatalf("first pass: %v %v", first, err)
	}
	for pass := 1; pass <= cardKeepPasses+1; pass++ {
		got, err := c.DetectText(blank, faces)
		if err != nil {
			t.Fatal(err)
		}
		want := len(first)
		if pass > cardKeepPasses {
			want = 0
		}
		if len(got) != want {
			t.Errorf("blank pass %d: %v, want %d boxes", pass, got, want)
		}
	}
}

// With SmallFaceEvery 2 the finest face pass runs on calls 1 and 3 only:
// a face too small for the coarser pass is found on those calls and not on
// call 2, a large one on every call; ResetCadence and a new frame size
// bring the full search back at once.
func TestSmallFaceEvery(t *testing.T) {
	src := readFrame(t, extractFrames(t, gen1Video, 1, 150)[0])
	defer src.Close()
	scene := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 1080, 1080, gocv.MatTypeCV8UC3)
	defer scene.Close()
	paste := func(scale float64, x, y int) {
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(src, &small, image.Point{}, scale, scale, gocv.InterpolationArea)
		roi := scene.Region(image.Rect(x, y, x+small.Cols(), y+small.Rows()))
		defer roi.Close()
		small.CopyTo(&roi)
	}
	paste(0.08, 80, 80)  // a face of about 25 px: the fine pass only
	paste(0.6, 400, 300) // a face of about 150 px: every pass
	count := func(boxes []Box) (small, large int) {
		for _, b := range boxes {
			switch {
			case b.X < 300 && b.Y < 300:
				small++
			case b.X >= 400:
				large++
			}
		}
		return
	}
	// Passes planned for 20 px faces (finest 0.6, next 0.28 of the
	// frame): the 25 px face is the finest pass's alone.
	c := openT(t, Config{Face: FaceYuNet, Text: TextNone, SmallFaceEvery: 2, MinFace: 20})
	if got := c.SmallFaceEvery(); got != 2 {
		t.Fatalf("SmallFaceEvery() = %d", got)
	}
	want := []int{1, 0, 1, 0}
	for call, w := range want {
		boxes, err := c.DetectFaces(scene)
		if err != nil {
			t.Fatal(err)
		}
		small, large := count(boxes)
		if small != w || large != 1 {
			t.Errorf("call %d: %d small and %d large faces, want %d and 1 (%+v)", call+1, small, large, w, boxes)
		}
	}
	c.ResetCadence()
	if boxes, _ := c.DetectFaces(scene); func() int { s, _ := count(boxes); return s }() != 1 {
		t.Errorf("after ResetCadence the first call did not search for small faces")
	}
	cropped := scene.Region(image.Rect(0, 0, 1080, 1078))
	defer cropped.Close()
	if boxes, _ := c.DetectFaces(cropped); func() int { s, _ := count(boxes); return s }() != 1 {
		t.Errorf("a new frame size did not bring the small-face pass back")
	}
	// A call that runs the text pass runs the finest face pass too (so a
	// badge is seen with its small wearer): with text every 3rd call,
	// calls 1, 3 (cadence) and 4 (text) search for small faces, call 2
	// does not.
	ct := openT(t, Config{Face: FaceYuNet, Text: TextBadges, TextEvery: 3, SmallFaceEvery: 2, MinFace: 20, Heads: HeadsOff})
	for call, w := range []int{1, 0, 1, 1} {
		boxes, err := ct.Detect(scene)
		if err != nil {
			t.Fatal(err)
		}
		var faces []Box
		for _, b := range boxes {
			if b.Label == LabelFace {
				faces = append(faces, b)
			}
		}
		if small, _ := count(faces); small != w {
			t.Errorf("text every 3, call %d: %d small faces, want %d", call+1, small, w)
		}
	}
	// Haar has one pass: nothing to skip.
	if h := openT(t, Config{Face: FaceHaar, Text: TextNone, SmallFaceEvery: 2}); h.SmallFaceEvery() != 1 || h.Config().SmallFaceEvery != 1 {
		t.Errorf("Haar: SmallFaceEvery() = %d, recorded %d, want 1", h.SmallFaceEvery(), h.Config().SmallFaceEvery)
	}
}
