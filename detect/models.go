package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// KnownModel is a model file this package knows how to run. Files are
// identified by sha256: a file under a known name with another hash is
// refused, so that the audit record's model hash always names weights whose
// behaviour was evaluated.
type KnownModel struct {
	Name   string // audit name, e.g. "yunet-2022mar"
	File   string // file name inside the models directory
	Dir    string // conventional subdirectory, also searched
	SHA256 string
	Size   int64
	About  string
	// Embed marks the models the default detectors need. The full build
	// carries them in the binary (make copies them from ../shared/models:
	// see embedded.go), so that a redaction never depends on a directory
	// being configured, and a store redaction refuses a detector that uses
	// any other (Composite.Weaker). Making a model part of the defaults is
	// setting this.
	Embed bool
	// License names the model's licence; LicenseFile is its text, relative
	// to the models directory (embedded with the model, and printed by
	// `custody version --licenses`); Origin says where the file comes from.
	License     string
	LicenseFile string
	Origin      string
}

// Names of the known model files.
const (
	ModelYuNet       = "yunet-2022mar"
	ModelYuNet2023   = "yunet-2023mar"
	ModelUltraFace   = "ultraface-rfb-320"
	ModelSSD         = "res10-ssd-uint8"
	ModelSSDConfig   = "res10-ssd-uint8-pbtxt"
	ModelPPOCRDet    = "ppocrv3-det-en-opencv46"
	ModelYOLOXNano   = "yolox-nano"
	modelHaarPrefix  = "haar-"
	modelsSubdirName = "custody/models"
)

// KnownModels lists every model file the detectors accept.
var KnownModels = []KnownModel{
	{Name: ModelYuNet, File: "face_detection_yunet_2022mar.onnx", Dir: "yunet",
		SHA256: "50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7", Size: 345478,
		About: "YuNet face detector, 2022mar release (opencv_zoo)", Embed: true,
		License: "MIT", LicenseFile: "yunet/LICENSE.txt",
		Origin: "opencv/opencv_zoo models/face_detection_yunet (byte-identical to the official file)"},
	{Name: ModelYuNet2023, File: "face_detection_yunet_2023mar.onnx", Dir: "yunet",
		SHA256: "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0", Size: 229738,
		About: "YuNet face detector, 2023mar release layout", Embed: true,
		License: "MIT", LicenseFile: "yunet/LICENSE.txt",
		Origin: "opencv/opencv_zoo models/face_detection_yunet, 2023mar layout; copied from RuDr8A/RealTime-PPE-Compliance @ d876a82"},
	{Name: ModelUltraFace, File: "version-RFB-320_simplified.onnx", Dir: "ultraface",
		SHA256: "faf6740b495e8b9508e6fda11e8c0368bbdde01143e8f0a3e511d0892c4d794e", Size: 1114081,
		About:   "Ultra-Light-Fast face detector RFB-320",
		License: "MIT", LicenseFile: "ultraface/LICENSE.ultraface.txt",
		Origin: "Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB"},
	{Name: ModelSSD, File: "opencv_face_detector_uint8.pb", Dir: "opencv_face_detector",
		SHA256: "5c71d752ef2cbf2f457ac82fdd580fcb2522fd04c5efdaed18eb6d9e2843fbed", Size: 2727750,
		About:   "OpenCV res10 SSD face detector, TensorFlow uint8 weights",
		License: "OpenCV sample model", Origin: "opencv/opencv samples/dnn/face_detector"},
	{Name: ModelSSDConfig, File: "opencv_face_detector.pbtxt", Dir: "opencv_face_detector",
		SHA256: "5397808362fc6fb7c4044484848e297b22449d913a267fa7f8bd9d86dce29144", Size: 34912,
		About:   "OpenCV res10 SSD face detector, graph description",
		License: "OpenCV sample model", Origin: "opencv/opencv samples/dnn/face_detector"},
	{Name: ModelPPOCRDet, File: "en_PP-OCRv3_det_infer_opencv46.onnx", Dir: "ppocr_det",
		SHA256: "b99dc48882db71b87a71f5798dcd24ddf47b03355f40a29cc32f033cd0f70eaa", Size: 2434262,
		About: "PaddleOCR v3 English text detector (DB), Clip nodes patched for OpenCV 4.6", Embed: true,
		License: "Apache-2.0", LicenseFile: "ppocr_det/LICENSE.Kazuhito00-PaddleOCR-ONNX-Sample.txt",
		Origin: "PaddlePaddle/PaddleOCR en_PP-OCRv3_det, ONNX export of Kazuhito00/PaddleOCR-ONNX-Sample; " +
			"MODIFIED: the 20 Clip nodes' constant min/max inputs made attributes so that OpenCV 4.6 loads it"},
	{Name: ModelYOLOXNano, File: "yolox_nano.onnx", Dir: "yolox",
		SHA256: "e8af074932d4ed7e232278e3055cefcdea3edf178874a3694ae292649fb464dd", Size: 3678356,
		About: "YOLOX-Nano object detector, COCO 80 classes (class 0 = person)", Embed: true,
		License: "Apache-2.0", LicenseFile: "yolox/LICENSE.txt",
		Origin: "Megvii-BaseDetection/YOLOX official ONNX export; copied from Bigisland1729/object-detection-models @ 7f3f2fa3"},
}

