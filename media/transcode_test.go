package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
)

// transcode decodes input and encodes it again unchanged (or through
// touch, which may modify each frame), returning the frame count.
func transcode(t testing.TB, input, output string, dopt DecodeOptions, eopt EncodeOptions, touch func(*Frame)) int {
	t.Helper()
	ctx := context.Background()
	d, err := NewDecoder(ctx, input, dopt)
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	defer d.Close()
	e, err := NewFileEncoder(ctx, output, d.Layout(), d.Width, d.Height, eopt)
	if err != nil {
		t.Fatalf("NewFileEncoder: %v", err)
	}
	n, err := pumpFrames(d, e, touch)
	if err != nil {
		e.Abort()
		t.Fatal(err)
	}
	if err := e.WritePackets(d.Trailing()); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("encoder Close: %v", err)
	}
	if _, err := os.Stat(output); err != nil {
		t.Fatal(err)
	}
	return n
}

// pumpFrames copies every frame from d to e (through touch, when set) and
// returns how many; the error is nil once d is exhausted. The caller
// writes the trailing packets and closes or aborts e.
func pumpFrames(d *Decoder, e *Encoder, touch func(*Frame)) (int, error) {
	var f Frame
	n := 0
	for {
		err := d.ReadFrame(&f)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("ReadFrame %d: %w", n, err)
		}
		if f.Index != n {
			return n, fmt.Errorf("frame index %d, want %d", f.Index, n)
		}
		if touch != nil {
			touch(&f)
		}
		if err := e.WriteFrame(&f); err != nil {
			return n, fmt.Errorf("WriteFrame %d: %w", n, err)
		}
		n++
	}
}
