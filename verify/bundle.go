package verify

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"filippo.io/age"
	"github.com/custody-evidence/custody/bundle"
	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
	"golang.org/x/crypto/ssh"
)

// BundleOptions tunes a bundle verification.
type BundleOptions struct {
	// TrustedKeys are the station keys the receiver pinned (verify --key or
	// --trusted-keys). Trust comes only from here, never from the key
	// inside the bundle. Without any, the best result is "integrity
	// checked, signer not trusted", which is not Verified.
	TrustedKeys []ssh.PublicKey
	// Checkpoint is a checkpoint file the receiver saved from an earlier
	// bundle of the same store; the bundle's ledger must extend it.
	Checkpoint []byte
	// Identities, if given, open re-encrypted originals so that their
	// plaintext is hashed against the ledger too.
	Identities []age.Identity
	// Progress is called with bytes hashed.
	Progress func(int64)
	// Limits bound what is read (zero: bundle.DefaultLimits).
	Limits bundle.Limits
}

// Bundle verifies an export bundle, a directory or a zip read in place. It
// re-hashes every file (there is no fast mode), checks the BagIt manifests,
// the signed statement against the pinned keys, each ledger entry's
// signatures and Merkle inclusion proof against the signed checkpoint, the
// derivation links between redacted files and their originals, and, with
// opts.Checkpoint, consistency with an earlier checkpoint. It returns an
// error only when it could not run (no such path, not a bundle, an
// unusable --checkpoint file); everything wrong with the bundle is a
// Problem.
func Bundle(ctx context.Context, path string, opts BundleOptions) (*Report, error) {
	var saved *manifest.Checkpoint
	var savedKey ssh.PublicKey
	if opts.Checkpoint != nil {
		var err error
		if saved, savedKey, err = manifest.ParseCheckpoint(opts.Checkpoint); err != nil {
			return nil, fmt.Errorf("the saved checkpoint given with --checkpoint is not usable: %v", err)
		}
	}
	rd, err := bundle.Open(path, opts.Limits)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	v := &bundleCheck{r: &Report{Kind: "bundle", Path: path}, rd: rd, opts: opts,
		digests: map[string]bundle.Digests{}, content: map[string][]byte{}, missing: map[string]bool{}}
	// The reader's structural issues, with their codes: unsafe paths
	// (path-*), symlink, special-file, bundle-limit, and for a zip
	// zip-layout, zip-duplicate, zip-encrypted, zip-method, zip-limit,
	// zip-overlap, zip-attributes, zip-malformed and, for data where a zip
	// writer puts none, zip-prefix, zip-trailing, zip-comment, zip-gap and
	// zip-header-mismatch (a local header that disagrees with the central
	// directory).
	for _, is := range rd.Issues {
		v.r.fail(is.Code, is.Subject, "%s", is.Message)
	}
	for _, n := range rd.Notes {
		v.r.note("%s", n)
	}
	if err := v.hashAll(ctx); err != nil {
		return nil, err
	}
	v.checkLayout()
	v.checkStatement()
	v.checkManifests()
	v.checkBagInfo()
	v.checkEvidence()
	if saved != nil {
		v.checkConsistency(saved, savedKey)
	}
	if len(v.r.Problems) == 0 && !v.r.Trusted && v.r.Signer != "" {
		v.r.note("no station key pinned: compare the signer's fingerprint %s with the sending station's out of band (in person or by phone), then verify again with --key STATION.pub", v.r.Signer)
	}
	if err := v.checkOriginals(ctx); err != nil {
		return nil, err
	}
	return finish(v.r), nil
}

type bundleCheck struct {
	r       *Report
	rd      *bundle.Reader
	opts    BundleOptions
	digests map[string]bundle.Digests
	content map[string][]byte // files outside data/, read whole
	missing map[string]bool

	stmt       *bundle.Statement
	records    []*manifest.Record
	bySeq      map[uint64]*manifest.Record
	checkpoint *manifest.Checkpoint
	proofs     *bundle.Proofs
	station    ssh.PublicKey // from the genesis entry
	export     *store.ExportPayload
}

