package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Damage is what custody could and could not read of a damaged recording.
// It is recorded in the import entry beside the rest of Info.
type Damage struct {
	// Reason is the damage in a few words: "no moov box", "truncated at
	// byte 240000".
	Reason string `json:"reason"`
	// Signature is what the file's bytes announce (see Sniff).
	Signature string `json:"signature,omitempty"`
	// Read is what could be read: the container, each stream and how far
	// its data goes.
	Read []string `json:"read"`
	// Unreadable is what could not, one fault each: ffprobe's complaints,
	// structural faults, a declared duration the data falls short of.
	Unreadable []string `json:"unreadable"`
	// TruncatedAt is the file's size when the data evidently stops short
	// of what the container declares (0: not known to be truncated).
	TruncatedAt int64 `json:"truncated_at,omitempty"`
	// DeclaredDuration is what the container claims (0: it claims
	// nothing readable); DecodableDuration what custody found to decode.
	DeclaredDuration  float64 `json:"declared_duration_s"`
	DecodableDuration float64 `json:"decodable_duration_s"`
}

// Summary is the damage in one line, with the decodable duration.
func (d *Damage) Summary() string {
	switch {
	case d.DeclaredDuration > 0:
		return fmt.Sprintf("%s: %.1f s of %.1f s decodable", d.Reason, d.DecodableDuration, d.DeclaredDuration)
	case d.DecodableDuration > 0:
		return fmt.Sprintf("%s: %.1f s decodable, no duration declared", d.Reason, d.DecodableDuration)
	}
	return d.Reason + ": nothing decodes"
}

// Span is how long the recording may have lasted, in seconds: its
// duration, or for a damaged one the longer of what decodes and what the
// container declares (a hold on the time around an incident errs on
// keeping evidence).
func (i *Info) Span() float64 {
	if i.Damage != nil {
		return math.Max(i.Duration, i.Damage.DeclaredDuration)
	}
	return i.Duration
}

// Examine is Probe for import: it also tells a damaged recording from a
// file that is not one, and what of it decodes.
//
// The file's first bytes are sniffed (Sniff). If ffprobe cannot read it
// but it carries a recording's signature (an MP4 cut off before its moov
// was written), it is a damaged recording with nothing decodable, not an
// ErrNotMedia. If ffprobe reads it, a second ffprobe demuxes every packet
// (reading the whole file again, without decoding): a demuxer error, a
// container that declares more bytes than the file has, or packets that
// end well before the declared duration mark it damaged, and then the
// last second of video is decoded to find where decoding really stops.
// Duration is then that decodable duration. The file is only read.
func Examine(ctx context.Context, path string) (*Info, error) {
	sig, err := SniffFile(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	// The packet scan runs beside the probe: each is mostly ffprobe
	// starting up and reading, and neither needs the other.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type scanned struct {
		sc  *packetScan
		err error
	}
	scanDone := make(chan scanned, 1)
	go func() {
		sc, err := scanPackets(sctx, path)
		scanDone <- scanned{sc, err}
	}()
	info, err := Probe(ctx, path)
	if err != nil {
		cancel()
		<-scanDone
		switch {
		case sig.Image != "" && errors.Is(err, ErrNotMedia):
			return nil, fmt.Errorf("%w: a still image (%s), not a video or audio recording", ErrNotMedia, sig.Image)
		case !errors.Is(err, ErrNotMedia) || !sig.Recording() || ctx.Err() != nil:
			return nil, err
		}
		return unreadable(path, sig, err), nil
	}
	res := <-scanDone
	sc, err := res.sc, res.err
	if err != nil {
		return nil, err
	}
	if err := judge(ctx, path, fi.Size(), info, sig, sc); err != nil {
		return nil, err
	}
	return info, nil
}

