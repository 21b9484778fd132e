//go:build cgo

package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/custody-evidence/custody/detect"
	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/redact"
	"github.com/custody-evidence/custody/store"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// mediaCommands returns the commands that need OpenCV.
func mediaCommands(e *env) []*cobra.Command {
	return []*cobra.Command{newRedactCmd(e), newDetectCmd(e)}
}

// defaultTextEvery is --text-every's default: with --every 6, a text pass
// every 24 frames (0.8 s at 30 fps). The text model costs about two and a
// half face passes.
const defaultTextEvery = 4

// defaultSmallFaceEvery is --small-face-every's default: with --every 6,
// the finest face pass (faces under about 43 px, most of the face
// model's cost) every 12 frames, 0.4 s at 30 fps.
const defaultSmallFaceEvery = 2

// Cadence presets (--cadence): how often each pass runs. One table: the
// flags' defaults, --help and the record all come from it.
const (
	cadenceDefault  = "default"
	cadenceFast     = "fast"
	cadenceThorough = "thorough"
)

// cadencePreset is a preset's cadences: the time between detection passes
// (0: every frame), and the text, small-face and person passes on every
// Nth of them (0 for heads: detect.DefaultHeadsEvery).
type cadencePreset struct {
	interval                         float64
	every, textEvery, smallFaceEvery int
	headsEvery                       int
}

var cadencePresets = map[string]cadencePreset{
	// One pass per 0.2 s (every 6th frame at 30 fps, every 2nd at 10).
	cadenceDefault: {interval: redact.DefaultInterval, textEvery: defaultTextEvery, smallFaceEvery: defaultSmallFaceEvery},
	// Half the passes: for those who accept the risk of missed
	// face-frames (README: measured figures). The person pass stays on
	// every pass: on every other one, 7.2% of the walking CCTV scene's
	// face-frames were missed (make eval, training split), on every one
	// 2.2%.
	cadenceFast: {interval: redact.FastInterval, textEvery: defaultTextEvery, smallFaceEvery: defaultSmallFaceEvery},
	// Everything on every frame.
	cadenceThorough: {every: 1, textEvery: 1, smallFaceEvery: 1, headsEvery: 1},
}

// detectFlags are shared by redact and detect, so that detect reports
// exactly what redact would mask.
type detectFlags struct {
	face, text, models string
	every, textEvery   int
	smallFaceEvery     int
	thorough           bool
	cadence            string
	headsEvery         int
	margin             float64
	shape              string
	heads              string
	// Face search: extra views and the smallest face.
	rotated, contrast, fisheye string
	fisheyeFOV, viewThreshold  float64
	darkLuma                   float64
	minFace, viewMinFace       int
	quarterTurnsOnly           bool
}

