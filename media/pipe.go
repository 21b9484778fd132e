package media

import (
	"fmt"
	"os"
	"os/exec"
)

// startPiped starts cmd with one end of a large pipe as its stdin (toChild)
// or its stdout, and returns the other end, ours. An explicit pipe rather
// than StdinPipe/StdoutPipe, so that its buffer can be sized.
func startPiped(cmd *exec.Cmd, toChild bool) (*os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	growPipe(pw)
	ours, theirs := pr, pw
	if toChild {
		ours, theirs = pw, pr
		cmd.Stdin = pr
	} else {
		cmd.Stdout = pw
	}
	err = cmd.Start()
	theirs.Close() // the child holds its end now
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("%w: %v", ErrFFmpeg, err)
	}
	return ours, nil
}
