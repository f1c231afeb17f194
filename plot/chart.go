// Package plot draws line charts of training losses as SVG or PNG, offline:
// the output embeds everything it needs (no scripts, web fonts or links), so
// it shows inline in a Jupyter notebook without network access.
//
// A [Chart] has one or more [Series]. Points whose X or Y is NaN or ±Inf are
// skipped (the line joins their neighbors), and so are points with Y <= 0
// when the Y axis is logarithmic. Axes span whole tick steps around the data
// and a legend above the plot names every series.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"
)

// Series is one curve: Y[i] is plotted against X[i]. X and Y must have the
// same length. X need not be sorted, because the line follows the given order.
type Series struct {
	Name string
	X, Y []float64
	// Raw draws the series unsmoothed whatever the chart's Smooth, with a
	// dot at each point, for a sparse series such as a held-out evaluation
	// every few hundred iterations, which an average over its few points
	// would drag behind.
	Raw bool
}

// Chart is a line chart. The zero values of Width, Height, Smooth and LogY
// give a 640x360 chart of the raw values on a linear Y axis.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	// Width and Height are the image size in pixels, and 0 means 640 and 360.
	// Each must be at least 160 and 120 and at most 8000.
	Width, Height int
	// Smooth is the weight w of an exponential moving average, in [0, 1):
	// s[0] = y[0] and s[i] = w*s[i-1] + (1-w)*y[i]. With 0 the raw curve is
	// drawn. Above 0 the raw curve is drawn faint and the smoothed one solid,
	// except for series marked Raw, which are drawn solid as they are.
	// On a log axis the average is taken over log10(y).
	Smooth float64
	// LogY makes the Y axis logarithmic (base 10).
	LogY bool
}

// Default and limit sizes in pixels.
const (
	DefaultWidth  = 640
	DefaultHeight = 360
	minWidth      = 160
	minHeight     = 120
	maxSize       = 8000
)

// palette is the list of series colors, reused in order after the tenth series.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // gray
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

// dataSeries is a series reduced to its drawable points, with Y already on the axis scale.
type dataSeries struct {
	name     string
	color    color.RGBA
	x, y     []float64
	smoothed []float64 // nil when Smooth is 0 or the series is Raw
	raw      bool      // Series.Raw
}

// validate checks the chart settings and returns the width and height to use.
func (c Chart) validate() (width, height int, err error) {
	if len(c.Series) == 0 {
		return 0, 0, errors.New("plot: the chart has no series: add at least one Series")
	}
	for i, s := range c.Series {
		if len(s.X) != len(s.Y) {
			return 0, 0, fmt.Errorf("plot: series %d (%q) has %d X values and %d Y values, but they must have the same length",
				i, s.Name, len(s.X), len(s.Y))
		}
	}
	if !(c.Smooth >= 0 && c.Smooth < 1) {
		return 0, 0, fmt.Errorf("plot: invalid Smooth %g: it must be in [0, 1), and 0 turns smoothing off", c.Smooth)
	}
	width, height = c.Width, c.Height
	if width == 0 {
		width = DefaultWidth
	}
	if height == 0 {
		height = DefaultHeight
	}
	if width < minWidth || height < minHeight || width > maxSize || height > maxSize {
		return 0, 0, fmt.Errorf("plot: invalid size %dx%d: the width must be in [%d, %d] and the height in [%d, %d] (0 selects %dx%d)",
			width, height, minWidth, maxSize, minHeight, maxSize, DefaultWidth, DefaultHeight)
	}
	return width, height, nil
}

// HasPoints reports whether some series of the chart has a point to draw,
// without which SVG and PNG return an error.
func (c Chart) HasPoints() bool {
	_, err := c.prepare()
	return err == nil
}

// prepare keeps the drawable points of every series and smooths them.
// It returns an error if no series has a drawable point.
func (c Chart) prepare() ([]dataSeries, error) {
	var out []dataSeries
	total := 0
	for i, s := range c.Series {
		d := dataSeries{name: s.Name, color: palette[i%len(palette)], raw: s.Raw}
		if d.name == "" {
			d.name = fmt.Sprintf("series %d", i+1)
		}
		for k := range s.X {
			x, y := s.X[k], s.Y[k]
			if c.LogY {
				if y <= 0 {
					continue
				}
				y = math.Log10(y)
			}
			if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			d.x = append(d.x, x)
			d.y = append(d.y, y)
		}
		if c.Smooth > 0 && !s.Raw && len(d.y) > 0 {
			d.smoothed = make([]float64, len(d.y))
			d.smoothed[0] = d.y[0]
			for k := 1; k < len(d.y); k++ {
				d.smoothed[k] = c.Smooth*d.smoothed[k-1] + (1-c.Smooth)*d.y[k]
			}
		}
		total += len(d.x)
		out = append(out, d)
	}
	if total == 0 {
		kind := "finite"
		if c.LogY {
			kind = "finite, positive"
		}
		return nil, fmt.Errorf("plot: the chart has no %s points to draw", kind)
	}
	return out, nil
}
