package vae

import (
	"context"
	"fmt"
	"io"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/trainloop"
)

// RunOptions sets what Run reports while it trains. The zero value reports
// nothing.
type RunOptions struct {
	// Progress receives a progress bar with the latest losses and the time
	// per step; nil for none.
	Progress io.Writer
	// PlainProgress writes the bar as a new line every few seconds instead of
	// redrawing it in place; for logs.
	PlainProgress bool
	// Label names the run on the progress bar. Default "VAE".
	Label string
	// OnSample is called after each pair of sample grids is saved, with the
	// iteration.
	OnSample func(iteration int)
}

// Run trains until cfg.Iterations, saving sample grids every SampleEvery
// iterations and at each milestone, appending the losses to the loss log
// every LogEvery iterations, and saving a checkpoint every CheckpointEvery
// iterations and at the end. When ctx is cancelled it saves a checkpoint
// and returns ctx.Err(); a later NewTrainer on the same folder resumes.
func (t *Trainer) Run(ctx context.Context, opts RunOptions) error {
	label := opts.Label
	if label == "" {
		label = "VAE"
	}
	schedule := trainloop.Schedule{
		Iterations: t.cfg.Iterations, LogEvery: t.cfg.LogEvery, SampleEvery: t.cfg.SampleEvery,
		CheckpointEvery: t.cfg.CheckpointEvery, Milestones: t.cfg.Milestones,
	}
	return trainloop.Run(ctx, "vae", schedule, t.iteration,
		trainloop.Options{Progress: opts.Progress, PlainProgress: opts.PlainProgress, Label: label},
		trainloop.Hooks[Losses]{
			Step: t.Step,
			Log: func(iteration int, l Losses) error {
				if err := t.lossLog.Append(iteration, l.Reconstruction, l.KL, l.Total); err != nil {
					return fmt.Errorf("vae: %w", err)
				}
				return nil
			},
			Sampled: func(iteration int) bool {
				return trainloop.FilesExist(SamplePath(t.outDir, iteration), ReconstructionPath(t.outDir, iteration))
			},
			Sample: func(iteration int) error {
				err := t.SaveSamples()
				if err == nil && opts.OnSample != nil {
					opts.OnSample(iteration)
				}
				return err
			},
			Save:   t.Save,
			Finite: func(l Losses) bool { return trainloop.AllFinite(l.Reconstruction, l.KL, l.Total) },
			Status: func(l Losses) string {
				return fmt.Sprintf("recon %.1f KL %.1f total %.1f", l.Reconstruction, l.KL, l.Total)
			},
			End: func() error { return t.lossLog.Flush() },
		})
}

// Milestones returns the milestones of cfg that cfg.Iterations reaches and
// the last iteration (see trainloop.ShownIterations), with captions such as
// "iteration 400", for SamplePath and ReconstructionPath.
func Milestones(cfg Config) (iterations []int, captions []string) {
	for _, iteration := range trainloop.ShownIterations(cfg.Milestones, cfg.Iterations) {
		iterations = append(iterations, iteration)
		captions = append(captions, fmt.Sprintf("iteration %d", iteration))
	}
	return iterations, captions
}

// evalBatchSize is the number of images per evaluation batch.
const evalBatchSize = 500

// Evaluate returns the mean per-image reconstruction loss and KL of images
// x [n, height, width, channels] flattened, in the model's input range, with
// one sample of z per image from a fixed noise stream. Their sum estimates
// the negative ELBO, in nats for MNIST. Images that do not fill a last
// batch of evalBatchSize are evaluated in a smaller batch.
func (t *Trainer) Evaluate(x []float32) (reconstruction, kl float64, err error) {
	height, width, channels := t.cfg.ImageShape()
	values := t.cfg.imageValues()
	n := len(x) / values
	if n == 0 || n*values != len(x) {
		return 0, 0, fmt.Errorf("vae: evaluating %d values, want a positive multiple of %dx%dx%d", len(x), height, width, channels)
	}
	for start := 0; start < n; start += evalBatchSize {
		size := min(evalBatchSize, n-start)
		batch := tensors.FromFlatDataAndDimensions(x[start*values:(start+size)*values], size, height, width, channels)
		eps := normalNoise(t.cfg.Seed, evalNoiseStream-int64(start), size, t.cfg.LatentSize)
		outputs, err := t.elboExec.Exec(batch, eps)
		if err != nil {
			return 0, 0, fmt.Errorf("vae: evaluating images %d to %d: %w", start, start+size, err)
		}
		reconstruction += scalar(outputs[0]) * float64(size)
		kl += scalar(outputs[1]) * float64(size)
	}
	return reconstruction / float64(n), kl / float64(n), nil
}
