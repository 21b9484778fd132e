package bundle_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// validateBag is an independent BagIt validator written from RFC 8493
// (sections 2 and 3), sharing no code with package bundle. It returns every
// way the bag at root fails to be a complete and valid bag.
func validateBag(root string) []string {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }

	// 2.1.1: bagit.txt, exactly two lines, in order, UTF-8 without BOM.
	decl, err := os.ReadFile(filepath.Join(root, "bagit.txt"))
	if err != nil {
		bad("2.1.1: bagit.txt missing: %v", err)
		return errs
	}
	if bytes.HasPrefix(decl, []byte("\xef\xbb\xbf")) {
		bad("2.1.1: bagit.txt has a byte-order mark")
	}
	dl := splitLines(string(decl))
	if len(dl) != 2 || !regexp.MustCompile(`^BagIt-Version: [0-9]+\.[0-9]+$`).MatchString(dl[0]) ||
		!regexp.MustCompile(`^Tag-File-Character-Encoding: \S+$`).MatchString(dl[1]) {
		bad("2.1.1: bagit.txt is not the two declaration lines: %q", dl)
	}
	// 2.1.2: the payload directory.
	if fi, err := os.Stat(filepath.Join(root, "data")); err != nil || !fi.IsDir() {
		bad("2.1.2: no data/ directory")
	}
	// Everything in the bag, as relative slash paths.
	payload := map[string]bool{}
	tags := map[string]bool{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			bad("3: %s is not a regular file", rel)
		}
		if strings.HasPrefix(rel, "data/") {
			payload[rel] = true
		} else {
			tags[rel] = true
		}
		return nil
	})
	// 3: complete bags have no fetch.txt entries to resolve; custody forbids it.
	if tags["fetch.txt"] {
		bad("2.2.3: fetch.txt present (the bag is not complete without a network)")
	}
	algs := map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}
	digest := func(rel string, alg string) string {
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return ""
		}
		defer f.Close()
		h := algs[alg]()
		io.Copy(h, f)
		return hex.EncodeToString(h.Sum(nil))
	}
	manifestRE := regexp.MustCompile(`^(tag)?manifest-([a-z0-9]+)\.txt$`)
	payloadManifests := 0
	var names []string
	for t := range tags {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, name := range names {
		m := manifestRE.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		isTag, alg := m[1] == "tag", m[2]
		if _, ok := algs[alg]; !ok {
			bad("2.4: %s uses an unknown algorithm %q", name, alg)
			continue
		}
		if !isTag {
			payloadManifests++
		}
		data, _ := os.ReadFile(filepath.Join(root, name))
		listed := map[string]bool{}
		for i, line := range splitLines(string(data)) {
			// 2.1.3: checksum, one or more linear whitespace, filepath.
			f := regexp.MustCompile(`^([0-9A-Fa-f]+)[ \t]+(.+)$`).FindStringSubmatch(line)
			if f == nil {
				bad("2.1.3: %s line %d is not CHECKSUM FILEPATH", name, i+1)
				continue
			}
			path, err := percentDecode(f[2])
			if err != nil {
				bad("2.1.3: %s line %d: %v", name, i+1, err)
				continue
			}
			for _, c := range strings.Split(path, "/") {
				if c == "." || c == ".." || c == "" {
					bad("2.1.3: %s line %d: path %q is not relative to the base directory", name, i+1, path)
				}
			}
			if strings.HasPrefix(path, "/") {
				bad("2.1.3: %s line %d: absolute path %q", name, i+1, path)
			}
			if listed[path] {
				bad("2.1.3: %s lists %s twice", name, path)
			}
			listed[path] = true
			if !isTag && !strings.HasPrefix(path, "data/") {
				bad("2.1.3: payload manifest %s lists %s outside data/", name, path)
			}
			if isTag && strings.HasPrefix(path, "data/") {
				bad("2.2.1: tag manifest %s lists payload file %s", name, path)
			}
			if !payload[path] && !tags[path] {
				bad("3: %s lists %s, which is not in the bag (incomplete)", name, path)
				continue
			}
			if got := digest(path, alg); !strings.EqualFold(got, f[1]) {
				bad("3: %s: %s is %s, the manifest says %s (invalid)", name, path, got, f[1])
			}
		}
		if !isTag {
			for p := range payload {
				if !listed[p] {
					bad("3: payload file %s is not in %s (incomplete)", p, name)
				}
			}
		}
	}
	if payloadManifests == 0 {
		bad("2.1.3: no payload manifest")
	}
	// 2.2.2: bag-info.txt, if present: "Label: Value" with continuations;
	// Payload-Oxum must match the payload.
	if info, err := os.ReadFile(filepath.Join(root, "bag-info.txt")); err == nil {
		labels := map[string][]string{}
		last := ""
		for i, line := range splitLines(string(info)) {
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				if last == "" {
					bad("2.2.2: bag-info.txt line %d continues nothing", i+1)
				}
				continue
			}
			l, v, ok := strings.Cut(line, ":")
			if !ok || l == "" || strings.ContainsAny(l, " \t") {
				bad("2.2.2: bag-info.txt line %d is not LABEL: VALUE", i+1)
				continue
			}
			last = l
			labels[l] = append(labels[l], strings.TrimSpace(v))
		}
		if ox := labels["Payload-Oxum"]; len(ox) > 0 {
			var n int64
			for p := range payload {
				fi, _ := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
				n += fi.Size()
			}
			if want := strconv.FormatInt(n, 10) + "." + strconv.Itoa(len(payload)); ox[0] != want {
				bad("2.2.2: Payload-Oxum %s, the payload is %s", ox[0], want)
			}
		}
	}
	return errs
}

// splitLines splits on LF, CR or CRLF (RFC 8493 section 2.1.3 allows all
// three) and drops the final empty line.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// percentDecode undoes the only encodings RFC 8493 defines for manifest
// paths: %0A, %0D and %25.
func percentDecode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated percent-encoding in %q", s)
		}
		switch strings.ToUpper(s[i+1 : i+3]) {
		case "0A":
			b.WriteByte('\n')
		case "0D":
			b.WriteByte('\r')
		case "25":
			b.WriteByte('%')
		default:
			b.WriteString(s[i : i+3])
		}
		i += 2
	}
	return b.String(), nil
}
