package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
)

var (
	// ErrNotRedacted refuses to export an original that has no complete
	// redacted version, unless its original is included.
	ErrNotRedacted = errors.New("clip has no complete redacted version")
	// ErrNoReceiver means originals were asked for without --to.
	ErrNoReceiver = errors.New("including originals needs the receiver's key")
	// ErrPurged refuses to export a clip whose footage was destroyed (it is
	// store.ErrPurged, so that every command reports it alike).
	ErrPurged = store.ErrPurged
	// ErrBadOptions is any other unusable export option.
	ErrBadOptions = errors.New("bad export options")
)

// ExportOptions say what to export, to whom and where.
type ExportOptions struct {
	Incident      string   // police or case reference (External-Identifier)
	ExhibitPrefix string   // exhibit labels are prefix+1, prefix+2, ...; default "EX-"
	Clips         []string // clip ids or unique prefixes
	Out           string   // a directory, or a zip file when it ends in .zip; must not exist
	Organization  string   // Source-Organization
	Contact       string   // Contact-Name
	// Identities open the sealed redacted clips (and originals); Identity
	// names them for the ledger.
	Identities []age.Identity
	Identity   string
	// As is the registered person exporting, if any: the export entry
	// names them and carries their signature beside the station's (which
	// signs the bundle and must be unlocked).
	As *store.Person
	// IncludeOriginals adds each clip's sealed original, re-encrypted in a
	// stream to the To recipients (age recipient strings).
	IncludeOriginals bool
	To               []string
	// Receiver is the SSH public key (an authorized_keys line) of whom the
	// bundle is for: recorded in the export entry and the report, it is
	// the only key whose receipt the station accepts. Empty: no receipt
	// will be accepted.
	Receiver string
	Progress func(int64) // bytes of footage processed
}

// Result describes a finished bundle.
type Result struct {
	Path            string                `json:"path"`
	Format          string                `json:"format"` // "dir" or "zip"
	Incident        string                `json:"incident"`
	Export          uint64                `json:"export_entry"`
	Checkpoint      uint64                `json:"checkpoint_size"`
	Station         string                `json:"station_fingerprint"`
	Files           int                   `json:"files"`
	Bytes           int64                 `json:"bytes"`
	StatementSHA256 string                `json:"statement_sha256"`
	Exhibits        []store.ExportExhibit `json:"exhibits"`
	Entries         int                   `json:"ledger_entries"`
	Receiver        string                `json:"receiver_fingerprint,omitempty"` // whose receipt is accepted
}

type planned struct {
	store.ExportExhibit
	clip *store.Clip
	ids  []age.Identity // what opens this clip's sealed file
}

// Export builds a bundle of the given clips. It first appends an "export"
// entry to the ledger and signs a checkpoint covering it, so that the
// bundle's own evidence includes the export; then it writes the bundle in a
// temporary place beside Out and renames it into place only when complete.
// Nothing that looks like a bundle is left if it fails or is cancelled
// (the export entry stays: the ledger records that an export was begun).
func Export(ctx context.Context, s *store.Store, opts ExportOptions) (*Result, error) {
	prefix, recips, err := checkExportOptions(opts)
	if err != nil {
		return nil, err
	}
	receiver, err := receiverKey(opts.Receiver)
	if err != nil {
		return nil, err
	}
	opts.Receiver = receiver
	zipForm := strings.HasSuffix(strings.ToLower(opts.Out), ".zip")

	l, _, err := s.ReadLedger()
	if err != nil {
		return nil, err
	}
	plan, err := planExhibits(store.Replay(l), opts.Clips, prefix, opts.IncludeOriginals)
	if err != nil {
		return nil, err
	}
	// Refuse a key that cannot open the files before anything is ledgered.
	// In a dual-control store a redacted version is opened with its own
	// key, which a DPO's key unwraps; an original needs the owner's share
	// and an approval, which an export cannot have.
	if err := planKeys(s, plan, opts.Identities); err != nil {
		return nil, err
	}

	payload := store.ExportPayload{Incident: opts.Incident, Organization: opts.Organization, Contact: opts.Contact,
		Bundle: filepath.Base(opts.Out), Format: "dir", Receivers: opts.To, Identity: opts.Identity, ReceiverKey: receiver}
	if zipForm {
		payload.Format = "zip"
	}
	for _, p := range plan {
		payload.Exhibits = append(payload.Exhibits, p.ExportExhibit)
	}
	// The output is made before the export is ledgered, so that one that
	// cannot be made (a missing folder) leaves no entry for a bundle that
	// never existed.
	now := s.Now().UTC()
	var sk sink
	if zipForm {
		sk, err = newZipSink(opts.Out, now)
	} else {
		sk, err = newDirSink(opts.Out)
	}
	if err != nil {
		return nil, err
	}
	er, err := s.BeginExport(ctx, opts.As, payload, func(st *store.State) error {
		for _, p := range plan {
			c := st.Clips[p.Clip]
			if c == nil || c.Object.SHA256 != p.SHA256 {
				return fmt.Errorf("%w: clip %s changed while the export was prepared", store.ErrNoClip, p.Clip)
			}
			if c.Status == store.StatusPurged {
				return fmt.Errorf("%w: %s", ErrPurged, p.Clip)
			}
		}
		return nil
	})
	if err != nil {
		sk.abort()
		return nil, err
	}
	seq := er.Record.Entry.Seq

	b := &builder{ctx: ctx, s: s, opts: opts, w: &writer{sink: sk, files: map[string]Digests{}}, rec: er, now: now, plan: plan, recips: recips}
	res, err := b.build()
	if err != nil {
		sk.abort()
		return nil, err
	}
	if err := sk.commit(); err != nil {
		sk.abort()
		return nil, err
	}
	if err := s.SaveExportStatement(seq, b.statement); err != nil {
		return nil, fmt.Errorf("bundle %s is complete, but saving its statement in the store failed (receipts for it cannot be matched): %w", opts.Out, err)
	}
	res.Path = opts.Out
	res.Format = payload.Format
	if pub, err := seal.ParsePublicKey(receiver); err == nil {
		res.Receiver = seal.Fingerprint(pub)
	}
	return res, nil
}

