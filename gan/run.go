package gan

import (
	"context"
	"fmt"
	"io"

	"github.com/catsynth/catsynth/trainloop"
)

// RunOptions sets what Run reports while it trains. The zero value reports
// nothing.
type RunOptions struct {
	// Progress receives a progress bar with the latest losses and the time
	// per iteration; nil for none.
	Progress io.Writer
	// PlainProgress writes the bar as a new line every few seconds instead of
	// redrawing it in place; for logs.
	PlainProgress bool
	// Label names the run on the progress bar. Default "DCGAN".
	Label string
	// OnSample is called after each sample grid is saved, with the iteration
	// and the PNG's path.
	OnSample func(iteration int, path string)
}

// Run trains until cfg.Iterations, saving sample grids every SampleEvery
// iterations and at each milestone, appending the losses to the loss log
// every LogEvery iterations, and saving a checkpoint every CheckpointEvery
// iterations and at the end. When ctx is cancelled it saves a checkpoint
// and returns ctx.Err(); a later NewTrainer on the same folder resumes.
func (t *Trainer) Run(ctx context.Context, opts RunOptions) error {
	label := opts.Label
	if label == "" {
		label = "DCGAN"
	}
	schedule := trainloop.Schedule{
		Iterations: t.cfg.Iterations, LogEvery: t.cfg.LogEvery, SampleEvery: t.cfg.SampleEvery,
		CheckpointEvery: t.cfg.CheckpointEvery, Milestones: t.cfg.Milestones,
	}
	return trainloop.Run(ctx, "gan", schedule, t.iteration,
		trainloop.Options{Progress: opts.Progress, PlainProgress: opts.PlainProgress, Label: label},
		trainloop.Hooks[Losses]{
			Step: t.Step,
			Log: func(iteration int, l Losses) error {
				if err := t.lossLog.Append(iteration, l.DReal, l.DFake, l.G); err != nil {
					return fmt.Errorf("gan: %w", err)
				}
				return nil
			},
			Sampled: func(iteration int) bool { return trainloop.FilesExist(SamplePath(t.outDir, iteration)) },
			Sample: func(iteration int) error {
				path, err := t.SaveSamples()
				if err == nil && opts.OnSample != nil {
					opts.OnSample(iteration, path)
				}
				return err
			},
			Save:   t.Save,
			Finite: func(l Losses) bool { return trainloop.AllFinite(l.DReal, l.DFake, l.G) },
			Status: func(l Losses) string {
				return fmt.Sprintf("D_real %.4f D_fake %.4f G %.4f", l.DReal, l.DFake, l.G)
			},
			End: func() error { return t.lossLog.Flush() },
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