// unreadable describes a recording ffprobe could not read at all.
func unreadable(path string, sig Signature, perr error) *Info {
	d := &Damage{Signature: sig.String(), Read: []string{"signature: " + sig.String()}, TruncatedAt: sig.TruncatedAt}
	if len(sig.Boxes) > 0 {
		var bs []string
		for _, b := range sig.Boxes {
			size := fmt.Sprintf("%d bytes", b.Size)
			if b.Size == 0 {
				size = "to the end"
			}
			bs = append(bs, fmt.Sprintf("%s at %d (%s)", b.Type, b.Offset, size))
		}
		d.Read = append(d.Read, "boxes: "+strings.Join(bs, ", "))
	}
	var pe *ProbeError
	if errors.As(perr, &pe) {
		for _, l := range ffLines(pe.Stderr, path, 4) {
			d.Unreadable = append(d.Unreadable, "ffprobe: "+l)
		}
	} else {
		d.Unreadable = append(d.Unreadable, perr.Error())
	}
	d.Unreadable = append(d.Unreadable, sig.Problems...)
	if sig.NoIndex {
		d.Unreadable = append(d.Unreadable, "nothing decodes: ffmpeg needs the moov box's sample table and codec set-up to find and decode the frames in mdat")
	}
	d.Reason = reasonOf(sig, d, false)
	return &Info{Container: sig.Format, Damaged: true, Damage: d, video: -1, audio: -1}
}

// reasonOf is the damage in a few words: the most telling fault first.
func reasonOf(sig Signature, d *Damage, short bool) string {
	trunc := ""
	if d.TruncatedAt > 0 {
		trunc = fmt.Sprintf("truncated at byte %d", d.TruncatedAt)
	}
	switch {
	case sig.NoIndex && trunc != "":
		return "no moov box, " + trunc
	case sig.NoIndex:
		return "no moov box"
	case trunc != "":
		return trunc
	case short:
		return "the data stops before the declared end"
	case len(d.Unreadable) > 0:
		return d.Unreadable[0]
	}
	return "damaged"
}

// extent is how far one stream's packets (or decoded frames) go.
type extent struct {
	n          int64
	first, end float64
}

func (e *extent) add(t, dur float64) {
	if e.n == 0 || t < e.first {
		e.first = t
	}
	e.end = math.Max(e.end, t+dur)
	e.n++
}

// packetScan is what demuxing every packet found.
type packetScan struct {
	streams map[int]*extent
	errs    []string // what ffprobe complained of, cleaned, the first few
	stderr  string
}

// maxScanStreams bounds the streams a scan keeps track of.
const maxScanStreams = 64

// scanPackets demuxes every packet of the file with ffprobe (no decoding)
// and notes how far each stream's go and what ffprobe complained of.
func scanPackets(ctx context.Context, path string) (*packetScan, error) {
	sc := &packetScan{streams: map[int]*extent{}}
	stderr, err := ffprobeLines(ctx, []string{"-show_entries", "packet=stream_index,pts_time,dts_time,duration_time", path}, func(kv map[string]string) {
		idx, err := strconv.Atoi(kv["stream_index"])
		if err != nil || idx < 0 || idx >= maxScanStreams {
			return
		}
		t, ok := number(kv["pts_time"])
		if !ok {
			if t, ok = number(kv["dts_time"]); !ok {
				return
			}
		}
		dur, _ := number(kv["duration_time"])
		e := sc.streams[idx]
		if e == nil {
			e = &extent{}
			sc.streams[idx] = e
		}
		e.add(t, dur)
	})
	if err != nil {
		return nil, err
	}
	sc.stderr, sc.errs = stderr, ffLines(stderr, path, 4)
	return sc, nil
}

// tailWindows are how far back from the end of its packets decodeTail
// starts decoding a stream, in seconds: from the key frame before that.
var tailWindows = []float64{1, 10, 60}

