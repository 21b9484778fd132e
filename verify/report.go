package verify

import (
	"errors"
	"fmt"
)

// ErrFailed is returned by Report.Err when verification found problems.
var ErrFailed = errors.New("verification failed")

// Problem is one thing wrong with the evidence.
type Problem struct {
	Code    string `json:"code"`              // stable, e.g. "object-hash"
	Subject string `json:"subject,omitempty"` // a file, clip or entry
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Subject != "" {
		return fmt.Sprintf("%s: %s", p.Subject, p.Message)
	}
	return p.Message
}

// Report is the outcome of a verification that could run.
type Report struct {
	Kind       string    `json:"kind"` // "store" or "bundle"
	Path       string    `json:"path"`
	StationKey string    `json:"station_key,omitempty"`
	Signer     string    `json:"signer_fingerprint,omitempty"`
	Trusted    bool      `json:"signer_trusted"`
	Receiver   string    `json:"receiver_fingerprint,omitempty"` // bundle: whom the export entry says it was sent to
	Entries    uint64    `json:"entries"`
	Checkpoint uint64    `json:"checkpoint_size"`
	Objects    int       `json:"objects"`
	Bytes      int64     `json:"bytes_hashed"`
	Problems   []Problem `json:"problems"`
	Notes      []string  `json:"notes,omitempty"`
	Verified   bool      `json:"verified"`
}

func (r *Report) fail(code, subject, format string, a ...any) {
	r.Problems = append(r.Problems, Problem{Code: code, Subject: subject, Message: fmt.Sprintf(format, a...)})
}

func (r *Report) note(format string, a ...any) { r.Notes = append(r.Notes, fmt.Sprintf(format, a...)) }

// Err is nil when verified, else an error wrapping ErrFailed.
func (r *Report) Err() error {
	if r.Verified {
		return nil
	}
	if len(r.Problems) == 0 {
		return fmt.Errorf("%w: signer not trusted", ErrFailed)
	}
	return fmt.Errorf("%w: %d problem(s), first: %s", ErrFailed, len(r.Problems), r.Problems[0])
}

// HasCode reports whether a problem with code was found (for tests and
// scripted callers).
func (r *Report) HasCode(code string) bool {
	for _, p := range r.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}
