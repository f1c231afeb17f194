package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/color"
	"math"
	"strconv"
)

// Colors of the chart frame, grid and text.
var (
	background = color.RGBA{0xff, 0xff, 0xff, 0xff}
	gridColor  = color.RGBA{0xe6, 0xe6, 0xe6, 0xff}
	frameColor = color.RGBA{0x88, 0x88, 0x88, 0xff}
	textColor  = color.RGBA{0x33, 0x33, 0x33, 0xff}
)

// Line widths in pixels and the opacity of the raw curve under a smoothed one.
const (
	solidWidth   = 1.8
	faintWidth   = 1.0
	faintOpacity = 0.3
)

// SVG renders the chart as a self-contained SVG document of Width x Height
// pixels. It returns an error if the chart has no series, no drawable
// points, X and Y of different lengths, or an invalid size or Smooth.
func (c Chart) SVG() ([]byte, error) {
	l, err := c.build()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		l.width, l.height, l.width, l.height)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="%s"/>`+"\n", l.width, l.height, hex(background))

	// Grid lines and tick labels.
	b.WriteString(`<g stroke="` + hex(gridColor) + `" stroke-width="1">` + "\n")
	for _, t := range l.xTicks {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(t.pixel), num(l.top), num(t.pixel), num(l.bottom))
	}
	for _, t := range l.yTicks {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(l.left), num(t.pixel), num(l.right), num(t.pixel))
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="%s" stroke-width="1"/>`+"\n",
		num(l.left), num(l.top), num(l.right-l.left), num(l.bottom-l.top), hex(frameColor))

	b.WriteString(`<g fill="` + hex(textColor) + `">` + "\n")
	for _, t := range l.xTicks {
		writeText(&b, t.pixel, l.bottom+tickLength+lineHeight, "middle", t.label, "")
	}
	for _, t := range l.yTicks {
		writeText(&b, l.left-tickLength-4, t.pixel+4, "end", t.label, "")
	}
	if l.title != "" {
		writeText(&b, float64(l.width)/2, 10+16, "middle", l.title, ` font-size="15" font-weight="bold"`)
	}
	if l.xLabel != "" {
		writeText(&b, (l.left+l.right)/2, float64(l.height)-10, "middle", l.xLabel, "")
	}
	if l.yLabel != "" {
		x, y := 12+lineHeight-2.0, (l.top+l.bottom)/2
		writeText(&b, x, y, "middle", l.yLabel, fmt.Sprintf(` transform="rotate(-90 %s %s)"`, num(x), num(y)))
	}
	b.WriteString("</g>\n")

	// Curves, then the legend.
	for _, line := range l.lines {
		width, opacity := solidWidth, 1.0
		if line.faint {
			width, opacity = faintWidth, faintOpacity
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%s" stroke-opacity="%s" stroke-linejoin="round" stroke-linecap="round" points="`,
			hex(line.color), num(width), num(opacity))
		for k, p := range line.points {
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(num(p.x) + "," + num(p.y))
		}
		b.WriteString(`"/>` + "\n")
		if line.dots || (len(line.points) == 1 && !line.faint) {
			for _, p := range line.points {
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`+"\n", num(p.x), num(p.y), hex(line.color))
			}
		}
	}
	for _, e := range l.legend {
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="3" stroke-linecap="round"/>`+"\n",
			num(e.x+2), num(e.y), num(e.x+swatchWidth-2), num(e.y), hex(e.color))
		writeText(&b, e.x+swatchWidth+6, e.y+4, "start", e.name, ` fill="`+hex(textColor)+`"`)
	}
	b.WriteString("</svg>\n")
	return b.Bytes(), nil
}

// writeText writes a <text> element with escaped content and optional extra attributes.
func writeText(b *bytes.Buffer, x, y float64, anchor, text, attributes string) {
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="%s"%s>`, num(x), num(y), anchor, attributes)
	xml.EscapeText(b, []byte(text))
	b.WriteString("</text>\n")
}

// num formats a coordinate with at most two decimals.
func num(v float64) string {
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0 // turns -0 into 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// hex formats an opaque color as #rrggbb.
func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
