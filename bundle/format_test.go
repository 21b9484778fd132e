package bundle

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/custody-evidence/custody/seal"
)

func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		path, code string
	}{
		{"bagit.txt", ""},
		{"data/EX-1_3f5a9c0d12ab.mp4", ""},
		{"data/originals/JD-2_ab.mp4.age", ""},
		{"custody/statement.txt.sig", ""},
		{"a+b_c-d.e", ""},
		{"", "path-malformed"},
		{"/etc/passwd", "path-absolute"},
		{"C:/Windows/x", "path-absolute"},
		{"c:evil", "path-absolute"},
		{"data/../x", "path-traversal"},
		{"..", "path-traversal"},
		{"data/..", "path-traversal"},
		{"data/./x", "path-malformed"},
		{"data//x", "path-malformed"},
		{"data/x/", "path-malformed"},
		{"data\\..\\x", "path-backslash"},
		{"data/%2e%2e/x", "path-encoding"},
		{"data/a%0Ab", "path-encoding"},
		{"data/a\nb", "path-control"},
		{"data/a\x00b", "path-control"},
		{"data/a\x7fb", "path-control"},
		{"data/caf\u00e9.mp4", "path-unicode"},
		{"data/cafe\u0301.mp4", "path-unicode"},
		{"data/\u2024\u2024/x", "path-unicode"}, // one-dot leaders look like ".."
		{"data/\uff0e\uff0e/x", "path-unicode"}, // fullwidth full stops
		{"data/x\u200b.mp4", "path-unicode"},    // zero-width space
		{"data/\xff.mp4", "path-unicode"},
		{"data/a b.mp4", "path-charset"},
		{"data/x.", "path-malformed"},
		{"data/NUL.mp4", "path-reserved"},
		{"data/com1", "path-reserved"},
		{"data/console.mp4", ""},
		{"data/COM10", ""},
		{"data/a:b", "path-charset"},
		{"data/*", "path-charset"},
		{"data/" + strings.Repeat("a", 256), "path-malformed"},
		{strings.Repeat("a/", 20) + "x", "path-malformed"},
	} {
		is := CheckPath(tc.path)
		got := ""
		if is != nil {
			got = is.Code
		}
		if got != tc.code {
			t.Errorf("CheckPath(%q) = %v, want code %q", tc.path, is, tc.code)
		}
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"JD/1": "JD-1", "EX-12": "EX-12", "bundle 1": "bundle-1", "..": "bundle", "Ünïcode": "-n-code", ".hidden": "hidden", "NUL": "bundle-NUL", "x.": "x"} {
		if got := SafeName(in); got != want || CheckPath(got) != nil {
			t.Errorf("SafeName(%q) = %q, want %q (and a valid path)", in, got, want)
		}
	}
}

