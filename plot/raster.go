package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// PNG renders the chart as a PNG image of Width x Height pixels, with
// anti-aliased lines and the 7x13 bitmap font of golang.org/x/image. It
// returns the same errors as [Chart.SVG].
func (c Chart) PNG() ([]byte, error) {
	l, err := c.build()
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, l.width, l.height))
	fillRect(img, img.Bounds(), background)

	for _, t := range l.xTicks {
		x := int(math.Round(t.pixel))
		fillRect(img, image.Rect(x, int(l.top), x+1, int(l.bottom)), gridColor)
	}
	for _, t := range l.yTicks {
		y := int(math.Round(t.pixel))
		fillRect(img, image.Rect(int(l.left), y, int(l.right), y+1), gridColor)
	}
	left, top, right, bottom := int(math.Round(l.left)), int(math.Round(l.top)), int(math.Round(l.right)), int(math.Round(l.bottom))
	fillRect(img, image.Rect(left, top, right+1, top+1), frameColor)
	fillRect(img, image.Rect(left, bottom, right+1, bottom+1), frameColor)
	fillRect(img, image.Rect(left, top, left+1, bottom+1), frameColor)
	fillRect(img, image.Rect(right, top, right+1, bottom+1), frameColor)

	for _, t := range l.xTicks {
		drawText(img, t.pixel-textWidth(t.label)/2, l.bottom+tickLength+lineHeight, t.label, textColor)
	}
	for _, t := range l.yTicks {
		drawText(img, l.left-tickLength-4-textWidth(t.label), t.pixel+4, t.label, textColor)
	}
	if l.title != "" {
		// Drawing the bitmap text twice, one pixel apart, makes it bold.
		x := float64(l.width)/2 - textWidth(l.title)/2
		drawText(img, x, 10+16, l.title, textColor)
		drawText(img, x+1, 10+16, l.title, textColor)
	}
	if l.xLabel != "" {
		drawText(img, (l.left+l.right)/2-textWidth(l.xLabel)/2, float64(l.height)-10, l.xLabel, textColor)
	}
	if l.yLabel != "" {
		drawVerticalText(img, 12, (l.top+l.bottom)/2+textWidth(l.yLabel)/2, l.yLabel, textColor)
	}

	mask := make([]float32, l.width*l.height)
	for _, line := range l.lines {
		width, opacity := solidWidth, 1.0
		if line.faint {
			width, opacity = faintWidth, faintOpacity
		}
		clear(mask)
		for k := 1; k < len(line.points); k++ {
			strokeSegment(mask, l.width, l.height, line.points[k-1], line.points[k], width)
		}
		if line.dots || len(line.points) == 1 {
			for _, p := range line.points {
				strokeSegment(mask, l.width, l.height, p, p, 5)
			}
		}
		blendMask(img, mask, line.color, opacity)
	}
	for _, e := range l.legend {
		clear(mask)
		strokeSegment(mask, l.width, l.height, point{e.x + 2, e.y}, point{e.x + swatchWidth - 2, e.y}, 3)
		blendMask(img, mask, e.color, 1)
		drawText(img, e.x+swatchWidth+6, e.y+4, e.name, textColor)
	}

	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("plot: failed to encode PNG: %w", err)
	}
	return b.Bytes(), nil
}

// fillRect paints r (clipped to img) with c.
func fillRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// strokeSegment raises mask to the coverage of a round-capped segment of the
// given width from a to b. Coverage falls linearly from 1 to 0 over the
// pixel at the stroke edge, which gives the anti-aliasing. Taking the
// maximum (not the sum) keeps joints of a polyline from darkening.
func strokeSegment(mask []float32, width, height int, a, b point, strokeWidth float64) {
	half := strokeWidth / 2
	x0 := max(0, int(math.Floor(math.Min(a.x, b.x)-half-1)))
	x1 := min(width-1, int(math.Ceil(math.Max(a.x, b.x)+half+1)))
	y0 := max(0, int(math.Floor(math.Min(a.y, b.y)-half-1)))
	y1 := min(height-1, int(math.Ceil(math.Max(a.y, b.y)+half+1)))
	dx, dy := b.x-a.x, b.y-a.y
	lengthSquared := dx*dx + dy*dy
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			// Distance from the pixel center to the nearest point of the segment.
			px, py := float64(x)+0.5-a.x, float64(y)+0.5-a.y
			t := 0.0
			if lengthSquared > 0 {
				t = math.Max(0, math.Min(1, (px*dx+py*dy)/lengthSquared))
			}
			distance := math.Hypot(px-t*dx, py-t*dy)
			coverage := float32(math.Max(0, math.Min(1, half+0.5-distance)))
			if i := y*width + x; coverage > mask[i] {
				mask[i] = coverage
			}
		}
	}
}

// blendMask paints c over img with alpha = mask * opacity per pixel.
func blendMask(img *image.RGBA, mask []float32, c color.RGBA, opacity float64) {
	width := img.Bounds().Dx()
	for i, m := range mask {
		if m == 0 {
			continue
		}
		alpha := float64(m) * opacity
		offset := img.PixOffset(i%width, i/width)
		for ch, v := range []uint8{c.R, c.G, c.B} {
			old := float64(img.Pix[offset+ch])
			img.Pix[offset+ch] = uint8(math.Round(old*(1-alpha) + float64(v)*alpha))
		}
	}
}

// drawText draws s with its baseline starting at (x, y).
func drawText(img *image.RGBA, x, y float64, s string, c color.RGBA) {
	d := font.Drawer{
		Dst:  img,
		Src:  image.NewUniform(c),
		Face: basicfont.Face7x13,
		Dot:  fixed.P(int(math.Round(x)), int(math.Round(y))),
	}
	d.DrawString(s)
}

// drawVerticalText draws s rotated 90 degrees counterclockwise, so it reads
// upward. (x, y) is the bottom-left corner of the rotated text box.
func drawVerticalText(img *image.RGBA, x, y float64, s string, c color.RGBA) {
	w := int(textWidth(s))
	h := lineHeight
	text := image.NewRGBA(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: text, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(0, basicfont.Face7x13.Ascent)}
	d.DrawString(s)

	// Text pixel (tx, ty) lands at (x + ty, y - tx).
	ox, oy := int(math.Round(x)), int(math.Round(y))
	for ty := 0; ty < h; ty++ {
		for tx := 0; tx < w; tx++ {
			alpha := float64(text.RGBAAt(tx, ty).A) / 255
			px, py := ox+ty, oy-tx
			if alpha == 0 || !(image.Point{px, py}.In(img.Bounds())) {
				continue
			}
			offset := img.PixOffset(px, py)
			for ch, v := range []uint8{c.R, c.G, c.B} {
				old := float64(img.Pix[offset+ch])
				img.Pix[offset+ch] = uint8(math.Round(old*(1-alpha) + float64(v)*alpha))
			}
		}
	}
}
