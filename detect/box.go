package detect

// Label says what a box covers.
type Label string

const (
	LabelFace Label = "face"
	LabelText Label = "text"
)

// Box is an axis-aligned region in frame pixel coordinates.
type Box struct {
	X     int     `json:"x"`
	Y     int     `json:"y"`
	W     int     `json:"w"`
	H     int     `json:"h"`
	Score float64 `json:"score"`
	Label Label   `json:"label"`
}

// Model identifies a model file a detector loaded, so that an audit record
// can name exactly which weights produced a redaction.
type Model struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"`
	SHA256 string `json:"sha256"`
	// Source is SourceEmbedded for a model built into the binary (Path
	// then begins with EmbeddedPrefix), SourceDirectory for one read from
	// a models directory (--models, CUSTODY_MODELS); empty for files that
	// are not models of the table (Haar cascades).
	Source string `json:"source,omitempty"`
}
