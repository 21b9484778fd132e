package manifest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/manifest"
)

// refDuplicateKey is a slow reference for the duplicate-key scanner, built
// on encoding/json's own tokenizer: the message the scanner must give for
// valid JSON, or "" if no object has a key twice.
func refDuplicateKey(data []byte) string {
	type frame struct {
		keys   map[string]bool // nil for an array
		path   string
		index  int
		wanted bool // in an object: the next token is a key
	}
	plain := func(k string) bool {
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return false
			}
		}
		return k != ""
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	var elem string
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch {
		case top != nil && top.keys != nil && top.wanted:
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				continue
			}
			key := tok.(string)
			if top.keys[key] {
				where := strings.TrimPrefix(top.path, ".")
				if where == "" {
					where = "the line"
				}
				return fmt.Sprintf("duplicate key %q in %s", key, where)
			}
			top.keys[key], top.wanted = true, false
			if plain(key) {
				elem = top.path + "." + key
			} else {
				elem = top.path + "[" + strconv.Quote(key) + "]"
			}
			continue
		case top != nil && top.keys == nil:
			if tok == json.Delim(']') {
				stack = stack[:len(stack)-1]
				continue
			}
			elem = top.path + "[" + strconv.Itoa(top.index) + "]"
			top.index++
		case top != nil:
			top.wanted = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, path: elem, wanted: true})
		case json.Delim('['):
			stack = append(stack, &frame{path: elem})
		}
	}
}

func checkKeysAgree(t *testing.T, data []byte) {
	t.Helper()
	err := manifest.CheckDuplicateKeys(data)
	if err != nil && !errors.Is(err, manifest.ErrDuplicateKey) {
		t.Fatalf("error not ErrDuplicateKey: %v", err)
	}
	if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error is not one line: %q", err)
	}
	if !json.Valid(data) {
		return // only the strict decode's verdict matters
	}
	var got string
	if err != nil {
		got = err.Error()
	}
	if want := refDuplicateKey(data); got != want {
		t.Fatalf("%q: scanner says %q, encoding/json's tokens %q", data, got, want)
	}
}

func TestDuplicateKeyScanner(t *testing.T) {
	for _, s := range keySeeds(t) {
		checkKeysAgree(t, s)
	}
}

func keySeeds(t testing.TB) [][]byte {
	b, _ := sampleLedger(t)
	seeds := lines(b.buf.Bytes())
	for _, s := range []string{
		`{"a":1,"a":2}`, `{"a":{"b":[1,{"c":1,"c":2}]}}`, `[[{"x":1}],[{"y":1,"y":1}]]`,
		`{"a":1,"\u0061":2}`, `{"\ud83d\ude00":1,"😀":2}`, "{\"\xff\":1,\"\xfe\":2}", `{"":1,"":2}`,
		`{"a b":{"k\n":1,"k\n":2}}`, `{"a":{"x":1},"b":{"x":1}}`, `{"a":1,"A":2}`,
		`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":3}`,
		` { "a" : 1 , "a" : 2 } `, `"str"`, `12`, `null`, `{`, `{"a":1,"a"`, `{"a"}`, `[1,]`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// The scanner agrees with encoding/json's tokenizer on every valid JSON
// input, and never fails otherwise except with ErrDuplicateKey.
func FuzzDuplicateKeys(f *testing.F) {
	for _, s := range keySeeds(f) {
		f.Add(s)
	}
	f.Fuzz(checkKeysAgree)
}