// parsedFiles are the files verify parses, with the most it reads of each
// into memory. Everything else, footage and reports included, is only
// streamed through the hashes, so memory does not grow with the bundle.
var parsedFiles = map[string]int64{
	bundle.BagItFile: 4 << 10, bundle.BagInfoFile: 1 << 20,
	bundle.ManifestSHA256: 64 << 20, bundle.ManifestSHA512: 64 << 20, bundle.TagManifestSHA512: 1 << 20,
	bundle.StatementFile: bundle.MaxStatementSize, bundle.StatementSigFile: 64 << 10,
	bundle.LedgerFile: bundle.MaxLedgerSize, bundle.ProofsFile: bundle.MaxProofsSize,
	bundle.CheckpointFile: 64 << 10, bundle.StationKeyFile: 64 << 10,
}

// hashAll reads every file once, streaming, hashing SHA-256 and SHA-512.
// The files verify parses are kept.
func (v *bundleCheck) hashAll(ctx context.Context) error {
	for i := range v.rd.Files {
		f := &v.rd.Files[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		limit, parse := parsedFiles[f.Name]
		if m := v.opts.Limits.MaxTagFile; parse && m > 0 && m < limit {
			limit = m
		}
		switch {
		case parse && f.Size <= limit:
			data, err := v.rd.ReadSmall(f, limit)
			if err != nil {
				v.unreadable(f.Name, err)
				continue
			}
			s2, s5 := sha256.Sum256(data), sha512.Sum512(data)
			v.digests[f.Name] = bundle.Digests{Size: int64(len(data)), SHA256: hex.EncodeToString(s2[:]), SHA512: hex.EncodeToString(s5[:])}
			v.content[f.Name] = data
			if v.opts.Progress != nil {
				v.opts.Progress(int64(len(data)))
			}
		default:
			if parse {
				v.r.fail("file-too-large", f.Name, "is %d bytes, more than custody ever writes for it (limit %d): it is not parsed", f.Size, limit)
			}
			rc, err := v.rd.Open(f)
			if err != nil {
				v.unreadable(f.Name, err)
				continue
			}
			d, err := bundle.HashReader(ctx, rc, v.opts.Progress)
			rc.Close()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				v.unreadable(f.Name, err)
				continue
			}
			v.digests[f.Name] = d
		}
		v.r.Objects++
		v.r.Bytes += v.digests[f.Name].Size
	}
	return nil
}

func (v *bundleCheck) unreadable(name string, err error) {
	switch {
	case errors.Is(err, zip.ErrChecksum):
		v.r.fail("zip-checksum", name, "the zip entry's data does not match its CRC-32: it was modified inside the zip")
	case errors.Is(err, zip.ErrFormat):
		v.r.fail("zip-malformed", name, "the zip entry is damaged (its data is not the declared size): %v", err)
	default:
		v.r.fail("file-unreadable", name, "%v", err)
	}
}

func (v *bundleCheck) missingFile(name, why string) {
	if v.missing[name] {
		return
	}
	v.missing[name] = true
	v.r.fail("file-missing", name, "%s", why)
}

func (v *bundleCheck) checkLayout() {
	if v.rd.Lookup(bundle.FetchFile) != nil {
		v.r.fail("fetch-txt", bundle.FetchFile, "the bundle has a fetch.txt: bundles must hold every file themselves, and the verifier never fetches anything from a network")
	}
	for _, n := range bundle.RequiredFiles {
		if v.rd.Lookup(n) == nil {
			v.missingFile(n, "a required bundle file is missing")
		}
	}
	if data, ok := v.content[bundle.BagItFile]; ok && string(data) != bundle.Declaration {
		v.r.fail("bagit-declaration", bundle.BagItFile, "is not the BagIt 1.0 declaration custody writes (%q)", shortText(data))
	}
}

