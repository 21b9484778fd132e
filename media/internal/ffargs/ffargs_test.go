package ffargs

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestCompose: the full build renders a spec with ffmpeg-go (options in
// ffmpeg-go's sorted order, global options last); the static one refuses.
func TestCompose(t *testing.T) {
	args, err := Compose(Spec{Input: "pipe:0", InputArgs: map[string]string{"format": "nut"}, Streams: []string{"v:0"},
		Output: "pipe:1", OutputArgs: map[string]string{"c:v": "rawvideo", "format": "nut"}, Global: []string{"-v", "error"}})
	if !Available {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("static build: %v, want ErrUnavailable", err)
		}
		return
	}
	want := []string{"-f", "nut", "-i", "pipe:0", "-map", "0:v:0", "-f", "nut", "-c:v", "rawvideo", "pipe:1", "-v", "error"}
	if err != nil || !slices.Equal(args, want) {
		t.Fatalf("Compose = %q, %v; want %q", args, err, want)
	}
}

// TestConfined: only this package imports ffmpeg-go, and the static
// binary links neither ffmpeg-go nor the AWS SDK it imports.
func TestConfined(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	list := func(env []string, args ...string) string {
		cmd := exec.Command(goTool, append([]string{"list"}, args...)...)
		cmd.Dir = "../../.."
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	const self = "github.com/custody-evidence/custody/media/internal/ffargs"
	for _, line := range strings.Split(list(nil, "-test", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./..."), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.Contains(" "+imports+" ", " github.com/u2takey/ffmpeg-go ") && pkg != self {
			t.Errorf("%s imports ffmpeg-go: only %s may", pkg, self)
		}
	}
	for _, dep := range strings.Fields(list([]string{"CGO_ENABLED=0"}, "-deps", "./cmd/custody")) {
		if strings.HasPrefix(dep, "github.com/u2takey/") || strings.HasPrefix(dep, "github.com/aws/") {
			t.Errorf("the static binary links %s", dep)
		}
	}
}
