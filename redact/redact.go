//go:build cgo

package redact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/custody-evidence/custody/internal/atomicfile"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/media"
)

// Options configures Redact and RedactTo. The zero value with a Detector
// set is the default: detection every DefaultInterval seconds (every
// 6th frame at 30 fps, see EveryFor) with tracking between, 20% margin,
// irreversible blur in ellipses, libx264 CRF 20 veryfast, audio copied bit-exact, metadata stripped. The text
// and small-face cadences are the detector's (detect.Config.TextEvery and
// SmallFaceEvery; the CLI's defaults are a text pass on every fourth
// detection pass and the small-face pass on every second).
type Options struct {
	ScanOptions
	// Style of the masks; "" means StyleBlur.
	Style Style
	// Edits are the DPO's decisions from a review; EditsSHA256 identifies
	// the file they came from, for the audit.
	Edits       *Edits
	EditsSHA256 string
	// Mute silences (or, with Bleep, beeps over) these ranges; the audio
	// is then re-encoded. NoAudio drops the audio.
	Mute    []media.TimeRange
	Bleep   bool
	NoAudio bool
	// KeepMetadata keeps the container metadata, which is otherwise
	// stripped.
	KeepMetadata bool
	// Codec ("libx264" or "libx265"), Preset and CRF of the video; see
	// media.EncodeOptions.
	Codec  string
	Preset string
	CRF    int
	// ReviewDir, when set, receives tracks.json, contact.png and
	// preview-*.png. ReviewFiles, when set, receives the same files
	// instead (store mode seals them without touching the disk).
	ReviewDir   string
	ReviewFiles func(name string, data []byte) error
	// InputSHA256 is the input's hash when the caller knows it (store
	// mode); otherwise a local input file is hashed while it is redacted.
	InputSHA256 string
}

// Redact redacts input (a path or a URL ffmpeg reads) into the file output,
// whose extension picks the container (.mp4, .mov, .mkv). The video is
// written into a file with no name beside output (atomicfile.Create) and
// linked to its name only when complete: an interrupted or killed run
// leaves nothing. A truncated or damaged input is redacted as far as it
// decodes and written to OUT.incomplete.EXT; the error is then an
// *IncompleteError (errors.Is ErrIncomplete) and the Report says so too.
// An existing output is never overwritten (ErrOutputExists).
func Redact(ctx context.Context, input, output string, opt Options) (*Report, error) {
	format, err := media.FormatForPath(output)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(output); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrOutputExists, output)
	}
	if a, err1 := filepath.Abs(input); err1 == nil {
		if b, err2 := filepath.Abs(output); err2 == nil && a == b {
			return nil, optErr("output %s is the input: originals are never modified", output)
		}
	}
	// ffmpeg writes into a file with no name (atomicfile.Create): a kill
	// at any point leaves no plaintext behind.
	out, err := atomicfile.Create(filepath.Dir(output), filepath.Base(output), 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the output: %w", err)
	}
	defer out.Close()
	rep, err := redactRun(ctx, input, format, out.File(), nil, opt)
	if rep == nil {
		return nil, err
	}
	final := output
	if rep.Incomplete {
		final = incompleteName(output)
	}
	final, lerr := publish(out, final)
	if lerr != nil {
		return nil, fmt.Errorf("publishing the output: %w", lerr)
	}
	rep.Output = final
	if rep.Stopped != nil {
		rep.Stopped.Output = final
	}
	sum, n, herr := hashFile(final)
	if herr != nil {
		return rep, fmt.Errorf("hashing the output: %w", herr)
	}
	rep.OutputSHA256, rep.OutputBytes = sum, n
	return rep, err
}

