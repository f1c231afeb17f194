// Command pixelcnn trains PixelCNN on binarized MNIST or on the cat images
// and samples from it, without Jupyter.
//
//	go run ./cmd/pixelcnn -dataset mnist -preset quick -out runs/pixelcnn-mnist
//	go run ./cmd/pixelcnn -dataset grumpy -preset report -out runs/pixelcnn-grumpy
//	go run ./cmd/pixelcnn -dataset mnist -out runs/pixelcnn-mnist -sample_only -sample_count 16
//
// A preset gives the schedule; every flag that is set overrides it. The
// output folder receives config.json, losses.csv, eval.csv,
// samples/iter-NNNNNN.png and checkpoint/; running again on the same
// folder resumes from the last checkpoint. Ctrl-C saves a checkpoint before
// exiting.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/internal/cli"
	"github.com/catsynth/catsynth/pixelcnn"
	"github.com/catsynth/catsynth/runconfig"
)

func main() {
	cli.Exit("pixelcnn", run())
}

func run() error {
	data := flag.String("dataset", pixelcnn.DataMNIST, "training images: mnist, grumpy or russian_blue")
	preset := flag.String("preset", "quick", "schedule preset: "+strings.Join(pixelcnn.PresetNames(), ", "))
	dataRoot := flag.String("data", "", "data root holding cats/ (default: $CATSYNTH_DATA, then data/ in the repository); unused for mnist")
	outDir := flag.String("out", "", "output folder for samples, the logs and checkpoints; an existing run there is resumed (default runs/pixelcnn-DATA)")
	binarization := flag.String("binarization", "", "MNIST binarization: threshold or sampled (default: threshold)")
	imageSize := flag.Int("image_size", 0, "side of the cat images in pixels: 16, 32 or 64 (default: the preset's)")
	hidden := flag.Int("hidden", 0, "h, the channels of the residual stream (default: the preset's)")
	blocks := flag.Int("residual_blocks", 0, "number of residual blocks (default: the preset's)")
	batchSize := flag.Int("batch_size", 0, "images per batch (default 16)")
	microBatches := flag.Int("micro_batches", 0, "slices of each batch that run through the network as separate branches of the graph, which the backend runs side by side: the same updates, only the speed changes; at least 1, and above the batch size one slice per image (default 2)")
	lr := flag.Float64("lr", 0, "Adam learning rate (default 1e-3)")
	iterations := flag.Int("iterations", 0, "training iterations (default: the preset's)")
	evalEvery := flag.Int("eval_every", 0, "compute the held-out NLL every N iterations (default: the preset's)")
	evalImages := flag.Int("eval_images", 0, "held-out images per evaluation, 0 for all (default: the preset's)")
	sampleEvery := flag.Int("sample_every", 0, "save a sample grid every N iterations (default: the preset's)")
	sampleCount := flag.Int("sample_count", 0, "images per sample grid (default: the preset's)")
	milestones := flag.String("milestones", "", "comma-separated iterations that always get a sample grid (default: the preset's)")
	logEvery := flag.Int("log_every", 0, "append the training NLL to losses.csv every N iterations (default: the preset's)")
	checkpointEvery := flag.Int("checkpoint_every", 0, "save a checkpoint every N iterations (default: the preset's)")
	seed := flag.Int64("seed", 1, "random seed of the weights, the data order and the samples")
	convImpl := flag.String("conv_impl", "", "convolution: auto, native, im2col, shift, gather or hybrid (default auto); native and hybrid take seconds per step on the pure Go backend")
	sampleOnly := flag.Bool("sample_only", false, "skip training: load the checkpoint and config.json in -out, changed by the flags given (of which only the sampling ones, such as -sample_count, matter), and write one sample grid to a new file, samples/iter-NNNNNN-extra-K.png")
	cli.SetUsage("train PixelCNN on binarized MNIST or the cats and sample from it, writing to -out (resumed when it exists)",
		"go run ./cmd/pixelcnn -dataset mnist -preset quick -out runs/pixelcnn-mnist", "go run ./cmd/pixelcnn -dataset mnist -out runs/pixelcnn-mnist -sample_only -sample_count 16")
	flag.Parse()
	if err := cli.CheckArgs(flag.CommandLine); err != nil {
		return err
	}

	cfg, err := pixelcnn.PresetConfig(*preset, *data)
	if err != nil {
		return err
	}
	if *outDir == "" {
		*outDir = filepath.Join("runs", "pixelcnn-"+cfg.Data)
	}
	if *sampleOnly {
		// Sampling uses the trained run's own settings, so that a run trained
		// with other flags than the preset's loads without them. The flags
		// given on this command line still apply.
		if cfg, err = runconfig.Load[pixelcnn.Config](filepath.Join(*outDir, pixelcnn.ConfigFile)); err != nil {
			return fmt.Errorf("-sample_only: %w; give the -out folder of a trained run", err)
		}
		if cli.Given("dataset") && *data != cfg.Data {
			return fmt.Errorf("-sample_only: -dataset is %s, but the run in %s trained on %s: give the -out folder of a run on %s, or leave out -dataset",
				*data, *outDir, cfg.Data, *data)
		}
	}
	if *binarization != "" && cfg.Data != pixelcnn.DataMNIST {
		return fmt.Errorf("-binarization %s: binarization applies to MNIST only, not to -dataset %s; leave it out", *binarization, cfg.Data)
	}
	if *binarization != "" {
		cfg.Binarization = *binarization
	}
	if *convImpl != "" {
		cfg.ConvImpl = *convImpl
	}
	cli.OverrideIfGiven(&cfg.LearningRate, "lr", *lr)
	cli.OverrideIfGiven(&cfg.EvalImages, "eval_images", *evalImages)
	cli.OverrideIfGiven(&cfg.Seed, "seed", *seed)
	for _, o := range []struct {
		name  string
		field *int
		value int
	}{
		{"image_size", &cfg.ImageSize, *imageSize}, {"hidden", &cfg.Hidden, *hidden},
		{"residual_blocks", &cfg.ResidualBlocks, *blocks}, {"batch_size", &cfg.BatchSize, *batchSize},
		{"micro_batches", &cfg.MicroBatches, *microBatches}, {"iterations", &cfg.Iterations, *iterations},
		{"eval_every", &cfg.EvalEvery, *evalEvery}, {"sample_every", &cfg.SampleEvery, *sampleEvery},
		{"sample_count", &cfg.SampleCount, *sampleCount}, {"log_every", &cfg.LogEvery, *logEvery},
		{"checkpoint_every", &cfg.CheckpointEvery, *checkpointEvery},
	} {
		cli.OverrideIfGiven(o.field, o.name, o.value)
	}
	if *milestones != "" {
		if cfg.Milestones, err = cli.ParseIterations(*milestones); err != nil {
			return fmt.Errorf("-milestones: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	images, err := pixelcnn.LoadData(cfg, *dataRoot)
	if err != nil {
		return err
	}
	choice, err := backend.New()
	if err != nil {
		return err
	}
	fmt.Println(choice.Note)

	trainer, err := pixelcnn.NewTrainer(choice.Backend, cfg, images, *outDir)
	if err != nil {
		return err
	}
	defer trainer.Close()
	if *sampleOnly {
		// Sampling writes a new grid and nothing else: config.json, the logs
		// and the grids of training stay as they are.
		if trainer.Iteration() == 0 {
			return fmt.Errorf("-sample_only: %s has no checkpoint: train first, or give the -out folder of a trained run", *outDir)
		}
		path, perImage, err := trainer.SaveExtraSamples()
		if err != nil {
			return err
		}
		fmt.Printf("pixelcnn: %d samples from the checkpoint at iteration %d in %s; sampling took %v per image\n",
			cfg.SampleCount, trainer.Iteration(), path, perImage.Round(time.Millisecond))
		return nil
	}
	ctx, stop := cli.InterruptContext("pixelcnn")
	defer stop()
	if cli.ReportResume("pixelcnn", *outDir, trainer.ConfigChanges(), trainer.Iteration(), cfg.Iterations) {
		// Run trains nothing then, but writes the grid and the evaluation
		// of the last iteration if an interrupt cut them short.
		return trainer.Run(ctx, pixelcnn.RunOptions{
			OnSample: func(iteration int, path string, perImage time.Duration) {
				fmt.Printf("pixelcnn: wrote the grid of iteration %d that an interrupt cut short: %s\n", iteration, path)
			},
			OnEval: func(iteration int, nll float64) {
				fmt.Printf("pixelcnn: redid the evaluation of iteration %d that an interrupt cut short: held-out NLL %.4g %s\n", iteration, nll, pixelcnn.Unit(cfg))
			},
		})
	}
	fmt.Printf("pixelcnn: %s, %d training and %d held-out images; h=%d, %d residual blocks; %d iterations into %s (starting at %d)\n",
		images.Source, images.TrainCount(), images.TestCount(), cfg.Hidden, cfg.ResidualBlocks,
		cfg.Iterations, *outDir, trainer.Iteration())

	err = trainer.Run(ctx, pixelcnn.RunOptions{
		Progress:      os.Stdout,
		PlainProgress: !cli.IsTerminal(os.Stdout),
		Label:         "PixelCNN " + cfg.Data,
		OnSample: func(iteration int, path string, perImage time.Duration) {
			fmt.Printf("\npixelcnn: iteration %d: samples in %s, %v per image\n", iteration, path, perImage.Round(time.Millisecond))
		},
	})
	if err != nil {
		return err
	}
	final, err := trainer.Evaluate()
	if err != nil {
		return err
	}
	fmt.Printf("pixelcnn: done, %d weights; held-out NLL %.4g %s", trainer.ParameterCount(), trainer.Report(final), pixelcnn.Unit(cfg))
	if cfg.Data == pixelcnn.DataMNIST {
		fmt.Printf(" (van den Oord et al. 2016 report %.2f, with another binarization)", pixelcnn.PaperMNISTNLL)
	}
	fmt.Printf("\npixelcnn: samples in %s, losses in %s\n",
		filepath.Join(*outDir, pixelcnn.SamplesDir), filepath.Join(*outDir, pixelcnn.LossLogFile))
	return nil
}