func TestParseManifest(t *testing.T) {
	h64 := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, data string
		lines      int
		codes      []string
	}{
		{"canonical", h64 + "  data/a.mp4\n" + h64 + "  data/b.mp4\n", 2, nil},
		{"one space and tab (RFC 8493 allows any whitespace)", h64 + " data/a.mp4\n" + h64 + "\tdata/b.mp4\n", 2, nil},
		{"CRLF", h64 + "  data/a.mp4\r\n", 1, nil},
		{"uppercase hex", strings.ToUpper(h64) + "  data/a.mp4\n", 1, nil},
		{"empty", "", 0, nil},
		{"no final newline", h64 + "  data/a.mp4", 1, []string{"manifest-malformed"}},
		{"short digest", "abcd  data/a.mp4\n", 0, []string{"manifest-malformed"}},
		{"not hex", strings.Repeat("zz", 32) + "  data/a.mp4\n", 0, []string{"manifest-malformed"}},
		{"no path", h64 + "\n", 0, []string{"manifest-malformed"}},
		{"duplicate", h64 + "  data/a.mp4\n" + h64 + "  data/a.mp4\n", 1, []string{"manifest-duplicate"}},
		{"case collision", h64 + "  data/a.mp4\n" + h64 + "  data/A.mp4\n", 1, []string{"path-case-collision"}},
		{"traversal", h64 + "  data/../../x\n", 0, []string{"path-traversal"}},
		{"percent", h64 + "  data/a%20b\n", 0, []string{"path-encoding"}},
		{"binary marker", h64 + " *data/a.mp4\n", 0, []string{"path-charset"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, issues := ParseManifest("m", []byte(tc.data), 64)
			if len(lines) != tc.lines {
				t.Errorf("%d lines, want %d: %v", len(lines), tc.lines, lines)
			}
			var codes []string
			for _, is := range issues {
				codes = append(codes, is.Code)
			}
			if strings.Join(codes, ",") != strings.Join(tc.codes, ",") {
				t.Errorf("issues %v, want codes %v", issues, tc.codes)
			}
			for _, l := range lines {
				if l.Digest != h64 {
					t.Errorf("digest not normalised: %s", l.Digest)
				}
			}
		})
	}
	// Format then parse is the identity (sorted).
	in := []ManifestLine{{h64, "data/b"}, {h64, "data/a"}}
	out, issues := ParseManifest("m", FormatManifest(in), 64)
	if len(issues) != 0 || len(out) != 2 || out[0].Path != "data/a" {
		t.Fatalf("round trip: %v %v", out, issues)
	}
}

func TestParseBagInfo(t *testing.T) {
	fields, issues := ParseBagInfo([]byte("Source-Organization: St Elsewhere\nExternal-Description: a long\n  description\nContact-Name:  J Doe \n"))
	if len(issues) != 0 || len(fields) != 3 || fields[1].Value != "a long description" || fields[2].Value != "J Doe" {
		t.Fatalf("%+v %v", fields, issues)
	}
	for _, bad := range []string{"no colon\n", " continuation first\n", "Label: ok\n: no label\n", "Label: x\x01\n", "Label: \xff\n"} {
		if _, issues := ParseBagInfo([]byte(bad)); len(issues) == 0 {
			t.Errorf("ParseBagInfo(%q) found nothing wrong", bad)
		}
	}
	for s, ok := range map[string]bool{"123.4": true, "0.0": true, "12": false, "1.2.3": false, "-1.2": false, "01.2": false, "a.b": false} {
		_, _, err := ParseOxum(s)
		if (err == nil) != ok {
			t.Errorf("ParseOxum(%q): %v", s, err)
		}
	}
}

func testSigner(t *testing.T) seal.Signer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := seal.NewEd25519Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatement(t *testing.T) {
	s := &Statement{Store: "0123abcd", Incident: "NPT 2026/1142", Export: 17, Checkpoint: 18, Station: "SHA256:x",
		Created: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC),
		Files:   []FileDigest{{"report.txt", 10, strings.Repeat("a", 128)}, {"data/a.mp4", 1 << 40, strings.Repeat("b", 128)}}}
	body := s.Marshal()
	got, err := ParseStatement(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count() != 2 || got.Total() != 10+1<<40 || got.Files[0].Path != "data/a.mp4" || got.Incident != s.Incident {
		t.Fatalf("%+v", got)
	}
	signer := testSigner(t)
	sig, err := SignStatement(body, signer)
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := VerifyStatement(body, sig); err != nil || seal.Fingerprint(pub) != seal.Fingerprint(signer.PublicKey()) {
		t.Fatalf("verify: %v", err)
	}
	text := string(body)
	for name, bad := range map[string]string{
		"count":        strings.Replace(text, "files 2", "files 3", 1),
		"bytes":        strings.Replace(text, "bytes 1099511627786", "bytes 1", 1),
		"reordered":    strings.Replace(strings.Replace(text, "data/a.mp4", "zz", 1), "report.txt", "data/a.mp4", 1),
		"unsafe path":  strings.Replace(text, "data/a.mp4", "../a.mp4", 1),
		"uppercase":    strings.Replace(text, strings.Repeat("b", 128), strings.Repeat("B", 128), 1),
		"duplicate":    text + strings.Repeat("c", 128) + " 1 report.txt\n",
		"extra space":  strings.Replace(text, "export-entry 17", "export-entry  17", 1),
		"crlf":         strings.ReplaceAll(text, "\n", "\r\n"),
		"no blank":     strings.Replace(text, "\n\n", "\n", 1),
		"unlisted":     strings.Replace(text, "unlisted custody/statement.txt", "unlisted custody/other.txt", 1),
		"truncated":    text[:len(text)-1],
		"other header": strings.Replace(text, StatementNamespace, "custody-bundle-statement-v2", 1),
	} {
		if _, err := ParseStatement([]byte(bad)); err == nil {
			t.Errorf("%s: ParseStatement accepted a non-canonical statement", name)
		}
	}
	if _, err := VerifyStatement([]byte(strings.Replace(text, "17", "16", 1)), sig); err == nil {
		t.Error("signature accepted over an edited statement")
	}
}

