package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrDuplicateKey means a ledger line has an object with the same key twice
// (at any depth, payload included). encoding/json keeps the last value and
// other parsers the first, so two readers of the same signed bytes could
// disagree about what was signed. It always comes wrapped in ErrMalformed.
var ErrDuplicateKey = errors.New("duplicate key")

// maxKeyDepth bounds the nesting checkDuplicateKeys follows (encoding/json
// refuses deeper input anyway).
const maxKeyDepth = 10000

// checkDuplicateKeys reports the first object in the first JSON value of
// data that has a key twice, keys compared after unescaping, as every JSON
// parser compares them. Input that is not JSON yields nil: the strict
// decode that follows refuses it with a better message. It is a scanner
// rather than a walk over json.Decoder tokens because every read of the
// ledger runs it on every line, and tokens cost more than the parse itself.
func checkDuplicateKeys(data []byte) error {
	s := keyScanner{data: data}
	err := s.value(0)
	if errors.Is(err, errNotJSON) {
		return nil
	}
	return err
}

var errNotJSON = errors.New("not JSON")

type keyScanner struct {
	data []byte
	i    int
	path []pathStep // where the value being scanned is
	keys [][]byte   // the keys of every open object, innermost last
}

type pathStep struct {
	key   []byte
	index int // of an array element
	arr   bool
}

func (s *keyScanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *keyScanner) value(depth int) error {
	if depth > maxKeyDepth {
		return errNotJSON
	}
	s.ws()
	if s.i >= len(s.data) {
		return errNotJSON
	}
	switch s.data[s.i] {
	case '{':
		return s.object(depth)
	case '[':
		return s.array(depth)
	case '"':
		_, err := s.str()
		return err
	}
	start := s.i
	for s.i < len(s.data) && !structural(s.data[s.i]) {
		s.i++
	}
	if s.i == start {
		return errNotJSON
	}
	return nil
}

// structural reports whether c ends a number or a literal.
func structural(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}

// str scans a string and returns it as a parser reads it (without
// allocating, unless it has escapes or invalid UTF-8).
func (s *keyScanner) str() ([]byte, error) {
	start := s.i
	escaped := false
	for s.i++; s.i < len(s.data); s.i++ {
		switch s.data[s.i] {
		case '\\':
			escaped = true
			s.i++
		case '"':
			s.i++
			raw := s.data[start:s.i]
			if !escaped && utf8.Valid(raw) {
				return raw[1 : len(raw)-1], nil
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, errNotJSON
			}
			return []byte(v), nil
		}
	}
	return nil, errNotJSON
}

// smallObject is how many keys an object may have before its keys are
// compared through a map rather than one by one.
const smallObject = 16

func (s *keyScanner) object(depth int) error {
	s.i++ // {
	first := len(s.keys)
	defer func() { s.keys = s.keys[:first] }()
	var seen map[string]struct{}
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return errNotJSON
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		dup := false
		if seen != nil {
			_, dup = seen[string(key)]
			seen[string(key)] = struct{}{}
		} else {
			for _, k := range s.keys[first:] {
				if bytes.Equal(k, key) {
					dup = true
					break
				}
			}
			s.keys = append(s.keys, key)
			if len(s.keys)-first > smallObject {
				seen = make(map[string]struct{}, 2*smallObject)
				for _, k := range s.keys[first:] {
					seen[string(k)] = struct{}{}
				}
			}
		}
		if dup {
			return fmt.Errorf("%w %q in %s", ErrDuplicateKey, key, s.where())
		}
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return errNotJSON
		}
		s.i++
		if err := s.member(pathStep{key: key}, depth); err != nil {
			return err
		}
		if done, err := s.next('}'); done || err != nil {
			return err
		}
	}
}

func (s *keyScanner) array(depth int) error {
	s.i++ // [
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		return nil
	}
	for n := 0; ; n++ {
		if err := s.member(pathStep{index: n, arr: true}, depth); err != nil {
			return err
		}
		if done, err := s.next(']'); done || err != nil {
			return err
		}
	}
}

// member scans the value of an object member or array element, with step
// on the path for error messages.
func (s *keyScanner) member(step pathStep, depth int) error {
	s.path = append(s.path, step)
	err := s.value(depth + 1)
	s.path = s.path[:len(s.path)-1]
	return err
}

// next consumes what follows a member or element: a comma, or the closing
// byte, when it reports done.
func (s *keyScanner) next(closing byte) (done bool, err error) {
	s.ws()
	if s.i >= len(s.data) {
		return false, errNotJSON
	}
	switch s.data[s.i] {
	case ',':
		s.i++
		return false, nil
	case closing:
		s.i++
		return true, nil
	}
	return false, errNotJSON
}

// where names the object being scanned: entry.payload.list[1], or "the
// line" for the outermost object. Keys other than plain words are quoted.
func (s *keyScanner) where() string {
	if len(s.path) == 0 {
		return "the line"
	}
	var b strings.Builder
	for i, st := range s.path {
		switch {
		case st.arr:
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		case plainKey(st.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.Write(st.key)
		default:
			b.WriteString("[" + strconv.Quote(string(st.key)) + "]")
		}
	}
	return b.String()
}

func plainKey(key []byte) bool {
	if len(key) == 0 {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
