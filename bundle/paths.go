package bundle

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Issue is one thing wrong with a bundle's structure, found while reading
// it. Codes are stable; package verify turns issues into report problems.
type Issue struct {
	Code    string
	Subject string
	Message string
}

func (i Issue) String() string {
	if i.Subject != "" {
		return i.Subject + ": " + i.Message
	}
	return i.Message
}

func issuef(code, subject, format string, a ...any) Issue {
	return Issue{Code: code, Subject: subject, Message: fmt.Sprintf(format, a...)}
}

// Path limits. Custody writes short names; anything longer is hostile.
const (
	MaxPathLen      = 1024
	MaxComponentLen = 255
	MaxDepth        = 16
)

// CheckPath checks a slash-separated path relative to the bag root. Custody
// only ever writes names made of ASCII letters, digits and "._+-", so
// anything else is refused rather than interpreted: absolute paths, "..",
// backslashes, percent-encoding (BagIt's %0A/%0D/%25), control characters,
// and any non-ASCII character (Unicode normalisation and look-alike tricks).
// It returns nil for an acceptable path.
func CheckPath(p string) *Issue {
	quoted := quote(p)
	bad := func(code, format string, a ...any) *Issue {
		is := issuef(code, quoted, format, a...)
		return &is
	}
	switch {
	case p == "":
		return bad("path-malformed", "empty path")
	case len(p) > MaxPathLen:
		return bad("path-malformed", "path longer than %d bytes", MaxPathLen)
	case !utf8.ValidString(p):
		return bad("path-unicode", "path is not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad("path-absolute", "absolute path: it would be read or written outside the bundle")
	case len(p) >= 2 && p[1] == ':' && isLetter(p[0]):
		return bad("path-absolute", "drive-letter path: it would land outside the bundle on Windows")
	}
	for _, r := range p {
		switch {
		case r < 0x20 || r == 0x7f:
			return bad("path-control", "control character %U in path", r)
		case r > 0x7e:
			return bad("path-unicode", "non-ASCII character %U in path: Unicode names are refused, so that no two names can look or normalise alike", r)
		case r == '\\':
			return bad("path-backslash", "backslash in path: on Windows it separates directories and can escape the bundle")
		case r == '%':
			return bad("path-encoding", "percent sign in path: percent-encoded names are refused, so that no name can decode to another")
		}
	}
	comps := strings.Split(p, "/")
	if len(comps) > MaxDepth {
		return bad("path-malformed", "path is nested more than %d deep", MaxDepth)
	}
	for _, c := range comps {
		switch {
		case c == "..":
			return bad("path-traversal", "\"..\" in path: it would lead outside the bundle")
		case c == ".":
			return bad("path-malformed", "\".\" component in path")
		case c == "":
			return bad("path-malformed", "empty component (leading, trailing or doubled slash)")
		case len(c) > MaxComponentLen:
			return bad("path-malformed", "path component longer than %d bytes", MaxComponentLen)
		case strings.HasSuffix(c, "."):
			return bad("path-malformed", "name ends in a dot, which Windows drops: two names could land on one file")
		case windowsDevice(c):
			return bad("path-reserved", "%q is a Windows device name: extracting it there would write to a device", c)
		}
		for _, r := range c {
			if !isNameChar(r) {
				return bad("path-charset", "character %q is not allowed in bundle names (only ASCII letters, digits and ._+-)", r)
			}
		}
	}
	return nil
}

// windowsDevice reports names Windows maps to devices whatever the
// extension (CON, NUL, COM1, ...).
func windowsDevice(c string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(c), ".")
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '0' && base[3] <= '9'
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '+'
}

// foldKey is the key under which two names collide on a case-insensitive
// filesystem (names are ASCII by then).
func foldKey(p string) string { return strings.ToLower(p) }

// quote makes a hostile name printable on one line.
func quote(p string) string {
	if len(p) > 200 {
		p = p[:200] + "..."
	}
	for _, r := range p {
		if r < 0x20 || r > 0x7e || r == '"' {
			return fmt.Sprintf("%+q", p)
		}
	}
	return p
}

// SafeName turns free text (an exhibit label, a bundle name) into a name
// CheckPath accepts: disallowed characters become '-'.
func SafeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if isNameChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), ".")
	if out == "" {
		out = "bundle"
	}
	if len(out) > 100 {
		out = strings.TrimRight(out[:100], ".")
	}
	if windowsDevice(out) {
		out = "bundle-" + out
	}
	return out
}
