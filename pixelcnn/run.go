package pixelcnn

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/catsynth/catsynth/imgrid"
	"github.com/catsynth/catsynth/trainlog"
	"github.com/catsynth/catsynth/trainloop"
)

// RunOptions sets what Run reports while it trains. The zero value reports
// nothing.
type RunOptions struct {
	// Progress receives a progress bar with the latest NLL and the time per
	// iteration; nil for none.
	Progress io.Writer
	// PlainProgress writes the bar as a new line every few seconds instead of
	// redrawing it in place; for logs.
	PlainProgress bool
	// Label names the run on the progress bar. Default "PixelCNN".
	Label string
	// OnSample is called after each sample grid is saved, with the
	// iteration, the PNG's path and the sampling time per image.
	OnSample func(iteration int, path string, perImage time.Duration)
	// OnEval is called after each held-out evaluation with the iteration and
	// the NLL in the unit of Unit(cfg).
	OnEval func(iteration int, nll float64)
}

// SamplePath returns the file of the sample grid saved at iteration.
func SamplePath(outDir string, iteration int) string {
	return filepath.Join(outDir, SamplesDir, fmt.Sprintf("iter-%06d.png", iteration))
}

// SampleGrid draws cfg.SampleCount images from the seed of the run and
// returns them as a grid, and the sampling time per image. During Run it
// stops between rows of pixels once Run's context is done.
func (t *Trainer) SampleGrid() (*image.RGBA, time.Duration, error) {
	n := t.cfg.SampleCount
	levels, elapsed, err := t.sampler.SampleContext(t.runContext(), n, uint64(t.cfg.Seed))
	if err != nil {
		return nil, 0, err
	}
	height, width, channels := t.cfg.Shape()
	grid, err := imgrid.Grid(LevelsToPixels(t.cfg, levels), n, height, width, channels, min(n, 8))
	if err != nil {
		return nil, 0, fmt.Errorf("pixelcnn: %w", err)
	}
	return imgrid.Scale(grid, 2), elapsed / time.Duration(n), nil
}

// SaveSamples writes the sample grid of the current iteration to
// SamplePath and returns that path and the sampling time per image.
func (t *Trainer) SaveSamples() (string, time.Duration, error) {
	return t.saveSamples(SamplePath(t.outDir, t.iteration))
}

// SaveExtraSamples writes the sample grid of the current iteration to a new
// file, samples/iter-NNNNNN-extra-K.png with the first K that is free, so
// that the grids that training saved stay as they are. It returns that
// path and the sampling time per image.
func (t *Trainer) SaveExtraSamples() (string, time.Duration, error) {
	base := strings.TrimSuffix(SamplePath(t.outDir, t.iteration), ".png")
	for k := 1; k < 10000; k++ {
		path := fmt.Sprintf("%s-extra-%d.png", base, k)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return t.saveSamples(path)
		}
	}
	return "", 0, fmt.Errorf("pixelcnn: %s-extra-K.png exists for K up to 9999: move some away", base)
}

func (t *Trainer) saveSamples(path string) (string, time.Duration, error) {
	grid, perImage, err := t.SampleGrid()
	if err != nil {
		return "", 0, err
	}
	if err := imgrid.WritePNG(path, grid); err != nil {
		return "", 0, fmt.Errorf("pixelcnn: %w", err)
	}
	return path, perImage, nil
}

// Run trains until cfg.Iterations. It appends the training NLL to the loss
// log every LogEvery iterations. It evaluates the held-out NLL every
// EvalEvery iterations and at the end, saves sample grids every SampleEvery
// iterations and at each milestone, and saves a checkpoint every
// CheckpointEvery iterations and at the end. When ctx is cancelled it saves
// a checkpoint and returns ctx.Err(); a later NewTrainer on the same folder
// resumes.
func (t *Trainer) Run(ctx context.Context, opts RunOptions) error {
	t.ctx = ctx
	defer func() { t.ctx = nil }()
	label := opts.Label
	if label == "" {
		label = "PixelCNN"
	}
	schedule := trainloop.Schedule{
		Iterations: t.cfg.Iterations, LogEvery: t.cfg.LogEvery, SampleEvery: t.cfg.SampleEvery,
		CheckpointEvery: t.cfg.CheckpointEvery, Milestones: t.cfg.Milestones,
	}
	unit := Unit(t.cfg)
	evalStatus := ""
	evaluate := func(iteration int) error {
		// A resumed run that redoes the evaluation of its checkpoint has
		// not opened its logs yet, since no step has run.
		if err := t.openEvalLog(); err != nil {
			return err
		}
		testNLL, err := t.Evaluate()
		if err != nil {
			return err
		}
		if err := t.evalLog.Append(iteration, t.Report(testNLL)); err != nil {
			return fmt.Errorf("pixelcnn: %w", err)
		}
		evalStatus = fmt.Sprintf(" test %.4g", t.Report(testNLL))
		if opts.OnEval != nil {
			opts.OnEval(iteration, t.Report(testNLL))
		}
		return nil
	}
	return trainloop.Run(ctx, "pixelcnn", schedule, t.iteration,
		trainloop.Options{Progress: opts.Progress, PlainProgress: opts.PlainProgress, Label: label},
		trainloop.Hooks[float64]{
			Step: t.Step,
			Log: func(iteration int, nll float64) error {
				if err := t.lossLog.Append(iteration, t.Report(nll)); err != nil {
					return fmt.Errorf("pixelcnn: %w", err)
				}
				return nil
			},
			Periodic: []trainloop.Periodic{{Every: t.cfg.EvalEvery, Run: evaluate, Done: t.evaluated}},
			Sampled:  func(iteration int) bool { return trainloop.FilesExist(SamplePath(t.outDir, iteration)) },
			Sample: func(iteration int) error {
				path, perImage, err := t.SaveSamples()
				if err == nil && opts.OnSample != nil {
					opts.OnSample(iteration, path, perImage)
				}
				return err
			},
			Save:   t.Save,
			Finite: func(nll float64) bool { return trainloop.AllFinite(nll) },
			Status: func(nll float64) string {
				return fmt.Sprintf("train %.4g%s %s", t.Report(nll), evalStatus, unit)
			},
			// The last iteration has saved a checkpoint already.
			End: t.flushLogs,
		})
}

// MilestoneSamples returns the sample grid files of the milestones that
// cfg.Iterations reaches and of the last iteration (see
// trainloop.ShownIterations), with captions such as "iteration 200".
func MilestoneSamples(outDir string, cfg Config) (paths, captions []string) {
	for _, iteration := range trainloop.ShownIterations(cfg.Milestones, cfg.Iterations) {
		paths = append(paths, SamplePath(outDir, iteration))
		captions = append(captions, fmt.Sprintf("iteration %d", iteration))
	}
	return paths, captions
}

// evaluated reports whether the evaluation log has a row at iteration.
func (t *Trainer) evaluated(iteration int) bool {
	table, err := trainlog.Read(filepath.Join(t.outDir, EvalLogFile))
	return err == nil && slices.Contains(table.Steps, iteration)
}
