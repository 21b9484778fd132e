package media

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/media/internal/ffargs"
)

// needFullBuild skips a test that runs the decoder or encoder in the
// static (CGO_ENABLED=0) build, which leaves ffmpeg-go out: see ffargs.
func needFullBuild(t testing.TB) {
	t.Helper()
	if !ffargs.Available {
		t.Skip("the decoder and encoder are in the full (cgo) build only")
	}
}

// run and makeClip are the shared test helpers under their short names.
var (
	run      = testenv.Run
	makeClip = testenv.MakeClip
)

// framePTS lists every video frame's pts_time as ffprobe prints it.
func framePTS(t testing.TB, path string) []string {
	t.Helper()
	out := run(t, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
		"-of", "csv=p=0", path)
	return fields(out)
}

// fields splits ffprobe csv output into lines, dropping the empty side-data
// column ffprobe appends to some rows.
func fields(out string) []string {
	var f []string
	for _, l := range strings.Fields(out) {
		f = append(f, strings.TrimRight(l, ","))
	}
	return f
}

// audioPackets lists the audio packets' pts_time, dts_time and size.
func audioPackets(t testing.TB, path string) []string {
	t.Helper()
	out := run(t, "ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pts_time,dts_time,size",
		"-of", "csv=p=0", path)
	return fields(out)
}

// audioMD5 is the md5 of the audio packets' bytes.
func audioMD5(t testing.TB, path string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "ffmpeg", "-v", "error", "-i", path, "-map", "0:a", "-c", "copy", "-f", "md5", "-"))
}

type probeStream struct {
	CodecType string            `json:"codec_type"`
	CodecName string            `json:"codec_name"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	PixFmt    string            `json:"pix_fmt"`
	Tags      map[string]string `json:"tags"`
	SideData  []struct {
		Rotation *float64 `json:"rotation"`
	} `json:"side_data_list"`
}

type probeOut struct {
	Streams []probeStream `json:"streams"`
	Format  struct {
		Tags map[string]string `json:"tags"`
	} `json:"format"`
}

func probeJSONFile(t testing.TB, path string) probeOut {
	t.Helper()
	out := run(t, "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path)
	var p probeOut
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p probeOut) video() probeStream {
	for _, s := range p.Streams {
		if s.CodecType == "video" {
			return s
		}
	}
	return probeStream{}
}

func (s probeStream) rotation() float64 {
	for _, sd := range s.SideData {
		if sd.Rotation != nil {
			return *sd.Rotation
		}
	}
	if r, ok := s.Tags["rotate"]; ok {
		f, _ := strconv.ParseFloat(r, 64)
		return f
	}
	return 0
}
