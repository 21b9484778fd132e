package evalset

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Video through ffmpeg: frames decoded to RGBA in order, and RGBA frames
// encoded to H.264. Frame n of the decoder is frame n of the file (the
// shared clips are constant frame rate).

// VideoInfo is what the benchmark needs to know about a clip.
type VideoInfo struct {
	Width, Height int
	FPS           float64
	FPSText       string // as ffprobe gives it, e.g. 30/1
	Frames        int
}

// ProbeVideo asks ffprobe for the first video stream's size, rate and
// frame count (counted by decoding when the container does not say).
func ProbeVideo(ctx context.Context, path string) (VideoInfo, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=width,height,r_frame_rate,nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		return VideoInfo{}, fmt.Errorf("evalset: ffprobe %s: %w", path, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ",")
	if len(f) < 4 {
		return VideoInfo{}, fmt.Errorf("evalset: ffprobe %s: unexpected output %q", path, out)
	}
	var v VideoInfo
	v.Width, _ = strconv.Atoi(f[0])
	v.Height, _ = strconv.Atoi(f[1])
	v.FPSText = f[2]
	if n, d, ok := strings.Cut(f[2], "/"); ok {
		a, _ := strconv.ParseFloat(n, 64)
		b, _ := strconv.ParseFloat(d, 64)
		if b > 0 {
			v.FPS = a / b
		}
	}
	v.Frames, _ = strconv.Atoi(f[3])
	if v.Width <= 0 || v.Height <= 0 || v.Frames <= 0 || v.FPS <= 0 {
		return VideoInfo{}, fmt.Errorf("evalset: ffprobe %s: unexpected output %q", path, out)
	}
	return v, nil
}

// DecodeFrames calls fn with every frame of the clip in order, as RGBA (the
// same image reused: copy what you keep).
func DecodeFrames(ctx context.Context, path string, fn func(i int, img *image.RGBA) error) error {
	info, err := ProbeVideo(ctx, path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:v:0",
		"-f", "rawvideo", "-pix_fmt", "rgba", "-vsync", "passthrough", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("evalset: ffmpeg: %w", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, info.Width, info.Height))
	r := bufio.NewReaderSize(pipe, 1<<20)
	var ferr error
	for i := 0; ; i++ {
		if _, err := io.ReadFull(r, img.Pix); err != nil {
			if err != io.EOF {
				ferr = fmt.Errorf("evalset: decoding %s frame %d: %w", path, i, err)
			}
			break
		}
		if ferr = fn(i, img); ferr != nil {
			break
		}
	}
	if ferr != nil {
		cancel()
		cmd.Wait()
		return ferr
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("evalset: ffmpeg decoding %s: %w: %s", path, err, stderr.String())
	}
	return nil
}

// encoder writes RGBA frames to an H.264 file (libx264, CRF 20, one thread
// so that the output is the same on every run).
type encoder struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr bytes.Buffer
	w, h   int
}

func newEncoder(ctx context.Context, path string, w, h int, fps string) (*encoder, error) {
	e := &encoder{w: w, h: h}
	e.cmd = exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgba",
		"-s", fmt.Sprintf("%dx%d", w, h), "-r", fps, "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
		"-threads", "1", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path)
	e.cmd.Stderr = &e.stderr
	var err error
	if e.in, err = e.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("evalset: ffmpeg: %w", err)
	}
	return e, nil
}

func (e *encoder) write(img *image.RGBA) error {
	if img.Rect.Dx() != e.w || img.Rect.Dy() != e.h {
		return fmt.Errorf("evalset: frame %v, encoder %dx%d", img.Rect, e.w, e.h)
	}
	_, err := e.in.Write(img.Pix)
	return err
}

func (e *encoder) close() error {
	e.in.Close()
	if err := e.cmd.Wait(); err != nil {
		return fmt.Errorf("evalset: ffmpeg encoding: %w: %s", err, e.stderr.String())
	}
	return nil
}

// clipFrame extracts frame n of a clip.
func clipFrame(path string, n int) (*image.RGBA, error) {
	out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-i", path, "-vf", fmt.Sprintf(`select=eq(n\,%d)`, n),
		"-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-").Output()
	if err != nil {
		return nil, fmt.Errorf("evalset: extracting frame %d of %s: %w", n, path, err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("evalset: frame %d of %s: %w", n, path, err)
	}
	return toRGBA(img), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