func (v *bundleCheck) checkStatement() {
	body, ok := v.content[bundle.StatementFile]
	sig, ok2 := v.content[bundle.StatementSigFile]
	if !ok || !ok2 {
		v.r.fail("statement-missing", bundle.StatementFile, "the signed statement or its signature is missing: nothing ties the files to the station")
		return
	}
	st, err := bundle.ParseStatement(body)
	if err != nil {
		v.r.fail("statement-malformed", bundle.StatementFile, "%v", err)
	}
	signer, err := bundle.VerifyStatement(body, sig)
	switch {
	case err != nil:
		v.r.fail("statement-signature", bundle.StatementSigFile, "the statement's signature does not verify (%v): the statement was edited after it was signed, or the signature is from another bundle", err)
	default:
		v.r.Signer = seal.Fingerprint(signer)
		switch {
		case len(v.opts.TrustedKeys) == 0:
			// Integrity only: Report.Err then says "signer not trusted".
		case keyIn(signer, v.opts.TrustedKeys):
			v.r.Trusted = true
		default:
			var pins []string
			for _, k := range v.opts.TrustedKeys {
				pins = append(pins, seal.Fingerprint(k))
			}
			v.r.fail("signer-untrusted", bundle.StatementSigFile, "the bundle is signed by %s, which is not a key you pinned (%s): it was re-signed, or comes from another station", v.r.Signer, strings.Join(pins, ", "))
		}
	}
	if st == nil {
		return
	}
	v.stmt = st
	if v.r.Signer != "" && st.Station != v.r.Signer {
		v.r.fail("station-key", bundle.StatementFile, "the statement names station key %s but is signed by %s", st.Station, v.r.Signer)
	}
	listed := map[string]bundle.FileDigest{}
	for _, f := range st.Files {
		listed[f.Path] = f
	}
	unlisted := map[string]bool{}
	for _, n := range bundle.Unlisted {
		unlisted[n] = true
	}
	for _, f := range v.rd.Files {
		if unlisted[f.Name] {
			continue
		}
		if _, ok := listed[f.Name]; !ok {
			v.r.fail("file-extra", f.Name, "is not in the signed statement: it was added after the bundle was signed")
		}
	}
	for _, fd := range st.Files {
		if unlisted[fd.Path] {
			v.r.fail("statement-malformed", fd.Path, "the statement lists a file it cannot cover")
			continue
		}
		if v.rd.Lookup(fd.Path) == nil {
			v.missingFile(fd.Path, "the signed statement lists this file, but the bundle does not have it: it was deleted or renamed")
			continue
		}
		d, ok := v.digests[fd.Path]
		if !ok {
			continue // unreadable, already reported
		}
		switch {
		case d.Size != fd.Size:
			verb := "truncated"
			if d.Size > fd.Size {
				verb = "appended to"
			}
			v.r.fail("file-size", fd.Path, "is %d bytes, the signed statement says %d: it was %s", d.Size, fd.Size, verb)
		case d.SHA512 != fd.SHA512:
			v.r.fail("file-digest", fd.Path, "its SHA-512 differs from the signed statement: the file was modified or replaced after the station signed the bundle")
		}
	}
}

func (v *bundleCheck) checkManifests() {
	payload := map[string]bool{}
	for _, f := range v.rd.Files {
		if bundle.IsPayload(f.Name) {
			payload[f.Name] = true
		}
	}
	type mf struct {
		name   string
		hexLen int
		pick   func(bundle.Digests) string
		tag    bool
	}
	for _, m := range []mf{
		{bundle.ManifestSHA256, 64, func(d bundle.Digests) string { return d.SHA256 }, false},
		{bundle.ManifestSHA512, 128, func(d bundle.Digests) string { return d.SHA512 }, false},
		{bundle.TagManifestSHA512, 128, func(d bundle.Digests) string { return d.SHA512 }, true},
	} {
		data, ok := v.content[m.name]
		if !ok {
			continue // missing: reported by checkLayout
		}
		lines, issues := bundle.ParseManifest(m.name, data, m.hexLen)
		for _, is := range issues {
			v.r.fail(is.Code, is.Subject, "%s", is.Message)
		}
		listed := map[string]bool{}
		for _, l := range lines {
			listed[l.Path] = true
			switch {
			case m.tag && bundle.IsPayload(l.Path):
				v.r.fail("manifest-scope", m.name, "lists payload file %s; a tag manifest lists only files outside data/", l.Path)
				continue
			case m.tag && l.Path == m.name:
				v.r.fail("manifest-scope", m.name, "lists itself, which no manifest can")
				continue
			case !m.tag && !bundle.IsPayload(l.Path):
				v.r.fail("manifest-scope", m.name, "lists %s, which is not under data/; a payload manifest lists only payload files", l.Path)
				continue
			}
			if v.rd.Lookup(l.Path) == nil {
				v.r.fail("manifest-unknown", m.name, "lists %s, which is not in the bundle", l.Path)
				continue
			}
			d, ok := v.digests[l.Path]
			if ok && m.pick(d) != l.Digest {
				v.r.fail("manifest-digest", l.Path, "does not match its digest in %s", m.name)
			}
		}
		for _, f := range v.rd.Files {
			want := bundle.IsPayload(f.Name)
			if m.tag {
				want = !want && f.Name != m.name
			}
			if want && !listed[f.Name] {
				v.r.fail("manifest-missing", f.Name, "is not listed in %s", m.name)
			}
		}
		if m.tag && len(issues) == 0 && !bytes.Equal(bundle.FormatManifest(lines), data) {
			v.r.fail("tagmanifest-noncanonical", m.name, "is not in the exact form custody writes (sorted, two spaces): it was rewritten after signing")
		}
	}
}

