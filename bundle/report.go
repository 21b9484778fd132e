package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	texttemplate "text/template"

	"github.com/custody-evidence/custody/manifest"
	"github.com/custody-evidence/custody/seal"
	"github.com/custody-evidence/custody/store"
)

// ReportData is everything the human report shows. It is built from the
// disclosed ledger entries only, so the report cannot say more than the
// bundle proves.
type ReportData struct {
	Bundle         string
	Zip            bool
	Incident       string
	Organization   string
	Contact        string
	Created        string
	Station        string // fingerprint
	StationKey     string // authorized_keys line
	Receiver       string // fingerprint of whom the bundle is for ("" if unaddressed)
	ReceiverKey    string // authorized_keys line
	Store          string
	Export         uint64
	ExportLine     int // line of the export entry in custody/ledger.jsonl
	Checkpoint     uint64
	CheckpointRoot string // base64, as in the checkpoint file
	LedgerLines    int
	Exhibits       []ReportExhibit
	Clips          []ReportClip
	Steps          []Step
}

// ReportExhibit is one payload file.
type ReportExhibit struct {
	Exhibit     string
	Kind        string
	Path        string
	Clip        string
	Parent      string
	Size        int64  // of the file in the bundle
	SHA256      string // of the file in the bundle
	PlainSHA256 string // originals: of the recording inside the age file
	PlainSize   int64
	Encrypted   bool
}

// ReportClip is one recording the bundle concerns, with its timeline.
type ReportClip struct {
	ID, Kind, Filename                            string
	RecordedAt, RecordedAtSource                  string
	Device, Wearer, Location, Note                string
	SHA256                                        string
	Size                                          int64
	Media                                         string
	Parent, ParentSHA256                          string
	Exhibits                                      []string
	Redaction                                     *RedactionView
	Timeline                                      []TimelineRow
	Consent                                       []TimelineRow
	ImportedAt, ImportedBy, CipherSHA256, Derived string
}

// TimelineRow is one ledger entry on a clip's timeline.
type TimelineRow struct {
	Seq     uint64
	Line    int // in custody/ledger.jsonl
	Time    string
	Actor   string
	Key     string
	Action  string
	Summary string
	Details string // the entry's payload, indented (truncated if huge)
}

// RedactionView summarises a redaction record whatever its exact schema:
// the tool, detectors and models, parameters, masked tracks, and the DPO's
// edits with their reasons.
type RedactionView struct {
	Tool      string
	Detectors []string
	Params    string
	Tracks    int
	TrackRows []string
	Edits     []string
	Other     []string
}

// Step is one verification instruction.
type Step struct {
	Title    string
	Text     string
	Commands []string
}

