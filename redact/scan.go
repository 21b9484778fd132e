//go:build cgo

package redact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/media"
)

// ScanOptions configures detection and tracking, shared by Redact and
// DetectVideo/DetectImage so that detect --json reports exactly the
// regions redact masks.
type ScanOptions struct {
	// Detector finds faces and text; required. It is used from one
	// goroutine only and not closed.
	Detector detect.Detector
	// Every runs the detector on every Every-th frame (and on the last);
	// the tracker fills the frames between (interpolating between
	// detections, and masking a new track back to the frame after the
	// previous detection pass). 0 means DefaultEvery; 1 is the thorough
	// setting.
	Every int
	// Margin grows each box by this share of its size on every side; 0
	// means detect.DefaultMargin (20%).
	Margin float64
	// Shape of face masks; "" means ShapeEllipse.
	Shape Shape
	// Tracker options; nil means DefaultTrackerOptions at the video's
	// frame rate. Width, Height and Exclude are set by the redactor.
	Tracker *TrackerOptions
	// Info is the input's probe result; nil means probe it.
	Info *media.Info
	// Progress, when set, is called after every frame from a goroutine of
	// the pipeline; it must return quickly.
	Progress func(Progress)
}

// Progress reports how far a run is.
type Progress struct {
	Frames int // done
	Total  int // expected; 0 when the container does not say
	FPS    float64
	// Elapsed is the time since the start.
	Elapsed time.Duration
}

func (o *ScanOptions) normalize() error {
	if o.Detector == nil {
		return ErrNoDetector
	}
	if o.Every == 0 {
		o.Every = DefaultEvery
	}
	if o.Every < 1 || o.Every > 1000 {
		return optErr("every %d: use 1 (every frame) up to 1000", o.Every)
	}
	if o.Margin == 0 {
		o.Margin = detect.DefaultMargin
	}
	if math.IsNaN(o.Margin) || o.Margin < 0 || o.Margin > 4 {
		return optErr("margin %g: use a share of the box size between 0 and 4", o.Margin)
	}
	var err error
	if o.Shape, err = ParseShape(string(o.Shape)); err != nil {
		return err
	}
	return nil
}

// DefaultEvery is the default detection stride: the detector runs on every
// sixth frame (and the first and last), five passes a second at 30 fps.
// The tracker interpolates between passes and masks a new face back to
// the frame after the previous pass, so a face is masked on every frame it
// is on as long as some pass finds it; a face detectable on fewer than one
// frame in six is the risk, and Every 1 (the thorough setting, about five
// times the CPU time) the answer. Decoding and encoding cost about twice
// an ffmpeg transcode of the same clip on their own; every sixth frame
// keeps YuNet with badges to a fraction of that (see BenchmarkRedact in
// cmd/custody).
const DefaultEvery = 6

// item is one frame travelling through the pipeline.
type item struct {
	f     media.Frame
	masks []MaskBox // from the tracker, display coordinates
}

// scanner runs detection and tracking over frames given in order and hands
// each frame on once its masks are final.
type scanner struct {
	det    detect.Detector
	every  int
	orient orientation
	dw, dh int // display size
	tr     *Tracker
	topt   TrackerOptions
	yuv    bool     // frames are yuv420p (media.PixYUV420P), not BGR24
	bgr    gocv.Mat // scratch for yuv420p frames converted for the detector
	rot    gocv.Mat // scratch for frames rotated to display orientation
	queue  []*item  // frames waiting for their masks
	// due is a frame on the detection stride not yet detected on: it is
	// observed when the next frame arrives, or by finish with every pass
	// when it turns out to be the last.
	due    *item
	last   int     // last frame given to the tracker, -1 before any
	tracks []Track // finished
	ready  func(*item) error
	dur    time.Duration // time spent in the detector
}

