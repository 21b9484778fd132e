package redact

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif"  // registered decoders for readStill
	_ "image/jpeg" //
	_ "image/png"  //
	"io"
	"os"

	_ "golang.org/x/image/bmp"  //
	_ "golang.org/x/image/tiff" //
	_ "golang.org/x/image/webp" //

	"github.com/custody-evidence/custody/media"
)

// Still images are decoded in Go rather than by OpenCV's imgcodecs: that
// one module links GDAL, GDCM, Poppler and some hundred other libraries,
// which cost every custody command 40 MiB of memory at start-up.

// maxStillPixels bounds the decoded size of a still (a 200-megapixel
// image is 600 MB of BGR): a header can claim any size.
const maxStillPixels = 200_000_000

// readStill decodes a still image file to packed BGR rows, upright: the
// EXIF orientation of a JPEG is applied, as a viewer (and OpenCV's imread)
// would, so that boxes are given in the picture people see.
func readStill(path string) (bgr []byte, w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	// The buffer holds a whole APP1 segment (at most 64 KiB), so that the
	// EXIF orientation can be read from it before decoding.
	br := bufio.NewReaderSize(f, 66<<10)
	cfg, _, err := image.DecodeConfig(br)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: %s is not an image custody can read (JPEG, PNG, GIF, BMP, TIFF or WebP): %v", media.ErrNotMedia, path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxStillPixels {
		return nil, 0, 0, fmt.Errorf("%w: %s claims %dx%d pixels", media.ErrNotMedia, path, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, 0, err
	}
	br.Reset(f)
	// The orientation is read from the same bytes the decoder sees.
	head, _ := br.Peek(66 << 10)
	orient := exifOrientation(head)
	img, _, err := image.Decode(br)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: %s: %v", media.ErrNotMedia, path, err)
	}
	bgr, w, h = toBGR(img)
	bgr, w, h = orientBGR(bgr, w, h, orient)
	return bgr, w, h, nil
}

// toBGR converts any decoded image to packed 8-bit BGR.
func toBGR(img image.Image) ([]byte, int, int) {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	rgba, ok := img.(*image.RGBA)
	if !ok || rgba.Rect.Min != (image.Point{}) {
		rgba = image.NewRGBA(image.Rect(0, 0, w, h))
		// Draw converts colour models (YCbCr, paletted, gray, 16-bit) the
		// standard way; alpha is composited over black.
		draw.Draw(rgba, rgba.Rect, img, r.Min, draw.Src)
	}
	out := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		src := rgba.Pix[y*rgba.Stride : y*rgba.Stride+w*4]
		dst := out[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x+2], src[4*x+1], src[4*x]
		}
	}
	return out, w, h
}

// orientBGR turns a BGR image stored with EXIF orientation o (1-8) upright.
func orientBGR(src []byte, w, h, o int) ([]byte, int, int) {
	if o < 2 || o > 8 {
		return src, w, h
	}
	ow, oh := w, h
	if o >= 5 { // the four orientations that swap the axes
		ow, oh = h, w
	}
	out := make([]byte, len(src))
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-ox, oy
			case 3: // upside down
				sx, sy = w-1-ox, h-1-oy
			case 4: // mirrored upside down
				sx, sy = ox, h-1-oy
			case 5: // transposed
				sx, sy = oy, ox
			case 6: // stored turned a quarter anticlockwise
				sx, sy = oy, h-1-ox
			case 7: // transversed
				sx, sy = w-1-oy, h-1-ox
			case 8: // stored turned a quarter clockwise
				sx, sy = w-1-oy, ox
			}
			copy(out[(oy*ow+ox)*3:(oy*ow+ox)*3+3], src[(sy*w+sx)*3:(sy*w+sx)*3+3])
		}
	}
	return out, ow, oh
}

var errNoEXIF = errors.New("no EXIF orientation")

// exifOrientation returns the EXIF orientation (1-8) of JPEG data, or 1
// when there is none or it cannot be read: an unreadable tag must not stop
// detection, and upright is what most decoders then show.
func exifOrientation(jpeg []byte) int {
	o, err := parseEXIFOrientation(jpeg)
	if err != nil {
		return 1
	}
	return o
}

// parseEXIFOrientation walks a JPEG's markers up to its image data looking
// for an APP1 Exif segment, and reads tag 0x0112 from its first IFD.
func parseEXIFOrientation(b []byte) (int, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0, errNoEXIF
	}
	p := 2
	for p+4 <= len(b) {
		if b[p] != 0xFF {
			return 0, errNoEXIF
		}
		marker := b[p+1]
		if marker == 0xFF { // fill byte
			p++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // image data or end: no EXIF before it
			return 0, errNoEXIF
		}
		if marker >= 0xD0 && marker <= 0xD7 || marker == 0x01 { // markers without a length
			p += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[p+2:]))
		if n < 2 {
			return 0, errNoEXIF
		}
		if marker == 0xE1 {
			// The orientation sits near the start of the segment; b may
			// end before the segment does (a long one, a short read).
			seg := b[p+4 : min(p+2+n, len(b))]
			if bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
				return tiffOrientation(seg[6:])
			}
		}
		p += 2 + n
	}
	return 0, errNoEXIF
}

// tiffOrientation reads the orientation tag from the first IFD of a TIFF
// structure (the body of an Exif segment).
func tiffOrientation(t []byte) (int, error) {
	if len(t) < 8 {
		return 0, errNoEXIF
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0, errNoEXIF
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 0, errNoEXIF
	}
	count := int(bo.Uint16(t[ifd:]))
	for i := 0; i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 0, errNoEXIF
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		// SHORT, one value, stored in the first two bytes of the value
		// field.
		if bo.Uint16(t[e+2:]) != 3 || bo.Uint32(t[e+4:]) != 1 {
			return 0, errNoEXIF
		}
		o := int(bo.Uint16(t[e+8:]))
		if o < 1 || o > 8 {
			return 0, errNoEXIF
		}
		return o, nil
	}
	return 0, errNoEXIF
}
