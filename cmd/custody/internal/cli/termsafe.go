package cli

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// Everything custody prints for people passes through a termWriter: notes,
// reasons, names and file names come from whoever wrote them into the
// ledger or a bundle, and a terminal would act on the control characters
// in them (clear the screen, rewrite a line, set the window title) and on
// Unicode's bidirectional controls (show "gpj.exe" as "exe.jpg"), so that
// what is shown is not what is recorded. They are printed visibly instead:
// C0 controls as \xNN, invalid UTF-8 bytes as \xNN, and DEL, C1 controls,
// bidi controls and the Unicode line and paragraph separators as \uXXXX.
// Newline and tab pass: they are the output's own structure.
//
// JSON output passes through it too and stays valid, with the same
// values: encoding/json already escapes C0 controls and the separators and
// replaces invalid UTF-8, and \uXXXX is JSON's own escape for the rest,
// which can only occur inside strings.

// termWriter escapes what it writes to w; see above. A UTF-8 sequence cut
// by the end of a Write is held until the next, or Flush.
type termWriter struct {
	w    io.Writer
	part []byte
}

func newTermWriter(w io.Writer) *termWriter { return &termWriter{w: w} }

func (t *termWriter) Write(p []byte) (int, error) {
	buf := append(t.part, p...)
	n := len(buf) - incompleteTail(buf)
	t.part = append([]byte(nil), buf[n:]...)
	if n == 0 {
		return len(p), nil
	}
	if _, err := t.w.Write(escapeTerm(make([]byte, 0, n+16), buf[:n])); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a held incomplete sequence, escaped as the invalid bytes it
// is.
func (t *termWriter) Flush() error {
	if len(t.part) == 0 {
		return nil
	}
	b := escapeTerm(nil, t.part)
	t.part = nil
	_, err := t.w.Write(b)
	return err
}

// incompleteTail returns how many bytes at the end of b start a UTF-8
// sequence that more bytes could complete.
func incompleteTail(b []byte) int {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}

// escapeTerm appends s to dst with the characters above escaped.
func escapeTerm(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n' || c == '\t' || c >= 0x20 && c != 0x7f:
				dst = append(dst, c)
			case c == 0x7f:
				dst = append(dst, `\u007f`...)
			default:
				dst = fmt.Appendf(dst, `\x%02x`, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = fmt.Appendf(dst, `\x%02x`, c)
		case unsafeRune(r):
			dst = fmt.Appendf(dst, `\u%04x`, r)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// unsafeRune: C1 controls, bidi embeddings, overrides, isolates and marks,
// and the line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069,
		r == 0x200e, r == 0x200f, r == 0x061c,
		r == 0x2028, r == 0x2029:
		return true
	}
	return false
}