func newScanner(o *ScanOptions, fps float64, orient orientation, yuv bool, exclude []int, ready func(*item) error) (*scanner, error) {
	topt := DefaultTrackerOptions(fps)
	if o.Tracker != nil {
		topt = *o.Tracker
	}
	// A mask must outlast the gap between two detection passes.
	if topt.Hold < o.Every {
		topt.Hold = o.Every
	}
	// A text pass on every few detection passes only: a badge it finds
	// is masked back to the frame after the previous text pass. Likewise
	// the finest face pass: a small face is masked back to the frame
	// after the previous finest pass, and held until the next one. Each
	// video starts with every pass.
	if d, ok := o.Detector.(detectCadence); ok {
		d.ResetCadence()
		if n := d.TextEvery(); n > 1 {
			topt.TextLookBack = max(topt.TextLookBack, n*o.Every-1)
		}
		if n := d.SmallFaceEvery(); n > 1 {
			topt.LookBack = max(topt.LookBack, n*o.Every-1)
			topt.Hold = max(topt.Hold, n*o.Every)
		}
	}
	// The person pass (heads) likewise, and a head is interpolated, not
	// held, from one person pass to the next: people walk.
	if d, ok := o.Detector.(interface{ HeadsEvery() int }); ok {
		if n := d.HeadsEvery(); n > 0 {
			topt.LookBack = max(topt.LookBack, n*o.Every-1)
			topt.Hold = max(topt.Hold, n*o.Every)
			topt.LookAhead = max(topt.LookAhead, n*o.Every)
		}
	}
	dw, dh := orient.displaySize()
	topt.Width, topt.Height = dw, dh
	topt.Exclude = exclude
	tr, err := NewTracker(topt)
	if err != nil {
		return nil, err
	}
	return &scanner{det: o.Detector, every: o.Every, orient: orient, dw: dw, dh: dh, tr: tr, topt: topt,
		yuv: yuv, bgr: gocv.NewMat(), rot: gocv.NewMat(), last: -1, ready: ready}, nil
}

func (s *scanner) close() {
	s.bgr.Close()
	s.rot.Close()
}

// detectCadence is a detector that runs its text pass and its finest face
// pass on every few calls only (*detect.Composite).
type detectCadence interface {
	TextEvery() int
	SmallFaceEvery() int
	ResetCadence()
}

// push takes the next frame.
func (s *scanner) push(it *item) error {
	if d := s.due; d != nil {
		s.due = nil
		if err := s.observe(d); err != nil {
			return err
		}
	}
	s.queue = append(s.queue, it)
	if it.f.Index%s.every == 0 {
		s.due = it
	}
	return nil
}

func (s *scanner) observe(it *item) error {
	boxes, err := s.detect(&it.f)
	if err != nil {
		return fmt.Errorf("detecting on frame %d: %w", it.f.Index, err)
	}
	fms, err := s.tr.Observe(it.f.Index, boxes)
	if err != nil {
		return err
	}
	s.last = it.f.Index
	s.tracks = append(s.tracks, s.tr.Finished()...)
	return s.deliver(fms)
}

// finish ends the video after frames frames: the last frame is always
// detected on, with every pass of every model, so that a face or badge
// coming into view after the last pass that could have found it is not
// left unmasked (or to the hold).
func (s *scanner) finish(frames int) error {
	if frames == 0 {
		return nil
	}
	if d := s.due; d != nil && d.f.Index != frames-1 {
		s.due = nil
		if err := s.observe(d); err != nil {
			return err
		}
	}
	s.due = nil
	if n := len(s.queue); n > 0 && s.last < frames-1 {
		if it := s.queue[n-1]; it.f.Index == frames-1 {
			if d, ok := s.det.(detectCadence); ok {
				d.ResetCadence()
			}
			if err := s.observe(it); err != nil {
				return err
			}
		}
	}
	fms, err := s.tr.Flush(frames)
	if err != nil {
		return err
	}
	s.tracks = append(s.tracks, s.tr.Finished()...)
	return s.deliver(fms)
}

func (s *scanner) deliver(fms []FrameMasks) error {
	for _, fm := range fms {
		if len(s.queue) == 0 || s.queue[0].f.Index != fm.Frame {
			return fmt.Errorf("redact: tracker returned frame %d out of step", fm.Frame)
		}
		it := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		it.masks = fm.Boxes
		if err := s.ready(it); err != nil {
			return err
		}
	}
	return nil
}

// detect wraps the frame buffer as a Mat without copying (converting a
// yuv420p frame to BGR: only the frames detected on pay for it), turns it
// upright when the video is rotated, and runs the detector.
func (s *scanner) detect(f *media.Frame) ([]detect.Box, error) {
	rows, typ := s.orient.sh, gocv.MatTypeCV8UC3
	if s.yuv {
		rows, typ = s.orient.sh*3/2, gocv.MatTypeCV8UC1
	}
	mat, err := gocv.NewMatFromBytes(rows, s.orient.sw, typ, f.Data)
	if err != nil {
		return nil, err
	}
	defer mat.Close()
	img := mat
	if s.yuv {
		gocv.CvtColor(mat, &s.bgr, gocv.ColorYUVToBGRIYUV)
		img = s.bgr
	}
	switch s.orient.cw {
	case 90:
		gocv.Rotate(img, &s.rot, gocv.Rotate90Clockwise)
		img = s.rot
	case 180:
		gocv.Rotate(img, &s.rot, gocv.Rotate180Clockwise)
		img = s.rot
	case 270:
		gocv.Rotate(img, &s.rot, gocv.Rotate90CounterClockwise)
		img = s.rot
	}
	start := time.Now()
	boxes, err := s.det.Detect(img)
	s.dur += time.Since(start)
	if err != nil {
		return nil, err
	}
	return sanitize(boxes, s.dw, s.dh), nil
}

