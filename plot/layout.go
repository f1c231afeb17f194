package plot

import (
	"image/color"
	"math"
)

// Text metrics shared by both renderers. They match the 7x13 bitmap font
// of the PNG output and approximate a 12px sans-serif font in SVG.
const (
	charWidth   = 7
	lineHeight  = 13
	titleHeight = 24
	legendRow   = 18
	swatchWidth = 20
	legendGap   = 18
	tickLength  = 4
)

// point is a position in pixels, with y growing downward.
type point struct{ x, y float64 }

// polyline is one curve in pixel coordinates.
type polyline struct {
	color  color.RGBA
	faint  bool
	points []point
	// dots marks every point, for a sparse series (Series.Raw).
	dots bool
}

// legendEntry is the position of one series name. (x, y) is the left end of
// its color swatch, level with the middle of the text.
type legendEntry struct {
	name  string
	color color.RGBA
	x, y  float64
}

// positioned is a tick mapped to a pixel position along its axis.
type positioned struct {
	pixel float64
	label string
}

// layout is everything a renderer draws, in pixels.
type layout struct {
	width, height            int
	title, xLabel, yLabel    string
	left, top, right, bottom float64 // plot area
	xTicks, yTicks           []positioned
	lines                    []polyline // faint curves first, so solid ones draw on top
	legend                   []legendEntry
}

// textWidth estimates the width of s in pixels.
func textWidth(s string) float64 { return float64(len([]rune(s)) * charWidth) }

// build validates the chart and computes its layout.
func (c Chart) build() (*layout, error) {
	width, height, err := c.validate()
	if err != nil {
		return nil, err
	}
	series, err := c.prepare()
	if err != nil {
		return nil, err
	}
	l := &layout{width: width, height: height, title: c.Title, xLabel: c.XLabel, yLabel: c.YLabel}

	xLo, xHi, yLo, yHi := dataRange(series)
	xLo, xHi, xTicks := linearTicks(xLo, xHi, max(3, width/90))
	var yTicks []tick
	if c.LogY {
		yLo, yHi, yTicks = logTicks(yLo, yHi, max(3, height/50))
	} else {
		yLo, yHi, yTicks = linearTicks(yLo, yHi, max(3, height/60))
	}

	// The left margin fits the widest Y tick label and the rotated Y label.
	// The top margin fits the title and the legend rows.
	labelWidth := 0.0
	for _, t := range yTicks {
		labelWidth = math.Max(labelWidth, textWidth(t.label))
	}
	l.left = 12 + labelWidth + tickLength + 4
	if c.YLabel != "" {
		l.left += lineHeight + 8
	}
	l.right = float64(width) - 20
	l.top = 10
	if c.Title != "" {
		l.top += titleHeight
	}
	l.legend = placeLegend(series, l.left, l.right, l.top)
	l.top += float64(legendRows(l.legend, l.top)*legendRow) + 6
	l.bottom = float64(height) - (tickLength + lineHeight + 12)
	if c.XLabel != "" {
		l.bottom -= lineHeight + 6
	}

	mapX := func(x float64) float64 { return l.left + (x-xLo)/(xHi-xLo)*(l.right-l.left) }
	mapY := func(y float64) float64 { return l.bottom - (y-yLo)/(yHi-yLo)*(l.bottom-l.top) }
	for _, t := range xTicks {
		l.xTicks = append(l.xTicks, positioned{mapX(t.value), t.label})
	}
	for _, t := range yTicks {
		l.yTicks = append(l.yTicks, positioned{mapY(t.value), t.label})
	}

	var faint, solid []polyline
	for _, s := range series {
		raw := polyline{color: s.color, points: mapPoints(s.x, s.y, mapX, mapY), dots: s.raw}
		if s.smoothed == nil {
			solid = append(solid, raw)
			continue
		}
		raw.faint = true
		faint = append(faint, raw)
		solid = append(solid, polyline{color: s.color, points: mapPoints(s.x, s.smoothed, mapX, mapY)})
	}
	l.lines = append(faint, solid...)
	return l, nil
}

// dataRange returns the extent of all drawable points.
func dataRange(series []dataSeries) (xLo, xHi, yLo, yHi float64) {
	xLo, yLo = math.Inf(1), math.Inf(1)
	xHi, yHi = math.Inf(-1), math.Inf(-1)
	for _, s := range series {
		for k := range s.x {
			xLo, xHi = math.Min(xLo, s.x[k]), math.Max(xHi, s.x[k])
			yLo, yHi = math.Min(yLo, s.y[k]), math.Max(yHi, s.y[k])
		}
	}
	return xLo, xHi, yLo, yHi
}

// placeLegend lays the legend entries out in rows starting at (left, top),
// wrapping before an entry would pass right.
func placeLegend(series []dataSeries, left, right, top float64) []legendEntry {
	var entries []legendEntry
	x, y := left, top+legendRow/2
	for _, s := range series {
		w := swatchWidth + 6 + textWidth(s.name)
		if x > left && x+w > right {
			x, y = left, y+legendRow
		}
		entries = append(entries, legendEntry{name: s.name, color: s.color, x: x, y: y})
		x += w + legendGap
	}
	return entries
}

// legendRows returns how many rows the legend entries use.
func legendRows(entries []legendEntry, top float64) int {
	if len(entries) == 0 {
		return 0
	}
	return int(math.Round((entries[len(entries)-1].y-top-legendRow/2)/legendRow)) + 1
}

// mapPoints converts data points to pixels. When there are many more points
// than pixel columns, each column keeps only its first, lowest, highest and
// last point (in input order), which preserves the drawn envelope.
func mapPoints(xs, ys []float64, mapX, mapY func(float64) float64) []point {
	points := make([]point, len(xs))
	for k := range xs {
		points[k] = point{mapX(xs[k]), mapY(ys[k])}
	}
	if len(points) < 4*1024 {
		return points
	}

	var reduced []point
	start := 0
	for start < len(points) {
		column := math.Floor(points[start].x)
		end := start + 1
		for end < len(points) && math.Floor(points[end].x) == column {
			end++
		}
		low, high := start, start
		for k := start; k < end; k++ {
			if points[k].y < points[low].y {
				low = k
			}
			if points[k].y > points[high].y {
				high = k
			}
		}
		for _, k := range sortedUnique(start, low, high, end-1) {
			reduced = append(reduced, points[k])
		}
		start = end
	}
	return reduced
}

// sortedUnique returns the distinct values of indices in increasing order.
func sortedUnique(indices ...int) []int {
	var out []int
	for _, v := range indices {
		pos := 0
		for pos < len(out) && out[pos] < v {
			pos++
		}
		if pos < len(out) && out[pos] == v {
			continue
		}
		out = append(out[:pos], append([]int{v}, out[pos:]...)...)
	}
	return out
}