// receiverKey normalises the receiver's SSH public key to one
// authorized_keys line without a comment ("" for none).
func receiverKey(line string) (string, error) {
	if line == "" {
		return "", nil
	}
	pub, err := seal.ParsePublicKey(line)
	if err != nil {
		return "", fmt.Errorf("%w: the receiver's key: %v", ErrBadOptions, err)
	}
	return seal.AuthorizedKey(pub), nil
}

// planExhibits resolves the clips and numbers the files: for each clip its
// newest complete redacted version, then (if asked) its original.
func planExhibits(st *store.State, ids []string, prefix string, originals bool) ([]planned, error) {
	var out []planned
	seen := map[string]bool{}
	n := 0
	add := func(c *store.Clip, kind string) {
		n++
		label := prefix + strconv.Itoa(n)
		ext := extOf(c.Filename)
		p := planned{clip: c, ExportExhibit: store.ExportExhibit{Exhibit: label, Clip: c.ID, Kind: kind, SHA256: c.Object.SHA256, Size: c.Object.Size, Parent: c.Parent}}
		if kind == "original" {
			p.Path = OriginalsDir + "/" + SafeName(label) + "_" + c.ID + ext + ".age"
			p.Encrypted = true
		} else {
			p.Path = DataDir + "/" + SafeName(label) + "_" + c.ID + ext
		}
		out = append(out, p)
	}
	for _, id := range ids {
		c, err := st.Find(id)
		if err != nil {
			return nil, err
		}
		var red, orig *store.Clip
		if c.Kind == "redacted" {
			red, orig = c, st.Clips[c.Parent]
			if red.Derivation != nil && red.Derivation.Incomplete {
				return nil, fmt.Errorf("%w: clip %s is marked INCOMPLETE; redact the original again", ErrNotRedacted, c.ID)
			}
		} else {
			orig = c
			for i := len(c.Derivatives) - 1; i >= 0; i-- {
				d := st.Clips[c.Derivatives[i]]
				if d != nil && d.Status != store.StatusPurged && (d.Derivation == nil || !d.Derivation.Incomplete) {
					red = d
					break
				}
			}
		}
		for _, x := range []*store.Clip{red, orig} {
			if x != nil && x.Status == store.StatusPurged {
				return nil, fmt.Errorf("%w: %s", ErrPurged, x.ID)
			}
		}
		if red == nil && !originals {
			return nil, fmt.Errorf("%w: clip %s (redact it first, or export its original with --include-originals --to RECIPIENT)", ErrNotRedacted, c.ID)
		}
		if red != nil && !seen[red.ID] {
			seen[red.ID] = true
			add(red, "redacted")
		}
		if originals && orig != nil && !seen[orig.ID] {
			seen[orig.ID] = true
			add(orig, "original")
		}
	}
	return out, nil
}

func extOf(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if len(ext) < 2 || len(ext) > 8 {
		return ".mp4"
	}
	for _, r := range ext[1:] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return ".mp4"
		}
	}
	return ext
}