// pipeline runs decode, scan and sink concurrently: the reader goroutine
// decodes into pooled buffers, the calling goroutine detects and tracks,
// and the sink goroutine masks and encodes (or emits records). Memory is a
// fixed pool of frames, whatever the video's length.
type pipeline struct {
	dec  *media.Decoder
	scan *scanner
	sink func(*item) error
	// after the last frame, with the decoder's trailing packets.
	end func(trailing []media.Packet) error

	frames  int
	lastT   float64
	firstT  float64
	readErr error // a decode error other than io.EOF
}

func (p *pipeline) run(ctx context.Context, pool int, size int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Buffers are made as the reader needs them, up to pool: a short clip
	// (or a fast detector) never pays for the whole pool.
	free := make(chan *item, pool)
	made := 0
	next := func() *item {
		select {
		case it := <-free:
			return it
		default:
		}
		if made < pool {
			made++
			return &item{f: media.Frame{Data: make([]byte, size)}}
		}
		select {
		case it := <-free:
			return it
		case <-ctx.Done():
			return nil
		}
	}
	toScan := make(chan *item, 2)
	toSink := make(chan *item, 2)

	// Reader.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(toScan)
		for {
			it := next()
			if it == nil || ctx.Err() != nil {
				return
			}
			if err := p.dec.ReadFrame(&it.f); err != nil {
				if !errors.Is(err, io.EOF) {
					p.readErr = err
				}
				return
			}
			select {
			case toScan <- it:
			case <-ctx.Done():
				return
			}
		}
	}()

	// Sink.
	sinkErr := make(chan error, 1)
	go func() {
		var err error
		for it := range toSink {
			if err == nil {
				if err = p.sink(it); err != nil {
					cancel()
				}
			}
			it.masks = nil
			free <- it
		}
		sinkErr <- err
	}()

	p.scan.ready = func(it *item) error {
		select {
		case toSink <- it:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var scanErr error
	for it := range toScan {
		if scanErr != nil {
			continue // drain so the reader can finish
		}
		if p.frames == 0 {
			p.firstT = it.f.Time
		}
		p.frames++
		p.lastT = it.f.Time
		if scanErr = p.scan.push(it); scanErr != nil {
			cancel()
		}
	}
	<-readDone
	if scanErr == nil && ctx.Err() == nil {
		scanErr = p.scan.finish(p.frames)
	}
	close(toSink)
	serr := <-sinkErr
	switch {
	case serr != nil && !errors.Is(serr, context.Canceled):
		return serr
	case scanErr != nil && !errors.Is(scanErr, context.Canceled):
		return scanErr
	case ctx.Err() != nil:
		return ctx.Err()
	}
	if p.end != nil {
		return p.end(p.dec.Trailing())
	}
	return nil
}

// openDecoder starts the decoder in the pixel format that costs least:
// yuv420p when the video is coded in it, in limited range, at an even size,
// so that frames pass from decoder to encoder unconverted and only the
// frames detected on are converted (to BGR, by OpenCV); BGR24 from ffmpeg
// otherwise (odd sizes, full range, 4:2:2, 10-bit), which ffmpeg converts
// with the levels right and the encoder converts back. (The raw pipe and
// the output carry no range: full-range samples passed through would be
// shown as limited range, whites clipped and blacks crushed.)
func openDecoder(ctx context.Context, input string, v *media.VideoInfo, opt media.DecodeOptions) (*media.Decoder, error) {
	opt.PixelFormat = framePixelFormat(v)
	dec, err := media.NewDecoder(ctx, input, opt)
	if err != nil || dec.PixelFormat == media.PixBGR24 || dec.Width%2 == 0 && dec.Height%2 == 0 {
		return dec, err
	}
	// The probe's size was not the decoded one: start again in BGR24.
	dec.Close()
	opt.PixelFormat = media.PixBGR24
	return media.NewDecoder(ctx, input, opt)
}

// framePixelFormat is openDecoder's choice for a probed video stream.
func framePixelFormat(v *media.VideoInfo) string {
	if v != nil && v.PixFmt == media.PixYUV420P && v.ColorRange != "pc" && v.Width%2 == 0 && v.Height%2 == 0 {
		return media.PixYUV420P
	}
	return media.PixBGR24
}

// poolSize is the number of frame buffers a pipeline needs: the tracker's
// delay plus a detection stride, the frame the scanner holds until it
// knows whether its due frame is the last, and the frames in flight
// between stages.
func poolSize(tr *Tracker, every int) int {
	return tr.Delay() + every + 9
}

// DetectVideo runs detection and tracking over a video and calls emit, in
// frame order, with a Record for every frame that has something to mask.
// The file field is input as given. It returns the finished tracks; for a
// truncated or damaged input, after emitting what decoded, an
// *IncompleteError as Redact does.
func DetectVideo(ctx context.Context, input string, opt ScanOptions, emit func(Record) error) ([]Track, error) {
	if err := opt.normalize(); err != nil {
		return nil, err
	}
	info := opt.Info
	if info == nil {
		var err error
		if info, err = media.Probe(ctx, input); err != nil {
			return nil, err
		}
	}
	if info.Video == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoVideo, input)
	}
	dec, err := openDecoder(ctx, input, info.Video, media.DecodeOptions{})
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	orient := newOrientation(info.Video.Rotation, dec.Width, dec.Height)
	sc, err := newScanner(&opt, info.Video.FPS, orient, dec.PixelFormat == media.PixYUV420P, nil, nil)
	if err != nil {
		return nil, err
	}
	defer sc.close()
	start := time.Now()
	total := int(info.Video.Frames)
	done := 0
	p := &pipeline{dec: dec, scan: sc}
	p.sink = func(it *item) error {
		done++
		if opt.Progress != nil {
			el := time.Since(start)
			opt.Progress(Progress{Frames: done, Total: total, FPS: float64(done) / el.Seconds(), Elapsed: el})
		}
		regs := expandMasks(it.masks, opt.Margin, opt.Shape, sc.dw, sc.dh)
		if len(regs) == 0 {
			return nil
		}
		rec := Record{File: input, Frame: it.f.Index, Time: it.f.Time, Width: sc.dw, Height: sc.dh,
			Boxes: make([]detect.Box, len(regs))}
		for i, r := range regs {
			rec.Boxes[i] = r.box()
		}
		return emit(rec)
	}
	if err := p.run(ctx, poolSize(sc.tr, opt.Every), dec.FrameSize()); err != nil {
		return nil, err
	}
	switch {
	case p.readErr != nil:
		return sc.tracks, &IncompleteError{Frames: p.frames, LastTime: p.lastT, Expected: total, Reason: p.readErr.Error()}
	case dec.Truncated() || total > 0 && p.frames < total && dec.Damaged():
		return sc.tracks, &IncompleteError{Frames: p.frames, LastTime: p.lastT, Expected: total, Reason: lastLine(dec.Stderr())}
	}
	return sc.tracks, nil
}