// DefaultFaceModel is the face model of Face "auto" (the defaults):
// measured against YuNet 2022mar on every category of make eval.
const DefaultFaceModel = ModelYuNet2023

func knownModel(name string) (KnownModel, bool) {
	for _, k := range KnownModels {
		if k.Name == name {
			return k, true
		}
	}
	return KnownModel{Name: name}, false
}

// EmbeddedPrefix begins the Path of a model read from the set built into
// this binary, e.g. "embedded:yunet/face_detection_yunet_2022mar.onnx".
const EmbeddedPrefix = "embedded:"

// Where a model was read from, for Model.Source.
const (
	SourceEmbedded  = "embedded"
	SourceDirectory = "directory"
)

// embeddedFiles holds the files built into this binary (the models
// KnownModels marks Embed, and their licence texts), by path relative to
// the models directory, as read-only data. embedded.go fills it in the cgo
// build; it is empty in a binary built without `make` (go build before
// make has copied the models in) and in CGO_ENABLED=0 builds, which cannot
// redact and so carry no models.
var embeddedFiles map[string]string

// HasEmbedded reports whether this binary carries built-in models.
func HasEmbedded() bool { return len(embeddedFiles) > 0 }

// ModelsDir resolves where models are read from: the --models flag value
// if set, else $CUSTODY_MODELS; else the models built into this binary,
// for which dir is "" (LoadModel's name for them) and searched is nil.
// Only a binary without built-in models looks further, in the first
// existing custody/models directory under $XDG_DATA_HOME (default
// ~/.local/share) and then $XDG_DATA_DIRS (default
// /usr/local/share:/usr/share); when none exists, dir is the user
// directory, the place to install models. searched lists every directory
// considered, in order, for error messages.
func ModelsDir(flag string) (dir string, searched []string) {
	if flag != "" {
		return flag, []string{flag}
	}
	if env := os.Getenv("CUSTODY_MODELS"); env != "" {
		return env, []string{env}
	}
	if HasEmbedded() {
		return "", nil
	}
	return dataModelsDir()
}

// dataModelsDir is the installed models directory under the XDG data
// directories.
func dataModelsDir() (dir string, searched []string) {
	var cands []string
	home := os.Getenv("XDG_DATA_HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = filepath.Join(h, ".local", "share")
		}
	}
	if home != "" {
		cands = append(cands, filepath.Join(home, modelsSubdirName))
	}
	dataDirs := os.Getenv("XDG_DATA_DIRS")
	if dataDirs == "" {
		dataDirs = "/usr/local/share:/usr/share"
	}
	for _, d := range strings.Split(dataDirs, ":") {
		if d != "" {
			cands = append(cands, filepath.Join(d, modelsSubdirName))
		}
	}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, cands
		}
	}
	if len(cands) == 0 {
		// Nowhere to look: "" would name the built-in set, of which
		// there is none; the working directory is what was searched
		// before there was one.
		return ".", []string{"."}
	}
	return cands[0], cands
}

// FindModel returns the path of the known model name in dir (directly in
// dir, or in its conventional subdirectory) without checking its contents;
// with dir "", its EmbeddedPrefix path in the set built into this binary.
// A missing file gives a *ModelError wrapping ErrModelMissing.
func FindModel(dir, name string) (string, error) {
	k, ok := knownModel(name)
	if !ok {
		return "", configError("unknown model name %q", name)
	}
	if dir == "" {
		if _, ok := embeddedFiles[k.embeddedPath()]; !ok {
			return "", &ModelError{Model: name, Err: ErrModelMissing}
		}
		return EmbeddedPrefix + k.embeddedPath(), nil
	}
	for _, p := range []string{filepath.Join(dir, k.File), filepath.Join(dir, k.Dir, k.File)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", &ModelError{Model: name, Path: p, Dir: dir, Err: err}
		}
	}
	return "", &ModelError{Model: name, Dir: dir, Err: ErrModelMissing}
}

// embeddedPath is where the model sits in the models directory, and so in
// the built-in set: its conventional subdirectory.
func (k KnownModel) embeddedPath() string { return k.Dir + "/" + k.File }

