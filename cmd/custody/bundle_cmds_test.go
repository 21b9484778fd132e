package main

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/custody-evidence/custody/bundle/bundletest"
	"github.com/custody-evidence/custody/store"
	"github.com/rogpeppe/go-internal/testscript"
)

// withBundleCmds adds the commands the export scripts use.
func withBundleCmds(m map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	// mkredacted STORE CLIP SRC VAR: blur SRC with ffmpeg (a stand-in for
	// the redaction engine), seal it into STORE as a redacted derivative
	// of CLIP the way the engine registers one, and set $VAR to its id.
	m["mkredacted"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 4 {
			ts.Fatalf("usage: mkredacted STORE CLIP SRC VAR")
		}
		out := filepath.Join(ts.MkAbs("."), "."+filepath.Base(args[2])+".blurred.mp4")
		ts.Check(bundletest.BlurFile(ts.MkAbs(args[2]), out))
		defer os.Remove(out)
		s, err := store.Open(ts.MkAbs(args[0]))
		ts.Check(err)
		ts.Check(s.Unlock([]byte(ts.Getenv("CUSTODY_PASSPHRASE"))))
		s.Actor = "redactor"
		c, err := bundletest.RegisterRedacted(context.Background(), s, args[1], out)
		ts.Check(err)
		ts.Setenv(args[3], c.ID)
	}
	// zipadd ZIP NAME TEXT: rewrite ZIP with one more entry, named NAME
	// verbatim (for hostile names such as ../x).
	m["zipadd"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: zipadd ZIP NAME TEXT")
		}
		src := ts.MkAbs(args[0])
		zr, err := zip.OpenReader(src)
		ts.Check(err)
		tmp := src + ".tmp"
		f, err := os.Create(tmp)
		ts.Check(err)
		zw := zip.NewWriter(f)
		for _, zf := range zr.File {
			w, err := zw.CreateHeader(&zf.FileHeader)
			ts.Check(err)
			r, err := zf.Open()
			ts.Check(err)
			_, err = io.Copy(w, r)
			ts.Check(err)
			r.Close()
		}
		w, err := zw.Create(args[1])
		ts.Check(err)
		_, err = w.Write([]byte(args[2]))
		ts.Check(err)
		ts.Check(zw.Close())
		ts.Check(f.Close())
		zr.Close()
		ts.Check(os.Rename(tmp, src))
	}
	return m
}
