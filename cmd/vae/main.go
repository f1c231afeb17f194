// Command vae trains the convolutional VAE of "When Cats meet GANs" on the
// Grumpy cat images or on binarized MNIST, without Jupyter.
//
//	go run ./cmd/vae -preset quick -out runs/vae-cats
//	go run ./cmd/vae -dataset mnist -preset report -out runs/vae-mnist
//
// A preset gives the schedule; every flag that is set overrides it. The
// output folder receives config.json, losses.csv, samples/,
// reconstructions/, interpolation.png (cats) and checkpoint/; running again
// on the same folder resumes from the last checkpoint. Ctrl-C saves a
// checkpoint before exiting. For MNIST it ends with the negative ELBO of the
// test images, in nats.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/internal/cli"
	"github.com/catsynth/catsynth/mnist"
	"github.com/catsynth/catsynth/vae"
)

func main() {
	cli.Exit("vae", run())
}

func run() error {
	data := flag.String("dataset", vae.Cats, "training data: cats or mnist")
	preset := flag.String("preset", "quick", "schedule preset: "+strings.Join(vae.PresetNames(), ", "))
	dataRoot := flag.String("data", "", "data root holding "+dataset.GrumpyDir+" (default: $CATSYNTH_DATA, then data/ in the repository)")
	outDir := flag.String("out", "", "output folder for samples, the loss log and checkpoints; an existing run there is resumed (default runs/vae-DATASET)")
	convDim := flag.Int("conv_dim", 0, "channels of the first encoder layer; the others are multiples (default 32)")
	latentSize := flag.Int("latent_size", 0, "dimension of z (default 128 for cats, 32 for mnist)")
	norm := flag.String("norm", "", "normalization: none, batch or instance (default none)")
	defaults := vae.DefaultConfig()
	beta := flag.Float64("beta", defaults.Beta, "weight of the KL term: loss = reconstruction + beta * KL")
	batchSize := flag.Int("batch_size", 0, "images per batch (default 16 for cats, 128 for mnist)")
	lr := flag.Float64("lr", 0, "Adam learning rate (default 1e-3)")
	beta1 := flag.Float64("beta1", defaults.Beta1, "Adam beta1, in [0, 1)")
	beta2 := flag.Float64("beta2", defaults.Beta2, "Adam beta2, in [0, 1)")
	preprocess := flag.String("data_preprocess", "", "augmentation of the cats: basic or deluxe (default deluxe)")
	iterations := flag.Int("iterations", 0, "training iterations (default: the preset's)")
	sampleEvery := flag.Int("sample_every", 0, "save sample and reconstruction grids every N iterations (default: the preset's)")
	milestones := flag.String("milestones", "", "comma-separated iterations that always get grids (default: the preset's)")
	logEvery := flag.Int("log_every", 0, "append the losses to losses.csv every N iterations (default: the preset's)")
	checkpointEvery := flag.Int("checkpoint_every", 0, "save a checkpoint every N iterations (default: the preset's)")
	evalImages := flag.Int("eval_images", 0, "MNIST test images for the final negative ELBO, 0 for all (default: the preset's)")
	seed := flag.Int64("seed", 1, "random seed of the weights, the noise and the data order")
	convImpl := flag.String("conv_impl", "", "convolution: auto, native, im2col, shift, gather or hybrid (default auto); native and hybrid take seconds per step on the pure Go backend")
	cli.SetUsage("train the convolutional VAE on the cats or binarized MNIST, writing samples, losses and checkpoints to -out (resumed when it exists)",
		"go run ./cmd/vae -preset quick -out runs/vae-cats", "go run ./cmd/vae -dataset mnist -preset report -out runs/vae-mnist")
	flag.Parse()
	if err := cli.CheckArgs(flag.CommandLine); err != nil {
		return err
	}

	cfg, err := vae.PresetConfig(*data, *preset)
	if err != nil {
		return err
	}
	cli.OverrideIfGiven(&cfg.ConvDim, "conv_dim", *convDim)
	cli.OverrideIfGiven(&cfg.LatentSize, "latent_size", *latentSize)
	cli.OverrideIfGiven(&cfg.BatchSize, "batch_size", *batchSize)
	cli.OverrideIfGiven(&cfg.Iterations, "iterations", *iterations)
	cli.OverrideIfGiven(&cfg.SampleEvery, "sample_every", *sampleEvery)
	cli.OverrideIfGiven(&cfg.LogEvery, "log_every", *logEvery)
	cli.OverrideIfGiven(&cfg.CheckpointEvery, "checkpoint_every", *checkpointEvery)
	cli.OverrideIfGiven(&cfg.EvalImages, "eval_images", *evalImages)
	cli.OverrideIfGiven(&cfg.Beta, "beta", *beta)
	cli.OverrideIfGiven(&cfg.LearningRate, "lr", *lr)
	cli.OverrideIfGiven(&cfg.Beta1, "beta1", *beta1)
	cli.OverrideIfGiven(&cfg.Beta2, "beta2", *beta2)
	setString(&cfg.Norm, *norm)
	if *preprocess != "" && cfg.Dataset != vae.Cats {
		return fmt.Errorf("-data_preprocess %s: augmentation applies to the cats only, not to -dataset %s; leave it out", *preprocess, cfg.Dataset)
	}
	setString(&cfg.Preprocess, *preprocess)
	setString(&cfg.ConvImpl, *convImpl)
	cfg.Seed = *seed
	if *milestones != "" {
		if cfg.Milestones, err = cli.ParseIterations(*milestones); err != nil {
			return fmt.Errorf("-milestones: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *outDir == "" {
		*outDir = filepath.Join("runs", "vae-"+cfg.Dataset)
	}

	var trainData vae.Data
	var test *mnist.Set
	if cfg.Dataset == vae.MNIST {
		train, err := mnist.Load("train")
		if err != nil {
			return err
		}
		if test, err = mnist.Load("test"); err != nil {
			return err
		}
		if trainData, err = vae.MNISTData(cfg, train); err != nil {
			return err
		}
	} else {
		root, err := dataset.Root(*dataRoot)
		if err != nil {
			return err
		}
		images, err := dataset.Load(filepath.Join(root, dataset.GrumpyDir), 64)
		if err != nil {
			return err
		}
		if trainData, err = vae.CatData(cfg, images); err != nil {
			return err
		}
	}

	choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Println(choice.Note)
	trainer, err := vae.NewTrainer(choice.Backend, cfg, trainData, *outDir)
	if err != nil {
		return err
	}
	defer trainer.Close()
	ctx, stop := cli.InterruptContext("vae")
	defer stop()
	if cli.ReportResume("vae", *outDir, trainer.ConfigChanges(), trainer.Iteration(), cfg.Iterations) {
		// Run trains nothing then, but writes the grids of the last
		// iteration if an interrupt cut them short.
		return trainer.Run(ctx, vae.RunOptions{OnSample: func(iteration int) {
			fmt.Printf("vae: wrote the grids of iteration %d that an interrupt cut short\n", iteration)
		}})
	}
	fmt.Printf("vae: %s, %d iterations into %s (starting at %d)\n", cfg.Dataset, cfg.Iterations, *outDir, trainer.Iteration())

	err = trainer.Run(ctx, vae.RunOptions{Progress: os.Stdout, PlainProgress: !cli.IsTerminal(os.Stdout), Label: "VAE " + cfg.Dataset})
	if err != nil {
		return err
	}

	if cfg.Dataset == vae.MNIST {
		reconstruction, kl, err := trainer.Evaluate(vae.BinarizedPixels(test, cfg.EvalImages))
		if err != nil {
			return err
		}
		fmt.Printf("vae: test negative ELBO %.2f nats per image (reconstruction %.2f + KL %.2f)\n", reconstruction+kl, reconstruction, kl)
	} else {
		path, err := trainer.SaveInterpolation(0, 1, 8)
		if err != nil {
			return err
		}
		fmt.Println("vae: interpolation in", path)
	}
	fmt.Printf("vae: done; samples in %s, losses in %s\n",
		filepath.Join(*outDir, vae.SamplesDir), filepath.Join(*outDir, vae.LossLogFile))
	return nil
}

// setInt replaces *field with value when the flag was given (value differs
// from unset).
func setString(field *string, value string) {
	if value != "" {
		*field = value
	}
}