func (v *bundleCheck) checkBagInfo() {
	data, ok := v.content[bundle.BagInfoFile]
	if !ok {
		return
	}
	fields, issues := bundle.ParseBagInfo(data)
	for _, is := range issues {
		v.r.fail(is.Code, is.Subject, "%s", is.Message)
	}
	vals := map[string][]string{}
	for _, f := range fields {
		vals[f.Label] = append(vals[f.Label], f.Value)
	}
	for _, l := range bundle.RequiredLabels {
		if len(vals[l]) != 1 {
			v.r.fail("bag-info", bundle.BagInfoFile, "must have exactly one %s, has %d", l, len(vals[l]))
		}
	}
	if ox := vals[bundle.LabelOxum]; len(ox) == 1 {
		var n int64
		files := 0
		for _, f := range v.rd.Files {
			if bundle.IsPayload(f.Name) {
				n += f.Size
				files++
			}
		}
		wb, wf, err := bundle.ParseOxum(ox[0])
		switch {
		case err != nil:
			v.r.fail("payload-oxum", bundle.BagInfoFile, "%v", err)
		case wb != n || wf != files:
			v.r.fail("payload-oxum", bundle.BagInfoFile, "Payload-Oxum says %d bytes in %d files, the payload has %d bytes in %d files", wb, wf, n, files)
		}
	}
	if v.stmt != nil {
		if id := vals[bundle.LabelIncident]; len(id) == 1 && id[0] != v.stmt.Incident {
			v.r.fail("bag-info", bundle.BagInfoFile, "External-Identifier %q is not the signed statement's incident %q", id[0], v.stmt.Incident)
		}
	}
	if fp := vals[bundle.LabelStation]; len(fp) == 1 && v.r.Signer != "" && fp[0] != v.r.Signer {
		v.r.fail("bag-info", bundle.BagInfoFile, "names station key %s, but the bundle is signed by %s", fp[0], v.r.Signer)
	}
}

func (v *bundleCheck) checkEvidence() {
	if line, ok := v.content[bundle.StationKeyFile]; ok {
		pub, err := seal.ParsePublicKey(string(line))
		switch {
		case err != nil:
			v.r.fail("station-key", bundle.StationKeyFile, "%v", err)
		case v.r.Signer != "" && seal.Fingerprint(pub) != v.r.Signer:
			v.r.fail("station-key", bundle.StationKeyFile, "holds key %s, but the bundle is signed by %s", seal.Fingerprint(pub), v.r.Signer)
		}
	}
	v.checkLedger()
	v.checkCheckpoint()
	v.checkProofs()
	v.checkExport()
}

