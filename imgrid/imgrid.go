// Package imgrid turns batches of generated images into PNG grids for
// notebooks and run folders.
//
// Images are given as float32 values in [-1, 1], in NHWC order (flattened
// [n, height, width, channels]) with 1 (gray) or 3 (RGB) channels, which is
// the layout the models and the dataset package use. A value v becomes the
// 8-bit level round((v+1)*127.5); values outside [-1, 1] are clamped and NaN
// becomes black.
package imgrid

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

// Padding is the gap between tiles in pixels.
const Padding = 2

// PaddingColor is the mid-gray that fills the gaps between tiles and any
// empty cells of the last row.
var PaddingColor = color.RGBA{R: 128, G: 128, B: 128, A: 255}

// Grid tiles n images into a grid of cols columns and ceil(n/cols) rows,
// with [Padding] pixels of [PaddingColor] between tiles and no outer border.
// When n < cols the grid has n columns. pixels has shape [n, height, width,
// channels] and channels is 1 or 3.
func Grid(pixels []float32, n, height, width, channels, cols int) (*image.RGBA, error) {
	if err := checkShape(len(pixels), n, height, width, channels, cols); err != nil {
		return nil, fmt.Errorf("imgrid: %w", err)
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	img := image.NewRGBA(image.Rect(0, 0, cols*width+(cols-1)*Padding, rows*height+(rows-1)*Padding))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = PaddingColor.R, PaddingColor.G, PaddingColor.B, PaddingColor.A
	}

	per := height * width * channels
	for i := 0; i < n; i++ {
		left := (i % cols) * (width + Padding)
		top := (i / cols) * (height + Padding)
		tile := pixels[i*per : (i+1)*per]
		for y := 0; y < height; y++ {
			for x := 0; x < width; x++ {
				offset := img.PixOffset(left+x, top+y)
				source := tile[(y*width+x)*channels:]
				if channels == 1 {
					level := toLevel(source[0])
					img.Pix[offset], img.Pix[offset+1], img.Pix[offset+2] = level, level, level
				} else {
					img.Pix[offset], img.Pix[offset+1], img.Pix[offset+2] = toLevel(source[0]), toLevel(source[1]), toLevel(source[2])
				}
				img.Pix[offset+3] = 255
			}
		}
	}
	return img, nil
}

// Pairs shows each input image with its output directly to the right (no
// gap inside a pair), and tiles the n pairs like [Grid] with cols pairs per
// row. inputs and outputs both have shape [n, height, width, channels].
func Pairs(inputs, outputs []float32, n, height, width, channels, cols int) (*image.RGBA, error) {
	if err := checkShape(len(inputs), n, height, width, channels, cols); err != nil {
		return nil, fmt.Errorf("imgrid: inputs: %w", err)
	}
	if err := checkShape(len(outputs), n, height, width, channels, cols); err != nil {
		return nil, fmt.Errorf("imgrid: outputs: %w", err)
	}

	// Build n images of width 2*width whose rows are an input row followed by an output row.
	rowLen := width * channels
	joined := make([]float32, 0, 2*len(inputs))
	for i := 0; i < n; i++ {
		for y := 0; y < height; y++ {
			start := (i*height + y) * rowLen
			joined = append(joined, inputs[start:start+rowLen]...)
			joined = append(joined, outputs[start:start+rowLen]...)
		}
	}
	return Grid(joined, n, height, 2*width, channels, cols)
}

// checkShape validates the grid arguments against a pixel count.
func checkShape(length, n, height, width, channels, cols int) error {
	switch {
	case n < 1:
		return fmt.Errorf("invalid image count %d: it must be at least 1", n)
	case height < 1 || width < 1:
		return fmt.Errorf("invalid image size %dx%d (height x width): both must be at least 1", height, width)
	case channels != 1 && channels != 3:
		return fmt.Errorf("invalid channel count %d: it must be 1 (gray) or 3 (RGB)", channels)
	case cols < 1:
		return fmt.Errorf("invalid column count %d: it must be at least 1", cols)
	case length != n*height*width*channels:
		return fmt.Errorf("got %d values, want n*height*width*channels = %d*%d*%d*%d = %d",
			length, n, height, width, channels, n*height*width*channels)
	}
	return nil
}

// toLevel maps v in [-1, 1] to an 8-bit level, clamping values outside the range and mapping NaN to 0.
func toLevel(v float32) uint8 {
	if math.IsNaN(float64(v)) {
		return 0
	}
	level := math.Round((float64(v) + 1) * 127.5)
	return uint8(max(0, min(255, level)))
}

// Scale enlarges img by an integer factor with nearest-neighbor sampling, so
// each pixel becomes a factor x factor block. A factor below 1 is treated as
// 1. The result's bounds start at (0, 0).
func Scale(img image.Image, factor int) *image.RGBA {
	factor = max(factor, 1)
	bounds := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, bounds.Dx()*factor, bounds.Dy()*factor))
	for y := 0; y < bounds.Dy(); y++ {
		for x := 0; x < bounds.Dx(); x++ {
			c := color.RGBAModel.Convert(img.At(bounds.Min.X+x, bounds.Min.Y+y)).(color.RGBA)
			for dy := 0; dy < factor; dy++ {
				offset := out.PixOffset(x*factor, y*factor+dy)
				for dx := 0; dx < factor; dx++ {
					out.Pix[offset+4*dx], out.Pix[offset+4*dx+1], out.Pix[offset+4*dx+2], out.Pix[offset+4*dx+3] = c.R, c.G, c.B, c.A
				}
			}
		}
	}
	return out
}

// EncodePNG returns img encoded as PNG.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("imgrid: encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// WritePNG writes img as a PNG file at path, creating missing parent
// folders. It writes a temporary file in the same folder and renames it over
// path, so path either keeps its old content or gets the complete new image.
// On error the temporary file is removed. The file mode is 0644.
func WritePNG(path string, img image.Image) error {
	data, err := EncodePNG(img)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("imgrid: create folder for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("imgrid: write %s: %w", path, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close() // a second Close after a successful one only returns an error
			os.Remove(tmp.Name())
		}
	}()

	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("imgrid: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("imgrid: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("imgrid: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("imgrid: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("imgrid: write %s: %w", path, err)
	}
	committed = true
	return nil
}
