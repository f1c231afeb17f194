package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"reflect"
	"strings"
	"testing"
)

// svgElement is the subset of an SVG element the tests inspect.
type svgElement struct {
	name  string
	attrs map[string]string
	text  string
}

// parseSVG decodes data as XML and returns its elements in document order.
func parseSVG(t *testing.T, data []byte) []svgElement {
	t.Helper()
	decoder := xml.NewDecoder(bytes.NewReader(data))
	var elements []svgElement
	var open []int
	for {
		token, err := decoder.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("SVG is not valid XML: %v", err)
		}
		switch tok := token.(type) {
		case xml.StartElement:
			e := svgElement{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			elements = append(elements, e)
			open = append(open, len(elements)-1)
		case xml.CharData:
			if len(open) > 0 {
				elements[open[len(open)-1]].text += string(tok)
			}
		case xml.EndElement:
			open = open[:len(open)-1]
		}
	}
	return elements
}

func elementsNamed(elements []svgElement, name string) []svgElement {
	var out []svgElement
	for _, e := range elements {
		if e.name == name {
			out = append(out, e)
		}
	}
	return out
}

func texts(elements []svgElement) []string {
	var out []string
	for _, e := range elementsNamed(elements, "text") {
		out = append(out, e.text)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestSVGStructure(t *testing.T) {
	tests := []struct {
		name          string
		smooth        float64
		wantPolylines int
		wantFaint     int
	}{
		{"raw", 0, 2, 0},
		{"smoothed", 0.8, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chart := sampleChart(200)
			chart.Smooth = tt.smooth
			data, err := chart.SVG()
			if err != nil {
				t.Fatalf("SVG: %v", err)
			}
			elements := parseSVG(t, data)
			if elements[0].name != "svg" || elements[0].attrs["width"] != "640" || elements[0].attrs["height"] != "360" {
				t.Errorf("root element = %s %v, want svg of width 640 and height 360", elements[0].name, elements[0].attrs)
			}
			polylines := elementsNamed(elements, "polyline")
			if len(polylines) != tt.wantPolylines {
				t.Errorf("%d polylines, want %d", len(polylines), tt.wantPolylines)
			}
			faint := 0
			colors := map[string]bool{}
			for _, p := range polylines {
				if p.attrs["stroke-opacity"] != "1" {
					faint++
				}
				colors[p.attrs["stroke"]] = true
			}
			if faint != tt.wantFaint {
				t.Errorf("%d faint polylines, want %d", faint, tt.wantFaint)
			}
			if len(colors) != 2 {
				t.Errorf("polyline colors %v, want 2 distinct colors", colors)
			}
			labels := texts(elements)
			for _, want := range []string{"generator", "discriminator", "DCGAN losses", "step", "loss"} {
				if !contains(labels, want) {
					t.Errorf("text elements %q lack %q", labels, want)
				}
			}
			text := string(data)
			if strings.Contains(strings.ToLower(text), "<script") {
				t.Errorf("SVG contains a script element")
			}
			if n := strings.Count(text, "http"); n != 1 || !strings.Contains(text, `xmlns="http://www.w3.org/2000/svg"`) {
				t.Errorf("SVG mentions http %d times, want only the SVG namespace", n)
			}
		})
	}
}

func TestSVGSkipsNonFinitePoints(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	chart := Chart{Series: []Series{{
		Name: "d_loss",
		X:    []float64{0, 1, 2, 3, nan, 5},
		Y:    []float64{1, nan, 3, -inf, 2, 4},
	}}}
	data, err := chart.SVG()
	if err != nil {
		t.Fatalf("SVG: %v", err)
	}
	polylines := elementsNamed(parseSVG(t, data), "polyline")
	if len(polylines) != 1 {
		t.Fatalf("%d polylines, want 1", len(polylines))
	}
	// Points 0, 2 and 5 are finite in both coordinates.
	if got := len(strings.Fields(polylines[0].attrs["points"])); got != 3 {
		t.Errorf("polyline has %d points, want 3: %q", got, polylines[0].attrs["points"])
	}
}

func TestSVGEscapesText(t *testing.T) {
	chart := Chart{Title: `G & D <"loss">`, Series: []Series{{Name: "a<b", X: []float64{0, 1}, Y: []float64{1, 2}}}}
	data, err := chart.SVG()
	if err != nil {
		t.Fatalf("SVG: %v", err)
	}
	labels := texts(parseSVG(t, data))
	for _, want := range []string{`G & D <"loss">`, "a<b"} {
		if !contains(labels, want) {
			t.Errorf("text elements %q lack %q", labels, want)
		}
	}
}

func TestLogYSkipsNonPositive(t *testing.T) {
	chart := Chart{LogY: true, Series: []Series{{X: []float64{0, 1, 2, 3}, Y: []float64{0.01, 0, -1, 10}}}}
	data, err := chart.SVG()
	if err != nil {
		t.Fatalf("SVG: %v", err)
	}
	elements := parseSVG(t, data)
	polylines := elementsNamed(elements, "polyline")
	if got := len(strings.Fields(polylines[0].attrs["points"])); got != 2 {
		t.Errorf("polyline has %d points, want 2 (y = 0.01 and 10)", got)
	}
	labels := texts(elements)
	for _, want := range []string{"0.01", "0.1", "1", "10", "series 1"} {
		if !contains(labels, want) {
			t.Errorf("text elements %q lack %q", labels, want)
		}
	}
}

func TestPNG(t *testing.T) {
	tests := []struct {
		name          string
		width, height int
	}{
		{"default size", 0, 0},
		{"custom size", 300, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chart := sampleChart(300)
			chart.Width, chart.Height, chart.Smooth = tt.width, tt.height, 0.6
			data, err := chart.PNG()
			if err != nil {
				t.Fatalf("PNG: %v", err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			wantW, wantH := max(tt.width, DefaultWidth*btoi(tt.width == 0)), max(tt.height, DefaultHeight*btoi(tt.height == 0))
			if got := img.Bounds(); got != image.Rect(0, 0, wantW, wantH) {
				t.Fatalf("bounds = %v, want %dx%d", got, wantW, wantH)
			}
			// Both series colors must appear at full strength on some pixels.
			for i := range 2 {
				if n := countColor(img, palette[i]); n < 50 {
					t.Errorf("series %d color %v covers %d pixels, want at least 50", i, palette[i], n)
				}
			}
			if n := countColor(img, textColor); n < 100 {
				t.Errorf("text color covers %d pixels, want at least 100 (labels drawn)", n)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// countColor counts the pixels of img within 8 levels of c on every channel.
func countColor(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if absDiff(p.R, c.R) <= 8 && absDiff(p.G, c.G) <= 8 && absDiff(p.B, c.B) <= 8 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestChartErrors(t *testing.T) {
	ok := Series{Name: "ok", X: []float64{0, 1}, Y: []float64{1, 2}}
	nan := math.NaN()
	tests := []struct {
		name  string
		chart Chart
		want  string
	}{
		{"no series", Chart{}, "no series"},
		{"length mismatch", Chart{Series: []Series{ok, {Name: "bad", X: []float64{0, 1, 2}, Y: []float64{1}}}}, `series 1 ("bad") has 3 X values and 1 Y values`},
		{"only NaN", Chart{Series: []Series{{X: []float64{0, 1}, Y: []float64{nan, nan}}}}, "no finite points"},
		{"empty series", Chart{Series: []Series{{Name: "empty"}}}, "no finite points"},
		{"log of non-positive", Chart{LogY: true, Series: []Series{{X: []float64{0}, Y: []float64{0}}}}, "no finite, positive points"},
		{"smooth 1", Chart{Smooth: 1, Series: []Series{ok}}, "invalid Smooth 1"},
		{"negative smooth", Chart{Smooth: -0.5, Series: []Series{ok}}, "invalid Smooth -0.5"},
		{"NaN smooth", Chart{Smooth: nan, Series: []Series{ok}}, "invalid Smooth NaN"},
		{"tiny", Chart{Width: 50, Height: 40, Series: []Series{ok}}, "invalid size 50x40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.chart.SVG(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SVG error = %v, want one containing %q", err, tt.want)
			}
			if _, err := tt.chart.PNG(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PNG error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		lo, hi     float64
		target     int
		wantLo     float64
		wantHi     float64
		wantLabels []string
	}{
		// Span 9.3 rounds up to 10, and 10/5 = 2 is already round.
		{0, 9.3, 6, 0, 10, []string{"0", "2", "4", "6", "8", "10"}},
		// Span 0.17 rounds up to 0.2, and 0.2/4 = 0.05.
		{0.61, 0.78, 5, 0.6, 0.8, []string{"0.60", "0.65", "0.70", "0.75", "0.80"}},
		// Negative values: span 3 rounds up to 5, and 5/4 = 1.25 rounds to 1.
		{-2.2, 0.8, 5, -3, 1, []string{"-3", "-2", "-1", "0", "1"}},
		// A constant 5 is padded by 10% to [4.5, 5.5]: span 1, step 0.5.
		{5, 5, 3, 4.5, 5.5, []string{"4.5", "5.0", "5.5"}},
	}
	for _, tt := range tests {
		lo, hi, ticks := linearTicks(tt.lo, tt.hi, tt.target)
		var labels []string
		for _, tk := range ticks {
			labels = append(labels, tk.label)
		}
		if math.Abs(lo-tt.wantLo) > 1e-9 || math.Abs(hi-tt.wantHi) > 1e-9 || !reflect.DeepEqual(labels, tt.wantLabels) {
			t.Errorf("linearTicks(%g, %g, %d) = [%g, %g] %q, want [%g, %g] %q",
				tt.lo, tt.hi, tt.target, lo, hi, labels, tt.wantLo, tt.wantHi, tt.wantLabels)
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi     float64 // log10 of the data range
		wantLabels []string
	}{
		{-2.5, 0.3, []string{"0.001", "0.01", "0.1", "1", "10"}},
		{-0.7, 0.4, []string{"0.1", "0.2", "0.5", "1", "2", "5", "10"}},
		{5.2, 6.5, []string{"100000", "200000", "500000", "1e6", "2e6", "5e6", "1e7"}},
	}
	for _, tt := range tests {
		_, _, ticks := logTicks(tt.lo, tt.hi, 6)
		var labels []string
		for _, tk := range ticks {
			labels = append(labels, tk.label)
		}
		if !reflect.DeepEqual(labels, tt.wantLabels) {
			t.Errorf("logTicks(%g, %g) labels = %q, want %q", tt.lo, tt.hi, labels, tt.wantLabels)
		}
	}
}

func TestSmoothing(t *testing.T) {
	chart := Chart{Smooth: 0.5, Series: []Series{{X: []float64{0, 1, 2, 3}, Y: []float64{0, 4, math.NaN(), 4}}}}
	series, err := chart.prepare()
	if err != nil {
		t.Fatal(err)
	}
	// s0 = 0, s1 = 0.5*0 + 0.5*4 = 2, the NaN point is dropped, s2 = 0.5*2 + 0.5*4 = 3.
	if want := []float64{0, 2, 3}; !reflect.DeepEqual(series[0].smoothed, want) {
		t.Errorf("smoothed = %v, want %v", series[0].smoothed, want)
	}

	chart.Series = append(chart.Series, Series{X: []float64{0, 2}, Y: []float64{5, 1}, Raw: true})
	series, err = chart.prepare()
	if err != nil {
		t.Fatal(err)
	}
	if series[1].smoothed != nil {
		t.Errorf("the Raw series was smoothed to %v", series[1].smoothed)
	}
	if series[0].smoothed == nil {
		t.Error("the other series lost its smoothing")
	}
}

func TestManyPointsKeepExtremes(t *testing.T) {
	const n = 50000
	s := Series{Name: "spiky", X: make([]float64, n), Y: make([]float64, n)}
	for i := range n {
		s.X[i] = float64(i)
		s.Y[i] = 1
	}
	s.Y[12345] = 100 // one spike that must survive point reduction

	data, err := Chart{Series: []Series{s}}.SVG()
	if err != nil {
		t.Fatal(err)
	}

	points := strings.Fields(elementsNamed(parseSVG(t, data), "polyline")[0].attrs["points"])
	if len(points) > 4*DefaultWidth {
		t.Errorf("polyline has %d points, want at most %d for a %d-pixel-wide chart", len(points), 4*DefaultWidth, DefaultWidth)
	}
	minY := math.Inf(1)
	for _, p := range points {
		var x, y float64
		if _, err := fmt.Sscanf(p, "%g,%g", &x, &y); err != nil {
			t.Fatalf("bad point %q: %v", p, err)
		}
		minY = math.Min(minY, y)
	}

	// The spike is the highest value, so it is the smallest pixel y: the top of the plot area.
	layout, err := Chart{Series: []Series{s}}.build()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(minY-layout.top) > 0.01 {
		t.Errorf("highest drawn point at y = %g, want the spike at the plot top %g", minY, layout.top)
	}
}

// TestRawSeriesHasDots draws a smoothed series and a Raw one of 3 points
// each: the SVG must mark the 3 points of the Raw series only.
func TestRawSeriesHasDots(t *testing.T) {
	chart := Chart{Smooth: 0.5, Series: []Series{
		{Name: "train", X: []float64{0, 1, 2}, Y: []float64{3, 2, 1}},
		{Name: "test", X: []float64{0, 1, 2}, Y: []float64{3, 2.5, 2}, Raw: true},
	}}
	svg, err := chart.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(svg), "<circle"); got != 3 {
		t.Errorf("the SVG has %d dots, want 3: one per point of the Raw series", got)
	}
}