// RedactTo redacts input into w, in format (media.FormatMP4, FormatMOV
// (both fragmented) or FormatMatroska). On an incomplete input it returns
// the report and an *IncompleteError after writing what decoded; the caller
// must then keep the output marked incomplete. On any other error the bytes
// already written are not a usable video.
func RedactTo(ctx context.Context, input string, w io.Writer, format string, opt Options) (*Report, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	rep, err := redactRun(ctx, input, format, nil, cw, opt)
	if rep != nil {
		rep.Output = "stream:" + format
		rep.OutputSHA256 = hex.EncodeToString(h.Sum(nil))
		rep.OutputBytes = cw.n
	}
	return rep, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// incompleteName turns OUT.mp4 into OUT.incomplete.mp4.
func incompleteName(output string) string {
	ext := filepath.Ext(output)
	return strings.TrimSuffix(output, ext) + ".incomplete" + ext
}

// publish gives the output its final name without overwriting anything.
// When final exists, a numbered name is tried for incomplete outputs only.
func publish(out *atomicfile.File, final string) (string, error) {
	name := final
	for i := 2; ; i++ {
		err := out.Link(name)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, atomicfile.ErrExists) {
			return "", err
		}
		if !strings.Contains(final, ".incomplete") || i > 99 {
			return "", fmt.Errorf("%w: %s", ErrOutputExists, name)
		}
		ext := filepath.Ext(final)
		name = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(final, ext), i, ext)
	}
}