// decodeTail decodes the end of stream idx, whose packets span v, and
// reports how far its frames go: bounded work (at most a minute and a GOP)
// whatever the file's length. It returns where the last window it tried
// started.
func decodeTail(ctx context.Context, path string, idx int, v *extent) (extent, float64, []string, error) {
	var (
		e    extent
		from float64
		errs []string
	)
	for _, w := range tailWindows {
		from = math.Max(v.first, v.end-w)
		args := []string{"-select_streams", strconv.Itoa(idx), "-show_entries", "frame=best_effort_timestamp_time,pkt_duration_time,duration_time", path}
		if from > v.first {
			// Not from the start: seek (to the key frame before, where
			// the demuxer can; MPEG-TS may land after it).
			args = append([]string{"-read_intervals", strconv.FormatFloat(from, 'f', 6, 64) + "%"}, args...)
		}
		stderr, err := ffprobeLines(ctx, args, func(kv map[string]string) {
			t, ok := number(kv["best_effort_timestamp_time"])
			if !ok {
				return
			}
			dur, ok := number(kv["duration_time"])
			if !ok {
				dur, _ = number(kv["pkt_duration_time"])
			}
			e.add(t, dur)
		})
		if err != nil {
			return e, from, nil, err
		}
		errs = ffLines(stderr, path, 2)
		if e.n > 0 || from == v.first {
			break
		}
	}
	return e, from, errs, nil
}

