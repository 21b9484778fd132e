package media

import (
	"bytes"
	"testing"
)

// FuzzNUTReader feeds the NUT reader arbitrary streams. The reader parses
// what ffmpeg writes from untrusted recordings (audio packets pass through
// unchanged), so whatever the bytes it must return an error or packets of
// bounded size: never panic, hang or allocate without bound.
func FuzzNUTReader(f *testing.F) {
	streams := []nutStream{
		{Class: nutVideo, Fourcc: []byte("I420"), TimeBase: Rational{1, 30}, MsbPTSShift: 14, MaxPTSDistance: 30, Width: 8, Height: 6},
		{Class: nutAudio, Fourcc: []byte("mp4a"), TimeBase: Rational{1, 48000}, MsbPTSShift: 14, MaxPTSDistance: 48000,
			SampleRateNum: 48000, SampleRateDen: 1, Channels: 2},
	}
	var buf bytes.Buffer
	w, err := newNUTWriter(&buf, streams, nil)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 4 {
		if err := w.writePacket(nutPacket{Stream: 1, PTS: int64(i * 1600), Key: true, Data: bytes.Repeat([]byte{byte(i)}, 37)}); err != nil {
			f.Fatal(err)
		}
		if err := w.writePacket(nutPacket{Stream: 0, PTS: int64(i), Key: true, Data: make([]byte, FrameBytes(PixYUV420P, 8, 6))}); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.flush(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:len(buf.Bytes())/2])
	f.Add([]byte(nutID))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newNUTReader(bytes.NewReader(data))
		if err := r.readHeader(); err != nil {
			return
		}
		video := -1
		for i, s := range r.streams {
			if s.Class == nutVideo {
				video = i
				break
			}
		}
		if video < 0 {
			return
		}
		s := r.streams[video]
		if s.Width > 64 || s.Height > 64 {
			return // the decoder refuses absurd sizes before reading frames
		}
		frame := make([]byte, FrameBytes(PixYUV420P, int(s.Width), int(s.Height)))
		for range 1000 {
			p, err := r.readPacket(video, frame)
			if err != nil {
				return
			}
			// A packet that does not fit the frame buffer gets its own,
			// bounded allocation (the decoder then refuses a video packet
			// of the wrong size); one that fits is read into the buffer.
			if len(p.Data) > max(len(frame), nutMaxAlloc) {
				t.Fatalf("%d-byte packet allocated", len(p.Data))
			}
			if p.Stream == video && len(p.Data) <= cap(frame) && len(p.Data) > 0 && &p.Data[0] != &frame[0] {
				t.Fatalf("a %d-byte frame that fits the buffer was read elsewhere", len(p.Data))
			}
		}
	})
}