func (b *builder) reportData(station, stationLine string) *ReportData {
	seq := b.rec.Record.Entry.Seq
	d := &ReportData{Bundle: filepath.Base(b.opts.Out), Zip: strings.HasSuffix(strings.ToLower(b.opts.Out), ".zip"),
		Incident: b.opts.Incident, Organization: b.opts.Organization, Contact: b.opts.Contact,
		Created: b.now.Format("2006-01-02 15:04:05 UTC"), Station: station, StationKey: stationLine,
		Store: b.s.Config.ID, Export: seq, Checkpoint: b.rec.Checkpoint.Size,
		CheckpointRoot: base64.StdEncoding.EncodeToString(b.rec.Checkpoint.Root), LedgerLines: len(b.selected)}
	if pub, err := seal.ParsePublicKey(b.opts.Receiver); err == nil {
		d.Receiver, d.ReceiverKey = seal.Fingerprint(pub), seal.AuthorizedKey(pub)
	}
	lineOf := map[uint64]int{}
	bySeq := map[uint64]*manifest.Record{}
	for i, r := range b.selected {
		lineOf[r.Entry.Seq] = i + 1
		bySeq[r.Entry.Seq] = r
	}
	d.ExportLine = lineOf[seq]
	exhibitsOf := map[string][]string{}
	for _, p := range b.plan {
		f := b.w.files[p.Path]
		e := ReportExhibit{Exhibit: p.Exhibit, Kind: p.Kind, Path: p.Path, Clip: p.Clip, Parent: p.Parent, Size: f.Size, SHA256: f.SHA256, Encrypted: p.Encrypted}
		if p.Encrypted {
			e.PlainSHA256, e.PlainSize = p.SHA256, p.ExportExhibit.Size
		}
		d.Exhibits = append(d.Exhibits, e)
		exhibitsOf[p.Clip] = append(exhibitsOf[p.Clip], p.Exhibit)
	}
	st := replaySubset(b.selected)
	var order []string
	seen := map[string]bool{}
	for _, p := range b.plan {
		for _, id := range []string{p.Parent, p.Clip} {
			if id != "" && !seen[id] {
				seen[id] = true
				order = append(order, id)
			}
		}
	}
	for _, id := range order {
		c := st.Clips[id]
		if c == nil {
			continue
		}
		rc := ReportClip{ID: c.ID, Kind: c.Kind, Filename: c.Filename, RecordedAt: c.RecordedAt, RecordedAtSource: c.RecordedAtSource,
			Device: c.Device, Wearer: c.Wearer, Location: c.Location, Note: c.Note, SHA256: c.Object.SHA256, Size: c.Object.Size,
			CipherSHA256: c.Object.CipherSHA256, Parent: c.Parent, Exhibits: exhibitsOf[c.ID], ImportedAt: c.ImportedAt, ImportedBy: c.ImportedBy,
			Media: mediaLine(c)}
		if c.Derivation != nil {
			rc.ParentSHA256 = c.Derivation.ParentSHA256
			rc.Redaction = redactionView(c.Derivation.Redaction)
		}
		for _, ev := range c.Timeline {
			row := TimelineRow{Seq: ev.Seq, Line: lineOf[ev.Seq], Time: ev.Time, Actor: ev.Actor, Key: ev.Key, Action: ev.Action, Summary: ev.Summary}
			if r := bySeq[ev.Seq]; r != nil {
				row.Details = details(r.Entry.Payload)
				if ev.Action == "import" {
					if cs := consentAtImport(r.Entry.Payload); cs != "" {
						crow := row
						crow.Summary, crow.Details = "consent recorded at import: "+cs, ""
						rc.Consent = append(rc.Consent, crow)
					}
				}
			}
			if strings.Contains(ev.Action, "consent") {
				rc.Consent = append(rc.Consent, row)
			}
			rc.Timeline = append(rc.Timeline, row)
		}
		d.Clips = append(d.Clips, rc)
	}
	d.Steps = VerificationSteps(d)
	sanitize(reflect.ValueOf(d))
	return d
}

// replaySubset replays the disclosed entries only. Replay is written for
// whole ledgers; should some action's handler fail on a subset, the report
// falls back to listing each clip's entries as they are, rather than
// failing the export.
func replaySubset(recs []*manifest.Record) (st *store.State) {
	defer func() {
		if recover() == nil {
			return
		}
		st = &store.State{Clips: map[string]*store.Clip{}}
		for _, r := range recs {
			e := r.Entry
			ev := store.Event{Seq: e.Seq, Time: e.Time, Actor: e.Actor.Name, Key: e.Actor.Key, Action: e.Action, Summary: e.Action + " (see the entry payload)"}
			for _, id := range store.ClipsOf(r) {
				c := st.Clips[id]
				if c == nil {
					c = &store.Clip{ID: id}
					st.Clips[id] = c
				}
				c.Timeline = append(c.Timeline, ev)
			}
			switch c := st.Clips[e.Clip]; {
			case c == nil:
			case e.Action == "import":
				if r.Payload(&c.ImportPayload) == nil {
					c.Kind, c.ImportedAt, c.ImportedBy = "original", e.Time, e.Actor.Name
				}
			case e.Action == "redact":
				var p store.DerivePayload
				if r.Payload(&p) == nil {
					c.Kind, c.Object, c.Filename, c.Media, c.Parent, c.Derivation = "redacted", p.Object, p.Filename, p.Media, p.Parent, &p
					c.ImportedAt, c.ImportedBy = e.Time, e.Actor.Name
				}
			}
		}
	}()
	return store.Replay(&manifest.Ledger{Records: recs})
}