// DetectImage runs the same detection on a still image (upright after its
// EXIF orientation, see readStill) and returns its record; a record with
// no boxes when nothing is to be masked.
func DetectImage(ctx context.Context, path string, opt ScanOptions) (Record, error) {
	if err := opt.normalize(); err != nil {
		return Record{}, err
	}
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	data, w, h, err := readStill(path)
	if err != nil {
		return Record{}, err
	}
	var rec Record
	sc, err := newScanner(&opt, 1, newOrientation(0, w, h), false, nil, func(it *item) error {
		regs := expandMasks(it.masks, opt.Margin, opt.Shape, w, h)
		rec = Record{File: path, Frame: 0, Time: 0, Width: w, Height: h, Boxes: make([]detect.Box, len(regs))}
		for i, r := range regs {
			rec.Boxes[i] = r.box()
		}
		return nil
	})
	if err != nil {
		return Record{}, err
	}
	defer sc.close()
	if err := sc.push(&item{f: media.Frame{Index: 0, Data: data}}); err != nil {
		return Record{}, err
	}
	if err := sc.finish(1); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// imageExts are the still-image types DetectFile hands to DetectImage.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true,
	".webp": true, ".tif": true, ".tiff": true}

// IsImage reports whether DetectFile treats path as a still image (by its
// extension).
func IsImage(path string) bool {
	return imageExts[strings.ToLower(filepath.Ext(path))]
}

// DetectFile is what `custody detect FILE --json` runs on one file: a still
// image (by extension, see IsImage) gives at most one record, a video one
// record per frame with something to mask.
func DetectFile(ctx context.Context, path string, opt ScanOptions, emit func(Record) error) error {
	if IsImage(path) {
		rec, err := DetectImage(ctx, path, opt)
		if err != nil || len(rec.Boxes) == 0 {
			return err
		}
		return emit(rec)
	}
	_, err := DetectVideo(ctx, path, opt, emit)
	return err
}