func canOpen(s *store.Store, c *store.Clip, ids []age.Identity) error {
	f, err := s.OpenObject(c.Object)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr, err := age.ExtractHeader(f)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", store.ErrCorrupt, c.Object.Path, err)
	}
	if _, err := age.DecryptHeader(hdr, ids...); err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return fmt.Errorf("%w (clip %s)", store.ErrAccessDenied, c.ID)
		}
		return err
	}
	return nil
}

type builder struct {
	ctx       context.Context
	s         *store.Store
	opts      ExportOptions
	w         *writer
	rec       *store.ExportRecord
	now       time.Time
	plan      []planned
	recips    []age.Recipient
	statement []byte
	selected  []*manifest.Record
}

func (b *builder) build() (*Result, error) {
	// Payload first: the footage is what takes time.
	for _, p := range b.plan {
		if err := b.payload(p); err != nil {
			return nil, err
		}
	}
	if err := b.ctx.Err(); err != nil {
		return nil, err
	}
	b.selected = SelectEntries(b.rec.Ledger, b.rec.Record, clipSet(b.plan))
	cp := b.rec.Checkpoint
	var ledger []byte
	for _, r := range b.selected {
		ledger = append(ledger, manifest.Encode(r)...)
	}
	if _, err := b.w.putBytes(LedgerFile, ledger); err != nil {
		return nil, err
	}
	proofs, err := MakeProofs(b.rec.Ledger, b.selected, cp.Size)
	if err != nil {
		return nil, err
	}
	pj, _ := json.MarshalIndent(proofs, "", " ")
	if _, err := b.w.putBytes(ProofsFile, append(pj, '\n')); err != nil {
		return nil, err
	}
	if _, err := b.w.putBytes(CheckpointFile, cp.Marshal()); err != nil {
		return nil, err
	}
	stationLine, err := b.s.StationKey()
	if err != nil {
		return nil, err
	}
	stationPub, err := seal.ParsePublicKey(stationLine)
	if err != nil {
		return nil, err
	}
	station := seal.Fingerprint(stationPub)
	if _, err := b.w.putBytes(StationKeyFile, []byte(seal.AuthorizedKey(stationPub)+" custody-station\n")); err != nil {
		return nil, err
	}

	var m256, m512 []ManifestLine
	var oxBytes int64
	oxFiles := 0
	for _, n := range b.w.names() {
		if IsPayload(n) {
			d := b.w.files[n]
			m256 = append(m256, ManifestLine{d.SHA256, n})
			m512 = append(m512, ManifestLine{d.SHA512, n})
			oxBytes += d.Size
			oxFiles++
		}
	}
	if _, err := b.w.putBytes(ManifestSHA256, FormatManifest(m256)); err != nil {
		return nil, err
	}
	if _, err := b.w.putBytes(ManifestSHA512, FormatManifest(m512)); err != nil {
		return nil, err
	}
	seq := b.rec.Record.Entry.Seq
	info := []Field{
		{LabelOrganization, b.opts.Organization},
		{LabelContact, b.opts.Contact},
		{LabelIncident, b.opts.Incident},
		{LabelDescription, fmt.Sprintf("custody export bundle: %d exhibit(s) for incident %s", len(b.plan), b.opts.Incident)},
		{LabelDate, b.now.Format("2006-01-02")},
		{LabelOxum, Oxum(oxBytes, oxFiles)},
		{LabelAgent, "custody"},
		{LabelStation, station},
		{LabelStore, b.s.Config.ID},
		{LabelExport, strconv.FormatUint(seq, 10)},
		{LabelCheckpoint, strconv.FormatUint(cp.Size, 10)},
	}
	if _, err := b.w.putBytes(BagInfoFile, FormatBagInfo(info)); err != nil {
		return nil, err
	}
	rd := b.reportData(station, stationLine)
	html, err := RenderHTML(rd)
	if err != nil {
		return nil, err
	}
	if _, err := b.w.putBytes(ReportHTML, html); err != nil {
		return nil, err
	}
	if _, err := b.w.putBytes(ReportText, RenderText(rd)); err != nil {
		return nil, err
	}
	if _, err := b.w.putBytes(BagItFile, []byte(Declaration)); err != nil {
		return nil, err
	}

	st := &Statement{Store: b.s.Config.ID, Incident: b.opts.Incident, Export: seq, Checkpoint: cp.Size, Station: station, Created: b.now}
	for _, n := range b.w.names() {
		d := b.w.files[n]
		st.Files = append(st.Files, FileDigest{Path: n, Size: d.Size, SHA512: d.SHA512})
	}
	b.statement = st.Marshal()
	sig, err := SignStatement(b.statement, b.s.Signer())
	if err != nil {
		return nil, err
	}
	if _, err := b.w.putBytes(StatementFile, b.statement); err != nil {
		return nil, err
	}
	if _, err := b.w.putBytes(StatementSigFile, sig); err != nil {
		return nil, err
	}
	var tags []ManifestLine
	for _, n := range b.w.names() {
		if !IsPayload(n) {
			tags = append(tags, ManifestLine{b.w.files[n].SHA512, n})
		}
	}
	if _, err := b.w.putBytes(TagManifestSHA512, FormatManifest(tags)); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b.statement)
	res := &Result{Incident: b.opts.Incident, Export: seq, Checkpoint: cp.Size, Station: station, Files: len(b.w.files),
		StatementSHA256: hex.EncodeToString(sum[:]), Entries: len(b.selected)}
	for _, n := range b.w.names() {
		res.Bytes += b.w.files[n].Size
	}
	for _, p := range b.plan {
		res.Exhibits = append(res.Exhibits, p.ExportExhibit)
	}
	return res, nil
}

