package detect

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Sentinel errors, for errors.Is. Errors returned by this package wrap one
// of them (or an fs error) so that the CLI can map them to exit codes.
var (
	// ErrModelMissing: a model file is not in the models directory.
	ErrModelMissing = errors.New("model not found")
	// ErrUnknownModel: a file is present under a known name but its sha256
	// is not the known one (corrupt, truncated or another release).
	ErrUnknownModel = errors.New("unknown model file")
	// ErrModelLoad: the file is the known one but OpenCV could not load it
	// (or a Haar cascade failed to load).
	ErrModelLoad = errors.New("model failed to load")
	// ErrConfig: an invalid Config value (unknown detector or text mode,
	// out-of-range threshold).
	ErrConfig = errors.New("invalid detector configuration")
	// ErrFrame: the image given to Detect is empty or not 8-bit BGR.
	ErrFrame = errors.New("invalid frame")
)

// ModelError describes a problem with one model file. Err is one of the
// sentinel errors above or the underlying I/O error.
type ModelError struct {
	Model    string   // known model name, e.g. "yunet-2022mar"
	Path     string   // file looked at; empty when missing
	Dir      string   // models directory in use
	Searched []string // every models directory that was considered
	Want     string   // expected sha256
	Got      string   // sha256 found (ErrUnknownModel)
	Size     int64    // size found (ErrUnknownModel)
	Err      error
}

func (e *ModelError) Error() string {
	k, _ := knownModel(e.Model)
	what := e.Path
	if e.Model != "" {
		what += " (" + e.Model + ")"
	}
	switch {
	case errors.Is(e.Err, ErrModelMissing) && e.Dir == "" && !HasEmbedded():
		return fmt.Sprintf("model %s is not available: this custody was built without its models "+
			"(`make build` embeds them from ../shared/models; a plain `go build` before that does not); "+
			"rebuild it with make, or point --models or CUSTODY_MODELS at a directory holding %s", e.Model, k.File)
	case errors.Is(e.Err, ErrModelMissing) && e.Dir == "":
		return fmt.Sprintf("model %s is not built into this custody (see `custody version`); "+
			"point --models or CUSTODY_MODELS at a directory holding %s", e.Model, k.File)
	case errors.Is(e.Err, ErrModelMissing):
		return fmt.Sprintf("model %s not found: looked for %s in %s and %s%s; "+
			"put %s there, or point --models or CUSTODY_MODELS at a directory holding it%s",
			e.Model, k.File, e.Dir, filepath.Join(e.Dir, k.Dir), searchedNote(e.Searched, e.Dir), k.File, builtInNote())
	case errors.Is(e.Err, ErrUnknownModel) && strings.HasPrefix(e.Path, EmbeddedPrefix):
		return fmt.Sprintf("built-in model %s (%s) is not the known file: sha256 %s (%d bytes), want %s (%d bytes); "+
			"this custody was built from a stale or damaged copy: rebuild it with make", e.Model, e.Path, short(e.Got), e.Size, short(e.Want), k.Size)
	case errors.Is(e.Err, ErrUnknownModel) && e.Want != "":
		return fmt.Sprintf("model file %s is not the known %s: sha256 %s (%d bytes), want %s (%d bytes); "+
			"it is corrupt, truncated or a different release: replace it with the official file",
			e.Path, e.Model, short(e.Got), e.Size, short(e.Want), k.Size)
	case errors.Is(e.Err, ErrUnknownModel):
		return fmt.Sprintf("model file %s is not a known model (sha256 %s, %d bytes): "+
			"use one of the models listed by the documentation", e.Path, short(e.Got), e.Size)
	case errors.Is(e.Err, ErrModelLoad):
		return fmt.Sprintf("model file %s failed to load: %v", what, unwrapDetail(e.Err))
	default:
		return fmt.Sprintf("model file %s cannot be read: %v", what, e.Err)
	}
}

func (e *ModelError) Unwrap() error { return e.Err }

// detailError carries a detail message while matching a sentinel.
type detailError struct {
	sentinel error
	detail   string
}

func (d *detailError) Error() string { return d.sentinel.Error() + ": " + d.detail }
func (d *detailError) Unwrap() error { return d.sentinel }

func unwrapDetail(err error) string {
	var d *detailError
	if errors.As(err, &d) {
		return d.detail
	}
	return err.Error()
}

func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16] + "…"
	}
	return sum
}

// builtInNote says, after a directory's missing model, what the binary
// itself offers.
func builtInNote() string {
	if HasEmbedded() {
		return " (or give neither, to use the models built into custody)"
	}
	return " (this custody was built without its models: `make build` embeds them)"
}

// searchedNote lists the directories considered when there were others
// than the one used.
func searchedNote(searched []string, dir string) string {
	if len(searched) == 0 || (len(searched) == 1 && searched[0] == dir) {
		return ""
	}
	return " (models directories considered: " + strings.Join(searched, ", ") + ")"
}

func configError(format string, args ...any) error {
	return &detailError{sentinel: ErrConfig, detail: fmt.Sprintf(format, args...)}
}