// hashFileCtx is hashFile, abandoned when ctx ends.
func hashFileCtx(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// editState tracks how edits applied over the run.
type editState struct {
	excl    map[int]*ExcludeEdit
	exclOK  map[int]bool // decided on the track's first frame
	records []EditRecord // regions, then frames, in Edits order
	warn    []string
}

func newEditState(e *Edits) *editState {
	s := &editState{excl: map[int]*ExcludeEdit{}, exclOK: map[int]bool{}}
	if e == nil {
		return s
	}
	for i := range e.Exclude {
		s.excl[e.Exclude[i].Track] = &e.Exclude[i]
	}
	for _, r := range e.Regions {
		s.records = append(s.records, EditRecord{Kind: "region", Label: r.Label, Reason: r.Reason, First: -1, Last: -1})
	}
	for _, f := range e.Frames {
		s.records = append(s.records, EditRecord{Kind: "frames", Reason: f.Reason, Start: f.Start, End: f.End, First: -1, Last: -1})
	}
	return s
}

func (s *editState) note(i, frame int, t float64) {
	r := &s.records[i]
	if r.First < 0 {
		r.First = frame
		if r.Kind == "region" {
			r.Start = t
		}
	}
	r.Last = frame
	if r.Kind == "region" {
		r.End = t
	}
	r.Frames++
}

// excluded decides whether a track's masks are dropped. An exclusion
// whose expected first frame does not match is not applied: it was made
// for a different track.
func (s *editState) excluded(id, frame int) bool {
	x := s.excl[id]
	if x == nil {
		return false
	}
	ok, seen := s.exclOK[id]
	if !seen {
		ok = x.First == nil || *x.First == frame
		s.exclOK[id] = ok
		if !ok {
			s.warn = append(s.warn, fmt.Sprintf("exclusion of track %d not applied: the track starts at frame %d here, the edit expected %d; it stays masked", id, frame, *x.First))
		}
	}
	return ok
}

// redactRun is the redaction shared by Redact (file set) and RedactTo (w
// set). It returns a nil report when no output was produced.
func redactRun(ctx context.Context, input, format string, file *os.File, w io.Writer, opt Options) (*Report, error) {
	start := time.Now()
	if err := opt.normalize(); err != nil {
		return nil, err
	}
	var err error
	if opt.Style, err = ParseStyle(string(opt.Style)); err != nil {
		return nil, err
	}
	if opt.Bleep && len(opt.Mute) == 0 {
		return nil, optErr("bleep needs at least one mute range")
	}
	if opt.NoAudio && len(opt.Mute) > 0 {
		return nil, optErr("mute and no-audio together: choose one")
	}
	for _, r := range opt.Mute {
		if math.IsNaN(r.Start) || math.IsNaN(r.End) || !(r.End > r.Start) {
			return nil, optErr("mute range %g-%g: the end must be after the start", r.Start, r.End)
		}
	}
	// The detection parameters (cadences included), for the record and
	// for matching edits to the run they were made on.
	var detection string
	if c, ok := opt.Detector.(interface{ Config() detect.Config }); ok {
		detection = c.Config().String()
	}
	if opt.Edits != nil {
		if err := opt.Edits.Validate(); err != nil {
			return nil, err
		}
		if d := opt.Edits.Detector; d != "" && d != opt.Detector.Name() {
			return nil, fmt.Errorf("%w: the edits were made on a run with detector %s, this run uses %s: track ids would not match",
				ErrEdits, d, opt.Detector.Name())
		}
		if e := opt.Edits.Detection; e != "" && e != detection {
			return nil, fmt.Errorf("%w: the edits were made on a run with detection %q, this run has %q: track ids would not match",
				ErrEdits, e, detection)
		}
	}
	// ffmpeg's version, for the record, is asked while the work starts.
	version := make(chan string, 1)
	go func() { v, _ := media.FFmpegVersion(ctx); version <- v }()
	info := opt.Info
	if info == nil {
		if info, err = ProbeInput(ctx, input); err != nil {
			return nil, err
		}
	}
	if err := Damaged(info); err != nil {
		return nil, err
	}
	if info.Video == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoVideo, input)
	}
	// The stride follows the frame rate unless given.
	opt.resolveEvery(info.Video.FPS)
	if opt.Edits != nil {
		if e := opt.Edits.Every; e != 0 && e != opt.Every {
			return nil, fmt.Errorf("%w: the edits were made on a run detecting every %d frames, this run every %d: track ids would not match",
				ErrEdits, e, opt.Every)
		}
	}

	// Hash a local input while it is being redacted; stop hashing if the
	// redaction fails.
	inHash := make(chan string, 1)
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	if opt.InputSHA256 != "" {
		inHash <- opt.InputSHA256
	} else if st, err := os.Stat(input); err == nil && st.Mode().IsRegular() {
		go func() {
			sum, err := hashFileCtx(hctx, input)
			if err != nil {
				sum = ""
			}
			inHash <- sum
		}()
	} else {
		inHash <- ""
	}

	dec, err := openDecoder(ctx, input, info.Video, media.DecodeOptions{Audio: !opt.NoAudio, Metadata: opt.KeepMetadata})
	if err != nil {
		return nil, nothingDecodes(ctx, info, err)
	}
	defer dec.Close()

	rep := &Report{Input: input, Width: dec.Width, Height: dec.Height, Rotation: info.Video.Rotation,
		Detector: opt.Detector.Name(), Models: opt.Detector.Models()}
	yuv := dec.PixelFormat == media.PixYUV420P
	eopt := media.EncodeOptions{Codec: opt.Codec, CRF: opt.CRF, Preset: opt.Preset, Rotation: info.Video.Rotation,
		KeepMetadata: opt.KeepMetadata, Format: format}
	if yuv {
		// The input's own samples: its colour description holds for them.
		eopt.Color = info.Video
	}
	switch {
	case !dec.Layout().HasAudio() && opt.NoAudio && info.Audio != nil:
		rep.Audio = "removed"
	case !dec.Layout().HasAudio():
		rep.Audio = "none"
		if len(opt.Mute) > 0 {
			rep.Warnings = append(rep.Warnings, "mute ranges ignored: the input has no audio")
		}
	case len(opt.Mute) > 0:
		rep.Audio = "muted"
		eopt.Audio = &media.AudioEdit{Mute: opt.Mute, Bleep: opt.Bleep}
	default:
		rep.Audio = "copied"
	}
	var enc *media.Encoder
	if w != nil {
		enc, err = media.NewStreamEncoder(ctx, w, dec.Layout(), dec.Width, dec.Height, eopt)
	} else {
		enc, err = media.NewOpenFileEncoder(ctx, file, dec.Layout(), dec.Width, dec.Height, eopt)
	}
	if err != nil {
		return nil, err
	}
	encDone := false
	defer func() {
		if !encDone {
			enc.Abort()
		}
	}()
	rep.FFmpeg = FFmpegRecord{Decode: dec.Args, Encode: enc.Args}
	rep.FFmpeg.Version = <-version

	orient := newOrientation(info.Video.Rotation, dec.Width, dec.Height)
	sc, err := newScanner(&opt.ScanOptions, info.Video.FPS, orient, yuv, nil, nil)
	if err != nil {
		return nil, err
	}
	defer sc.close()
	tropt := sc.topt
	tropt.Width, tropt.Height, tropt.Exclude = 0, 0, nil
	codec, preset, crf := enc.Settings()
	rep.Params = Params{Every: opt.Every, Interval: opt.Interval, Cadence: opt.Cadence, Margin: opt.Margin, Style: opt.Style, Shape: opt.Shape, Tracker: tropt,
		Codec: codec, Preset: preset, CRF: crf,
		Mute: opt.Mute, Bleep: opt.Bleep, NoAudio: opt.NoAudio, KeepMetadata: opt.KeepMetadata, EditsSHA256: opt.EditsSHA256}
	rep.Params.Detection = detection

	expected := int(info.Video.Frames)
	total := expected
	if total == 0 && info.Duration > 0 && info.Video.FPS > 0 {
		total = int(math.Round(info.Duration * info.Video.FPS))
	}
	var rv *reviewer
	if opt.ReviewDir != "" || opt.ReviewFiles != nil {
		rv = newReviewer(orient, total)
	}
	es := newEditState(opt.Edits)
	dw, dh := orient.displaySize()
	var times []float64
	masked := 0
	done := 0

	p := &pipeline{dec: dec, scan: sc}
	p.sink = func(it *item) error {
		f := &it.f
		times = append(times, f.Time)
		regs := expandMasks(it.masks, opt.Margin, opt.Shape, dw, dh)
		keep := regs[:0]
		for _, r := range regs {
			if r.track > 0 && es.excluded(r.track, f.Index) {
				continue
			}
			keep = append(keep, r)
		}
		regs = keep
		if opt.Edits != nil {
			k := 0
			for _, e := range opt.Edits.Regions {
				if b, ok := e.boxAt(f.Index, f.Time); ok {
					if r := b.Intersect(image.Rect(0, 0, dw, dh)); !r.Empty() {
						regs = append(regs, region{rect: r, label: "manual", shape: e.Shape, score: 1, kind: "edit"})
					}
					es.note(k, f.Index, f.Time)
				}
				k++
			}
			for _, fe := range opt.Edits.Frames {
				if fe.covers(f.Time) {
					regs = append(regs, region{rect: image.Rect(0, 0, dw, dh), label: "frame", shape: ShapeBox, score: 1, kind: "edit"})
					es.note(k, f.Index, f.Time)
				}
				k++
			}
		}
		img := frameImage{pix: f.Data, w: dec.Width, h: dec.Height, yuv: yuv}
		if rv != nil {
			rv.before(f.Index, img, regs)
		}
		for _, r := range regs {
			paint(img, orient.toStored(r.rect), opt.Style, r.shape == ShapeEllipse)
		}
		if len(regs) > 0 {
			masked++
		}
		if rv != nil {
			rv.after(f.Index, img, regs)
		}
		if err := enc.WriteFrame(f); err != nil {
			return err
		}
		done++
		if opt.Progress != nil {
			el := time.Since(start)
			opt.Progress(Progress{Frames: done, Total: total, FPS: float64(done) / el.Seconds(), Elapsed: el})
		}
		return nil
	}
	p.end = func(trailing []media.Packet) error { return enc.WritePackets(trailing) }

	runErr := p.run(ctx, poolSize(sc.tr, opt.Every), dec.FrameSize())
	if runErr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, runErr
	}
	if p.frames == 0 {
		return nil, nothingDecodes(ctx, info, fmt.Errorf("%w: %s: %s", media.ErrNoFrames, input, lastLine(dec.Stderr())))
	}

	// Where did decoding stop, and was that the end?
	var stop *IncompleteError
	stderr := dec.Stderr()
	short := expected > 0 && p.frames < expected
	switch {
	case p.readErr != nil:
		stop = &IncompleteError{Reason: p.readErr.Error()}
	case dec.Truncated() || short && dec.Damaged():
		stop = &IncompleteError{Reason: lastLine(stderr)}
	case short:
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("decoded %d frames where the container announced %d", p.frames, expected))
	}
	if stop == nil && dec.Damaged() {
		rep.Warnings = append(rep.Warnings, "ffmpeg reported damaged data (concealed): "+lastLine(stderr))
	}
	if err := enc.Close(); err != nil {
		encDone = true
		return nil, err
	}
	encDone = true

	rep.InputSHA256 = <-inHash
	rep.Frames, rep.Expected = p.frames, expected
	rep.FirstTime, rep.LastTime = p.firstT, p.lastT
	switch {
	case p.frames > 1:
		rep.Duration = (p.lastT - p.firstT) * float64(p.frames) / float64(p.frames-1)
	case info.Video.FPS > 0:
		rep.Duration = 1 / info.Video.FPS
	}
	rep.MaskedFrames = masked
	rep.Seconds = time.Since(start).Seconds()
	rep.FPS = float64(p.frames) / rep.Seconds
	timeOf := func(frame int) float64 {
		if frame >= 0 && frame < len(times) {
			return times[frame]
		}
		return 0
	}
	var doc ReviewTracks
	for _, t := range sc.tracks {
		tr := TrackRecord{ID: t.ID, Label: t.Label, First: t.First, Last: t.Last, Start: timeOf(t.First), End: timeOf(t.Last),
			Hits: t.Hits, MaxScore: t.MaxScore, Masked: true, Reason: "detected by " + rep.Detector}
		if x := es.excl[t.ID]; x != nil && es.exclOK[t.ID] {
			tr.Masked, tr.Reason = false, "excluded: "+x.Reason
			rep.Edits = append(rep.Edits, EditRecord{Kind: "exclude", Track: t.ID, Label: string(t.Label),
				Start: tr.Start, End: tr.End, First: t.First, Last: t.Last, Frames: t.Last - t.First + 1, Reason: x.Reason})
		}
		rep.Tracks = append(rep.Tracks, tr)
		if rv != nil {
			doc.Tracks = append(doc.Tracks, reviewTrack(t, tr, timeOf, opt.Margin, opt.Shape, dw, dh))
		}
	}
	for id, x := range es.excl {
		if _, seen := es.exclOK[id]; !seen {
			es.warn = append(es.warn, fmt.Sprintf("exclusion of track %d (%s) not applied: no such track in this run", id, x.Reason))
		}
	}
	rep.Edits = append(rep.Edits, es.records...)
	rep.Warnings = append(rep.Warnings, es.warn...)
	if rep.Tracks == nil {
		rep.Tracks = []TrackRecord{}
	}

	if rv != nil {
		doc.Input, doc.Detector, doc.Every, doc.Detection = input, rep.Detector, opt.Every, rep.Params.Detection
		doc.Width, doc.Height, doc.Frames = dw, dh, p.frames
		if doc.Tracks == nil {
			doc.Tracks = []ReviewTrack{}
		}
		files, err := rv.files(doc)
		if err != nil {
			return nil, fmt.Errorf("review output: %w", err)
		}
		if opt.ReviewFiles != nil {
			for _, n := range sortedKeys(files) {
				if err := opt.ReviewFiles(n, files[n]); err != nil {
					return nil, fmt.Errorf("review output %s: %w", n, err)
				}
			}
		} else if err := writeReviewDir(opt.ReviewDir, files); err != nil {
			return nil, err
		}
	}

	if stop != nil {
		stop.Frames, stop.LastTime, stop.Expected = p.frames, p.lastT, expected
		rep.Incomplete, rep.Stopped = true, stop
		return rep, stop
	}
	return rep, nil
}

func reviewTrack(t Track, tr TrackRecord, timeOf func(int) float64, margin float64, shape Shape, dw, dh int) ReviewTrack {
	rt := ReviewTrack{ID: t.ID, Label: t.Label, First: t.First, Last: t.Last, Start: tr.Start, End: tr.End,
		Hits: t.Hits, MaxScore: t.MaxScore, Excluded: !tr.Masked}
	for _, b := range t.Boxes {
		regs := expandMasks([]MaskBox{{TrackID: t.ID, Box: detectBox(b, t.Label), Kind: b.Kind}}, margin, shape, dw, dh)
		if len(regs) == 0 {
			continue
		}
		r := regs[0].rect
		rt.Boxes = append(rt.Boxes, ReviewBox{Frame: b.Frame, Time: timeOf(b.Frame), X: r.Min.X, Y: r.Min.Y,
			W: r.Dx(), H: r.Dy(), Score: b.Score, Kind: b.Kind})
	}
	return rt
}

func detectBox(b TrackBox, label detect.Label) detect.Box {
	return detect.Box{X: b.X, Y: b.Y, W: b.W, H: b.H, Score: b.Score, Label: label}
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
