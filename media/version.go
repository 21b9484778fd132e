package media

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
)

var version struct {
	once sync.Once
	v    string
	err  error
}

// FFmpegVersion returns the first line of `ffmpeg -version` (for example
// "ffmpeg version 5.1.9-0+deb12u1"), for audit records: the encoder that
// made a derivative is part of how it was made. It runs ffmpeg once per
// process.
func FFmpegVersion(ctx context.Context) (string, error) {
	version.once.Do(func() {
		bin, err := ffmpegPath()
		if err != nil {
			version.err = err
			return
		}
		out, err := command(ctx, bin, "-hide_banner", "-version").Output()
		if err != nil {
			version.err = fmt.Errorf("%w: ffmpeg -version: %v", ErrFFmpeg, err)
			return
		}
		line, _, _ := bytes.Cut(out, []byte("\n"))
		version.v = strings.TrimSpace(string(line))
		if i := strings.Index(version.v, " Copyright"); i > 0 {
			version.v = version.v[:i]
		}
	})
	return version.v, version.err
}
