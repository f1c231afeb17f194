package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/catsynth/catsynth/repo"
)

// writeImage encodes img as PNG, or as JPEG when path ends in .jpg or .jpeg.
func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jpg", ".jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100})
	default:
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatalf("encode %s: %v", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// uniformRGB returns a w x h opaque RGBA image of one color.
func uniformRGB(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// toFloat maps an 8-bit value to the [-1, 1] scale that Load uses.
func toFloat(v uint8) float32 { return float32(v)/127.5 - 1 }

func TestLoadRealGrumpy(t *testing.T) {
	root, err := Root("")
	if err != nil {
		t.Skipf("no data root found, so the real cat folders are not tested (set %s): %v", EnvVar, err)
	}
	tests := []struct {
		dir  string
		want int
	}{
		{GrumpyDir, 204},
		{RussianBlueDir, 75},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			images, err := Load(filepath.Join(root, tt.dir), 64)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := images.Len(); got != tt.want {
				t.Errorf("Len() = %d, want %d", got, tt.want)
			}
			if got, want := len(images.Pixels), tt.want*64*64*3; got != want {
				t.Errorf("len(Pixels) = %d, want %d", got, want)
			}
			if got := len(images.Files); got != tt.want {
				t.Errorf("len(Files) = %d, want %d", got, tt.want)
			}
			if images.Files[0] != "0.png" || images.Files[2] != "2.png" {
				t.Errorf("Files starts with %v, want 0.png, 1.png, 2.png", images.Files[:3])
			}
			lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
			for _, v := range images.Pixels {
				lo, hi = min(lo, v), max(hi, v)
			}
			if lo < -1 || hi > 1 {
				t.Errorf("values span [%g, %g], want within [-1, 1]", lo, hi)
			}
			if hi-lo < 1 {
				t.Errorf("values span only [%g, %g], want real image contrast", lo, hi)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	mkdir := func(name string) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	empty := mkdir("empty")
	readmeOnly := mkdir("readme")
	write(filepath.Join(readmeOnly, "README.txt"), []byte("cats go here"))
	notFolder := filepath.Join(dir, "file.png")
	write(notFolder, []byte("x"))

	corrupt := mkdir("corrupt")
	noise := make([]byte, 500)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.IntN(256))
	}
	write(filepath.Join(corrupt, "0.png"), noise)

	truncated := mkdir("truncated")
	var buf bytes.Buffer
	if err := png.Encode(&buf, uniformRGB(64, 64, color.RGBA{1, 2, 3, 255})); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(truncated, "0.png"), buf.Bytes()[:buf.Len()/2])

	tests := []struct {
		name string
		dir  string
		size int
		want []string // substrings of the error message
	}{
		{"missing folder", filepath.Join(dir, "nope"), 64, []string{"not found", filepath.Join(dir, "nope"), EnvVar, GrumpyDir}},
		{"not a folder", notFolder, 64, []string{"not a folder", notFolder}},
		{"empty folder", empty, 64, []string{"no .png, .jpg or .jpeg files", empty, EnvVar}},
		{"only README", readmeOnly, 64, []string{"no .png, .jpg or .jpeg files", "1 other entries skipped", readmeOnly}},
		{"corrupt png", corrupt, 64, []string{filepath.Join(corrupt, "0.png"), "corrupt", "remove or replace"}},
		{"truncated png", truncated, 64, []string{filepath.Join(truncated, "0.png"), "corrupt"}},
		{"zero size", empty, 0, []string{"invalid image size 0"}},
		{"negative size", empty, -3, []string{"invalid image size -3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images, err := Load(tt.dir, tt.size)
			if err == nil {
				t.Fatalf("Load(%q, %d) = %d images, want an error", tt.dir, tt.size, images.Len())
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "dataset: ") {
				t.Errorf("error %q lacks the prefix %q", msg, "dataset: ")
			}
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
		})
	}
}

func TestLoadConversions(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 9, 5))
	for i := range gray.Pix {
		gray.Pix[i] = 100
	}
	gray16 := image.NewGray16(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(gray16.Pix); i += 2 {
		gray16.Pix[i], gray16.Pix[i+1] = 0xAB, 0xCD // big-endian 0xABCD
	}
	rgba64 := image.NewRGBA64(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			rgba64.SetRGBA64(x, y, color.RGBA64{0x1000, 0x8000, 0xFF00, 0xFFFF})
		}
	}
	// NRGBA stores straight alpha: 51/255 of (200, 100, 50) over black is (40, 20, 10).
	nrgba := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			nrgba.SetNRGBA(x, y, color.NRGBA{200, 100, 50, 51})
		}
	}
	// Fully transparent pixels become black, whatever their stored color.
	clear := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			clear.SetNRGBA(x, y, color.NRGBA{200, 100, 50, 0})
		}
	}
	// RGBA stores premultiplied values, which already are the color over black.
	// With alpha 85 = 255/3 they survive PNG's straight-alpha storage exactly.
	premultiplied := uniformRGB(20, 20, color.RGBA{60, 20, 10, 85})
	paletted := image.NewPaletted(image.Rect(0, 0, 7, 7), color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{10, 20, 30, 255}})
	for i := range paletted.Pix {
		paletted.Pix[i] = 1
	}

	tests := []struct {
		file      string
		img       image.Image
		want      [3]uint8
		tolerance float32 // in 8-bit steps
	}{
		{"gray.png", gray, [3]uint8{100, 100, 100}, 0},
		{"gray16.png", gray16, [3]uint8{0xAB, 0xAB, 0xAB}, 0},
		{"rgba64.png", rgba64, [3]uint8{0x10, 0x80, 0xFF}, 0},
		{"nrgba.png", nrgba, [3]uint8{40, 20, 10}, 0},
		{"transparent.png", clear, [3]uint8{0, 0, 0}, 0},
		{"rgba.png", premultiplied, [3]uint8{60, 20, 10}, 0},
		{"paletted.png", paletted, [3]uint8{10, 20, 30}, 0},
		// JPEG is lossy and rounds through YCbCr, so allow a few steps.
		{"photo.jpg", uniformRGB(40, 24, color.RGBA{180, 90, 30, 255}), [3]uint8{180, 90, 30}, 3},
		{"upper.JPEG", uniformRGB(70, 70, color.RGBA{30, 90, 180, 255}), [3]uint8{30, 90, 180}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dir := t.TempDir()
			writeImage(t, filepath.Join(dir, tt.file), tt.img)
			images, err := Load(dir, 8)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := images.Len(); got != 1 {
				t.Fatalf("Len() = %d, want 1", got)
			}
			if got, want := len(images.Pixels), 8*8*3; got != want {
				t.Fatalf("len(Pixels) = %d, want %d", got, want)
			}
			for i, got := range images.Pixels {
				want := toFloat(tt.want[i%3])
				if diff := math.Abs(float64(got - want)); diff > float64(tt.tolerance/127.5+1e-6) {
					t.Fatalf("Pixels[%d] (channel %d) = %g, want %g (8-bit %d)", i, i%3, got, want, tt.want[i%3])
				}
			}
		})
	}
}