func (v *bundleCheck) checkLedger() {
	data, ok := v.content[bundle.LedgerFile]
	if !ok {
		return
	}
	recs, issues := bundle.ParseLedgerLines(data)
	for _, is := range issues {
		v.r.fail(is.Code, is.Subject, "%s", is.Message)
	}
	v.bySeq = map[uint64]*manifest.Record{}
	var last *manifest.Record
	for i, rec := range recs {
		seq := rec.Entry.Seq
		if _, dup := v.bySeq[seq]; dup {
			v.r.fail("ledger-order", fmt.Sprintf("%s line %d", bundle.LedgerFile, i+1), "entry %d appears twice", seq)
			continue
		}
		if last != nil && seq < last.Entry.Seq {
			v.r.fail("ledger-order", fmt.Sprintf("%s line %d", bundle.LedgerFile, i+1), "entry %d comes after entry %d: the entries were reordered", seq, last.Entry.Seq)
		}
		v.bySeq[seq] = rec
		v.records = append(v.records, rec)
		last = rec
	}
	v.r.Entries = uint64(len(v.records))
	g := v.bySeq[0]
	if g == nil || g.Entry.Action != "genesis" {
		v.r.fail("ledger-genesis", bundle.LedgerFile, "the genesis entry (#0), which names the station key, is missing")
		return
	}
	var gp manifest.GenesisPayload
	if err := g.Payload(&gp); err != nil {
		v.r.fail("ledger-genesis", "entry 0", "%v", err)
		return
	}
	station, err := seal.ParsePublicKey(gp.StationKey)
	if err != nil {
		v.r.fail("ledger-genesis", "entry 0", "station key: %v", err)
		return
	}
	v.station = station
	v.r.StationKey = seal.Fingerprint(station)
	if v.r.Signer != "" && v.r.StationKey != v.r.Signer {
		v.r.fail("station-key", "entry 0", "the ledger's station key is %s, but the bundle is signed by %s: the bundle was re-signed by another key", v.r.StationKey, v.r.Signer)
	}
	// Replay the keys the disclosed entries register, in ledger order.
	keys := map[string]ssh.PublicKey{v.r.StationKey: station}
	sorted := append([]*manifest.Record(nil), v.records...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Entry.Seq < sorted[j].Entry.Seq })
	for _, rec := range sorted {
		e := &rec.Entry
		subj := fmt.Sprintf("entry %d", e.Seq)
		byActor := false
		for j, s := range rec.Sigs {
			pub, ok := keys[s.Key]
			if !ok {
				v.r.fail("ledger-signer", subj, "signature %d is by key %s, which no disclosed entry authorises", j+1, s.Key)
				continue
			}
			blob, err := seal.DecodeSig(s.SSHSig)
			if err == nil {
				var got ssh.PublicKey
				got, err = seal.VerifySignature(blob, manifest.EntryNamespace, rec.EntryRaw)
				if err == nil && !bytes.Equal(got.Marshal(), pub.Marshal()) {
					err = errors.New("made by a different key than it names")
				}
			}
			if err != nil {
				v.r.fail("ledger-signature", subj, "signature by %s does not verify (%v): the entry was edited", s.Key, err)
				continue
			}
			if s.Key == e.Actor.Key {
				byActor = true
			}
		}
		if !byActor {
			v.r.fail("ledger-actor", subj, "is not validly signed by its actor %q (%s)", e.Actor.Name, e.Actor.Key)
		}
		if e.Action == "user.add" || e.Action == "user.remove" {
			var kp manifest.KeyPayload
			if rec.Payload(&kp) == nil {
				if pub, err := seal.ParsePublicKey(kp.Key); err == nil {
					if e.Action == "user.add" {
						keys[seal.Fingerprint(pub)] = pub
					} else {
						delete(keys, seal.Fingerprint(pub))
					}
				}
			}
		}
	}
}

func (v *bundleCheck) checkCheckpoint() {
	data, ok := v.content[bundle.CheckpointFile]
	if !ok {
		return
	}
	c, pub, err := manifest.ParseCheckpoint(data)
	if err != nil {
		v.r.fail("checkpoint-signature", bundle.CheckpointFile, "%v", err)
		return
	}
	v.checkpoint = c
	v.r.Checkpoint = c.Size
	if v.station != nil && !bytes.Equal(pub.Marshal(), v.station.Marshal()) {
		v.r.fail("checkpoint-signer", bundle.CheckpointFile, "signed by %s, not by the station key %s", seal.Fingerprint(pub), v.r.StationKey)
	}
	if g := v.bySeq[0]; g != nil {
		var gp manifest.GenesisPayload
		if g.Payload(&gp) == nil && c.Origin != "custody/store/"+gp.Store {
			v.r.fail("checkpoint-origin", bundle.CheckpointFile, "is for %q, not this bundle's store %s", c.Origin, gp.Store)
		}
	}
	if v.stmt != nil && v.stmt.Checkpoint != c.Size {
		v.r.fail("checkpoint-coverage", bundle.CheckpointFile, "covers %d entries, the signed statement says %d: the checkpoint was swapped", c.Size, v.stmt.Checkpoint)
	}
}

