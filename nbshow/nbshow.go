// Package nbshow builds the pictures that the catsynth notebooks show (loss
// charts, sample grids side by side with captions) and displays them in a
// GoNB cell.
//
// The builders (LossChart, Timeline) return plain values that tests and
// command-line programs can inspect or save. The Show functions display
// them in the cell when the program runs under GoNB (gonbui.IsNotebook) and
// do nothing elsewhere, so that the same code runs from the command line.
// Each Show function waits until GoNB has received the output (gonbui.Sync):
// a cell program that exits right after displaying can otherwise lose it.
package nbshow

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/catsynth/catsynth/imgrid"
	"github.com/catsynth/catsynth/plot"
	"github.com/catsynth/catsynth/repo"
	"github.com/catsynth/catsynth/trainlog"
)

// Environment variables that `make notebook` and `make run` set for a
// headless run.
const (
	// EnvPreset names the preset a notebook runs: smoke, quick or report.
	EnvPreset = "CATSYNTH_PRESET"
	// EnvOut is the folder where a notebook writes its runs.
	EnvOut = "CATSYNTH_OUT"
)

// Preset returns $CATSYNTH_PRESET, or fallback when it is unset.
func Preset(fallback string) string {
	if preset := os.Getenv(EnvPreset); preset != "" {
		return preset
	}
	return fallback
}

// RunDir returns the folder of one run of a notebook: $CATSYNTH_OUT/name
// when CATSYNTH_OUT is set, else runs/name in the repository. Running a
// notebook again on the same folder resumes its checkpoints. name must be a
// folder name, without path separators; notebooks build it from the preset,
// the run and their runTag setting.
func RunDir(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("nbshow: invalid run name %q: use a folder name without / or \\ (check the notebook's runTag setting)", name)
	}
	if out := os.Getenv(EnvOut); out != "" {
		return filepath.Join(out, name), nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", fmt.Errorf("nbshow: set %s to an output folder: %w", EnvOut, err)
	}
	return filepath.Join(root, "runs", name), nil
}

// LossChart draws the given columns of a loss log (see trainlog) as one
// chart, smoothed with an exponential moving average of weight smooth. A
// log that does not exist yet gives a chart of those columns without
// points, which ShowChart reports as not written yet.
func LossChart(title, logPath string, columns []string, smooth float64) (plot.Chart, error) {
	chart := plot.Chart{Title: title, XLabel: "iteration", YLabel: "loss", Smooth: smooth}
	table, err := trainlog.Read(logPath)
	if errors.Is(err, fs.ErrNotExist) {
		for _, column := range columns {
			chart.Series = append(chart.Series, plot.Series{Name: column})
		}
		return chart, nil
	}
	if err != nil {
		return plot.Chart{}, fmt.Errorf("nbshow: %w", err)
	}
	for _, column := range columns {
		series, err := table.Series(column)
		if err != nil {
			return plot.Chart{}, fmt.Errorf("nbshow: %s: %w", logPath, err)
		}
		chart.Series = append(chart.Series, series)
	}
	return chart, nil
}

// ShowChart displays chart as SVG in the cell; outside a notebook it does
// nothing. A chart without points, such as the losses of a run that has
// not logged any, is not drawn: ShowChart prints a line that starts with
// NotWrittenYet instead, in and outside a notebook.
func ShowChart(chart plot.Chart) error {
	if !chart.HasPoints() {
		fmt.Printf("%s %s: nothing logged yet; run the training cell to write it\n", NotWrittenYet, chart.Title)
		return nil
	}
	svg, err := chart.SVG()
	if err != nil {
		return fmt.Errorf("nbshow: %w", err)
	}
	if gonbui.IsNotebook {
		gonbui.DisplaySvg(string(svg))
		gonbui.Sync()
	}
	return nil
}

// Frame is one captioned picture of a Timeline.
type Frame struct {
	Caption string
	Image   image.Image
}

// ReadFrames loads the PNG files at paths into frames with the given
// captions, in order. A file that does not exist is left out, and its index
// in paths is returned in missing. Other errors name the file.
func ReadFrames(paths, captions []string) (frames []Frame, missing []int, err error) {
	if len(paths) != len(captions) {
		return nil, nil, fmt.Errorf("nbshow: %d paths but %d captions", len(paths), len(captions))
	}
	for i, path := range paths {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, i)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("nbshow: %w", err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("nbshow: decoding %s: %w", path, err)
		}
		frames = append(frames, Frame{Caption: captions[i], Image: img})
	}
	return frames, missing, nil
}