// payload writes one exhibit: a redacted clip decrypted (its hash checked
// against the ledger), or an original re-encrypted to the receiver in one
// stream, with its plaintext hash checked and never written anywhere.
func (b *builder) payload(p planned) error {
	src, err := b.s.OpenObject(p.clip.Object)
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = b.w.put(p.Path, func(out io.Writer) error {
		if p.Kind == "redacted" {
			_, err := seal.Open(b.ctx, out, src, p.ids, p.SHA256, b.opts.Progress)
			return err
		}
		return Reencrypt(b.ctx, out, src, p.ids, b.recips, p.SHA256, b.opts.Progress)
	})
	if err != nil {
		return fmt.Errorf("exhibit %s (clip %s): %w", p.Exhibit, p.Clip, err)
	}
	return nil
}

// Reencrypt decrypts the age file src with ids and encrypts the plaintext
// to recips into dst, in one stream: the plaintext exists only in memory,
// a chunk at a time. If want is set, the plaintext's SHA-256 must match it
// (seal.ErrHashMismatch otherwise; dst then holds bad data to discard).
func Reencrypt(ctx context.Context, dst io.Writer, src io.Reader, ids []age.Identity, recips []age.Recipient, want string, progress func(int64)) error {
	dr, err := age.Decrypt(src, ids...)
	if err != nil {
		return err
	}
	aw, err := age.Encrypt(dst, recips...)
	if err != nil {
		return err
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := dr.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := aw.Write(buf[:n]); err != nil {
				return err
			}
			if progress != nil {
				progress(int64(n))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("%w: decryption failed: %v", seal.ErrHashMismatch, rerr)
		}
	}
	if err := aw.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return fmt.Errorf("%w: plaintext sha256 %s, ledger says %s", seal.ErrHashMismatch, got, want)
	}
	return nil
}

func clipSet(plan []planned) map[string]bool {
	m := map[string]bool{}
	for _, p := range plan {
		m[p.Clip] = true
		if p.Parent != "" {
			m[p.Parent] = true
		}
	}
	return m
}

