package imgrid

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var gray = PaddingColor

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 255} }

func TestGridGrayLayout(t *testing.T) {
	// Three 1x2 gray images in 2 columns: 2 rows, so the grid is
	// (2*2 + 2) x (2*1 + 2) = 6x4 with the last cell empty.
	pixels := []float32{
		-1, 1, // image 0: black, white
		0, 0.5, // image 1: round(127.5) = 128, round(191.25) = 191
		1, -1, // image 2
	}
	img, err := Grid(pixels, 3, 1, 2, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds(), image.Rect(0, 0, 6, 4); got != want {
		t.Fatalf("bounds = %v, want %v", got, want)
	}
	want := [4][6]color.RGBA{
		{rgb(0, 0, 0), rgb(255, 255, 255), gray, gray, rgb(128, 128, 128), rgb(191, 191, 191)},
		{gray, gray, gray, gray, gray, gray},
		{gray, gray, gray, gray, gray, gray},
		{rgb(255, 255, 255), rgb(0, 0, 0), gray, gray, gray, gray},
	}
	for y := 0; y < 4; y++ {
		for x := 0; x < 6; x++ {
			if got := img.RGBAAt(x, y); got != want[y][x] {
				t.Errorf("pixel (%d, %d) = %v, want %v", x, y, got, want[y][x])
			}
		}
	}
}

func TestGridRGBClamping(t *testing.T) {
	nan := float32(math.NaN())
	pixels := []float32{
		-1, 0, 1, // in range
		2, -3, 0.999, // clamped high, clamped low, round(254.87) = 255
		nan, -0.5, 1e9, // NaN is black, round(63.75) = 64
	}
	img, err := Grid(pixels, 1, 1, 3, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds(), image.Rect(0, 0, 3, 1); got != want {
		t.Fatalf("bounds = %v, want %v (one column because n < cols)", got, want)
	}
	want := []color.RGBA{rgb(0, 128, 255), rgb(255, 0, 255), rgb(0, 64, 255)}
	for x, w := range want {
		if got := img.RGBAAt(x, 0); got != w {
			t.Errorf("pixel (%d, 0) = %v, want %v", x, got, w)
		}
	}
}

func TestPairs(t *testing.T) {
	inputs := []float32{-1, -1, -1, 1, 1, 1}   // two 1x1 RGB images: black, white
	outputs := []float32{1, -1, -1, -1, 1, -1} // red, green
	img, err := Pairs(inputs, outputs, 2, 1, 1, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	// One pair per row: width 2, height 1 + 2 + 1.
	if got, want := img.Bounds(), image.Rect(0, 0, 2, 4); got != want {
		t.Fatalf("bounds = %v, want %v", got, want)
	}
	checks := []struct {
		x, y int
		want color.RGBA
	}{
		{0, 0, rgb(0, 0, 0)}, {1, 0, rgb(255, 0, 0)},
		{0, 1, gray}, {1, 2, gray},
		{0, 3, rgb(255, 255, 255)}, {1, 3, rgb(0, 255, 0)},
	}
	for _, c := range checks {
		if got := img.RGBAAt(c.x, c.y); got != c.want {
			t.Errorf("pixel (%d, %d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func TestPairsRowsInterleave(t *testing.T) {
	// A 2x1 gray input beside its output: each output row must follow the same input row.
	inputs := []float32{-1, 1}
	outputs := []float32{0, 0.5}
	img, err := Pairs(inputs, outputs, 1, 2, 1, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := [2][2]uint8{{0, 128}, {255, 191}}
	for y := 0; y < 2; y++ {
		for x := 0; x < 2; x++ {
			if got := img.RGBAAt(x, y).R; got != want[y][x] {
				t.Errorf("pixel (%d, %d) = %d, want %d", x, y, got, want[y][x])
			}
		}
	}
}

func TestGridErrors(t *testing.T) {
	tests := []struct {
		name                            string
		length, n, h, w, channels, cols int
		want                            string
	}{
		{"length mismatch", 11, 1, 2, 2, 3, 1, "got 11 values, want"},
		{"two channels", 8, 1, 2, 2, 2, 1, "invalid channel count 2"},
		{"zero columns", 12, 1, 2, 2, 3, 0, "invalid column count 0"},
		{"zero images", 0, 0, 2, 2, 3, 1, "invalid image count 0"},
		{"zero height", 0, 1, 0, 2, 3, 1, "invalid image size 0x2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Grid(make([]float32, tt.length), tt.n, tt.h, tt.w, tt.channels, tt.cols)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "imgrid: ") {
				t.Errorf("Grid error = %v, want one starting with \"imgrid: \" and containing %q", err, tt.want)
			}
		})
	}
	_, err := Pairs(make([]float32, 3), make([]float32, 4), 1, 1, 1, 3, 1)
	if err == nil || !strings.Contains(err.Error(), "outputs: got 4 values") {
		t.Errorf("Pairs error = %v, want an error about 4 output values", err)
	}
}

func TestScale(t *testing.T) {
	src := image.NewRGBA(image.Rect(5, 5, 7, 6)) // 2x1 with a non-zero origin
	src.SetRGBA(5, 5, rgb(10, 20, 30))
	src.SetRGBA(6, 5, rgb(200, 100, 0))
	img := Scale(src, 3)
	if got, want := img.Bounds(), image.Rect(0, 0, 6, 3); got != want {
		t.Fatalf("bounds = %v, want %v", got, want)
	}
	for y := 0; y < 3; y++ {
		for x := 0; x < 6; x++ {
			want := rgb(10, 20, 30)
			if x >= 3 {
				want = rgb(200, 100, 0)
			}
			if got := img.RGBAAt(x, y); got != want {
				t.Errorf("pixel (%d, %d) = %v, want %v", x, y, got, want)
			}
		}
	}
	if got := Scale(src, 0).Bounds(); got != image.Rect(0, 0, 2, 1) {
		t.Errorf("Scale(src, 0) bounds = %v, want factor 1", got)
	}
}

func TestWritePNGRoundTrip(t *testing.T) {
	img, err := Grid([]float32{-1, 0, 1, 0.5, -0.5, 1}, 2, 1, 1, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "runs", "dcgan", "grid.png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("old content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WritePNG(path, img); err != nil {
		t.Fatalf("WritePNG: %v", err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode written PNG: %v", err)
	}
	if decoded.Bounds() != img.Bounds() {
		t.Fatalf("decoded bounds = %v, want %v", decoded.Bounds(), img.Bounds())
	}
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			got := color.RGBAModel.Convert(decoded.At(x, y)).(color.RGBA)
			if want := img.RGBAAt(x, y); got != want {
				t.Errorf("decoded pixel (%d, %d) = %v, want %v", x, y, got, want)
			}
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder contains %d entries, want only grid.png (no temporary files)", len(entries))
	}
	encoded, err := EncodePNG(img)
	if err != nil || !bytes.Equal(encoded, data) {
		t.Errorf("EncodePNG = %d bytes, %v, want the %d bytes WritePNG wrote", len(encoded), err, len(data))
	}
}

func TestWritePNGFailureLeavesNoFile(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	dir := t.TempDir()

	// The target is an existing folder, so the final rename fails.
	target := filepath.Join(dir, "taken")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WritePNG(target, img); err == nil {
		t.Fatalf("WritePNG over a folder succeeded, want an error")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder contains %d entries after a failed write, want 1 (the temporary file removed)", len(entries))
	}

	// The parent path is a file, so no folder can be created.
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WritePNG(filepath.Join(blocker, "grid.png"), img); err == nil {
		t.Errorf("WritePNG under a file succeeded, want an error")
	}
}
