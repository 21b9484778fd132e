package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
}

// Names of the known model files.
const (
	ModelYuNet       = "yunet-2022mar"
	ModelUltraFace   = "ultraface-rfb-320"
	ModelSSD         = "res10-ssd-uint8"
	ModelSSDConfig   = "res10-ssd-uint8-pbtxt"
	ModelPPOCRDet    = "ppocrv3-det-en-opencv46"
	modelHaarPrefix  = "haar-"
	modelsSubdirName = "custody/models"
)

// KnownModels lists every model file the detectors accept.
var KnownModels = []KnownModel{
	{ModelYuNet, "face_detection_yunet_2022mar.onnx", "yunet",
		"50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7", 345478,
		"YuNet face detector, 2022mar release (opencv_zoo)"},
	{ModelYuNet2023, "face_detection_yunet_2023mar.onnx", "yunet", "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0", 229738, "YuNet face detector, 2023mar release (opencv_zoo layout: cls/obj/bbox/kps at strides 8/16/32)"},
	{ModelUltraFace, "version-RFB-320_simplified.onnx", "ultraface",
		"faf6740b495e8b9508e6fda11e8c0368bbdde01143e8f0a3e511d0892c4d794e", 1114081,
		"Ultra-Light-Fast face detector RFB-320"},
	{ModelSSD, "opencv_face_detector_uint8.pb", "opencv_face_detector",
		"5c71d752ef2cbf2f457ac82fdd580fcb2522fd04c5efdaed18eb6d9e2843fbed", 2727750,
		"OpenCV res10 SSD face detector, TensorFlow uint8 weights"},
	{ModelSSDConfig, "opencv_face_detector.pbtxt", "opencv_face_detector",
		"5397808362fc6fb7c4044484848e297b22449d913a267fa7f8bd9d86dce29144", 34912,
		"OpenCV res10 SSD face detector, graph description"},
	{ModelPPOCRDet, "en_PP-OCRv3_det_infer_opencv46.onnx", "ppocr_det",
		"b99dc48882db71b87a71f5798dcd24ddf47b03355f40a29cc32f033cd0f70eaa", 2434262,
		"PaddleOCR v3 English text detector (DB), Clip nodes patched for OpenCV 4.6"},
}

func knownModel(name string) (KnownModel, bool) {
	for _, k := range KnownModels {
		if k.Name == name {
			return k, true
		}
	}
	return KnownModel{Name: name}, false
}

// ModelsDir resolves the models directory: the --models flag value if set,
// else $CUSTODY_MODELS, else the first existing custody/models directory
// under $XDG_DATA_HOME (default ~/.local/share) and then $XDG_DATA_DIRS
// (default /usr/local/share:/usr/share). When none exists, dir is the user
// directory, the place to install models. searched lists every directory
// considered, in order, for error messages.
func ModelsDir(flag string) (dir string, searched []string) {
	if flag != "" {
		return flag, []string{flag}
	}
	if env := os.Getenv("CUSTODY_MODELS"); env != "" {
		return env, []string{env}
	}
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
		return "", nil
	}
	return cands[0], cands
}

// FindModel returns the path of the known model name in dir (directly in
// dir, or in its conventional subdirectory) without checking its contents.
// A missing file gives a *ModelError wrapping ErrModelMissing.
func FindModel(dir, name string) (string, error) {
	k, ok := knownModel(name)
	if !ok {
		return "", configError("unknown model name %q", name)
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

// LoadModel finds the known model name in dir, reads it and checks its
// sha256. The bytes returned are the bytes hashed, so the network built from
// them is exactly the audited file.
func LoadModel(dir, name string) ([]byte, Model, error) {
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
	return data, Model{Name: name, Path: p, SHA256: sha256Hex(data)}, nil
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
	k, _ := knownModel(name)
	if sum := sha256Hex(data); sum != k.SHA256 {
		return &ModelError{Model: name, Path: path, Want: k.SHA256, Got: sum, Size: int64(len(data)), Err: ErrUnknownModel}
	}
	return nil
}

// ModelStatus is one line of an inventory of a models directory.
type ModelStatus struct {
	KnownModel
	Path string // where the file was found; empty when missing
	Err  error  // nil when present and intact
}

// Inventory checks every known model in dir, for `custody models`-style
// listings and for the missing-models warning.
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
