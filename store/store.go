package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/witness"
)

// Names inside a store directory.
const (
	ConfigFile     = "custody.json"
	LedgerFile     = "ledger.jsonl"
	CheckpointFile = "checkpoint"
	StationKeyFile = "station.key.age"
	StationPubFile = "station.pub"
	ObjectsDir     = "objects"
	StagingDir     = "staging"
	LockFile       = "lock"

	// Format names the store layout version.
	Format = "custody-store-v1"
)

var (
	// ErrNoStore means the directory is not a custody store.
	ErrNoStore = errors.New("not a custody store")
	// ErrExists means init was pointed at a directory that is in use.
	ErrExists = errors.New("directory is not empty")
	// ErrLocked means the station key is needed but was not unlocked.
	ErrLocked = errors.New("the station key is locked")
	// ErrCorrupt means the store's own files are damaged; run verify.
	ErrCorrupt = errors.New("store is damaged")
	// ErrEntryTooLarge refuses an entry the ledger parser could not read back.
	ErrEntryTooLarge = errors.New("ledger entry too large")
)

// Config is custody.json: what the store is. The ledger is the authority
// on everything else.
type Config struct {
	Format  string `json:"format"`
	ID      string `json:"id"`
	Created string `json:"created"`
}

// Store is an open store. It is safe to use from one goroutine; separate
// processes coordinate through the lock file.
type Store struct {
	Dir    string
	Config Config
	// Now is the clock (tests pin it).
	Now func() time.Time
	// Actor names the person operating the station, for ledger entries.
	Actor string
	// WitnessError, if set, hears of a witness that could not be read
	// before a write or handed the new checkpoint after it: the write goes
	// on, and the witness stays behind until a later one reaches it.
	WitnessError func(name string, err error)
	// ExtraWitnesses are witnesses the station knows of outside the store
	// (custody reads them from $CUSTODY_WITNESSES): a store rolled back to
	// before it registered its witnesses still meets these.
	ExtraWitnesses []witness.Spec
	signer         seal.Signer
}

// InitOptions configures a new store.
type InitOptions struct {
	// Recipients are age recipient strings: at least one, and none under
	// DualControl (where nothing is sealed to a store-wide key).
	Recipients []string
	Passphrase []byte // protects the station key
	WorkFactor int    // scrypt log2 cost; 0 means seal.DefaultWorkFactor
	Actor      string
	Now        func() time.Time
	// DualControl makes a store where no single key opens an original:
	// each import needs an owner, and its key is split between the owner
	// and the DPOs (see dualcontrol.go).
	DualControl bool
	// Policy is the initial governance policy; nil means DefaultPolicy.
	Policy *Policy
	// People are registered by the station in the same init, right after
	// the genesis entry: the store's first DPOs (and anyone else).
	People []UserSpec
}