func TestLoadResizeKeepsLayout(t *testing.T) {
	// Left half black, right half white: after halving, the left column must
	// stay black and the right column white, which also checks the x axis is
	// not mirrored or transposed.
	img := uniformRGB(128, 96, color.RGBA{0, 0, 0, 255})
	for y := 0; y < 96; y++ {
		for x := 64; x < 128; x++ {
			img.SetRGBA(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "half.png"), img)
	images, err := Load(dir, 64)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	pixels := images.Image(0)
	for y := 0; y < 64; y++ {
		if got := pixels[(y*64+0)*3]; got != -1 {
			t.Fatalf("pixel (x=0, y=%d) = %g, want -1 (black)", y, got)
		}
		if got := pixels[(y*64+63)*3]; got != 1 {
			t.Fatalf("pixel (x=63, y=%d) = %g, want 1 (white)", y, got)
		}
	}
}

func TestLoadOrderAndSkipped(t *testing.T) {
	dir := t.TempDir()
	names := []string{"10.png", "2.png", "1.png", "b.png", "a10.jpg", "a2.jpeg", "0.PNG"}
	for i, name := range names {
		// The red channel encodes the position in names, to check pixels follow Files.
		writeImage(t, filepath.Join(dir, name), uniformRGB(4, 4, color.RGBA{uint8(20 * i), 0, 0, 255}))
	}
	for _, name := range []string{"README.txt", ".hidden.png", "notes"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.png"), 0o755); err != nil {
		t.Fatal(err)
	}

	images, err := Load(dir, 4)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantFiles := []string{"0.PNG", "1.png", "2.png", "10.png", "a2.jpeg", "a10.jpg", "b.png"}
	if !reflect.DeepEqual(images.Files, wantFiles) {
		t.Errorf("Files = %v, want %v", images.Files, wantFiles)
	}
	for i, file := range images.Files {
		index := -1
		for k, name := range names {
			if name == file {
				index = k
			}
		}
		// JPEG may shift the value by a step or two.
		if got, want := images.Image(i)[0], toFloat(uint8(20*index)); math.Abs(float64(got-want)) > 3/127.5 {
			t.Errorf("image %d (%s) red = %g, want %g", i, file, got, want)
		}
	}
	wantSkipped := []string{
		".hidden.png: hidden file",
		"README.txt: not a .png, .jpg or .jpeg file",
		"notes: not a .png, .jpg or .jpeg file",
		"sub.png: subfolder",
	}
	if !reflect.DeepEqual(images.Skipped, wantSkipped) {
		t.Errorf("Skipped = %q, want %q", images.Skipped, wantSkipped)
	}
	if images.Dir != dir {
		t.Errorf("Dir = %q, want %q", images.Dir, dir)
	}
}

func TestSortNatural(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"10.png", "2.png", "1.png"}, []string{"1.png", "2.png", "10.png"}},
		{[]string{"cat100", "cat20", "cat3", "bat"}, []string{"bat", "cat3", "cat20", "cat100"}},
		{[]string{"07.png", "7.png", "6.png"}, []string{"6.png", "07.png", "7.png"}},
		{[]string{"a", "a1", ""}, []string{"", "a", "a1"}},
		{[]string{"x1y10", "x1y9", "x01y9z"}, []string{"x1y9", "x01y9z", "x1y10"}},
	}
	for _, tt := range tests {
		got := append([]string(nil), tt.in...)
		sortNatural(got)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("sortNatural(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRootOrder(t *testing.T) {
	t.Setenv(EnvVar, "/from/env")
	if got, err := Root("/explicit"); err != nil || got != "/explicit" {
		t.Errorf("Root(%q) = %q, %v, want %q", "/explicit", got, err, "/explicit")
	}
	if got, err := Root(""); err != nil || got != "/from/env" {
		t.Errorf("Root(\"\") with %s set = %q, %v, want %q", EnvVar, got, err, "/from/env")
	}
}

func TestRootRepositoryFallback(t *testing.T) {
	t.Setenv(EnvVar, "")
	root, ok := repo.FindModuleRoot(".")
	if !ok {
		t.Fatalf("repo.FindModuleRoot(\".\") found no catsynth go.mod above the package folder")
	}
	if _, err := os.Stat(filepath.Join(root, "dataset", "root.go")); err != nil {
		t.Fatalf("repo.FindModuleRoot returned %s, which has no dataset/root.go: %v", root, err)
	}

	got, err := Root("")
	data := filepath.Join(root, "data")
	if info, statErr := os.Stat(data); statErr == nil && info.IsDir() {
		if err != nil || got != data {
			t.Errorf("Root(\"\") = %q, %v, want %q", got, err, data)
		}
		return
	}
	if err == nil {
		t.Fatalf("Root(\"\") = %q, want an error because %s does not exist", got, data)
	}
	for _, want := range []string{EnvVar, data, GrumpyDir, RussianBlueDir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
