// Command dcgan trains the DCGAN of "When Cats meet GANs" on the Grumpy cat
// images, without Jupyter.
//
//	go run ./cmd/dcgan -preset quick -out runs/dcgan-deluxe
//	go run ./cmd/dcgan -preset report -data_preprocess basic -out runs/dcgan-basic
//
// A preset gives the schedule; every flag that is set overrides it. The
// output folder receives config.json, losses.csv, samples/iter-NNNNNN.png
// and checkpoint/; running again on the same folder resumes from the last
// checkpoint. Ctrl-C saves a checkpoint before exiting.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/gan"
	"github.com/catsynth/catsynth/internal/cli"
)

func main() {
	cli.Exit("dcgan", run())
}

func run() error {
	defaults := gan.DefaultConfig()
	preset := flag.String("preset", "quick", "schedule preset: "+strings.Join(gan.PresetNames(), ", "))
	dataRoot := flag.String("data", "", "data root holding "+dataset.GrumpyDir+" (default: $CATSYNTH_DATA, then data/ in the repository)")
	outDir := flag.String("out", "runs/dcgan", "output folder for samples, the loss log and checkpoints; an existing run there is resumed")
	convDim := flag.Int("conv_dim", defaults.ConvDim, "channels of the first discriminator layer; the others are multiples")
	noiseSize := flag.Int("noise_size", defaults.NoiseSize, "length of the noise vector z")
	norm := flag.String("norm", defaults.Norm, "normalization: instance, batch or none")
	batchSize := flag.Int("batch_size", defaults.BatchSize, "images per batch")
	lr := flag.Float64("lr", defaults.LearningRate, "Adam learning rate of both networks")
	beta1 := flag.Float64("beta1", defaults.Beta1, "Adam beta1")
	beta2 := flag.Float64("beta2", defaults.Beta2, "Adam beta2")
	preprocess := flag.String("data_preprocess", defaults.Preprocess, "augmentation: basic or deluxe")
	iterations := flag.Int("iterations", 0, "training iterations (default: the preset's)")
	sampleEvery := flag.Int("sample_every", 0, "save a sample grid every N iterations (default: the preset's)")
	milestones := flag.String("milestones", "", "comma-separated iterations that always get a sample grid (default: the preset's)")
	logEvery := flag.Int("log_every", 0, "append the losses to losses.csv every N iterations (default: the preset's)")
	checkpointEvery := flag.Int("checkpoint_every", 0, "save a checkpoint every N iterations (default: the preset's)")
	seed := flag.Int64("seed", defaults.Seed, "random seed of the weights, the noise and the data order")
	convImpl := flag.String("conv_impl", defaults.ConvImpl, "convolution: auto, native, im2col, shift, gather or hybrid; native and hybrid take seconds per step on the pure Go backend")
	diffAugment := flag.String("diffaugment", defaults.DiffAugment, "DiffAugment policy on every discriminator input, e.g. color,translation,cutout; empty for none")
	cli.SetUsage("train the DCGAN on the Grumpy cat images, writing samples, losses and checkpoints to -out (resumed when it exists)",
		"go run ./cmd/dcgan -preset quick -out runs/dcgan", "go run ./cmd/dcgan -preset report -data_preprocess basic -out runs/dcgan-basic")
	flag.Parse()
	if err := cli.CheckArgs(flag.CommandLine); err != nil {
		return err
	}

	cfg, err := gan.PresetConfig(*preset)
	if err != nil {
		return err
	}
	cfg.ConvDim, cfg.NoiseSize, cfg.Norm, cfg.BatchSize = *convDim, *noiseSize, *norm, *batchSize
	cfg.LearningRate, cfg.Beta1, cfg.Beta2 = *lr, *beta1, *beta2
	cfg.Preprocess, cfg.Seed, cfg.ConvImpl, cfg.DiffAugment = *preprocess, *seed, *convImpl, *diffAugment
	cli.OverrideIfGiven(&cfg.Iterations, "iterations", *iterations)
	cli.OverrideIfGiven(&cfg.SampleEvery, "sample_every", *sampleEvery)
	cli.OverrideIfGiven(&cfg.LogEvery, "log_every", *logEvery)
	cli.OverrideIfGiven(&cfg.CheckpointEvery, "checkpoint_every", *checkpointEvery)
	if *milestones != "" {
		if cfg.Milestones, err = cli.ParseIterations(*milestones); err != nil {
			return fmt.Errorf("-milestones: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	root, err := dataset.Root(*dataRoot)
	if err != nil {
		return err
	}
	images, err := dataset.Load(filepath.Join(root, dataset.GrumpyDir), gan.ImageSize)
	if err != nil {
		return err
	}
	for _, skipped := range images.Skipped {
		fmt.Fprintln(os.Stderr, "dcgan: skipped", skipped)
	}

	choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Println(choice.Note)

	trainer, err := gan.NewTrainer(choice.Backend, cfg, images, *outDir)
	if err != nil {
		return err
	}
	defer trainer.Close()
	ctx, stop := cli.InterruptContext("dcgan")
	defer stop()
	if cli.ReportResume("dcgan", *outDir, trainer.ConfigChanges(), trainer.Iteration(), cfg.Iterations) {
		// Run trains nothing then, but writes the grids of the last
		// iteration if an interrupt cut them short.
		return trainer.Run(ctx, gan.RunOptions{OnSample: func(iteration int, path string) {
			fmt.Printf("dcgan: wrote the grid of iteration %d that an interrupt cut short: %s\n", iteration, path)
		}})
	}
	fmt.Printf("dcgan: %d images from %s, %s preprocessing, %d iterations into %s (starting at %d)\n",
		images.Len(), images.Dir, cfg.Preprocess, cfg.Iterations, *outDir, trainer.Iteration())

	err = trainer.Run(ctx, gan.RunOptions{
		Progress:      os.Stdout,
		PlainProgress: !cli.IsTerminal(os.Stdout),
	})
	if err != nil {
		return err
	}
	fmt.Printf("dcgan: done; samples in %s, losses in %s\n",
		filepath.Join(*outDir, gan.SamplesDir), filepath.Join(*outDir, gan.LossLogFile))
	return nil
}