// ffprobeLines runs ffprobe with args, the last of which is the input
// (quiet, compact key=value output), and calls line with each line of output as it comes, so that a long
// file's hundreds of thousands of packets are never held in memory. It
// returns the start of what ffprobe wrote on stderr. A failing ffprobe is
// not an error here: its complaints are the point.
func ffprobeLines(ctx context.Context, args []string, line func(map[string]string)) (string, error) {
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		return "", ErrToolMissing
	}
	last := len(args) - 1
	argv := append([]string{"-v", "error", "-of", "compact=p=0"}, args[:last]...)
	cmd := command(ctx, bin, append(argv, "--", args[last])...)
	stderr := NewHead(4096)
	cmd.Stderr = stderr
	out, err := startPiped(cmd, false)
	if err != nil {
		return "", err
	}
	defer out.Close()
	s := bufio.NewScanner(out)
	s.Buffer(make([]byte, 64<<10), 64<<10)
	kv := map[string]string{}
	for s.Scan() {
		clear(kv)
		for f := range strings.SplitSeq(s.Text(), "|") {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		line(kv)
	}
	serr := s.Err()
	if serr != nil {
		cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if serr != nil {
		return "", fmt.Errorf("reading ffprobe's output: %w", serr)
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return "", werr
	}
	return stderr.String(), nil
}

func number(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// ffPrefix is ffmpeg's "[mov,mp4,... @ 0x55d2b3cdd7c0] " log prefix, whose
// address differs from run to run.
var ffPrefix = regexp.MustCompile(`^\[[^\]]* @ 0x[0-9a-f]+\] `)

// ffLines are the first max distinct lines of ffmpeg's stderr, without
// log prefixes or the file's own name.
func ffLines(stderr, path string, max int) []string {
	var out []string
	seen := map[string]bool{}
	for l := range strings.SplitSeq(stderr, "\n") {
		l = strings.TrimSpace(ffPrefix.ReplaceAllString(strings.TrimSpace(l), ""))
		l = strings.Map(printableRune, strings.TrimPrefix(l, path+": "))
		if l == "" || seen[l] || strings.HasPrefix(l, "Last message repeated") {
			continue
		}
		seen[l] = true
		if len(out) == max {
			out = append(out, "(and more)")
			break
		}
		out = append(out, l)
	}
	return out
}

// printableRune keeps ffmpeg's messages, which may quote the file's own
// bytes and go into the ledger and onto terminals, free of control and
// bidirectional-override characters.
func printableRune(r rune) rune {
	if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError {
		return '?'
	}
	return r
}

// truncationRE matches the demuxers' words for data that stops short.
var truncationRE = regexp.MustCompile(`(?i)partial file|ended prematurely|truncat|end of file`)

// judge decides from the sniff and the packet scan whether a file ffprobe
// could read is damaged, and if so fills in info.Damage and sets
// info.Duration to what decodes.
func judge(ctx context.Context, path string, size int64, info *Info, sig Signature, sc *packetScan) error {
	declared := info.Duration
	ends := map[int]float64{}
	for idx, e := range sc.streams {
		ends[idx] = e.end
	}
	decodable := spanOf(info, ends)
	short := declared > 0 && declared-decodable > 0.5+0.01*declared
	novideo := info.Video != nil && sc.streams[info.video] == nil
	if !short && !novideo && len(sc.errs) == 0 && len(sig.Problems) == 0 {
		return nil
	}
	d := &Damage{Signature: sig.String(), TruncatedAt: sig.TruncatedAt, DeclaredDuration: declared}
	if d.TruncatedAt == 0 && truncationRE.MatchString(sc.stderr) {
		d.TruncatedAt = size
	}
	for _, l := range sc.errs {
		d.Unreadable = append(d.Unreadable, "ffprobe: "+l)
	}
	d.Unreadable = append(d.Unreadable, sig.Problems...)
	// Where does the video really stop decoding? Decode its last second,
	// or more if that is not enough to reach a key frame that decodes.
	var tail string
	if v := sc.streams[info.video]; v != nil {
		e, from, errs, err := decodeTail(ctx, path, info.video, v)
		if err != nil {
			return err
		}
		if e.n > 0 {
			ends[info.video] = math.Min(e.end, v.end)
			tail = fmt.Sprintf("decodes to %.2f s", ends[info.video])
		} else {
			ends[info.video] = from
			d.Unreadable = append(d.Unreadable, fmt.Sprintf("the video from %.2f s to its end does not decode", from))
		}
		for _, l := range errs {
			if !slices.Contains(sc.errs, l) {
				d.Unreadable = append(d.Unreadable, "decoding: "+l)
			}
		}
	}
	d.DecodableDuration = spanOf(info, ends)
	if novideo {
		d.Unreadable = append(d.Unreadable, "the video stream has no packets")
	}
	short = declared > 0 && declared-d.DecodableDuration > 0.5+0.01*declared
	if short {
		d.Unreadable = append(d.Unreadable, fmt.Sprintf("the container declares %.2f s; only %.2f s decodes", declared, d.DecodableDuration))
	}
	d.Read = describeRead(info, sig, sc, tail)
	d.Reason = reasonOf(sig, d, short)
	info.Damaged, info.Damage, info.Duration = true, d, d.DecodableDuration
	return nil
}

// spanOf is the time from the container's start to the end of the stream
// that goes furthest.
func spanOf(info *Info, ends map[int]float64) float64 {
	end := math.Inf(-1)
	for _, e := range ends {
		end = math.Max(end, e)
	}
	if math.IsInf(end, -1) {
		return 0
	}
	return math.Max(0, math.Round((end-info.start)*1000)/1000)
}

// describeRead lists what could be read: the container, then each stream
// and how far its packets go.
func describeRead(info *Info, sig Signature, sc *packetScan, videoTail string) []string {
	read := []string{fmt.Sprintf("container %s (signature: %s), %d stream(s)", info.Container, sig, info.Streams)}
	var idxs []int
	for idx := range sc.streams {
		idxs = append(idxs, idx)
	}
	sort.Ints(idxs)
	for _, idx := range idxs {
		e := sc.streams[idx]
		what := fmt.Sprintf("stream %d", idx)
		switch idx {
		case info.video:
			v := info.Video
			what = fmt.Sprintf("video %s %dx%d", v.Codec, v.Width, v.Height)
		case info.audio:
			a := info.Audio
			what = fmt.Sprintf("audio %s %d Hz", a.Codec, a.SampleRate)
		}
		s := fmt.Sprintf("%s: %d packets, %.2f s to %.2f s", what, e.n, e.first, e.end)
		if idx == info.video && videoTail != "" {
			s += ", " + videoTail
		}
		read = append(read, s)
	}
	return read
}

// Head is an io.Writer that keeps only the first N bytes written.
type Head struct {
	max int
	buf []byte
}

// NewHead returns a Head keeping at most max bytes.
func NewHead(max int) *Head { return &Head{max: max} }

func (h *Head) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *Head) String() string { return string(h.buf) }