// Init creates a store in dir (which must be absent or empty): the station
// key, the genesis entry and the first checkpoint. custody.json is written
// last, so an interrupted init leaves no directory that Open accepts.
func Init(ctx context.Context, dir string, opts InitOptions) (*Store, error) {
	if len(opts.Recipients) == 0 && !opts.DualControl {
		return nil, errors.New("a store needs at least one recipient")
	}
	if len(opts.Recipients) > 0 && opts.DualControl {
		// A recipient could open every redacted version and review file
		// alone; under dual control those are sealed for the DPOs.
		return nil, fmt.Errorf("%w: a dual-control store takes no recipients: originals are sealed to per-clip keys split between owner and DPOs, and redacted versions to keys only the DPOs hold", ErrDualControl)
	}
	policy := DefaultPolicy()
	if opts.Policy != nil {
		policy = *opts.Policy
	}
	policy.DualControl = opts.DualControl
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	for _, r := range opts.Recipients {
		if _, err := seal.ParseRecipient(r, nil); err != nil && !isPlugin(r) {
			return nil, err
		}
	}
	people, err := checkInitPeople(opts.People)
	if err != nil {
		return nil, err
	}
	policy.Founders = nil
	for _, pub := range people {
		policy.Founders = append(policy.Founders, seal.Fingerprint(pub))
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrExists, dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	dirs := []string{dir, filepath.Join(dir, ObjectsDir), filepath.Join(dir, StagingDir)}
	if opts.DualControl {
		dirs = append(dirs, filepath.Join(dir, KeysDir))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	s := &Store{Dir: dir, Now: opts.Now, Actor: opts.Actor}
	if s.Now == nil {
		s.Now = time.Now
	}
	id := make([]byte, 16)
	rand.Read(id)
	s.Config = Config{Format: Format, ID: hex.EncodeToString(id), Created: s.Now().UTC().Format(time.RFC3339)}

	var keyBuf bytes.Buffer
	wf := opts.WorkFactor
	if wf == 0 {
		wf = seal.DefaultWorkFactor
	}
	signer, err := seal.NewStationKey(&keyBuf, opts.Passphrase, "custody-station "+s.Config.ID, wf)
	if err != nil {
		return nil, err
	}
	s.signer = signer
	if err := atomicfile.WriteFile(filepath.Join(dir, StationKeyFile), keyBuf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	pubLine := seal.AuthorizedKey(signer.PublicKey()) + " custody-station"
	if err := atomicfile.WriteFile(filepath.Join(dir, StationPubFile), []byte(pubLine+"\n"), 0o644); err != nil {
		return nil, err
	}
	l := &manifest.Ledger{}
	l, _, _ = manifest.Parse(bytes.NewReader(nil))
	payload, _ := json.Marshal(manifest.GenesisPayload{Store: s.Config.ID, StationKey: seal.AuthorizedKey(signer.PublicKey()), Recipients: opts.Recipients, Policy: policy})
	rec, err := l.Next(manifest.Entry{Actor: manifest.Actor{Name: s.actorName()}, Action: "genesis", Payload: payload}, s.Now(), signer)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, LedgerFile), manifest.Encode(rec), 0o644); err != nil {
		return nil, err
	}
	if err := l.Add(rec); err != nil {
		return nil, err
	}
	if err := s.initPeople(ctx, l, opts.People, people); err != nil {
		return nil, err
	}
	if _, _, err := s.writeCheckpoint(l, signer); err != nil {
		return nil, err
	}
	cfg, _ := json.MarshalIndent(s.Config, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(dir, ConfigFile), append(cfg, '\n'), 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

func isPlugin(r string) bool { return strings.HasPrefix(r, "age1") && strings.Count(r, "1") > 1 }

// Open opens an existing store read-only; Unlock enables writing.
func Open(dir string) (*Store, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s", ErrNoStore, dir, ConfigFile)
		}
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("%w: %s is not a directory", ErrNoStore, dir)
		}
		return nil, err
	}
	s := &Store{Dir: dir, Now: time.Now}
	if err := json.Unmarshal(data, &s.Config); err != nil || s.Config.Format != Format {
		return nil, fmt.Errorf("%w: %s/%s is not a %s config", ErrNoStore, dir, ConfigFile, Format)
	}
	return s, nil
}

// Unlock decrypts the station signing key with passphrase.
func (s *Store) Unlock(passphrase []byte) error {
	f, err := os.Open(filepath.Join(s.Dir, StationKeyFile))
	if err != nil {
		return fmt.Errorf("%w: station key: %v", ErrCorrupt, err)
	}
	defer f.Close()
	signer, err := seal.LoadStationKey(f, passphrase)
	if err != nil {
		return err
	}
	s.signer = signer
	return nil
}

// SetSigner makes s sign with an already loaded key.
func (s *Store) SetSigner(sg seal.Signer) { s.signer = sg }

// Signer returns the unlocked signer, or nil.
func (s *Store) Signer() seal.Signer { return s.signer }

