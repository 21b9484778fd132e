//go:build cgo

package ffargs

import (
	"fmt"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Available says whether Compose works in this build.
const Available = true

// Compose returns spec's command line (without the program name).
// ffmpeg-go reports a malformed graph by panicking; that becomes an error.
func Compose(spec Spec) (args []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			args, err = nil, fmt.Errorf("composing the command line: %v", r)
		}
	}()
	in := ffmpeg.Input(spec.Input, kwargs(spec.InputArgs))
	var streams []*ffmpeg.Stream
	for _, s := range spec.Streams {
		streams = append(streams, in.Get(s))
	}
	out := ffmpeg.Output(streams, spec.Output, kwargs(spec.OutputArgs))
	return out.GlobalArgs(spec.Global...).GetArgs(), nil
}

func kwargs(m map[string]string) ffmpeg.KwArgs {
	kw := ffmpeg.KwArgs{}
	for k, v := range m {
		kw[k] = v
	}
	return kw
}
