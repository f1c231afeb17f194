// Command cyclegan trains the CycleGAN of "When Cats meet GANs" between
// the Russian Blue cats (domain X) and the Grumpy cats (domain Y), without
// Jupyter.
//
//	go run ./cmd/cyclegan -preset quick -out runs/cyclegan
//	go run ./cmd/cyclegan -preset report -final_conv -lambda_cycle 50 -out runs/cyclegan-lambda50
//
// A preset gives the schedule; every flag that is set overrides it. The
// output folder receives config.json, losses.csv,
// samples/{XtoY,YtoX}-iter-NNNNNN.png and checkpoint/; running again on the
// same folder resumes from the last checkpoint. Ctrl-C saves a checkpoint
// before exiting.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/cyclegan"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/internal/cli"
)

func main() {
	cli.Exit("cyclegan", run())
}

func run() error {
	defaults := cyclegan.DefaultConfig()
	preset := flag.String("preset", "quick", "schedule preset: "+strings.Join(cyclegan.PresetNames(), ", "))
	dataRoot := flag.String("data", "", "data root holding "+dataset.RussianBlueDir+" and "+dataset.GrumpyDir+
		" (default: $CATSYNTH_DATA, then data/ in the repository)")
	outDir := flag.String("out", "runs/cyclegan", "output folder for samples, the loss log and checkpoints; an existing run there is resumed")
	convDim := flag.Int("conv_dim", defaults.ConvDim, "channels of the first layer of every network; the others are multiples")
	resBlocks := flag.Int("n_res_blocks", defaults.ResBlocks, "residual blocks per generator")
	norm := flag.String("norm", defaults.Norm, "normalization: instance, batch or none")
	finalConv := flag.Bool("final_conv", defaults.FinalConv, "add a 3x3 convolution at the end of each generator, before tanh")
	disc := flag.String("disc", defaults.Discriminator, "discriminator: patch (a 4x4 map of scores) or dc (one score per image)")
	lambdaCycle := flag.Float64("lambda_cycle", defaults.LambdaCycle, "weight of the cycle-consistency loss; 0 turns it off")
	cycleNorm := flag.String("cycle_norm", defaults.CycleNorm, "distance of the cycle and identity losses: mse or l1")
	lambdaIdentity := flag.Float64("lambda_identity", defaults.LambdaIdentity, "weight of the identity loss; 0 turns it off")
	decayFrom := flag.Int("decay_from", defaults.DecayFrom, "iteration from which the learning rates fall linearly to 0; 0 for no decay")
	poolSize := flag.Int("pool_size", defaults.PoolSize, "past fakes kept per domain for the discriminators (the CycleGAN paper used 50); 0 turns the pool off")
	batchSize := flag.Int("batch_size", defaults.BatchSize, "images of each domain per batch")
	lr := flag.Float64("lr", defaults.LearningRate, "Adam learning rate of all networks")
	beta1 := flag.Float64("beta1", defaults.Beta1, "Adam beta1")
	beta2 := flag.Float64("beta2", defaults.Beta2, "Adam beta2")
	preprocess := flag.String("data_preprocess", defaults.Preprocess, "augmentation: basic or deluxe")
	diffAugment := flag.String("diffaugment", defaults.DiffAugment, "DiffAugment policy on every discriminator input, e.g. color,translation,cutout; empty for none")
	iterations := flag.Int("iterations", 0, "training iterations (default: the preset's)")
	sampleEvery := flag.Int("sample_every", 0, "save the sample grids every N iterations (default: the preset's)")
	milestones := flag.String("milestones", "", "comma-separated iterations that always get sample grids (default: the preset's)")
	logEvery := flag.Int("log_every", 0, "append the losses to losses.csv every N iterations (default: the preset's)")
	checkpointEvery := flag.Int("checkpoint_every", 0, "save a checkpoint every N iterations (default: the preset's)")
	seed := flag.Int64("seed", defaults.Seed, "random seed of the weights and the data order")
	convImpl := flag.String("conv_impl", defaults.ConvImpl, "convolution: auto, native, im2col, shift, gather or hybrid; native and hybrid take seconds per step on the pure Go backend")
	cli.SetUsage("train CycleGAN between Russian Blue (X) and Grumpy (Y) cats, writing samples, losses and checkpoints to -out (resumed when it exists)",
		"go run ./cmd/cyclegan -preset quick -out runs/cyclegan", "go run ./cmd/cyclegan -preset report -lambda_cycle 50 -out runs/cyclegan-lambda50")
	flag.Parse()
	if err := cli.CheckArgs(flag.CommandLine); err != nil {
		return err
	}

	cfg, err := cyclegan.PresetConfig(*preset)
	if err != nil {
		return err
	}
	cfg.ConvDim, cfg.ResBlocks, cfg.Norm, cfg.FinalConv, cfg.Discriminator = *convDim, *resBlocks, *norm, *finalConv, *disc
	cfg.LambdaCycle, cfg.CycleNorm, cfg.LambdaIdentity, cfg.DecayFrom = *lambdaCycle, *cycleNorm, *lambdaIdentity, *decayFrom
	cfg.PoolSize = *poolSize
	cfg.BatchSize, cfg.LearningRate, cfg.Beta1, cfg.Beta2 = *batchSize, *lr, *beta1, *beta2
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
	imagesX, imagesY, err := cyclegan.LoadDomains(root)
	if err != nil {
		return err
	}
	for _, images := range []*dataset.Images{imagesX, imagesY} {
		for _, skipped := range images.Skipped {
			fmt.Fprintf(os.Stderr, "cyclegan: skipped %s in %s\n", skipped, images.Dir)
		}
	}

	choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Println(choice.Note)

	trainer, err := cyclegan.NewTrainer(choice.Backend, cfg, imagesX, imagesY, *outDir)
	if err != nil {
		return err
	}
	defer trainer.Close()
	ctx, stop := cli.InterruptContext("cyclegan")
	defer stop()
	if cli.ReportResume("cyclegan", *outDir, trainer.ConfigChanges(), trainer.Iteration(), cfg.Iterations) {
		// Run trains nothing then, but writes the grids of the last
		// iteration if an interrupt cut them short.
		return trainer.Run(ctx, cyclegan.RunOptions{OnSample: func(iteration int, paths []string) {
			fmt.Printf("cyclegan: wrote the grids of iteration %d that an interrupt cut short: %s\n", iteration, strings.Join(paths, ", "))
		}})
	}
	fmt.Printf("cyclegan: X = %d images from %s, Y = %d images from %s; %d iterations into %s (starting at %d)\n",
		imagesX.Len(), imagesX.Dir, imagesY.Len(), imagesY.Dir, cfg.Iterations, *outDir, trainer.Iteration())

	err = trainer.Run(ctx, cyclegan.RunOptions{
		Progress:      os.Stdout,
		PlainProgress: !cli.IsTerminal(os.Stdout),
	})
	if err != nil {
		return err
	}
	fmt.Printf("cyclegan: done; samples in %s, losses in %s\n",
		filepath.Join(*outDir, cyclegan.SamplesDir), filepath.Join(*outDir, cyclegan.LossLogFile))
	return nil
}
