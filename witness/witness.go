// Package witness keeps copies of a store's signed checkpoints where
// someone who can rewrite the store cannot: a directory on another host or
// mount, ideally append-only (chattr +a, a WORM share, an Object Lock
// bucket mounted as a directory), or a C2SP transparency-log witness
// (c2sp.org/tlog-witness) that checks each new checkpoint extends the last
// one it saw and cosigns it.
//
// A store's checkpoint alone cannot reveal a rollback: whoever can rewrite
// the ledger can also put back an older checkpoint that matches it. A
// witness remembers the newest checkpoint, so a ledger that no longer
// extends it is caught, by the next write (which refuses to continue) and
// by verify (which names the witness).
//
// The package only reads and compares; which witnesses a store has is in
// its ledger ("witness.add" entries), and publishing is the store's job.
package witness

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/custody-evidence/custody/manifest"
	"golang.org/x/crypto/ssh"
)

// Kinds of witness.
const (
	KindDir  = "dir"  // a directory another host or mount keeps
	KindTlog = "tlog" // a C2SP tlog-witness over HTTP
)

// Spec is a witness as a "witness.add" ledger entry registers it.
type Spec struct {
	Name     string `json:"name"`          // short name, unique in the store
	Kind     string `json:"kind"`          // KindDir or KindTlog
	Location string `json:"location"`      // KindDir: absolute path; KindTlog: submission URL prefix
	Key      string `json:"key,omitempty"` // KindTlog: the witness's cosigning key (a note vkey)
	// Anchor is, for a tlog witness, the checkpoint note it cosigned when
	// it was registered: the ledger keeps it, so the store can always ask
	// the witness what it holds, whatever becomes of witnessed/.
	Anchor string `json:"anchor,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks the spec is one custody can use.
func (s Spec) Validate() error {
	if !nameRE.MatchString(s.Name) {
		return fmt.Errorf("%w: name %q: use letters, digits, '.', '_', '-' (up to 64)", ErrBadSpec, s.Name)
	}
	switch s.Kind {
	case KindDir:
		return validateDir(s)
	case KindTlog:
		return validateTlog(s)
	}
	return fmt.Errorf("%w: kind %q: use dir or tlog", ErrBadSpec, s.Kind)
}

// ErrBadSpec refuses a witness custody cannot use.
var ErrBadSpec = errors.New("bad witness")

// Loss is a "ledger.loss" entry: a DPO's record that the ledger lost its
// entries after Kept, so that checkpoints of the lost branch that
// witnesses still hold are accounted for rather than reported as a fork.
type Loss struct {
	Seq  uint64    // the ledger.loss entry
	Kept uint64    // entries the ledger kept
	At   time.Time // when the loss was recorded
}

// Log is what a witness is compared with: the store's ledger, and the keys
// that may sign its checkpoints.
type Log struct {
	Ledger *manifest.Ledger
	Origin string
	// Signers are every key the ledger has ever authorised (the station
	// and people, current or removed): a checkpoint signed by any of them
	// when they were authorised is the store's.
	Signers []ssh.PublicKey
	Losses  []Loss
	// StationNote, set only by a writer holding the station key, is the
	// station-signed note of a checkpoint of the whole ledger. With it a
	// tlog witness's Check brings the witness up to the ledger with a
	// consistency proof, which proves the ledger extends what the witness
	// holds (and publishes): a writer is not limited to what witnessed/
	// kept, which whoever rewrote the store may have rewritten too.
	StationNote []byte
}

// Acknowledged reports whether a checkpoint that the ledger does not
// extend was accounted for by a recorded loss: it is larger than what the
// loss kept and was signed before the loss was recorded. The writer's
// refusal and the verifier's report both ask this.
func (l *Log) Acknowledged(c *manifest.Checkpoint) *Loss {
	for i := range l.Losses {
		if c.Size > l.Losses[i].Kept && !c.Time.After(l.Losses[i].At) {
			return &l.Losses[i]
		}
	}
	return nil
}

// Judgment of one checkpoint a witness holds.
type Judgment int

const (
	Agrees       Judgment = iota // the ledger extends it
	Ahead                        // it covers more entries than the ledger has: rollback or truncation
	Fork                         // same entries, different root: the ledger was rewritten
	AccountedFor                 // disagrees, but a recorded loss accounts for it
	Untrusted                    // not signed by a key of this store, or for another origin
	Lost                         // the store no longer holds what the witness cosigned, so a rollback regrown past it cannot be ruled out
)

func (j Judgment) String() string {
	return [...]string{"agrees", "ahead", "fork", "accounted-for", "untrusted", "lost"}[j]
}

// Judge compares one checkpoint with the log.
func (l *Log) Judge(c *manifest.Checkpoint) Judgment {
	err := l.Ledger.Agrees(c)
	switch {
	case err == nil:
		return Agrees
	case l.Acknowledged(c) != nil:
		return AccountedFor
	case errors.Is(err, manifest.ErrCheckpointAhead):
		return Ahead
	}
	return Fork
}

// Held is one checkpoint a witness holds, judged.
type Held struct {
	Size     uint64
	Root     []byte
	Time     time.Time
	Where    string // file name or URL
	Judgment Judgment
	Detail   string
}

// Status is a witness's view compared with the ledger.
type Status struct {
	Spec Spec
	// Size is the largest checkpoint the witness holds that the ledger
	// agrees with (0: none).
	Size uint64
	// Held lists the checkpoints examined; the bad ones are those whose
	// Judgment is Ahead, Fork or Lost.
	Held []Held
	// Err is set when the witness could not be read at all.
	Err error
}

// Emptied reports a witness directory that could be read and holds none
// of the store's checkpoints. For one the ledger registers, which was
// given a checkpoint when it was registered, that means its files were
// deleted: writers refuse and verify fails, as for a rollback.
func (s *Status) Emptied() bool {
	if s.Err != nil || s.Spec.Kind != KindDir {
		return false
	}
	for _, h := range s.Held {
		if h.Judgment != Untrusted {
			return false
		}
	}
	return true
}

// Bad returns the checkpoints that the ledger contradicts.
func (s *Status) Bad() []Held {
	var out []Held
	for _, h := range s.Held {
		if h.Judgment == Ahead || h.Judgment == Fork || h.Judgment == Lost {
			out = append(out, h)
		}
	}
	return out
}

// Published is a new checkpoint to hand to witnesses.
type Published struct {
	Checkpoint *manifest.Checkpoint
	File       []byte // the checkpoint file (SSHSIG), as the store keeps it
	// Note is the same checkpoint as a signed note, when it was signed by
	// a key a tlog witness knows (the station); nil otherwise.
	Note []byte
}

// Witness is one registered witness.
type Witness interface {
	Spec() Spec
	// Check compares what the witness holds with the log, changing
	// nothing. full examines every checkpoint it holds (verify); otherwise
	// only the newest that is the store's (a writer's quick check).
	Check(ctx context.Context, log *Log, full bool) *Status
	// Publish hands the witness a checkpoint that the log extends.
	Publish(ctx context.Context, log *Log, p *Published) error
}

// New returns the witness a spec describes. state is where the store
// keeps what it learned from tlog witnesses (their cosigned checkpoints).
func New(s Spec, state string) (Witness, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	switch s.Kind {
	case KindDir:
		return &Dir{spec: s}, nil
	default:
		return newTlog(s, state)
	}
}
