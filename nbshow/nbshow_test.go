package nbshow

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/catsynth/catsynth/imgrid"
	"github.com/catsynth/catsynth/internal/testutil"
)

// red and blue fill the test pictures.
var (
	red  = color.RGBA{R: 255, A: 255}
	blue = color.RGBA{B: 255, A: 255}
)

func solid(width, height int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestTimelinePlacesFramesUnderCaptions(t *testing.T) {
	got, err := Timeline([]Frame{
		{Caption: "1", Image: solid(20, 10, red)},
		{Caption: "2", Image: solid(30, 16, blue)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if w, h := got.Bounds().Dx(), got.Bounds().Dy(); w != 20+frameGap+30 || h != 16+captionHeight {
		t.Errorf("size %dx%d, want %dx%d", w, h, 20+frameGap+30, 16+captionHeight)
	}
	if c := got.RGBAAt(5, captionHeight+5); c != red {
		t.Errorf("pixel inside the first frame = %v, want red", c)
	}
	if c := got.RGBAAt(20+frameGap+5, captionHeight+5); c != blue {
		t.Errorf("pixel inside the second frame = %v, want blue", c)
	}
	dark := 0
	for x := range 20 {
		for y := range captionHeight {
			if got.RGBAAt(x, y).R < 128 {
				dark++
			}
		}
	}
	if dark == 0 {
		t.Error("the first caption band has no text")
	}
	// A caption wider than its picture widens the frame's slot, so that it
	// is not cut: its text reaches past the picture's width.
	caption := "real | reconstruction, iteration 600"
	wide, err := Timeline([]Frame{{Caption: caption, Image: solid(20, 10, red)}})
	if err != nil {
		t.Fatal(err)
	}
	if w := wide.Bounds().Dx(); w < 7*len(caption) {
		t.Errorf("a frame 20 pixels wide captioned %q is %d pixels wide, want at least %d", caption, w, 7*len(caption))
	}
	darkPastPicture := 0
	for x := 20; x < wide.Bounds().Dx(); x++ {
		for y := range captionHeight {
			if wide.RGBAAt(x, y).R < 128 {
				darkPastPicture++
			}
		}
	}
	if darkPastPicture == 0 {
		t.Error("the caption has no text past its picture's width")
	}
	if _, err := Timeline(nil); err == nil {
		t.Error("Timeline(nil) returned no error")
	}
}

func TestLossChartReadsLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "losses.csv")
	var rows [][]float64
	for step := 1; step <= 5; step++ {
		rows = append(rows, []float64{1 / float64(step), float64(step)})
	}
	testutil.WriteLog(t, path, []string{"D_real_loss", "G_loss"}, rows...)
	chart, err := LossChart("losses", path, []string{"G_loss", "D_real_loss"}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(chart.Series) != 2 || chart.Series[0].Name != "G_loss" || len(chart.Series[0].Y) != 5 {
		t.Fatalf("series %+v, want G_loss then D_real_loss with 5 points", chart.Series)
	}
	if chart.Series[0].Y[4] != 5 {
		t.Errorf("G_loss at step 5 = %g, want 5", chart.Series[0].Y[4])
	}
	if _, err := LossChart("losses", path, []string{"F_loss"}, 0); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("unknown column: error %v, want one naming %s", err, path)
	}
}

// TestShowChartNamesMissingLosses shows the losses of a run that has
// written no log, and of one whose log has a header only. Each must print
// the not-written line with the chart's title instead of failing.
func TestShowChartNamesMissingLosses(t *testing.T) {
	dir := t.TempDir()
	headerOnly := filepath.Join(dir, "header.csv")
	testutil.WriteLog(t, headerOnly, []string{"G_loss"})
	for _, path := range []string{filepath.Join(dir, "missing.csv"), headerOnly} {
		chart, err := LossChart("DCGAN losses, basic", path, []string{"G_loss"}, 0.8)
		if err != nil {
			t.Fatalf("LossChart(%s): %v", path, err)
		}
		output := testutil.CaptureStdout(t, func() { err = ShowChart(chart) })
		if err != nil {
			t.Errorf("ShowChart of %s: %v", path, err)
		}
		if want := NotWrittenYet + " DCGAN losses, basic: nothing logged yet"; !strings.HasPrefix(output, want) {
			t.Errorf("ShowChart of %s printed %q, want a line starting %q", path, output, want)
		}
	}
}

// TestReadFramesSkipsMissingFiles reads a present, a missing and a
// damaged PNG file. The missing one must be reported by its index, the
// damaged one by an error naming it.
func TestReadFramesSkipsMissingFiles(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "a.png")
	if err := imgrid.WritePNG(present, solid(4, 4, color.RGBA{G: 255, A: 255})); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "b.png")
	frames, missingIndices, err := ReadFrames([]string{missing, present}, []string{"b", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 || frames[0].Caption != "a" || frames[0].Image.Bounds().Dx() != 4 {
		t.Errorf("ReadFrames gave %d frames (%v), want the 4x4 one captioned a", len(frames), frames)
	}
	if !slices.Equal(missingIndices, []int{0}) {
		t.Errorf("missing %v, want [0]", missingIndices)
	}

	damaged := filepath.Join(dir, "c.png")
	if err := os.WriteFile(damaged, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFrames([]string{damaged}, []string{"c"}); err == nil || !strings.Contains(err.Error(), damaged) {
		t.Errorf("ReadFrames(damaged) error %v, want one naming %s", err, damaged)
	}
}

// TestShowFramesNamesMissingFiles checks the line that ShowFrames prints
// for a missing grid: its caption, its path and what to do.
func TestShowFramesNamesMissingFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "iter-000040.png")
	var err error
	output := testutil.CaptureStdout(t, func() { err = ShowFrames([]string{missing}, []string{"iteration 40"}) })
	if err != nil {
		t.Fatal(err)
	}
	want := NotWrittenYet + " iteration 40 (" + missing + "); run the training cell to write it\n"
	if output != want {
		t.Errorf("ShowFrames printed %q, want %q", output, want)
	}
}

func TestRunDirUsesOutEnv(t *testing.T) {
	t.Setenv(EnvOut, "/tmp/some-out")
	got, err := RunDir("dcgan-smoke")
	if err != nil || got != "/tmp/some-out/dcgan-smoke" {
		t.Errorf("RunDir = %q, %v; want /tmp/some-out/dcgan-smoke", got, err)
	}
	t.Setenv(EnvPreset, "report")
	if got := Preset("quick"); got != "report" {
		t.Errorf("Preset = %q, want report", got)
	}
}

// TestRunDirRejectsPaths checks that a run name cannot leave the output
// folder or nest folders.
func TestRunDirRejectsPaths(t *testing.T) {
	t.Setenv(EnvOut, t.TempDir())
	for _, name := range []string{"", ".", "..", "dcgan-smoke-basic/../x", `a\\b`, "-lr/2"} {
		if dir, err := RunDir(name); err == nil || !strings.Contains(err.Error(), "runTag") {
			t.Errorf("RunDir(%q) = %q, %v; want an error that names runTag", name, dir, err)
		}
	}
	if _, err := RunDir("dcgan-smoke-basic-lr1e-4"); err != nil {
		t.Errorf("RunDir of a plain name: %v", err)
	}
}

// TestTimelineWraps places three 500-pixel frames, of which two fit in
// maxTimelineWidth: the third must start a second row below them.
func TestTimelineWraps(t *testing.T) {
	got, err := Timeline([]Frame{
		{Caption: "1", Image: solid(500, 40, red)},
		{Caption: "2", Image: solid(500, 40, red)},
		{Caption: "3", Image: solid(500, 30, blue)},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantWidth, wantHeight := 500+frameGap+500, 40+captionHeight+frameGap+30+captionHeight
	if w, h := got.Bounds().Dx(), got.Bounds().Dy(); w != wantWidth || h != wantHeight {
		t.Errorf("size %dx%d, want %dx%d", w, h, wantWidth, wantHeight)
	}
	if c := got.RGBAAt(5, 40+captionHeight+frameGap+captionHeight+5); c != blue {
		t.Errorf("pixel inside the third frame, in the second row = %v, want blue", c)
	}
}

// TestEnlarge scales a 2x1 picture by 3: each pixel must become a 3x3
// block.
func TestEnlarge(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.SetRGBA(0, 0, red)
	img.SetRGBA(1, 0, blue)
	got := Enlarge(img, 3)
	if w, h := got.Bounds().Dx(), got.Bounds().Dy(); w != 6 || h != 3 {
		t.Fatalf("size %dx%d, want 6x3", w, h)
	}
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{{0, 0, red}, {2, 2, red}, {3, 0, blue}, {5, 2, blue}} {
		if got := got.RGBAAt(c.x, c.y); got != c.want {
			t.Errorf("pixel (%d, %d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