func (d *detectFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&d.face, "detector", detect.FaceAuto, "face detector: auto (the default model, YuNet 2023mar, built into custody), yunet2023 (the same), yunet (YuNet 2022mar, also built in), ultraface, ssd or haar; one the defaults do not use is weaker: a warning, and refused with --store")
	fl.StringVar(&d.text, "text", detect.TextBadges, "text masking: badges (the card outline of every badge and ID card worn, found under each face and head, and text on or near people), badge-zone (the whole chest and lanyard zone under every face and head instead of the card: loses the shirt, never a name), all (badges, and also screens, paper), or none (weaker: a warning, and refused with --store)")
	fl.IntVar(&d.textEvery, "text-every", defaultTextEvery, "run the text detector on every Nth detection pass only; worn badges follow their wearer's face in between, and a badge found is also masked back to the previous text pass (1: every pass, the thorough setting)")
	fl.IntVar(&d.smallFaceEvery, "small-face-every", defaultSmallFaceEvery, "run the face pass for the smallest faces (under about 43 px, far from the camera) on every Nth detection pass only; a small face found is also masked back to the previous such pass (1: every pass, the thorough setting)")
	fl.StringVar(&d.cadence, "cadence", cadenceDefault, "how often the detectors run: default (a pass every 0.2 s of video, every 6th frame at 30 fps), fast (every 0.4 s: about half the detection time, more faces missed between passes), or thorough (every pass on every frame); --every, --text-every and --small-face-every override it")
	fl.BoolVar(&d.thorough, "thorough", false, "detect everything on every frame, the same as --cadence thorough: --every 1 --text-every 1 --small-face-every 1, and the person pass for --heads on every frame (about 7x the CPU time of the defaults)")
	fl.StringVar(&d.heads, "heads", detect.HeadsAuto, "mask the head of every person whose face is not found (seen from above, from behind, masked): auto (when the camera is still, as CCTV is), on, or off")
	fl.StringVar(&d.rotated, "rotated-faces", detect.PassAuto, "also search the frame turned a quarter turn each way and half a turn, for faces lying down or upside down: auto (on the passes that search for the smallest faces: every --small-face-every-th detection, and on images), on (every detection; about 4x the face cost), off")
	fl.StringVar(&d.contrast, "contrast", detect.PassAuto, "also search a contrast-normalised copy (CLAHE on luma; for detection only, the output is not changed): auto (frames whose mean luma is under 50 of 255), on (every frame), off")
	fl.StringVar(&d.fisheye, "fisheye", detect.PassAuto, "also search undistorted views of the edge of a fisheye lens's image circle, on the passes that search for the smallest faces: auto (frames that show an image circle), on (every frame; a frame with no circle is taken as a full-frame fisheye), off")
	fl.Float64Var(&d.fisheyeFOV, "fisheye-fov", 200, "the fisheye lens's field of view across its image circle, in degrees (equidistant lens)")
	fl.BoolVar(&d.quarterTurnsOnly, "quarter-turns-only", false, "with --rotated-faces, leave out the half turn (three face searches instead of four)")
	fl.Float64Var(&d.darkLuma, "dark-luma", 50, "with --contrast auto, the mean luma (0 to 255) under which a frame is dark")
	fl.IntVar(&d.minFace, "min-face", 12, "smallest face side, in pixels, the upright search is planned for (smaller: slower)")
	fl.IntVar(&d.viewMinFace, "view-min-face", 20, "smallest face side, in pixels, the turned and fisheye views are planned for")
	fl.Float64Var(&d.viewThreshold, "view-threshold", 0.5, "least score of a face found on an extra view: turned, contrast-normalised or fisheye (the models see more false faces there)")
	fl.StringVar(&d.models, "models", "", "read the models from this directory instead of those built into custody (default $CUSTODY_MODELS if set); each file is checked by sha256")
	fl.IntVar(&d.every, "every", 0, "run the detector on every Nth frame (and the last) and track in between; a new face is masked back to the previous pass (1: every frame; 0: by the frame rate, one pass per --cadence interval; see also --thorough)")
	fl.Float64Var(&d.margin, "margin", detect.DefaultMargin, "grow each mask by this share of its size on every side (at least 0.2)")
	fl.StringVar(&d.shape, "shape", "ellipse", "face mask shape: ellipse or box")
}

