package cyclegan

import (
	"context"
	"fmt"
	"image"
	"io"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/imgrid"
	"github.com/catsynth/catsynth/trainloop"
)

// Translation directions of the sample grids.
const (
	XtoY = "XtoY"
	YtoX = "YtoX"
)

// SampleCount is the maximum number of fixed images per sample grid: the
// first ones of each folder, in the folder's natural order. A folder with
// fewer images gives smaller grids.
const SampleCount = 16

// sampleColumns is the number of input-output pairs per grid row.
const sampleColumns = 4

// Translate applies G_XY (direction XtoY) or G_YX (YtoX) to n images
// [n, 64, 64, 3] in [-1, 1], returned in the same layout.
func (t *Trainer) Translate(direction string, pixels []float32, n int) ([]float32, error) {
	exec, found := t.translate[direction]
	if !found {
		return nil, fmt.Errorf("cyclegan: invalid direction %q: valid values are %q and %q", direction, XtoY, YtoX)
	}
	if want := n * ImageSize * ImageSize * 3; n < 1 || len(pixels) != want {
		return nil, fmt.Errorf("cyclegan: %d values for %d images of %dx%dx3: want %d", len(pixels), n, ImageSize, ImageSize, want)
	}
	output, err := exec.Exec1(tensors.FromFlatDataAndDimensions(pixels, n, ImageSize, ImageSize, 3))
	if err != nil {
		return nil, fmt.Errorf("cyclegan: translating %s: %w", direction, err)
	}
	return tensors.MustCopyFlatData[float32](output), nil
}

// SampleGrid returns the fixed images of the source domain of direction,
// each beside its translation.
func (t *Trainer) SampleGrid(direction string) (*image.RGBA, error) {
	inputs := t.samples[direction]
	outputs, err := t.Translate(direction, inputs, t.sampleSize)
	if err != nil {
		return nil, err
	}
	return imgrid.Pairs(inputs, outputs, t.sampleSize, ImageSize, ImageSize, 3, min(sampleColumns, t.sampleSize))
}

// SamplePath returns the file of the sample grid of direction saved at
// iteration.
func SamplePath(outDir, direction string, iteration int) string {
	return filepath.Join(outDir, SamplesDir, fmt.Sprintf("%s-iter-%06d.png", direction, iteration))
}

// SaveSamples writes the XtoY and YtoX grids of the current iteration and
// returns their paths, in that order.
func (t *Trainer) SaveSamples() ([]string, error) {
	var paths []string
	for _, direction := range []string{XtoY, YtoX} {
		grid, err := t.SampleGrid(direction)
		if err != nil {
			return nil, err
		}
		path := SamplePath(t.outDir, direction, t.iteration)
		if err := imgrid.WritePNG(path, grid); err != nil {
			return nil, fmt.Errorf("cyclegan: %w", err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// RunOptions sets what Run reports while it trains. The zero value reports
// nothing.
type RunOptions struct {
	// Progress receives a progress bar with the latest losses and the time
	// per iteration; nil for none.
	Progress io.Writer
	// PlainProgress writes the bar as a new line every few seconds instead of
	// redrawing it in place; for logs.
	PlainProgress bool
	// Label names the run on the progress bar. Default "CycleGAN".
	Label string
	// OnSample is called after the sample grids are saved, with the
	// iteration and the paths of the XtoY and YtoX grids.
	OnSample func(iteration int, paths []string)
}

// Run trains until cfg.Iterations, saving sample grids every SampleEvery
// iterations and at each milestone, appending the losses to the loss log
// every LogEvery iterations, and saving a checkpoint every CheckpointEvery
// iterations and at the end. When ctx is cancelled it saves a checkpoint
// and returns ctx.Err(); a later NewTrainer on the same folder resumes.
func (t *Trainer) Run(ctx context.Context, opts RunOptions) error {
	label := opts.Label
	if label == "" {
		label = "CycleGAN"
	}
	schedule := trainloop.Schedule{
		Iterations: t.cfg.Iterations, LogEvery: t.cfg.LogEvery, SampleEvery: t.cfg.SampleEvery,
		CheckpointEvery: t.cfg.CheckpointEvery, Milestones: t.cfg.Milestones,
	}
	return trainloop.Run(ctx, "cyclegan", schedule, t.iteration,
		trainloop.Options{Progress: opts.Progress, PlainProgress: opts.PlainProgress, Label: label},
		trainloop.Hooks[Losses]{
			Step: t.Step,
			Log: func(iteration int, l Losses) error {
				if err := t.lossLog.Append(iteration, l.values()...); err != nil {
					return fmt.Errorf("cyclegan: %w", err)
				}
				return nil
			},
			Sampled: func(iteration int) bool {
				return trainloop.FilesExist(SamplePath(t.outDir, XtoY, iteration), SamplePath(t.outDir, YtoX, iteration))
			},
			Sample: func(iteration int) error {
				paths, err := t.SaveSamples()
				if err == nil && opts.OnSample != nil {
					opts.OnSample(iteration, paths)
				}
				return err
			},
			Save:   t.Save,
			Finite: func(l Losses) bool { return trainloop.AllFinite(l.values()...) },
			Status: func(l Losses) string {
				return fmt.Sprintf("D_X %.3f D_Y %.3f G_XY %.3f G_YX %.3f cycle %.3f", l.DX, l.DY, l.GXY, l.GYX, l.Cycle)
			},
			End: func() error { return t.lossLog.Flush() },
		})
}

// MilestoneSamples returns the sample grid files of direction at the
// milestones that cfg.Iterations reaches and at the last iteration (see
// trainloop.ShownIterations), with captions such as "iteration 200".
func MilestoneSamples(outDir, direction string, cfg Config) (paths, captions []string) {
	for _, iteration := range trainloop.ShownIterations(cfg.Milestones, cfg.Iterations) {
		paths = append(paths, SamplePath(outDir, direction, iteration))
		captions = append(captions, fmt.Sprintf("iteration %d", iteration))
	}
	return paths, captions
}