func TestCheckIncident(t *testing.T) {
	for s, ok := range map[string]bool{"NPT-2026-1142": true, "Case 12/345 (A&E)": true, "Überfall 7": true, "": false, " x": false, "x\n": false, "a\u202eb": false, strings.Repeat("x", 201): false} {
		if err := CheckIncident(s); (err == nil) != ok {
			t.Errorf("CheckIncident(%q): %v", s, err)
		}
	}
}

func TestReceipt(t *testing.T) {
	st := &Statement{Store: "0123", Incident: "INC-1", Export: 4, Checkpoint: 5, Station: "SHA256:st"}
	body := st.Marshal()
	signer := testSigner(t)
	r, err := NewReceipt(st, body, "DC 1234 Smith", time.Now(), signer)
	if err != nil {
		t.Fatal(err)
	}
	data := r.Marshal()
	got, pub, err := ParseReceipt(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Receiver != "DC 1234 Smith" || got.Export != 4 || seal.Fingerprint(pub) != r.ReceiverKey || got.StatementSHA256 != r.StatementSHA256 {
		t.Fatalf("%+v", got)
	}
	for name, bad := range map[string]string{
		"edited":    strings.Replace(string(data), "DC 1234 Smith", "DC 9999 Jones", 1),
		"digest":    strings.Replace(string(data), r.StatementSHA256, strings.Repeat("0", 64), 1),
		"no sig":    string(r.Body()),
		"unsigned":  string(r.Body()) + "\n",
		"not ours":  "hello\n\nworld",
		"verified?": strings.Replace(string(data), "verified yes", "verified no", 1),
	} {
		if _, _, err := ParseReceipt([]byte(bad)); err == nil {
			t.Errorf("%s: receipt accepted", name)
		}
	}
	// Signed by one key while naming another.
	other := testSigner(t)
	r2 := *r
	r2.ReceiverKey = seal.Fingerprint(other.PublicKey())
	r2.Sig, _ = signer.Sign(ReceiptNamespace, r2.Body())
	if _, _, err := ParseReceipt(r2.Marshal()); err == nil || !strings.Contains(err.Error(), "names") {
		t.Errorf("receipt naming another key accepted: %v", err)
	}
	if _, err := NewReceipt(st, body, "two\nlines", time.Now(), signer); err == nil {
		t.Error("multi-line receiver name accepted")
	}
}

func TestParseProofs(t *testing.T) {
	if _, err := ParseProofs([]byte(`{"checkpoint_size":3,"inclusion":[],"consistency":[]}`)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`{"checkpoint_size":3,"extra":1}`, `{"checkpoint_size":3} {}`, `[]`, `{"checkpoint_size":-1}`} {
		if _, err := ParseProofs([]byte(bad)); err == nil {
			t.Errorf("ParseProofs(%s) accepted", bad)
		}
	}
	if _, err := DecodePath([]string{"00"}); err == nil {
		t.Error("short node accepted")
	}
}