// LoadModel finds the known model name in dir, reads it and checks its
// sha256. The bytes returned are the bytes hashed, so the network built from
// them is exactly the audited file. dir "" reads the set built into this
// binary (ModelsDir's answer when neither --models nor CUSTODY_MODELS is
// given): those bytes are the binary's read-only data, not a copy, and
// must not be modified (OpenCV only reads them).
func LoadModel(dir, name string) ([]byte, Model, error) {
	if dir == "" {
		return loadEmbedded(name)
	}
	p, err := FindModel(dir, name)
	if err != nil {
		return nil, Model{}, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, Model{}, &ModelError{Model: name, Path: p, Dir: dir, Err: err}
	}
	if err := checkModel(name, p, data); err != nil {
		return nil, Model{}, err
	}
	return data, Model{Name: name, Path: p, SHA256: sha256Hex(data), Source: SourceDirectory}, nil
}

// embeddedSums caches the sha256 of built-in files, by their data's
// address and length: the data cannot change, and hashing the set costs
// some 20 ms.
var embeddedSums sync.Map

type dataKey struct {
	p *byte
	n int
}

// loadEmbedded is LoadModel for the built-in set. A built-in file is
// checked against the table like any other: a binary built from a stale
// copy refuses it rather than run weights the table does not name.
func loadEmbedded(name string) ([]byte, Model, error) {
	p, err := FindModel("", name)
	if err != nil {
		return nil, Model{}, err
	}
	rel := strings.TrimPrefix(p, EmbeddedPrefix)
	s := embeddedFiles[rel]
	data := readOnlyBytes(s)
	key := dataKey{unsafe.StringData(s), len(s)}
	sum, ok := embeddedSums.Load(key)
	if !ok {
		sum, _ = embeddedSums.LoadOrStore(key, sha256Hex(data))
	}
	if err := checkSum(name, p, sum.(string), len(data)); err != nil {
		return nil, Model{}, err
	}
	return data, Model{Name: name, Path: p, SHA256: sum.(string), Source: SourceEmbedded}, nil
}

// readOnlyBytes views s as bytes without copying: for data embedded in the
// binary, which lives in read-only memory (writing to it faults).
func readOnlyBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// EmbeddedModel is one model of the defaults, as built into this binary.
type EmbeddedModel struct {
	KnownModel
	// Present is whether this binary carries the file; SHA256Got is its
	// hash (the table's when intact).
	Present   bool
	SHA256Got string
	// LicenseText is the licence file's text, when built in.
	LicenseText string
	Err         error // nil when present and intact
}

// Embedded lists the models the defaults need (KnownModels marked Embed)
// and whether this binary carries each, intact, with its licence: for
// `custody version`.
func Embedded() []EmbeddedModel {
	var out []EmbeddedModel
	for _, k := range KnownModels {
		if !k.Embed {
			continue
		}
		em := EmbeddedModel{KnownModel: k, LicenseText: embeddedFiles[k.LicenseFile]}
		_, m, err := loadEmbedded(k.Name)
		em.SHA256Got, em.Err = m.SHA256, err
		var me *ModelError
		if errors.As(err, &me) && me.Got != "" {
			em.SHA256Got = me.Got
		}
		em.Present = !errors.Is(err, ErrModelMissing)
		out = append(out, em)
	}
	return out
}

// CheckModelFile reads path and reports which known model it is, or a
// *ModelError wrapping ErrUnknownModel when its hash matches none.
func CheckModelFile(path string) (Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Model{}, &ModelError{Path: path, Err: err}
	}
	sum := sha256Hex(data)
	base := filepath.Base(path)
	for _, k := range KnownModels {
		if k.SHA256 == sum {
			return Model{Name: k.Name, Path: path, SHA256: sum}, nil
		}
	}
	for _, k := range KnownModels {
		if k.File == base {
			return Model{}, &ModelError{Model: k.Name, Path: path, Want: k.SHA256, Got: sum,
				Size: int64(len(data)), Err: ErrUnknownModel}
		}
	}
	return Model{}, &ModelError{Model: base, Path: path, Got: sum, Size: int64(len(data)), Err: ErrUnknownModel}
}

func checkModel(name, path string, data []byte) error {
	return checkSum(name, path, sha256Hex(data), len(data))
}

func checkSum(name, path, sum string, size int) error {
	k, _ := knownModel(name)
	if sum != k.SHA256 {
		return &ModelError{Model: name, Path: path, Want: k.SHA256, Got: sum, Size: int64(size), Err: ErrUnknownModel}
	}
	return nil
}

// ModelStatus is one line of an inventory of a models directory.
type ModelStatus struct {
	KnownModel
	Path string // where the file was found; empty when missing
	Err  error  // nil when present and intact
}

// Inventory checks every known model in dir ("" for the built-in set),
// for `custody models`-style listings.
func Inventory(dir string) []ModelStatus {
	out := make([]ModelStatus, 0, len(KnownModels))
	for _, k := range KnownModels {
		st := ModelStatus{KnownModel: k}
		_, m, err := LoadModel(dir, k.Name)
		st.Path, st.Err = m.Path, err
		if err != nil {
			var me *ModelError
			if errors.As(err, &me) {
				st.Path = me.Path
			}
		}
		out = append(out, st)
	}
	return out
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func sha256File(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return sha256Hex(data), nil
}