func (s *Store) actorName() string {
	if s.Actor != "" {
		return s.Actor
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "station"
}

// Origin is the checkpoint origin line for this store.
func (s *Store) Origin() string { return "custody/store/" + s.Config.ID }

// StationKey returns the station public key line from station.pub.
func (s *Store) StationKey() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, StationPubFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadLedger parses the ledger file.
func (s *Store) ReadLedger() (*manifest.Ledger, *manifest.TornTail, error) {
	f, err := os.Open(filepath.Join(s.Dir, LedgerFile))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer f.Close()
	l, torn, err := manifest.Parse(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v (run custody verify)", ErrCorrupt, err)
	}
	return l, torn, nil
}

// Recipients returns the age recipients from the genesis entry. The ledger,
// not a loose file, says who can open originals.
func (s *Store) Recipients(l *manifest.Ledger) ([]age.Recipient, []string, error) {
	g, err := l.Genesis()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var recs []age.Recipient
	for _, r := range g.Recipients {
		rec, err := seal.ParseRecipient(r, nil)
		if err != nil {
			return nil, nil, err
		}
		recs = append(recs, rec)
	}
	return recs, g.Recipients, nil
}

// Tx is a write transaction: the store lock is held and the ledger is
// loaded and recovered.
type Tx struct {
	s       *Store
	Ledger  *manifest.Ledger
	lf      *os.File // ledger, opened for append
	changed bool
	as      *Person // the person acting, or nil for the station operator
	user    *User
	pinned  time.Time // see now
}

// now is the time the transaction's entries carry from the first call on:
// the store's clock, but never before the last entry (entry times never go
// backwards). Rules that depend on time (expiry of requests and grants) are
// judged at it, so that verify, reading the entry's own time, reaches the
// same verdict.
func (tx *Tx) now() time.Time {
	if tx.pinned.IsZero() {
		now := tx.s.Now()
		if last := tx.Ledger.Last(); last != nil {
			if lt := last.Entry.When(); now.Before(lt) {
				now = lt
			}
		}
		tx.pinned = now
	}
	return tx.pinned
}

// Update runs fn in a write transaction and writes a checkpoint if fn
// appended anything. The station key must be unlocked: its entries are
// made by the station operator.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if s.signer == nil {
		return ErrLocked
	}
	return s.update(ctx, nil, fn)
}

// UpdateAs runs fn in a write transaction on behalf of a registered person
// (nil: the station operator, as Update). Entries are signed by the
// person's key and name them as actor; the station countersigns only if it
// is unlocked, so people act without the station passphrase. The
// checkpoint is then signed by the person, a key the ledger authorises.
func (s *Store) UpdateAs(ctx context.Context, as *Person, fn func(tx *Tx) error) error {
	if as == nil {
		return s.Update(ctx, fn)
	}
	if as.Signer == nil {
		return fmt.Errorf("%w: no signing key given (use -i with your SSH key)", ErrUnknownPerson)
	}
	return s.update(ctx, as, fn)
}