// sanitize replaces control characters in every string reachable from v:
// ledger text (notes, reasons) may hold terminal escapes or characters
// that are not allowed in HTML, and html/template escapes markup only.
func sanitize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			sanitize(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			sanitize(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			sanitize(v.Index(i))
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(cleanText(v.String()))
		}
	}
}

func mediaLine(c *store.Clip) string {
	m := c.Media
	if m == nil {
		return ""
	}
	s := fmt.Sprintf("%s, %.2f s", m.Container, m.Duration)
	if v := m.Video; v != nil {
		s += fmt.Sprintf("; video %s %dx%d", v.Codec, v.Width, v.Height)
		if v.FrameRate != "" {
			s += " at " + v.FrameRate + " fps"
		}
	}
	if a := m.Audio; a != nil {
		s += fmt.Sprintf("; audio %s %d Hz %d ch", a.Codec, a.SampleRate, a.Channels)
	} else {
		s += "; no audio"
	}
	if m.Damaged && m.Damage != nil {
		// The duration above is what decodes; say why it is short.
		s += "; DAMAGED, sealed as received: " + m.Damage.Summary()
	}
	return s
}

const maxDetails = 6 << 10

func details(payload json.RawMessage) string {
	if len(payload) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, payload, "", "  ") != nil {
		return string(payload)
	}
	s := buf.String()
	if len(s) > maxDetails {
		s = s[:maxDetails] + "\n… (truncated here; the whole entry is in custody/ledger.jsonl)"
	}
	return s
}

func consentAtImport(payload json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return ""
	}
	if c, ok := m["consent"]; ok && string(c) != "null" {
		return compact(c)
	}
	return ""
}