func (v *bundleCheck) checkProofs() {
	data, ok := v.content[bundle.ProofsFile]
	if !ok {
		return
	}
	p, err := bundle.ParseProofs(data)
	if err != nil {
		v.r.fail("proofs-malformed", bundle.ProofsFile, "%v", err)
		return
	}
	v.proofs = p
	c := v.checkpoint
	if c == nil {
		return
	}
	if p.Checkpoint != c.Size {
		v.r.fail("proofs-malformed", bundle.ProofsFile, "proofs are for a tree of %d entries, the checkpoint has %d", p.Checkpoint, c.Size)
		return
	}
	bySeq := map[uint64][][]byte{}
	for _, ip := range p.Inclusion {
		if _, dup := bySeq[ip.Seq]; dup {
			v.r.fail("proofs-malformed", bundle.ProofsFile, "two inclusion proofs for entry %d", ip.Seq)
			continue
		}
		path, err := bundle.DecodePath(ip.Path)
		if err != nil {
			v.r.fail("proofs-malformed", fmt.Sprintf("proof for entry %d", ip.Seq), "%v", err)
			path = nil
		}
		bySeq[ip.Seq] = path
		if v.bySeq != nil && v.bySeq[ip.Seq] == nil {
			v.r.fail("entry-missing", fmt.Sprintf("entry %d", ip.Seq), "has an inclusion proof but is not in %s: an entry was removed from the bundle", bundle.LedgerFile)
		}
	}
	for _, rec := range v.records {
		seq := rec.Entry.Seq
		subj := fmt.Sprintf("entry %d", seq)
		path, ok := bySeq[seq]
		switch {
		case seq >= c.Size:
			v.r.fail("checkpoint-coverage", subj, "is newer than the signed checkpoint (%d entries): it cannot be proven", c.Size)
		case !ok:
			v.r.fail("proof-missing", subj, "has no inclusion proof: it cannot be shown to belong to the station's signed ledger")
		case path == nil && len(p.Inclusion) > 0:
			// malformed, reported above
		default:
			if err := manifest.VerifyInclusion(rec.Line, seq, c.Size, path, c.Root); err != nil {
				v.r.fail("proof-inclusion", subj, "is not in the ledger the signed checkpoint commits to (%v): the entry was altered or comes from another ledger", err)
			}
		}
	}
	for _, cp := range p.Consistency {
		if cp.To != c.Size || cp.From == 0 || cp.From > cp.To {
			v.r.fail("proofs-malformed", bundle.ProofsFile, "consistency proof from %d to %d does not end at the checkpoint (%d)", cp.From, cp.To, c.Size)
		}
	}
}

// entryFor finds the disclosed entry with that action about that clip.
func (v *bundleCheck) entryFor(action, clip string) *manifest.Record {
	for _, rec := range v.records {
		if rec.Entry.Action == action && rec.Entry.Clip == clip {
			return rec
		}
	}
	return nil
}

