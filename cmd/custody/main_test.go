package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/custody-evidence/custody/cmd/custody/internal/cli"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"custody": func() { os.Exit(cli.Main()) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script.
func TestScripts(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	testenv.Tool(t, "age")
	testscript.Run(t, scriptParams(testenv.RepoRoot()+"/testdata/script"))
}

// TestAttacks runs the attack suite in testdata/attack: one script per
// attack an audit found, named after its row (rowNN_what.txtar), each of
// which must fail on the build the audit ran against. Attacks that need
// more than a script (other users, signals, processes racing) are Go
// tests named TestAttackRowNN... beside this one.
func TestAttacks(t *testing.T) {
	testenv.Tool(t, "ffmpeg")
	testenv.Tool(t, "age")
	dir := testenv.RepoRoot() + "/testdata/attack"
	if m, _ := filepath.Glob(dir + "/*.txtar"); len(m) == 0 {
		t.Fatalf("no attack scripts in %s", dir)
	}
	testscript.Run(t, scriptParams(dir))
}

// scriptParams are the testscript settings and commands the CLI scripts share.
func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Condition: func(cond string) (bool, error) {
			if cond == "cgo" {
				return cgoEnabled, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(e *testscript.Env) error {
			e.Setenv("CUSTODY_SHARED", testenv.SharedDir())
			e.Setenv("CUSTODY_MODELS", testenv.SharedDir()+"/models")
			e.Setenv("USER", "tester")
			return nil
		},
		Cmds: withBundleCmds(map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// mkclip NAME [SECONDS [SIZE]]: a real H.264+AAC clip made by ffmpeg.
			"mkclip": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 1 {
					ts.Fatalf("usage: mkclip NAME [SECONDS [WxH]]")
				}
				secs, size := "1", "160x120"
				if len(args) > 1 {
					secs = args[1]
				}
				if len(args) > 2 {
					size = args[2]
				}
				out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=25",
					"-f", "lavfi", "-i", "sine=frequency=440", "-t", secs, "-c:v", "libx264", "-preset", "ultrafast",
					"-c:a", "aac", "-metadata", "creation_time=2026-11-22T09:00:00Z", "-y", ts.MkAbs(args[0])).CombinedOutput()
				if err != nil {
					ts.Fatalf("ffmpeg: %v\n%s", err, out)
				}
			},
			// jsonget FILE FIELD VAR: set $VAR to a top-level JSON field.
			"jsonget": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: jsonget FILE FIELD VAR")
				}
				var m map[string]any
				ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
				v, ok := m[args[1]]
				if !ok {
					ts.Fatalf("no field %q", args[1])
				}
				ts.Setenv(args[2], fmt.Sprint(v))
			},
			// flipbyte FILE OFFSET: corrupt one byte in place.
			"flipbyte": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: flipbyte FILE OFFSET")
				}
				f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_RDWR, 0)
				ts.Check(err)
				defer f.Close()
				off, err := strconv.ParseInt(args[1], 10, 64)
				ts.Check(err)
				if off < 0 {
					fi, _ := f.Stat()
					off += fi.Size()
				}
				b := make([]byte, 1)
				_, err = f.ReadAt(b, off)
				ts.Check(err)
				b[0] ^= 0x01
				_, err = f.WriteAt(b, off)
				ts.Check(err)
			},
			// truncate FILE SIZE: cut a file (negative: remove that many bytes).
			"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
				n, err := strconv.ParseInt(args[1], 10, 64)
				ts.Check(err)
				p := ts.MkAbs(args[0])
				if n < 0 {
					fi, err := os.Stat(p)
					ts.Check(err)
					n += fi.Size()
				}
				ts.Check(os.Truncate(p, n))
			},
		}),
	}
}
