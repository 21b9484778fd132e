package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeTerm(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, Zoë, 東京, emoji 👩‍⚕️", "plain text, Zoë, 東京, emoji 👩‍⚕️"},
		{"line\n\tindented\n", "line\n\tindented\n"},
		{"\x1b[2J\x1b]0;title\x07", `\x1b[2J\x1b]0;title\x07`},
		{"over\rwrite\bback", `over\x0dwrite\x08back`},
		{"nul\x00del\x7f", `nul\x00del\u007f`},
		{"csi\u009b31m nel\u0085", `csi\u009b31m nel\u0085`},
		{"invoice\u202eexe.pdf", `invoice\u202eexe.pdf`},
		{"\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c", `\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c`},
		{"sep\u2028para\u2029", `sep\u2028para\u2029`},
		{"bad \xff\xfe utf8 \xe2\x80", `bad \xff\xfe utf8 \xe2\x80`},
		{"\u200d zero-width joiner stays, \u00a0 nbsp stays", "\u200d zero-width joiner stays, \u00a0 nbsp stays"},
	} {
		if got := string(escapeTerm(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("escapeTerm(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTermWriterSplits: a character cut between two Writes is escaped (or
// kept) as if written whole, and Flush writes a dangling partial one.
func TestTermWriterSplits(t *testing.T) {
	in := "a\u202eb\u00e9c\x1bd\U0001F600"
	want := string(escapeTerm(nil, []byte(in)))
	for cut := 0; cut <= len(in); cut++ {
		for cut2 := cut; cut2 <= len(in); cut2++ {
			var buf bytes.Buffer
			w := newTermWriter(&buf)
			for _, p := range []string{in[:cut], in[cut:cut2], in[cut2:]} {
				if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", p, n, err)
				}
			}
			w.Flush()
			if buf.String() != want {
				t.Fatalf("written in pieces at %d,%d: %q, want %q", cut, cut2, buf.String(), want)
			}
		}
	}
	var buf bytes.Buffer
	w := newTermWriter(&buf)
	w.Write([]byte("end \xe2\x80"))
	if buf.String() != "end " {
		t.Fatalf("before Flush: %q", buf.String())
	}
	w.Flush()
	if buf.String() != `end \xe2\x80` {
		t.Fatalf("after Flush: %q", buf.String())
	}
}

// TestTermWriterJSON: JSON through the writer is still valid and decodes
// to the same values, with no raw bidi or control character left.
func TestTermWriterJSON(t *testing.T) {
	v := map[string]any{"note": "\x1b[31mred\u202eexe.mp4\u2066\u0085\x7f", "n": 3}
	checkJSON(t, v)
}

func checkJSON(t *testing.T, v any) {
	t.Helper()
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Skip(err)
	}
	var buf bytes.Buffer
	w := newTermWriter(&buf)
	w.Write(raw)
	w.Flush()
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("not JSON after escaping: %q", buf.String())
	}
	var a, b any
	json.Unmarshal(raw, &a)
	json.Unmarshal(buf.Bytes(), &b)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("escaping changed the value:\n%s\n%s", ja, jb)
	}
	checkInert(t, buf.String())
}

// checkInert fails if s holds anything a terminal would act on.
func checkInert(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("invalid UTF-8 out: %q", s)
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || unsafeRune(r) {
			t.Fatalf("raw %U in output %q", r, s)
		}
	}
}

// TestPrintErrorEscapes: error messages quote what others named (clip
// ids, paths, names): they are escaped too.
func TestPrintErrorEscapes(t *testing.T) {
	var buf bytes.Buffer
	printError(&buf, withHint(errors.New("no clip \x1b[2Jx\u202e"), "try \u2067again"))
	got := buf.String()
	want := "custody: error: no clip \\x1b[2Jx\\u202e\ncustody: hint: try \\u2067again\n"
	if got != want {
		t.Fatalf("printError wrote %q, want %q", got, want)
	}
}

func FuzzTermWriter(f *testing.F) {
	f.Add([]byte("plain\n"), 3)
	f.Add([]byte("\x1b[31m\u202e\xe2\x80\xae\xff"), 1)
	f.Add([]byte("\u0085\u2028x\U0001F600"), 5)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		whole := escapeTerm(nil, in)
		checkInert(t, string(whole))
		// Unchanged where nothing needed escaping.
		if bytes.Equal(whole, in) != inertAlready(in) {
			t.Fatalf("escapeTerm(%q) = %q", in, whole)
		}
		// Written in two pieces, the same.
		if cut < 0 {
			cut = -cut
		}
		cut %= len(in) + 1
		var buf bytes.Buffer
		w := newTermWriter(&buf)
		w.Write(in[:cut])
		w.Write(in[cut:])
		w.Flush()
		if !bytes.Equal(buf.Bytes(), whole) {
			t.Fatalf("in pieces at %d: %q, whole: %q", cut, buf.Bytes(), whole)
		}
		// As a JSON string, still JSON of the same string.
		if utf8.Valid(in) && !strings.ContainsRune(string(in), utf8.RuneError) {
			checkJSON(t, string(in))
		}
	})
}

func inertAlready(in []byte) bool {
	if !utf8.Valid(in) {
		return false
	}
	for _, r := range string(in) {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || unsafeRune(r) {
			return false
		}
	}
	return true
}
