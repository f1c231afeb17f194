package gan

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/catsynth/catsynth/progress"
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
	var bar *progress.Bar
	if opts.Progress != nil {
		bar = progress.New(opts.Progress, label, t.iteration, t.cfg.Iterations, opts.PlainProgress)
	}
	status := ""
	var stepTime time.Duration
	for t.iteration < t.cfg.Iterations {
		if err := ctx.Err(); err != nil {
			if saveErr := t.Save(); saveErr != nil {
				return fmt.Errorf("gan: interrupted at iteration %d, and the checkpoint failed: %w", t.iteration, saveErr)
			}
			return err
		}
		start := time.Now()
		losses, err := t.Step()
		if err != nil {
			return err
		}
		stepTime = time.Since(start)
		iteration := t.iteration

		if iteration%t.cfg.LogEvery == 0 || iteration == t.cfg.Iterations {
			if err := t.lossLog.Append(iteration, losses.DReal, losses.DFake, losses.G); err != nil {
				return fmt.Errorf("gan: %w", err)
			}
		}
		if iteration%t.cfg.SampleEvery == 0 || iteration == t.cfg.Iterations || slices.Contains(t.cfg.Milestones, iteration) {
			path, err := t.SaveSamples()
			if err != nil {
				return err
			}
			if opts.OnSample != nil {
				opts.OnSample(iteration, path)
			}
		}
		if iteration%t.cfg.CheckpointEvery == 0 || iteration == t.cfg.Iterations {
			if err := t.Save(); err != nil {
				return err
			}
		}
		status = fmt.Sprintf("D_real %.4f D_fake %.4f G %.4f | %d ms/it",
			losses.DReal, losses.DFake, losses.G, stepTime.Milliseconds())
		if bar != nil {
			bar.Update(iteration, status)
		}
	}
	if bar != nil {
		bar.Finish(t.iteration, status)
	}
	return t.lossLog.Flush()
}

// MilestoneSamples returns the sample grid files of the milestones that
// cfg.Iterations reaches, with captions such as "iteration 200".
func MilestoneSamples(outDir string, cfg Config) (paths, captions []string) {
	for _, iteration := range cfg.Milestones {
		if iteration > cfg.Iterations {
			continue
		}
		paths = append(paths, SamplePath(outDir, iteration))
		captions = append(captions, fmt.Sprintf("iteration %d", iteration))
	}
	return paths, captions
}