// open builds the detector and the scan options, printing the detector's
// warnings: a weaker detector than the defaults must be loud, and with
// inStore it is refused, before anything is logged or an approval spent.
func (d *detectFlags) open(e *env, cmd *cobra.Command, inStore bool) (detect.Detector, redact.ScanOptions, error) {
	cad, err := d.applyCadence(cmd)
	if err != nil {
		return nil, redact.ScanOptions{}, err
	}
	if d.margin < detect.DefaultMargin {
		return nil, redact.ScanOptions{}, usagef("--margin %.2f is below the minimum %.2f: smaller masks leave face edges visible", d.margin, detect.DefaultMargin)
	}
	shape, err := redact.ParseShape(d.shape)
	if err != nil {
		return nil, redact.ScanOptions{}, usageErr(err)
	}
	det, warnings, err := detect.OpenComposite(detect.Config{Face: d.face, Text: d.text, ModelsDir: d.models, TextEvery: d.textEvery,
		SmallFaceEvery: d.smallFaceEvery, RotatedFaces: d.rotated, Contrast: d.contrast, Fisheye: d.fisheye,
		FisheyeFOV: d.fisheyeFOV, MinFace: d.minFace, ViewMinFace: d.viewMinFace, ViewThreshold: d.viewThreshold,
		QuarterTurnsOnly: d.quarterTurnsOnly, DarkLuma: d.darkLuma, Heads: d.heads, HeadsEvery: d.headsEvery})
	if err != nil {
		return nil, redact.ScanOptions{}, modelsErr(err)
	}
	if weak := det.Weaker(); inStore && len(weak) > 0 {
		det.Close()
		return nil, redact.ScanOptions{}, withHint(usagef("a store redaction runs the default detectors, and this one is weaker: %s",
			strings.Join(weak, "; ")),
			"drop --detector and --text to use the defaults, built into custody; a weaker redaction can only be made of a plain file, outside the store")
	}
	for _, w := range warnings {
		e.warnf("%s", w)
	}
	scan := redact.ScanOptions{Detector: det, Every: d.every, Margin: d.margin, Shape: shape, Cadence: d.cadence}
	if d.every == 0 {
		scan.Interval = cad.interval
	}
	return det, scan, nil
}

// applyCadence fills the cadence flags not given from the --cadence
// preset (--thorough is --cadence thorough, whose values cannot be
// overridden).
func (d *detectFlags) applyCadence(cmd *cobra.Command) (cadencePreset, error) {
	if d.thorough {
		if cmd.Flags().Changed("cadence") && d.cadence != cadenceThorough {
			return cadencePreset{}, usagef("--thorough is --cadence thorough: give one or the other")
		}
		d.cadence = cadenceThorough
	}
	p, ok := cadencePresets[d.cadence]
	if !ok {
		return cadencePreset{}, usagef("--cadence %q: use default, fast or thorough", d.cadence)
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{{"every", &d.every, p.every}, {"text-every", &d.textEvery, p.textEvery}, {"small-face-every", &d.smallFaceEvery, p.smallFaceEvery}} {
		if !cmd.Flags().Changed(f.name) {
			*f.v = f.def
		} else if d.cadence == cadenceThorough {
			by := "--cadence thorough"
			if d.thorough {
				by = "--thorough"
			}
			return cadencePreset{}, usagef("%s sets --%s to 1: give one or the other", by, f.name)
		}
	}
	d.headsEvery = p.headsEvery
	return p, nil
}

// modelsErr gives a detector that cannot be opened its exit code, and says
// where models come from.
func modelsErr(err error) error {
	hint := "`custody version` lists the models built into this custody; --models DIR or CUSTODY_MODELS reads them from a directory instead"
	if errors.Is(err, detect.ErrModelMissing) && !detect.HasEmbedded() {
		hint = "build custody with `make build`, which embeds the models from ../shared/models, or give --models DIR"
	}
	if errors.Is(err, detect.ErrConfig) {
		return usageErr(err)
	}
	return withHint(coded{ExitUsage, err}, hint)
}

// mediaErr gives redaction and detection errors their exit codes.
func mediaErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, redact.ErrIncomplete):
		return coded{ExitIncomplete, err}
	case errors.Is(err, redact.ErrNoVideo), errors.Is(err, media.ErrNoFrames):
		return coded{ExitRefused, err}
	case errors.Is(err, redact.ErrOptions), errors.Is(err, redact.ErrEdits), errors.Is(err, detect.ErrConfig):
		return usageErr(err)
	}
	return err
}

