package bundle

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Names inside a bundle, relative to the bag root.
const (
	BagItFile         = "bagit.txt"
	BagInfoFile       = "bag-info.txt"
	ManifestSHA256    = "manifest-sha256.txt"
	ManifestSHA512    = "manifest-sha512.txt"
	TagManifestSHA512 = "tagmanifest-sha512.txt"
	FetchFile         = "fetch.txt"
	DataDir           = "data"
	OriginalsDir      = "data/originals"
	CustodyDir        = "custody"
	StatementFile     = "custody/statement.txt"
	StatementSigFile  = "custody/statement.txt.sig"
	LedgerFile        = "custody/ledger.jsonl"
	ProofsFile        = "custody/proofs.json"
	CheckpointFile    = "custody/checkpoint"
	StationKeyFile    = "custody/station.pub"
	ReportHTML        = "report.html"
	ReportText        = "report.txt"
)

// Declaration is the exact content of bagit.txt.
const Declaration = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

// RequiredFiles are the files every bundle has.
var RequiredFiles = []string{BagItFile, BagInfoFile, ManifestSHA256, ManifestSHA512, TagManifestSHA512,
	StatementFile, StatementSigFile, LedgerFile, ProofsFile, CheckpointFile, StationKeyFile, ReportHTML, ReportText}

// Unlisted are the files the statement cannot list: itself, its signature,
// and the tag manifest that lists both.
var Unlisted = []string{StatementFile, StatementSigFile, TagManifestSHA512}

// IsPayload reports whether a bag path is a payload file (under data/).
func IsPayload(p string) bool { return strings.HasPrefix(p, DataDir+"/") }

// Bag-info labels custody writes.
const (
	LabelOrganization = "Source-Organization"
	LabelContact      = "Contact-Name"
	LabelIncident     = "External-Identifier"
	LabelDescription  = "External-Description"
	LabelDate         = "Bagging-Date"
	LabelOxum         = "Payload-Oxum"
	LabelAgent        = "Bag-Software-Agent"
	LabelStation      = "Custody-Station-Key-Fingerprint"
	LabelStore        = "Custody-Store"
	LabelExport       = "Custody-Export-Entry"
	LabelCheckpoint   = "Custody-Checkpoint-Size"
)

// RequiredLabels must appear exactly once in bag-info.txt.
var RequiredLabels = []string{LabelOrganization, LabelContact, LabelIncident, LabelDate, LabelOxum, LabelStation}

// ManifestLine is one "digest path" line of a BagIt manifest.
type ManifestLine struct {
	Digest string // lowercase hex
	Path   string
}

// FormatManifest renders a manifest sorted by path, two spaces between
// digest and path as sha256sum writes it (RFC 8493 allows any whitespace),
// so that `sha256sum -c` reads it.
func FormatManifest(lines []ManifestLine) []byte {
	ls := append([]ManifestLine(nil), lines...)
	sort.Slice(ls, func(i, j int) bool { return ls[i].Path < ls[j].Path })
	var b bytes.Buffer
	for _, l := range ls {
		b.WriteString(l.Digest)
		b.WriteString("  ")
		b.WriteString(l.Path)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseManifest parses a BagIt manifest strictly: every line is a hex
// digest of hexLen characters, whitespace, and a path CheckPath accepts;
// no path appears twice (also not in another letter case). Bad lines are
// reported and skipped.
func ParseManifest(name string, data []byte, hexLen int) ([]ManifestLine, []Issue) {
	var (
		out    []ManifestLine
		issues []Issue
		seen   = map[string]seenLine{}
	)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		issues = append(issues, issuef("manifest-malformed", name, "last line has no line ending"))
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(data) == 0 {
		lines = nil
	}
	for i, line := range lines {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		subj := fmt.Sprintf("%s line %d", name, n)
		sep := strings.IndexAny(line, " \t")
		if sep < 0 {
			issues = append(issues, issuef("manifest-malformed", subj, "no whitespace between digest and path"))
			continue
		}
		digest, path := line[:sep], strings.TrimLeft(line[sep:], " \t")
		if len(digest) != hexLen || !isHex(digest) {
			issues = append(issues, issuef("manifest-malformed", subj, "%q is not a %d-digit hex digest", short(digest), hexLen))
			continue
		}
		if is := CheckPath(path); is != nil {
			is.Subject = subj + " (" + is.Subject + ")"
			issues = append(issues, *is)
			continue
		}
		key := foldKey(path)
		if prev, ok := seen[key]; ok {
			if prev.path == path {
				issues = append(issues, issuef("manifest-duplicate", subj, "%s is listed twice (also on line %d)", path, prev.line))
			} else {
				issues = append(issues, issuef("path-case-collision", subj, "%s and %s differ only in letter case; they collide on case-insensitive filesystems", path, prev.path))
			}
			continue
		}
		seen[key] = seenLine{path, n}
		out = append(out, ManifestLine{Digest: strings.ToLower(digest), Path: path})
	}
	return out, issues
}

type seenLine struct {
	path string
	line int
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func short(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// Field is one bag-info.txt element.
type Field struct {
	Label, Value string
}

// FormatBagInfo renders bag-info.txt, one "Label: Value" line each.
func FormatBagInfo(fields []Field) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		fmt.Fprintf(&b, "%s: %s\n", f.Label, f.Value)
	}
	return b.Bytes()
}

// ParseBagInfo parses bag-info.txt as RFC 8493 section 2.2.2 describes it:
// "Label: Value" lines, a value continued on lines that start with
// whitespace.
func ParseBagInfo(data []byte) ([]Field, []Issue) {
	var (
		out    []Field
		issues []Issue
	)
	if !utf8.Valid(data) {
		return nil, []Issue{issuef("bag-info", BagInfoFile, "not valid UTF-8")}
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		issues = append(issues, issuef("bag-info", BagInfoFile, "last line has no line ending"))
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" && text == "" {
			break
		}
		subj := fmt.Sprintf("%s line %d", BagInfoFile, i+1)
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			if len(out) == 0 {
				issues = append(issues, issuef("bag-info", subj, "continuation line before any label"))
				continue
			}
			out[len(out)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		label, value, ok := strings.Cut(line, ":")
		if !ok || label == "" || strings.TrimSpace(label) != label {
			issues = append(issues, issuef("bag-info", subj, "not a \"Label: Value\" line"))
			continue
		}
		for _, r := range line {
			if r < 0x20 && r != '\t' {
				issues = append(issues, issuef("bag-info", subj, "control character %U", r))
				break
			}
		}
		out = append(out, Field{Label: label, Value: strings.TrimSpace(value)})
	}
	return out, issues
}

// Oxum formats a Payload-Oxum value: octet count "." file count.
func Oxum(bytes int64, files int) string { return fmt.Sprintf("%d.%d", bytes, files) }

// ParseOxum parses a Payload-Oxum value.
func ParseOxum(s string) (bytes int64, files int, err error) {
	a, b, ok := strings.Cut(s, ".")
	if ok {
		bytes, err = strconv.ParseInt(a, 10, 64)
		if err == nil {
			files, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || bytes < 0 || files < 0 || strconv.FormatInt(bytes, 10) != a || strconv.Itoa(files) != b {
		return 0, 0, fmt.Errorf("Payload-Oxum %q is not OCTETCOUNT.STREAMCOUNT", s)
	}
	return bytes, files, nil
}
