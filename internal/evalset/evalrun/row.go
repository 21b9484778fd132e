//go:build cgo

package evalrun

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/internal/evalset"
	"github.com/custody-evidence/custody/internal/evalset/refyunet"
	"github.com/custody-evidence/custody/redact"
)

// Row is one configuration of the benchmark.
type Row struct {
	Name string
	// Config opens the detector (detect.Open), unless Plain is set.
	Config detect.Config
	// Plain, when set, is the detector instead: a plain YuNet.
	Plain *PlainSpec
	// Scan options, as redact's: detection every Every frames, masks
	// grown by Margin, faces painted as Shape.
	Every  int
	Margin float64
	Shape  redact.Shape
}

// PlainSpec is a plain YuNet (see refyunet).
type PlainSpec struct {
	Version   string
	Threshold float64
	Scales    []float64
}

// CLI defaults that live in cmd/custody/internal/cli (which this package
// cannot import): --text-every 4 and --small-face-every 2. TestEval checks
// them against `custody detect --json` when given -eval.bin.
const (
	cliTextEvery      = 4
	cliSmallFaceEvery = 2
)

// Defaults is what `custody redact` and `custody detect` run with no
// flags: detect.Config's defaults with the CLI's cadences, redact's
// DefaultEvery, margin and shape. Models come from $CUSTODY_MODELS as for
// the CLI, or ../shared/models when it is unset.
func Defaults() Row {
	return Row{
		Name:   "defaults",
		Config: detect.Config{TextEvery: cliTextEvery, SmallFaceEvery: cliSmallFaceEvery, ModelsDir: modelsDir()},
		Every:  redact.DefaultEvery,
	}
}

// Reference is the plain reference of every table: YuNet 2022mar at score
// 0.3 over two scales (refyunet.PlainScales), with redact's cadence
// (every DefaultEvery frames), tracker, margin and shape, so that it
// differs from the defaults by its detector alone. No text detection.
func Reference() Row {
	return Row{
		Name:  "plain YuNet 2022mar 0.3",
		Plain: &PlainSpec{Version: refyunet.V2022, Threshold: 0.3, Scales: refyunet.PlainScales},
		Every: redact.DefaultEvery,
	}
}

func modelsDir() string {
	if os.Getenv("CUSTODY_MODELS") != "" {
		return ""
	}
	return filepath.Join(evalset.DefaultShared(), "models")
}

// ParseRow reads a row given on the command line: "NAME: key=value ...",
// keys and values separated by spaces or commas, applied over Defaults.
// Keys are detect.Config's field names (any case: face, text,
// facethreshold, minface, rotatedfaces, textevery, smallfaceevery, ...,
// including fields added later) and the scan options every, margin and
// shape; plain=VERSION@THRESHOLD replaces the detector by a plain YuNet
// (e.g. plain=2023mar@0.5).
func ParseRow(spec string) (Row, error) {
	name, rest, ok := strings.Cut(spec, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return Row{}, fmt.Errorf("row %q: want NAME: key=value ...", spec)
	}
	r := Defaults()
	r.Name = strings.TrimSpace(name)
	for _, kv := range strings.FieldsFunc(rest, func(c rune) bool { return c == ' ' || c == ',' }) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Row{}, fmt.Errorf("row %q: %q is not key=value", r.Name, kv)
		}
		if err := r.set(strings.ToLower(k), v); err != nil {
			return Row{}, fmt.Errorf("row %q: %w", r.Name, err)
		}
	}
	return r, nil
}

func (r *Row) set(k, v string) error {
	var err error
	switch k {
	case "every":
		r.Every, err = strconv.Atoi(v)
		return err
	case "margin":
		r.Margin, err = strconv.ParseFloat(v, 64)
		return err
	case "shape":
		r.Shape, err = redact.ParseShape(v)
		return err
	case "plain":
		ver, thr, ok := strings.Cut(v, "@")
		t, err := strconv.ParseFloat(thr, 64)
		if !ok || err != nil {
			return fmt.Errorf("plain=%s: want VERSION@THRESHOLD, e.g. 2022mar@0.3", v)
		}
		r.Plain = &PlainSpec{Version: ver, Threshold: t, Scales: refyunet.PlainScales}
		return nil
	}
	return setField(&r.Config, k, v)
}

// setField sets the field of *cfg whose name matches k case-insensitively.
func setField(cfg any, k, v string) error {
	rv := reflect.ValueOf(cfg).Elem()
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		if !f.IsExported() || strings.ToLower(f.Name) != k {
			continue
		}
		fv := rv.Field(i)
		switch {
		case fv.Type() == reflect.TypeOf(time.Duration(0)):
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			fv.SetInt(int64(d))
		case fv.Kind() == reflect.String:
			fv.SetString(v)
		case fv.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s=%s: %w", f.Name, v, err)
			}
			fv.SetBool(b)
		case fv.CanInt():
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%s=%s: %w", f.Name, v, err)
			}
			fv.SetInt(n)
		case fv.CanFloat():
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s=%s: %w", f.Name, v, err)
			}
			fv.SetFloat(x)
		default:
			return fmt.Errorf("%s: a %s cannot be set from the command line", f.Name, fv.Type())
		}
		return nil
	}
	return fmt.Errorf("unknown key %q (want every, margin, shape, plain or a detect.Config field)", k)
}

// Open builds the row's detector; warnings are detect.Open's (a Haar
// fallback, text masking off).
func (r Row) Open() (detect.Detector, []string, error) {
	if r.Plain != nil {
		dir := r.Config.ModelsDir
		if dir == "" {
			dir = os.Getenv("CUSTODY_MODELS")
		}
		if dir == "" {
			dir = filepath.Join(evalset.DefaultShared(), "models")
		}
		d, err := refyunet.Open(dir, r.Plain.Version, r.Plain.Threshold, r.Plain.Scales)
		if err != nil {
			return nil, nil, err
		}
		return plainDetector{d}, nil, nil
	}
	return detect.Open(r.Config)
}

func (r Row) scanOptions(d detect.Detector) redact.ScanOptions {
	return redact.ScanOptions{Detector: d, Every: r.Every, Margin: r.Margin, Shape: r.Shape}
}

// masks turns a record's regions into what redact paints
// (evalset.PaintedMask).
func (r Row) masks(boxes []detect.Box) []evalset.Mask {
	ellipse := r.Shape == "" || r.Shape == redact.ShapeEllipse
	out := make([]evalset.Mask, len(boxes))
	for i, b := range boxes {
		out[i] = evalset.PaintedMask(b.Rect(), string(b.Label), ellipse)
	}
	return out
}

// plainDetector is a refyunet.Detector as a detect.Detector.
type plainDetector struct{ *refyunet.Detector }

func (p plainDetector) Name() string { return p.Detector.Name() }
func (p plainDetector) Models() []detect.Model {
	return []detect.Model{{Name: "yunet-" + p.Version(), Path: p.Path(), SHA256: p.SHA256()}}
}
func (p plainDetector) Detect(img gocv.Mat) ([]detect.Box, error) {
	faces, err := p.Detector.Detect(img)
	out := make([]detect.Box, len(faces))
	for i, f := range faces {
		out[i] = detect.Box{X: f.Rect.Min.X, Y: f.Rect.Min.Y, W: f.Rect.Dx(), H: f.Rect.Dy(), Score: f.Score, Label: detect.LabelFace}
	}
	return out, err
}