// compact renders JSON as "key: value, ..." text, summarising per-frame
// box lists, and truncates long results.
func compact(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	s := render(v, 0)
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func render(v any, depth int) string {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			if arr, ok := t[k].([]any); ok && (k == "boxes" || len(arr) > 8) {
				parts = append(parts, fmt.Sprintf("%s: %d item(s)", k, len(arr)))
				continue
			}
			parts = append(parts, k+": "+render(t[k], depth+1))
		}
		if depth > 0 {
			return "{" + strings.Join(parts, ", ") + "}"
		}
		return strings.Join(parts, ", ")
	case []any:
		var parts []string
		for _, x := range t {
			parts = append(parts, render(x, depth+1))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		return t
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

func redactionView(raw json.RawMessage) *RedactionView {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return &RedactionView{Other: []string{compact(raw)}}
	}
	v := &RedactionView{}
	used := map[string]bool{}
	str := func(k string) string {
		var s string
		if json.Unmarshal(m[k], &s) == nil {
			return s
		}
		if len(m[k]) > 0 {
			return compact(m[k])
		}
		return ""
	}
	for _, k := range []string{"tool", "version", "tool_version"} {
		if _, ok := m[k]; ok {
			used[k] = true
			v.Tool = strings.TrimSpace(v.Tool + " " + str(k))
		}
	}
	for _, k := range []string{"detector", "detectors", "models"} {
		raw, ok := m[k]
		if !ok {
			continue
		}
		used[k] = true
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil {
			for _, x := range arr {
				v.Detectors = append(v.Detectors, compact(x))
			}
		} else {
			v.Detectors = append(v.Detectors, str(k))
		}
	}
	for _, k := range []string{"params", "parameters"} {
		if _, ok := m[k]; ok {
			used[k] = true
			v.Params = compact(m[k])
		}
	}
	if raw, ok := m["tracks"]; ok {
		used["tracks"] = true
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil {
			v.Tracks = len(arr)
			for i, x := range arr {
				if i == 200 {
					v.TrackRows = append(v.TrackRows, fmt.Sprintf("… and %d more (all in custody/ledger.jsonl)", len(arr)-i))
					break
				}
				v.TrackRows = append(v.TrackRows, compact(x))
			}
		}
	}
	if raw, ok := m["edits"]; ok {
		used["edits"] = true
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil {
			for _, x := range arr {
				v.Edits = append(v.Edits, compact(x))
			}
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !used[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Other = append(v.Other, k+": "+compact(m[k]))
	}
	return v
}

// VerificationSteps are the instructions the report gives, with this tool
// and with standard tools (sha256sum, sha512sum, ssh-keygen, age). The
// interop tests run these exact commands.
func VerificationSteps(d *ReportData) []Step {
	root := d.Bundle
	if d.Zip {
		root = ZipBase(d.Bundle)
	}
	keep := fmt.Sprintf("cp %s/custody/checkpoint %s.checkpoint   # keep it for the next bundle", root, SafeName(d.Incident))
	if d.Zip {
		keep = fmt.Sprintf("unzip -p %s %s/custody/checkpoint > %s.checkpoint   # keep it for the next bundle", d.Bundle, root, SafeName(d.Incident))
	}
	var steps []Step
	steps = append(steps, Step{
		Title: "With custody (recommended)",
		Text: fmt.Sprintf("Get the sending station's public key from the sender through a channel you trust (in person, or by phone reading out its fingerprint %s). "+
			"The copy in custody/station.pub is for information only: anyone could have put a key there. Then run the command below; it needs no network and no private key, "+
			"re-hashes every file, and checks the signed statement, the ledger entries' signatures and their Merkle proofs. Exit status 0 means verified and signed by your pinned key. "+
			"Keep custody/checkpoint: given to a later bundle's verify with --checkpoint, it proves the station's ledger was not rolled back or forked in between.", d.Station),
		Commands: []string{
			fmt.Sprintf("custody verify %s --key /path/to/station.pub", d.Bundle),
			keep,
		},
	})
	if d.Zip {
		steps = append(steps, Step{Title: "Standard tools: unpack the zip",
			Text:     "The zip holds one directory (RFC 8493 serialization). custody verifies the zip in place; the standard tools below need it unpacked. Run the remaining commands in the unpacked directory.",
			Commands: []string{"unzip " + d.Bundle, "cd " + root}})
	} else {
		steps = append(steps, Step{Title: "Standard tools: go to the bundle", Text: "Run the remaining commands from the bundle's top directory.", Commands: []string{"cd " + root}})
	}
	steps = append(steps,
		Step{Title: "Check every payload file (footage)",
			Text:     "Both must print OK for every file. They prove the files match the manifests; the signature steps below prove the manifests are the station's.",
			Commands: []string{"sha256sum -c manifest-sha256.txt", "sha512sum -c manifest-sha512.txt"}},
		Step{Title: "Check every tag file (manifests, ledger, proofs, report)",
			Commands: []string{"sha512sum -c tagmanifest-sha512.txt"}},
		Step{Title: "Check the station's signature on the statement",
			Text: "KEY is the station key you obtained out of band, not custody/station.pub. ssh-keygen must print Good \"station\" signature. " +
				"The statement lists every file of the bundle except itself, its signature and tagmanifest-sha512.txt, which lists those two.",
			Commands: []string{
				"KEY=/path/to/station.pub",
				"A=$(mktemp); T=$(mktemp -d)",
				`printf 'station %s\n' "$(cat "$KEY")" > "$A"`,
				"ssh-keygen -Y verify -f \"$A\" -I station -n " + StatementNamespace + " -s custody/statement.txt.sig < custody/statement.txt",
			}},
		Step{Title: "Check the statement's file list against the files",
			Text: "The first command must print OK for every file. The second counts the files: it must print the statement's \"files\" value plus 3 (the statement, its signature and the tag manifest).",
			Commands: []string{
				`grep -E '^[0-9a-f]{128} [0-9]+ ' custody/statement.txt | awk '{print $1 "  " $3}' | sha512sum -c`,
				"find . -type f | wc -l; grep '^files ' custody/statement.txt",
			}},
		Step{Title: "Check the signed checkpoint",
			Text: fmt.Sprintf("The checkpoint commits to the first %d entries of the station's ledger (Merkle root %s). Must print Good \"station\" signature.", d.Checkpoint, d.CheckpointRoot),
			Commands: []string{
				`sed '/^$/,$d' custody/checkpoint > "$T/checkpoint.body"`,
				`sed '1,/^$/d' custody/checkpoint > "$T/checkpoint.sig"`,
				`ssh-keygen -Y verify -f "$A" -I station -n ` + manifest.CheckpointNamespace + ` -s "$T/checkpoint.sig" < "$T/checkpoint.body"`,
			}},
		Step{Title: "Check the station's signature on each ledger entry",
			Text: fmt.Sprintf("Each line of custody/ledger.jsonl is {\"entry\":ENTRY,\"sigs\":[...]}; the signatures are over the exact bytes of ENTRY. "+
				"The last signature on every line is the station's. This loop checks all %d lines; each must print Good \"station\" signature. "+
				"Entries made by a person also carry that person's signature, registered by a user.add entry.", d.LedgerLines),
			Commands: []string{
				`n=0; while IFS= read -r line; do n=$((n+1)); ` +
					`printf '%s' "$line" | sed -e 's/^{"entry"://' -e 's/,"sigs":\[[^]]*\]}$//' | tr -d '\n' > "$T/entry"; ` +
					`printf '%s\n' "$line" | sed 's/.*"sshsig":"\([^"]*\)".*/\1/' | { echo '-----BEGIN SSH SIGNATURE-----'; fold -w 70; echo '-----END SSH SIGNATURE-----'; } > "$T/entry.sig"; ` +
					`echo "line $n:"; ssh-keygen -Y verify -f "$A" -I station -n ` + manifest.EntryNamespace + ` -s "$T/entry.sig" < "$T/entry" || break; ` +
					`done < custody/ledger.jsonl`,
			}},
	)
	var hashes []string
	for _, e := range d.Exhibits {
		if e.Encrypted {
			continue
		}
		hashes = append(hashes, fmt.Sprintf("sha256sum %s   # must print %s", e.Path, e.SHA256))
	}
	if len(hashes) > 0 {
		steps = append(steps, Step{Title: "Match the redacted footage to the ledger",
			Text: "Each redacted file's SHA-256 is recorded in its redact entry (\"object\":{...\"sha256\":...}), which also records the SHA-256 of the original it was made from (\"parent_sha256\"); " +
				"that must equal the original's import entry's \"sha256\". custody verify checks both links.",
			Commands: hashes})
	}
	var origs []string
	for _, e := range d.Exhibits {
		if e.Encrypted {
			origs = append(origs, fmt.Sprintf("age -d -i /path/to/your-key %s | sha256sum   # must print %s", e.Path, e.PlainSHA256))
		}
	}
	if len(origs) > 0 {
		steps = append(steps, Step{Title: "Open an original (receiver's key needed)",
			Text:     "Originals are age files encrypted to your key only. Decrypting streams the footage; its SHA-256 must be the one the import entry recorded when the footage was sealed.",
			Commands: origs})
	}
	steps = append(steps, Step{Title: "What standard tools cannot check",
		Text: "The Merkle inclusion proofs (custody/proofs.json) that tie each disclosed entry to the signed checkpoint, and the consistency proofs from earlier bundles' checkpoints, " +
			"follow RFC 6962 (SHA-256, leaf hash = SHA-256(0x00 || line), node hash = SHA-256(0x01 || left || right)) and are checked by custody verify; " +
			"no common command-line tool checks them. Without them, the standard-tool steps still prove every file is as the station signed it."})
	return steps
}

// RenderHTML renders the self-contained HTML report (no scripts, no
// external resources; everything escaped by html/template).
func RenderHTML(d *ReportData) ([]byte, error) {
	var b bytes.Buffer
	if err := htmlReport.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// RenderText renders the plain-text twin of the report.
func RenderText(d *ReportData) []byte {
	var b bytes.Buffer
	if err := textReport.Execute(&b, d); err != nil {
		fmt.Fprintf(&b, "\n(report rendering failed: %v)\n", err)
	}
	return b.Bytes()
}

var funcs = map[string]any{
	"short": func(s string) string {
		if len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
	"hexshort": func(s string) string {
		if _, err := hex.DecodeString(s); err == nil && len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
	"clean": cleanText,
	"add":   func(a, b int) int { return a + b },
}

// cleanText removes control characters (terminal escapes) from text that
// came from the ledger, for the plain-text report.
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

var htmlReport = htmltemplate.Must(htmltemplate.New("report.html").Funcs(funcs).Parse(htmlTemplate))
var textReport = texttemplate.Must(texttemplate.New("report.txt").Funcs(funcs).Parse(textTemplate))