func (v *bundleCheck) checkExport() {
	if v.stmt == nil || v.bySeq == nil {
		return
	}
	seq := v.stmt.Export
	rec := v.bySeq[seq]
	subj := fmt.Sprintf("entry %d", seq)
	if rec == nil {
		v.r.fail("entry-missing", subj, "the export entry the statement names is not in %s", bundle.LedgerFile)
		return
	}
	if rec.Entry.Action != "export" {
		v.r.fail("export-entry", subj, "the statement names entry %d as the export, but it is a %q entry", seq, rec.Entry.Action)
		return
	}
	var p store.ExportPayload
	if err := rec.Payload(&p); err != nil {
		v.r.fail("export-entry", subj, "export payload: %v", err)
		return
	}
	v.export = &p
	if p.ReceiverKey != "" {
		if k, err := seal.ParsePublicKey(p.ReceiverKey); err != nil {
			v.r.fail("export-entry", subj, "the export entry's receiver key cannot be read: %v", err)
		} else {
			v.r.Receiver = seal.Fingerprint(k)
		}
	}
	if p.Incident != v.stmt.Incident {
		v.r.fail("export-entry", subj, "the export was for incident %q, the statement says %q", p.Incident, v.stmt.Incident)
	}
	if v.checkpoint != nil && v.checkpoint.Size <= seq {
		v.r.fail("checkpoint-coverage", bundle.CheckpointFile, "the signed checkpoint (%d entries) does not cover the export entry %d", v.checkpoint.Size, seq)
	}
	if v.stmt.Store != "" {
		if g := v.bySeq[0]; g != nil {
			var gp manifest.GenesisPayload
			if g.Payload(&gp) == nil && gp.Store != v.stmt.Store {
				v.r.fail("export-entry", bundle.StatementFile, "the statement is for store %s, the ledger for store %s", v.stmt.Store, gp.Store)
			}
		}
	}
	exhibits := map[string]bool{}
	for _, x := range p.Exhibits {
		exhibits[x.Path] = true
		xs := x.Exhibit + " (" + x.Path + ")"
		if v.rd.Lookup(x.Path) == nil {
			v.missingFile(x.Path, fmt.Sprintf("exhibit %s of the export entry is not in the bundle", x.Exhibit))
			v.r.fail("exhibit-missing", xs, "the export entry lists this exhibit, but the bundle does not have it")
			continue
		}
		d, hashed := v.digests[x.Path]
		switch x.Kind {
		case "redacted":
			red := v.entryFor("redact", x.Clip)
			if red == nil {
				v.r.fail("entry-missing", xs, "the redact entry of clip %s is not in the bundle: the redacted file cannot be traced to its original", x.Clip)
				continue
			}
			var dp store.DerivePayload
			if err := red.Payload(&dp); err != nil {
				v.r.fail("derivation-hash", xs, "redact entry %d: %v", red.Entry.Seq, err)
				continue
			}
			if hashed && d.SHA256 != dp.Object.SHA256 {
				v.r.fail("derivation-hash", xs, "its SHA-256 is %s, but redact entry %d records %s: this is not the redacted clip the ledger describes", d.SHA256, red.Entry.Seq, dp.Object.SHA256)
			}
			if x.SHA256 != dp.Object.SHA256 {
				v.r.fail("derivation-hash", xs, "the export entry and redact entry %d disagree about the clip's SHA-256", red.Entry.Seq)
			}
			if x.Parent != dp.Parent {
				v.r.fail("derivation-parent", xs, "the export entry names original %s, the redact entry %s", x.Parent, dp.Parent)
			}
			orig := v.entryFor("import", dp.Parent)
			if orig == nil {
				v.r.fail("entry-missing", xs, "the import entry of original %s is not in the bundle: the derivation cannot be checked", dp.Parent)
				continue
			}
			var ip store.ImportPayload
			if err := orig.Payload(&ip); err != nil || ip.Object.SHA256 != dp.ParentSHA256 {
				v.r.fail("derivation-parent", xs, "the redaction was made from an original with SHA-256 %s, but import entry %d sealed %s: the derivation link is broken", dp.ParentSHA256, orig.Entry.Seq, ip.Object.SHA256)
			}
		case "original":
			imp := v.entryFor("import", x.Clip)
			if imp == nil {
				v.r.fail("entry-missing", xs, "the import entry of clip %s is not in the bundle", x.Clip)
				continue
			}
			var ip store.ImportPayload
			if err := imp.Payload(&ip); err != nil || ip.Object.SHA256 != x.SHA256 {
				v.r.fail("derivation-hash", xs, "the export entry says the original has SHA-256 %s, its import entry %d says %s", x.SHA256, imp.Entry.Seq, ip.Object.SHA256)
			}
		default:
			v.r.fail("export-entry", xs, "unknown exhibit kind %q", x.Kind)
		}
	}
	for _, f := range v.rd.Files {
		if bundle.IsPayload(f.Name) && !exhibits[f.Name] {
			v.r.fail("exhibit-extra", f.Name, "is in data/ but is not an exhibit of the export entry")
		}
	}
}