// frameBar draws a frames bar with fps and ETA on a terminal.
func (e *env) frameBar(what string) (func(redact.Progress), func()) {
	if !isTTY(e.stderr) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	return func(p redact.Progress) {
			if bar == nil {
				total := int64(p.Total)
				if total <= 0 {
					total = -1
				}
				bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription(what),
					progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("frames"),
					progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200_000_000), progressbar.OptionClearOnFinish())
			}
			bar.Set(p.Frames)
		}, func() {
			if bar != nil {
				bar.Finish()
			}
		}
}

func newRedactCmd(e *env) *cobra.Command {
	var (
		f          storeFlags
		d          detectFlags
		out        string
		style      string
		mutes      []string
		bleep      bool
		noAudio    bool
		keepMeta   bool
		codec      string
		preset     string
		crf        int
		reviewDir  string
		editsFile  string
		identities []string
		reason     string
		request    string
	)
	cmd := &cobra.Command{
		Use:   "redact IN -o OUT | redact --store DIR CLIP -i IDENTITY",
		Short: "Blur faces and name badges in a video",
		Long: `Redact a video: decode it with ffmpeg, detect faces and badges (every
--every frames, tracking in between so no mask blinks off for a frame),
destroy the detail under each mask, and re-encode with the same frame
count, timestamps, size and rotation. The audio is copied bit-exact unless
--mute or --no-audio is given. Identifying container metadata (GPS, serial
numbers, user data) is stripped unless --keep-metadata.

Speed and thoroughness (--cadence): by default faces and people are
detected once every 0.2 s of video (every 6th frame at 30 fps, every 2nd
at 10 fps; --every N gives a stride in frames instead), the smallest faces
(under about 43 px, far from the camera) on every 2nd of those passes
(--small-face-every 2), and text on every 4th (--text-every 4). The
tracker interpolates between passes, masks a new face or badge back to
the frame after the previous pass that could have found it, and joins a
face found too far from where a lost one was to be the same track along
the path between. --cadence fast halves the passes (every 0.4 s) for
those who accept more faces missed between passes; --cadence thorough (or --thorough) detects everything on
every frame (about 7x the CPU time). The values used, the preset's name
and the stride in frames, are recorded in the report and the ledger.

Faces: YuNet 2023mar (--detector auto) searches each frame at several
scales, down to faces of 12 px (--min-face). The passes that look for the
smallest faces also search the frame turned a quarter turn each way and
half a turn (--rotated-faces auto: patients lying down, a camera looking
down on a bed) and, on a fisheye frame (one that shows its lens's image
circle), eight undistorted views of the edge of the circle (--fisheye auto,
--fisheye-fov 200). Dark frames (mean luma under --dark-luma 50 of 255) are
searched again with their contrast normalised (--contrast auto); the output
is never brightened. A face found only on one of these extra views must
score at least --view-threshold 0.5. Each extra view can only add masks.
For speed at the cost of faces lying down, small or at a fisheye's edge:
--rotated-faces off --fisheye off --min-face 20.

Models: the default detectors' models are built into custody (see
custody version); --models DIR or CUSTODY_MODELS reads them from a directory
instead. Every file is checked by sha256, and nothing falls back: a missing
or unknown model is an error. A weaker detector than the defaults (--detector
ultraface, ssd or haar; --text none) must be asked for by name: plain mode
warns, store mode refuses it. The report and the ledger entry name every
model with its sha256 and whether it was built in or read from a directory.

Plain mode reads IN and writes OUT; OUT is written under a temporary name
and renamed only when complete. A truncated or damaged input is redacted as
far as it decodes, written as OUT.incomplete.EXT, and the exit status is 5.

Store mode (--store) redacts a sealed clip: it is decrypted on demand for
ffmpeg over a loopback connection, never written to disk in plaintext; the
output is sealed into the store as a derivative of the clip, with a ledger
entry recording parent and child hashes, detectors and model hashes, every
parameter and every masked track. --review material is sealed too. The
read of the original is logged as an access first.

In a dual-control store redaction reads an original, so it needs what an
open needs: the owner files custody request --purpose redact, a DPO
approves it, and the owner runs redact with their SSH key (-i); custody
recombines the clip key in memory and uses up the approval. No station
passphrase is needed. The redacted video and review files are sealed to a
key of their own that only the DPOs hold: custody open takes a DPO's key,
and redact --json names the key file ("key"), which a DPO's key opens.

Review: --review DIR writes tracks.json, contact.png (one thumbnail per
track) and preview frames with the masks drawn. The DPO's decisions go in an
--edits JSON file: exclude a track, add a manual region with keyframes, or
mask whole frames for a time range, each with a reason for the audit. An
exclusion gives the track's id and its "first" frame as tracks.json shows
them (or the file repeats tracks.json's "detection"), so that it cannot
unmask a different track if the detections change.`,
		Example: `  custody redact ward3.mp4 -o ward3.redacted.mp4 --review review/
  custody redact ward3.mp4 -o out.mp4 --edits decisions.json --mute 12.5-14 --bleep
  custody redact --store /srv/custody 3f5a9c0d12ab -i dpo.key --reason "release to police"
  custody redact --store /srv/custody 3f5a9c0d12ab -i ~/.ssh/id_ed25519 --review x   # dual control: the owner, approved`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := redact.ParseStyle(style)
			if err != nil {
				return usageErr(err)
			}
			opt := redact.Options{Style: st, Bleep: bleep, NoAudio: noAudio, KeepMetadata: keepMeta, Codec: codec, Preset: preset, CRF: crf}
			for _, m := range mutes {
				r, err := redact.ParseTimeRange(m)
				if err != nil {
					return usageErr(err)
				}
				opt.Mute = append(opt.Mute, r)
			}
			if editsFile != "" {
				data, err := os.ReadFile(editsFile)
				if err != nil {
					return err
				}
				ed, err := redact.LoadEdits(bytes.NewReader(data))
				if err != nil {
					return usageErr(err)
				}
				sum := sha256.Sum256(data)
				opt.Edits, opt.EditsSHA256 = ed, hex.EncodeToString(sum[:])
			}
			if f.dir == "" && out == "" {
				return usagef("give -o OUT, or --store DIR to redact a sealed clip")
			}
			if f.dir != "" && out != "" {
				return usagef("-o is for plain files; in store mode the output is sealed into the store")
			}
			// In plain mode, probe the input while the models load: each
			// takes a few tenths of a second before the first frame.
			type probed struct {
				info *media.Info
				err  error
			}
			pc := make(chan probed, 1)
			if f.dir == "" {
				go func() { i, err := redact.ProbeInput(ctx, args[0]); pc <- probed{i, err} }()
			}
			det, scan, err := d.open(e, cmd, f.dir != "")
			if err != nil {
				return err
			}
			defer det.Close()
			opt.ScanOptions = scan
			if f.dir == "" {
				p := <-pc
				if p.err != nil {
					return mediaErr(p.err)
				}
				opt.Info = p.info
			}
			prog, done := e.frameBar("redacting")
			opt.Progress = prog
			defer done()
			if f.dir == "" {
				opt.ReviewDir = reviewDir
				rep, err := redact.Redact(ctx, args[0], out, opt)
				done()
				if rep != nil {
					if perr := printRedaction(e, f.json, rep, nil); perr != nil {
						return perr
					}
				}
				return mediaErr(err)
			}
			return redactInStore(ctx, e, &f, args[0], identities, reason, request, reviewDir != "", opt, done)
		},
	}
	f.register(e, cmd, true)
	d.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&out, "output", "o", "", "output video (plain mode); the extension picks the container (.mp4, .mov, .mkv)")
	fl.StringVar(&style, "style", "blur", "mask style: blur (irreversible), pixelate or solid")
	fl.StringArrayVar(&mutes, "mute", nil, "silence START-END (seconds or HH:MM:SS), repeatable")
	fl.BoolVar(&bleep, "bleep", false, "put a tone over muted ranges")
	fl.BoolVar(&noAudio, "no-audio", false, "drop the audio")
	fl.BoolVar(&keepMeta, "keep-metadata", false, "keep identifying container metadata (GPS, serial numbers)")
	fl.StringVar(&codec, "codec", "libx264", "video codec: libx264 or libx265")
	fl.StringVar(&preset, "preset", "", "encoder preset (default veryfast)")
	fl.IntVar(&crf, "crf", media.DefaultCRF, "encoder quality (x264/x265 constant rate factor), lower is better")
	fl.StringVar(&reviewDir, "review", "", "write review material (tracks.json, contact sheet, previews) to DIR; in store mode it is sealed instead")
	fl.StringVar(&editsFile, "edits", "", "the DPO's edits (JSON): excluded tracks, manual regions, masked frame ranges")
	fl.StringArrayVarP(&identities, "identity", "i", nil, "store mode: identity that can open the clip; under dual control the owner's SSH key")
	fl.StringVar(&reason, "reason", "", "store mode: why the clip is opened, for the ledger (default \"redaction before release\", or under dual control the request's reason)")
	fl.StringVar(&request, "request", "", "store mode, dual control: the request approved for redaction (default: your only one for the clip)")
	fl.BoolVar(&f.json, "json", false, "print the redaction report as JSON")
	return cmd
}