// NotWrittenYet starts the line that ShowFrames prints for a picture whose
// file does not exist.
const NotWrittenYet = "not written yet:"

// ShowFrames displays the PNG files at paths side by side under their
// captions (see Timeline). A file that does not exist yet, such as the grid
// of an iteration that an interrupted run has not reached, is left out,
// with a line "not written yet: CAPTION (PATH); ..." on standard output.
// Outside a notebook it prints only those lines.
func ShowFrames(paths, captions []string) error {
	frames, missing, err := ReadFrames(paths, captions)
	if err != nil {
		return err
	}
	for i, f := range frames {
		if h := f.Image.Bounds().Dy(); h > 0 && h < minFrameHeight {
			frames[i].Image = Enlarge(f.Image, min(4, (minFrameHeight+h-1)/h))
		}
	}
	for _, i := range missing {
		fmt.Printf("%s %s (%s); run the training cell to write it\n", NotWrittenYet, captions[i], paths[i])
	}
	if len(frames) == 0 {
		return nil
	}
	img, err := Timeline(frames)
	if err != nil {
		return err
	}
	return ShowImage(img)
}

// captionHeight is the band above each frame that holds its caption.
const captionHeight = 18

// frameGap separates frames, and rows of frames.
const frameGap = 12

// captionMargin is the space left of each caption, in pixels.
const captionMargin = 2

// maxTimelineWidth is the width in pixels past which Timeline starts a new
// row of frames. Notebooks shrink wider pictures to the cell's width, which
// makes 64-pixel cats and the captions hard to read.
const maxTimelineWidth = 1100

// minFrameHeight is the height in pixels under which ShowFrames enlarges a
// picture, such as a grid of 28-pixel digits, by a whole factor of at most
// 4 without smoothing.
const minFrameHeight = 128

// Timeline places frames side by side, each under its caption, on a white
// background: sample grids at several iterations, or one batch under several
// augmentations.
func Timeline(frames []Frame) (*image.RGBA, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("nbshow: no frames to show")
	}
	face := basicfont.Face7x13
	// Each frame takes the width of its picture or of its caption, whichever
	// is wider, so that no caption is cut or runs into the next one. Frames
	// that would pass maxTimelineWidth start a new row.
	places := make([]image.Point, len(frames))
	width, height := 0, 0
	x, rowTop, rowHeight := 0, 0, 0
	for i, f := range frames {
		slot := max(f.Image.Bounds().Dx(), font.MeasureString(face, f.Caption).Ceil()+captionMargin)
		if x > 0 && x+slot > maxTimelineWidth {
			rowTop += rowHeight + captionHeight + frameGap
			x, rowHeight = 0, 0
		}
		places[i] = image.Pt(x, rowTop)
		x += slot + frameGap
		rowHeight = max(rowHeight, f.Image.Bounds().Dy())
		width = max(width, x-frameGap)
		height = rowTop + rowHeight + captionHeight
	}
	canvas := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	for i, f := range frames {
		b := f.Image.Bounds()
		at := places[i]
		drawer := font.Drawer{Dst: canvas, Src: image.NewUniform(color.Black), Face: face,
			Dot: fixed.P(at.X+captionMargin, at.Y+captionHeight-5)}
		drawer.DrawString(f.Caption)
		top := at.Y + captionHeight
		draw.Draw(canvas, image.Rect(at.X, top, at.X+b.Dx(), top+b.Dy()), f.Image, b.Min, draw.Src)
	}
	return canvas, nil
}

// ShowImage displays img as PNG in the cell; outside a notebook it does
// nothing.
func ShowImage(img image.Image) error {
	if !gonbui.IsNotebook {
		return nil
	}
	data, err := imgrid.EncodePNG(img)
	if err != nil {
		return fmt.Errorf("nbshow: %w", err)
	}
	gonbui.DisplayPng(data)
	gonbui.Sync()
	return nil
}

// ShowMarkdown displays text as Markdown in the cell; outside a notebook it
// does nothing.
func ShowMarkdown(text string) {
	if gonbui.IsNotebook {
		gonbui.DisplayMarkdown(text)
		gonbui.Sync()
	}
}

// Enlarge returns img scaled by the whole factor k >= 1, each pixel
// becoming a k x k block, so that small grids stay sharp.
func Enlarge(img image.Image, k int) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := range out.Bounds().Dy() {
		for x := range out.Bounds().Dx() {
			out.Set(x, y, img.At(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	return out
}