// SelectEntries picks the ledger entries a bundle discloses: the genesis
// entry (it names the station key), every entry that concerns one of the
// clips, the export entry itself, and the entries that registered or
// removed the keys that signed those (so that every signature can be
// checked). Nothing about other clips, patients or staff is included.
func SelectEntries(l *manifest.Ledger, export *manifest.Record, clips map[string]bool) []*manifest.Record {
	picked := map[uint64]bool{0: true, export.Entry.Seq: true}
	for _, rec := range l.Records[:export.Entry.Seq+1] {
		for _, c := range store.ClipsOf(rec) {
			if clips[c] {
				picked[rec.Entry.Seq] = true
				break
			}
		}
	}
	// Key entries, until every signer of a picked entry is covered (a key
	// entry is itself signed, possibly by another registered key).
	keyEntries := map[string][]uint64{}
	for _, rec := range l.Records[:export.Entry.Seq+1] {
		if rec.Entry.Action != "user.add" && rec.Entry.Action != "user.remove" {
			continue
		}
		var kp manifest.KeyPayload
		if rec.Payload(&kp) != nil {
			continue
		}
		pub, err := seal.ParsePublicKey(kp.Key)
		if err != nil {
			continue
		}
		fp := seal.Fingerprint(pub)
		keyEntries[fp] = append(keyEntries[fp], rec.Entry.Seq)
	}
	for changed := true; changed; {
		changed = false
		for seq := range picked {
			for _, sg := range l.Records[seq].Sigs {
				for _, ks := range keyEntries[sg.Key] {
					if !picked[ks] {
						picked[ks], changed = true, true
					}
				}
			}
		}
	}
	seqs := make([]uint64, 0, len(picked))
	for s := range picked {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	out := make([]*manifest.Record, len(seqs))
	for i, s := range seqs {
		out[i] = l.Records[s]
	}
	return out
}

// MakeProofs builds the inclusion proofs of the selected entries in the
// tree of the given size, and consistency proofs from the checkpoint of
// every earlier export to it.
func MakeProofs(l *manifest.Ledger, selected []*manifest.Record, size uint64) (*Proofs, error) {
	p := &Proofs{Checkpoint: size, Inclusion: []InclusionProof{}, Consistency: []ConsistencyProof{}}
	for _, r := range selected {
		path, err := l.Tree().InclusionProof(r.Entry.Seq, size)
		if err != nil {
			return nil, err
		}
		p.Inclusion = append(p.Inclusion, InclusionProof{Seq: r.Entry.Seq, Path: encodePath(path)})
	}
	for _, e := range store.Exports(l) {
		if e.Entry.Seq+1 >= size {
			continue
		}
		from := e.Entry.Seq + 1
		var ep store.ExportPayload
		if e.Payload(&ep) == nil && ep.Checkpoint != 0 {
			from = ep.Checkpoint
		}
		path, err := l.Tree().ConsistencyProof(from, size)
		if err != nil {
			return nil, err
		}
		p.Consistency = append(p.Consistency, ConsistencyProof{From: from, To: size, Export: e.Entry.Seq, Path: encodePath(path)})
	}
	return p, nil
}

// checkExportOptions checks what the caller gave, before anything is read,
// and returns the exhibit prefix and the receivers of re-encrypted
// originals.
func checkExportOptions(opts ExportOptions) (string, []age.Recipient, error) {
	if err := CheckIncident(opts.Incident); err != nil {
		return "", nil, err
	}
	for _, v := range []string{opts.Organization, opts.Contact} {
		if strings.ContainsAny(v, "\r\n") || len(v) > 200 {
			return "", nil, fmt.Errorf("%w: organisation and contact must be one line of at most 200 bytes", ErrBadOptions)
		}
	}
	if opts.Organization == "" || opts.Contact == "" {
		return "", nil, fmt.Errorf("%w: bag-info.txt needs the source organisation and a contact name", ErrBadOptions)
	}
	if len(opts.Clips) == 0 {
		return "", nil, fmt.Errorf("%w: no clips to export", ErrBadOptions)
	}
	if opts.Out == "" {
		return "", nil, fmt.Errorf("%w: no output given", ErrBadOptions)
	}
	// Any other error is the output's to report when it is made.
	if _, err := os.Lstat(opts.Out); err == nil {
		return "", nil, fmt.Errorf("%w: %s", ErrOutputExists, opts.Out)
	}
	prefix := opts.ExhibitPrefix
	if prefix == "" {
		prefix = "EX-"
	}
	if strings.ContainsAny(prefix, "\r\n\t") || len(prefix) > 40 {
		return "", nil, fmt.Errorf("%w: exhibit prefix %q must be short and on one line", ErrBadOptions, prefix)
	}
	var recips []age.Recipient
	if opts.IncludeOriginals {
		if len(opts.To) == 0 {
			return "", nil, ErrNoReceiver
		}
		for _, t := range opts.To {
			r, err := seal.ParseRecipient(t, nil)
			if err != nil {
				return "", nil, err
			}
			recips = append(recips, r)
		}
	} else if len(opts.To) > 0 {
		return "", nil, fmt.Errorf("%w: --to is only used with --include-originals", ErrBadOptions)
	}
	if len(opts.Identities) == 0 {
		return "", nil, fmt.Errorf("%w: an identity is needed to open the sealed redacted clips", ErrBadOptions)
	}
	return prefix, recips, nil
}

// planKeys finds the identities that open each exhibit's sealed file, and
// refuses a key that cannot open one.
func planKeys(s *store.Store, plan []planned, identities []age.Identity) error {
	for i := range plan {
		p := &plan[i]
		if p.Kind != "redacted" && p.clip.DualControl() {
			return fmt.Errorf("%w: clip %s is a dual-control original: no single key can re-encrypt it for the receiver; export the redacted version, or have the owner request access and hand the original over under that approval", store.ErrAccessDenied, p.clip.ID)
		}
		ids, err := s.ClipIdentities(p.clip, identities)
		if err != nil {
			return err
		}
		p.ids = ids
		if err := canOpen(s, p.clip, ids); err != nil {
			return err
		}
	}
	return nil
}