// redactInStore redacts a sealed clip into a sealed derivative. In a
// dual-control store the owner does it with their SSH key under a request a
// DPO approved for redaction, and no station passphrase is needed.
func redactInStore(ctx context.Context, e *env, f *storeFlags, clipID string, identities []string, reason, request string, review bool, opt redact.Options, done func()) error {
	s, err := f.open()
	if err != nil {
		return err
	}
	clip, err := findClip(s, clipID)
	if err != nil {
		return err
	}
	if clip.Kind != "original" {
		return usagef("clip %s is already a redacted derivative of %s; redact the original", clip.ID, clip.Parent)
	}
	// A damaged clip with no video that decodes: stop before the access
	// is logged (or a dual-control approval spent) for nothing.
	if err := redact.Damaged(clip.Media); err != nil {
		return mediaErr(err)
	}
	do := store.DeriveOptions{Reason: reason, Request: request, PluginUI: e.pluginUI()}
	if clip.DualControl() {
		if do.As, err = needPerson(e, identities, "redacting a dual-control clip"); err != nil {
			return err
		}
		if do.Now, _, err = policyNow(); err != nil {
			return err
		}
		do.Identity = do.As.Label
	} else {
		if request != "" {
			return usagef("--request is for dual-control clips; clip %s opens with a recipient key", clip.ID)
		}
		if do.Reason == "" {
			do.Reason = "redaction before release"
		}
		if len(identities) == 0 {
			return usagef("no identity given: use -i FILE")
		}
		if s, do.As, do.Identities, do.Identity, err = f.personOrStation(e, s, identities); err != nil {
			return err
		}
	}
	d, err := s.BeginDerive(ctx, clip.ID, do)
	if err != nil {
		return err
	}
	defer d.Close()
	opt.InputSHA256 = clip.Object.SHA256
	opt.Info = clip.Media
	reviewFiles := map[string][]byte{}
	if review {
		opt.ReviewFiles = func(name string, data []byte) error {
			reviewFiles[name] = append([]byte(nil), data...)
			return nil
		}
	}
	// The redacted stream goes straight from the encoder into sealing.
	pr, pw := io.Pipe()
	type sealed struct {
		sg  *store.Sealing
		err error
	}
	ch := make(chan sealed, 1)
	go func() {
		sg, err := d.Seal(ctx, pr, nil)
		pr.CloseWithError(err)
		ch <- sealed{sg, err}
	}()
	rep, rerr := redact.RedactTo(ctx, d.URL, pw, media.FormatMP4, opt)
	if errors.Is(rerr, redact.ErrIncomplete) {
		// What decoded is a whole (fragmented) video: seal it, marked
		// incomplete, rather than fail the seal with the error.
		pw.Close()
	} else {
		pw.CloseWithError(rerr)
	}
	done()
	res := <-ch
	// Without a report nothing decoded (a damaged clip): nothing to seal.
	if rerr != nil && (rep == nil || !errors.Is(rerr, redact.ErrIncomplete)) {
		return mediaErr(rerr)
	}
	if res.err != nil {
		return res.err
	}
	var reviews []*store.Sealing
	var names []string
	for name := range reviewFiles {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sg, err := d.Seal(ctx, bytes.NewReader(reviewFiles[name]), nil)
		if err != nil {
			return err
		}
		reviews = append(reviews, sg)
	}
	repJSON, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	p := store.DerivePayload{Redaction: repJSON, ReviewNames: names, Incomplete: rep.Incomplete,
		Media: &media.Info{Container: "mov,mp4,m4a,3gp,3g2,mj2", Duration: rep.LastTime - rep.FirstTime,
			Video: &media.VideoInfo{Codec: strings.TrimPrefix(rep.Params.Codec, "lib"), Width: rep.Width, Height: rep.Height, Frames: int64(rep.Frames), Rotation: rep.Rotation}}}
	if clip.Media != nil && clip.Media.Video != nil {
		p.Media.Video.FrameRate, p.Media.Video.FPS = clip.Media.Video.FrameRate, clip.Media.Video.FPS
	}
	if clip.Media != nil && rep.Audio != "removed" {
		p.Media.Audio = clip.Media.Audio
	}
	child, err := d.Commit(ctx, res.sg, reviews, p)
	if err != nil {
		return err
	}
	if err := printRedaction(e, f.json, rep, child); err != nil {
		return err
	}
	return mediaErr(rerr)
}