func (v *bundleCheck) checkConsistency(saved *manifest.Checkpoint, savedKey ssh.PublicKey) {
	c := v.checkpoint
	if c == nil {
		v.r.fail("consistency-missing", bundle.CheckpointFile, "the bundle has no valid checkpoint to compare with your saved one")
		return
	}
	subj := fmt.Sprintf("saved checkpoint (%d entries)", saved.Size)
	trusted := v.opts.TrustedKeys
	if len(trusted) == 0 && v.station != nil {
		trusted = []ssh.PublicKey{v.station}
	}
	if !keyIn(savedKey, trusted) {
		v.r.fail("consistency-checkpoint", subj, "is signed by %s, not by the pinned station key", seal.Fingerprint(savedKey))
		return
	}
	if saved.Origin != c.Origin {
		v.r.fail("consistency-checkpoint", subj, "is for %q, this bundle for %q: they are not from the same store", saved.Origin, c.Origin)
		return
	}
	switch {
	case saved.Size > c.Size:
		v.r.fail("consistency-rollback", subj, "covers %d entries but this bundle's checkpoint only %d: the station's ledger was rolled back, or this bundle is older than the one you saved", saved.Size, c.Size)
	case saved.Size == c.Size:
		if !bytes.Equal(saved.Root, c.Root) {
			v.r.fail("consistency-fork", subj, "has the same size as this bundle's checkpoint but a different root: the ledger was rewritten (a fork)")
		} else {
			v.r.note("this bundle's checkpoint is the one you saved")
		}
	default:
		var proof *bundle.ConsistencyProof
		if v.proofs != nil {
			for i := range v.proofs.Consistency {
				if v.proofs.Consistency[i].From == saved.Size {
					proof = &v.proofs.Consistency[i]
				}
			}
		}
		if proof == nil {
			v.r.fail("consistency-missing", subj, "the bundle carries no consistency proof from %d entries: it does not extend the ledger your checkpoint came from (bundles prove consistency from the checkpoints of the store's earlier bundles only)", saved.Size)
			return
		}
		path, err := bundle.DecodePath(proof.Path)
		if err == nil {
			err = manifest.VerifyConsistency(saved.Size, c.Size, path, saved.Root, c.Root)
		}
		if err != nil {
			v.r.fail("consistency-fork", subj, "this bundle's ledger does not extend the one you saved (%v): entries were rewritten or removed in between (a fork or rollback)", err)
			return
		}
		v.r.note("the ledger grew from your saved checkpoint (%d entries) to this bundle's (%d) without rewriting anything: no rollback or fork", saved.Size, c.Size)
	}
}

// checkOriginals decrypts re-encrypted originals when the receiver gave
// identities, and checks the plaintext hash against the ledger.
func (v *bundleCheck) checkOriginals(ctx context.Context) error {
	if len(v.opts.Identities) == 0 || v.export == nil {
		return nil
	}
	for _, x := range v.export.Exhibits {
		f := v.rd.Lookup(x.Path)
		if x.Kind != "original" || f == nil {
			continue
		}
		rc, err := v.rd.Open(f)
		if err != nil {
			continue
		}
		_, err = seal.Open(ctx, io.Discard, rc, v.opts.Identities, x.SHA256, v.opts.Progress)
		rc.Close()
		var nm *age.NoIdentityMatchError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &nm):
			v.r.note("%s: none of your identities opens this original", x.Path)
		case err != nil:
			v.r.fail("original-hash", x.Path, "decrypted with your key, the original does not match its import entry (%v)", err)
		default:
			v.r.note("%s: decrypted with your key; the recording matches its import entry (sha256 %s)", x.Path, x.SHA256)
		}
	}
	return nil
}

func keyIn(k ssh.PublicKey, ks []ssh.PublicKey) bool {
	for _, x := range ks {
		if bytes.Equal(k.Marshal(), x.Marshal()) {
			return true
		}
	}
	return false
}

func shortText(b []byte) string {
	if len(b) > 60 {
		b = b[:60]
	}
	return string(b)
}

// ParseTrustedKeys reads a trusted-keys file: one station public key a line,
// in authorized_keys form ("ssh-ed25519 AAAA... comment") or allowed_signers
// form ("principal ssh-ed25519 AAAA..."); blank lines and #-comments are
// ignored.
func ParseTrustedKeys(data []byte) ([]ssh.PublicKey, error) {
	var out []ssh.PublicKey
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pub, err := seal.ParsePublicKey(line)
		if err != nil {
			if _, rest, ok := strings.Cut(line, " "); ok {
				pub, err = seal.ParsePublicKey(rest)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("trusted keys line %d: %w", i+1, err)
		}
		out = append(out, pub)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no keys in the trusted keys file", seal.ErrBadKey)
	}
	return out, nil
}