// lock takes the store's write lock, waiting until ctx is done. Closing
// the returned file releases it.
func (s *Store) lock(ctx context.Context) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(ctx, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (s *Store) update(ctx context.Context, as *Person, fn func(tx *Tx) error) error {
	return s.updateWith(ctx, as, guardAll, fn)
}

// guarding says what the guard checks before a write.
type guarding struct {
	skip     bool   // no guard: the one transaction that records a loss of entries (RecordLoss)
	not      string // a witness the guard leaves out: the one a DPO is removing
	readOnly bool   // only look (Check): never bring a witness up to date
}

var guardAll = guarding{}

// updateWith is update with the guard as g says.
func (s *Store) updateWith(ctx context.Context, as *Person, g guarding, fn func(tx *Tx) error) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Close()
	lf, err := os.OpenFile(filepath.Join(s.Dir, LedgerFile), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer lf.Close()
	l, torn, err := manifest.Parse(lf)
	if err != nil {
		return fmt.Errorf("%w: %v (run custody verify)", ErrCorrupt, err)
	}
	st := Replay(l)
	// Before anything is appended: a write that went on over a ledger
	// that lost entries would sign a checkpoint that hides the loss.
	if !g.skip {
		if err := s.guard(ctx, l, st, g); err != nil {
			return err
		}
	}
	tx := &Tx{s: s, Ledger: l, lf: lf}
	if as != nil {
		u := st.UserByKey(as.Fingerprint())
		if u == nil {
			err := fmt.Errorf("%w: key %s is not registered in this store, or no longer (see custody user list)", ErrUnknownPerson, as.Fingerprint())
			// Nobody the ledger knows can sign for this key: count it.
			if rerr := s.recordAttemptLocked(ctx, AttemptUnknownKey, as.Fingerprint()); rerr != nil {
				return errors.Join(err, rerr)
			}
			return ledgered{err}
		}
		tx.as, tx.user = as, u
	}
	if err := tx.recover(torn); err != nil {
		return fmt.Errorf("recovering from an interrupted write: %w", err)
	}
	if err := tx.foldAttempts(st); err != nil {
		return fmt.Errorf("ledgering counted failed attempts: %w", err)
	}
	if err := fn(tx); err != nil {
		if rule, ok := RefusalRule(err); ok {
			err = tx.recordRefusal(ctx, rule, err)
		}
		if tx.changed {
			// Whatever fn appended is durable and must be covered.
			if cerr := s.checkpoint(ctx, l, tx.checkpointSigner()); cerr != nil {
				return errors.Join(err, cerr)
			}
		}
		return err
	}
	if tx.changed || !s.checkpointCurrent(l) {
		return s.checkpoint(ctx, l, tx.checkpointSigner())
	}
	return nil
}

// checkpoint signs and writes a checkpoint of the whole ledger and hands
// it to the witnesses.
func (s *Store) checkpoint(ctx context.Context, l *manifest.Ledger, signer seal.Signer) error {
	c, file, err := s.writeCheckpoint(l, signer)
	if err != nil {
		return err
	}
	var note []byte
	if st := s.signer; st != nil && signer == st {
		// Transparency-log witnesses know the station's key, so only its
		// checkpoints go to them as signed notes.
		note, _ = c.SignNote(signer)
	}
	s.publishWitnesses(ctx, l, c, file, note)
	return nil
}

// checkpointSigner is the station if unlocked, else the acting person.
func (tx *Tx) checkpointSigner() seal.Signer {
	if tx.s.signer != nil || tx.as == nil {
		return tx.s.signer
	}
	return tx.as.Signer
}

// User is the registered person acting in this transaction, or nil when
// the station operator acts.
func (tx *Tx) User() *User { return tx.user }

// Append signs e as the station (and any extra signers) and makes it
// durable before returning.
func (tx *Tx) Append(e manifest.Entry, extra ...seal.Signer) (*manifest.Record, error) {
	// A person acting with their own key signs first and is the actor; the
	// station countersigns when it is unlocked.
	signers := append([]seal.Signer{}, extra...)
	if len(extra) == 0 && tx.as != nil {
		signers = append(signers, tx.as.Signer)
		if e.Actor.Name == "" {
			e.Actor.Name = tx.user.Name
		}
	}
	if tx.s.signer != nil {
		signers = append(signers, tx.s.signer)
	}
	if len(signers) == 0 {
		return nil, ErrLocked
	}
	if e.Actor.Name == "" {
		e.Actor.Name = tx.s.actorName()
	}
	when := tx.s.Now()
	if !tx.pinned.IsZero() {
		when = tx.pinned
	}
	rec, err := tx.Ledger.Next(e, when, signers...)
	if err != nil {
		return nil, err
	}
	// The parser refuses longer lines: appending one would leave a
	// ledger that no command can read again.
	if len(rec.Line) >= manifest.MaxLineSize {
		return nil, fmt.Errorf("%w: a %s entry of %d bytes is longer than a ledger line may be (%d)", ErrEntryTooLarge, e.Action, len(rec.Line), manifest.MaxLineSize)
	}
	if _, err := tx.lf.Seek(0, io.SeekEnd); err != nil {
		return nil, err
	}
	// One write call: a crash leaves at most a torn tail, never a torn middle.
	if _, err := tx.lf.Write(manifest.Encode(rec)); err != nil {
		return nil, fmt.Errorf("appending to the ledger: %w", err)
	}
	if err := tx.lf.Sync(); err != nil {
		return nil, fmt.Errorf("syncing the ledger: %w", err)
	}
	tx.changed = true
	return rec, tx.Ledger.Add(rec)
}

func (s *Store) checkpointCurrent(l *manifest.Ledger) bool {
	data, err := os.ReadFile(filepath.Join(s.Dir, CheckpointFile))
	if err != nil {
		return false
	}
	c, _, err := manifest.ParseCheckpoint(data)
	return err == nil && c.Size == l.Len()
}

func (s *Store) writeCheckpoint(l *manifest.Ledger, signer seal.Signer) (*manifest.Checkpoint, []byte, error) {
	c, err := manifest.NewCheckpoint(l, s.Origin(), l.Len(), s.Now(), signer)
	if err != nil {
		return nil, nil, err
	}
	file := c.Marshal()
	return c, file, atomicfile.WriteFile(filepath.Join(s.Dir, CheckpointFile), file, 0o644)
}

// ReadCheckpoint returns the latest checkpoint file's bytes.
func (s *Store) ReadCheckpoint() ([]byte, error) {
	return os.ReadFile(filepath.Join(s.Dir, CheckpointFile))
}

// RecoverPayload records what recovery did.
type RecoverPayload struct {
	TornTailBytes  int      `json:"torn_tail_bytes,omitempty"`
	TornTailSHA256 string   `json:"torn_tail_sha256,omitempty"`
	Published      []string `json:"published,omitempty"` // committed imports moved into place
	Discarded      []string `json:"discarded,omitempty"` // uncommitted staging files removed
	Swept          []string `json:"swept,omitempty"`     // files of purged or retired objects removed
	Temps          []string `json:"temps,omitempty"`     // temporary files of interrupted atomic writes removed
}

// recover repairs what an interrupted writer left: a torn ledger tail is
// cut off (keeping every complete entry), committed sealed files still in
// staging are moved into place, staging files of imports that never
// committed and whose writer is gone are removed, and so are the temporary
// files of interrupted checkpoint and statement writes (see TempFiles).
// What it did is recorded in a "recover" entry.
func (tx *Tx) recover(torn *manifest.TornTail) error {
	var p RecoverPayload
	if torn != nil {
		if err := tx.lf.Truncate(torn.Offset); err != nil {
			return err
		}
		if err := tx.lf.Sync(); err != nil {
			return err
		}
		h := sha256.Sum256(torn.Bytes)
		p.TornTailBytes, p.TornTailSHA256 = len(torn.Bytes), hex.EncodeToString(h[:])
	}
	committed := committedObjects(tx.Ledger)
	// Dead objects (purged, consumed grants, retired shares) are committed
	// too, but must never be moved back into place.
	st := Replay(tx.Ledger)
	staging := filepath.Join(tx.s.Dir, StagingDir)
	ents, err := os.ReadDir(staging)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, ent := range ents {
		name := ent.Name()
		path := filepath.Join(staging, name)
		// Only a regular file is custody's: a link, pipe or directory is
		// left for verify to report (and a pipe must not hang the open).
		f, err := tx.s.openSealed(StagingDir + "/" + name)
		if err != nil {
			continue
		}
		if !tryFlock(f) {
			f.Close() // a live import is writing it
			continue
		}
		id := strings.TrimSuffix(name, stagingSuffix)
		if _, dead := st.Dead[id]; dead {
			os.Remove(path)
			f.Close()
			p.Swept = append(p.Swept, name)
			continue
		}
		if o, ok := committed[id]; ok && strings.HasSuffix(name, stagingSuffix) {
			if _, err := os.Stat(filepath.Join(tx.s.Dir, o)); errors.Is(err, fs.ErrNotExist) {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(tx.s.Dir, o)), 0o700); err != nil {
					f.Close()
					return err
				}
				if err := os.Rename(path, filepath.Join(tx.s.Dir, o)); err != nil {
					f.Close()
					return err
				}
				p.Published = append(p.Published, id)
				f.Close()
				continue
			}
		}
		os.Remove(path)
		f.Close()
		p.Discarded = append(p.Discarded, name)
	}
	swept, err := tx.s.sweepDead(st)
	p.Swept = append(p.Swept, swept...)
	if err != nil {
		return err
	}
	if p.Temps, err = tx.s.removeTempFiles(); err != nil {
		return err
	}
	if len(p.Published) > 0 || len(p.Discarded) > 0 || len(p.Swept) > 0 {
		if err := atomicfile.SyncDir(staging); err != nil {
			return err
		}
		if err := atomicfile.SyncDir(filepath.Join(tx.s.Dir, ObjectsDir)); err != nil {
			return err
		}
		if err := atomicfile.SyncDir(filepath.Join(tx.s.Dir, KeysDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if torn == nil && len(p.Published) == 0 && len(p.Discarded) == 0 && len(p.Swept) == 0 && len(p.Temps) == 0 {
		return nil
	}
	payload, _ := json.Marshal(p)
	_, err = tx.Append(manifest.Entry{Action: "recover", Payload: payload})
	return err
}

const stagingSuffix = ".age.partial"

// committedObjects maps object id → store-relative path for every object an
// entry registered.
func committedObjects(l *manifest.Ledger) map[string]string {
	m := map[string]string{}
	for _, rec := range l.Records {
		for _, o := range objectsOf(rec) {
			m[o.ID] = o.Path
		}
	}
	return m
}