func printRedaction(e *env, asJSON bool, rep *redact.Report, child *store.Clip) error {
	if asJSON {
		v := map[string]any{"report": rep}
		if child != nil {
			v["id"], v["parent"], v["sha256"] = child.ID, child.Parent, child.Object.SHA256
			if k := derivedKey(child); k != nil {
				v["key"], v["key_holders"] = k.Object.Path, k.Holders
			}
		}
		return e.json(v)
	}
	masked := 0
	for _, t := range rep.Tracks {
		if t.Masked {
			masked++
		}
	}
	fmt.Fprintf(e.stdout, "redacted %d frames (%.1f fps) with %s: %d track(s) masked, %d frame(s) with masks, audio %s\n",
		rep.Frames, rep.FPS, rep.Detector, masked, rep.MaskedFrames, rep.Audio)
	if child != nil {
		fmt.Fprintf(e.stdout, "sealed as clip %s, derived from %s (sha256 %s)\n", child.ID, child.Parent, child.Object.SHA256)
		if k := derivedKey(child); k != nil {
			fmt.Fprintf(e.stdout, "sealed for the DPOs (%s): its key is %s, which a DPO's key opens\n", strings.Join(k.Holders, ", "), k.Object.Path)
		}
	} else {
		fmt.Fprintf(e.stdout, "wrote %s (sha256 %s)\n", rep.Output, rep.OutputSHA256)
	}
	for _, w := range rep.Warnings {
		e.warnf("%s", w)
	}
	return nil
}

// derivedKey is the key a dual-control store sealed a redacted version to.
func derivedKey(c *store.Clip) *store.Share {
	for i := range c.Shares {
		if c.Shares[i].Kind == store.ShareDerived {
			return &c.Shares[i]
		}
	}
	return nil
}
