package media

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Every ffmpeg and ffprobe that custody runs is made by command, with the
// environment childEnv leaves: the process's own may hold secrets
// (CUSTODY_PASSPHRASE, CUSTODY_IDENTITY_PASSPHRASE, cloud credentials) that
// a child has no use for, and variables that change what ffmpeg does with
// the decrypted clip: http_proxy would send redaction's loopback requests
// to a proxy, FFREPORT would write every command line to a log file.

// childEnvKeep are the variables a child keeps. ffmpeg needs none of them
// to do custody's work; they keep it running as the user expects:
//   - PATH, and LD_LIBRARY_PATH for an ffmpeg installed with its own
//     libraries;
//   - the locale (LANG, LANGUAGE, LC_*) and TZ, which only change how
//     messages and local times are printed;
//   - on Windows, the system variables a process needs to start
//     (SYSTEMROOT for Winsock, WINDIR, SYSTEMDRIVE) and TEMP/TMP.
//
// HOME is left out: ffmpeg reads it only for preset files (-fpre/-vpre)
// and fonts (drawtext), neither of which custody uses, so the output
// cannot depend on what is in the user's home directory.
var childEnvKeep = []string{"PATH", "LD_LIBRARY_PATH", "LANG", "LANGUAGE", "TZ",
	"SYSTEMROOT", "WINDIR", "SYSTEMDRIVE", "TEMP", "TMP"}

// childEnv filters environ (os.Environ's form) down to childEnvKeep and
// the LC_* locale variables.
func childEnv(environ []string) []string {
	out := []string{}
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if runtime.GOOS == "windows" {
			name = strings.ToUpper(name) // names are case-insensitive there
		}
		if keepVar(name) {
			out = append(out, kv)
		}
	}
	return out
}

func keepVar(name string) bool {
	if strings.HasPrefix(name, "LC_") {
		return true
	}
	for _, k := range childEnvKeep {
		if name == k {
			return true
		}
	}
	return false
}

// command is exec.CommandContext for an ffmpeg or ffprobe child, with the
// scrubbed environment.
func command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv(os.Environ())
	return cmd
}
