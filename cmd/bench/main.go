// Command bench times the training step of each catsynth model on every
// backend available here. It prints the median, the 5th and 95th
// percentiles, GFLOP/s and peak memory. With -torch it also runs the
// PyTorch peer script in the same run and prints our/PyTorch ratios.
//
//	go run ./cmd/bench                       # DCGAN on the go backend, and XLA if its plugin is installed
//	go run ./cmd/bench -steps 30 -torch ../shared/bench/torch_reference.py
//	go run ./cmd/bench -write docs/benchmarks.md
//
// Build with GOEXPERIMENT=simd (the Makefile does), or the Go backend's
// MatMul runs without AVX-512 and about 3 times slower.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/catsynth/catsynth/internal/cli"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/installer"

	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/cyclegan"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/gan"
	"github.com/catsynth/catsynth/pixelcnn"
	"github.com/catsynth/catsynth/vae"
)

// benchModel is one model the command can time.
type benchModel struct {
	name string
	// peerCase is the PyTorch peer's case id for the same step; "" when the
	// peer has none.
	peerCase string
	// build returns one training step, its FLOP count and a cleanup.
	build func(b compute.Backend, images *dataset.Images, convImpl string) (step func() error, flops int64, cleanup func(), err error)
}

// models lists every model with a benchmark, in table order.
var models = []benchModel{
	{name: "DCGAN", peerCase: "A", build: buildDCGAN},
	{name: "DCGAN+DiffAugment", build: func(b compute.Backend, images *dataset.Images, convImpl string) (func() error, int64, func(), error) {
		return buildDCGANWith(b, images, convImpl, "color,translation,cutout")
	}},
	{name: "CycleGAN", peerCase: "C", build: fromBenchStep(cyclegan.BenchStep)},
	{name: "CycleGAN+DiffAugment", build: fromBenchStep(func(b compute.Backend, convImpl string) (func() error, int64, error) {
		return cyclegan.BenchStepWith(b, "color,translation,cutout", convImpl)
	})},
	{name: "PixelCNN 28x28x1 h64", peerCase: "D-bin", build: fromBenchStep(func(b compute.Backend, convImpl string) (func() error, int64, error) {
		return pixelcnn.BenchStep(b, true, 64, convImpl)
	})},
	{name: "PixelCNN 32x32x3 h128", peerCase: "D-128", build: fromBenchStep(func(b compute.Backend, convImpl string) (func() error, int64, error) {
		return pixelcnn.BenchStep(b, false, 128, convImpl)
	})},
	{name: "VAE", peerCase: "E", build: fromBenchStep(vae.BenchStep)},
}

// fromBenchStep adapts a package's BenchStep, which builds its own random
// batch, to benchModel.build.
func fromBenchStep(benchStep func(b compute.Backend, convImpl string) (func() error, int64, error)) func(compute.Backend, *dataset.Images, string) (func() error, int64, func(), error) {
	return func(b compute.Backend, _ *dataset.Images, convImpl string) (func() error, int64, func(), error) {
		step, flops, err := benchStep(b, convImpl)
		return step, flops, func() {}, err
	}
}

// result is one row of the table.
type result struct {
	Model, Backend  string
	Median, P5, P95 time.Duration
	GFLOP           float64
	PeerMedian      time.Duration // zero when the peer did not run
	// PeerDefaultMedian is the peer's median with glibc's default
	// allocator; zero when the peer did not run.
	PeerDefaultMedian time.Duration
	// MaxRSS and PeerMaxRSS are the peak resident memory, in bytes, of the
	// process that ran the step; zero when unknown.
	MaxRSS, PeerMaxRSS int64
}

func main() {
	steps := flag.Int("steps", 12, "timed steps per model and backend")
	warmup := flag.Int("warmup", 3, "untimed steps first (the first one compiles the graphs)")
	backends := flag.String("backends", "auto", `comma-separated GOMLX_BACKEND values, or "auto" for go, XLA on the CPU when its plugin is found, and xla:cuda when the machine has an NVIDIA GPU`)
	only := flag.String("models", "", "comma-separated model names to time (default: all); names are matched by prefix, e.g. PixelCNN")
	torchScript := flag.String("torch", "", "path to torch_reference.py; runs the PyTorch peer in the same run when -python can import torch")
	python := flag.String("python", defaultPython(), "Python interpreter for the PyTorch peer")
	rounds := flag.Int("rounds", 1, "times to time every model, each time on every backend and then with the peer; the step times of all rounds are pooled")
	convImpl := flag.String("conv_impl", "auto", "convolution implementation for every model: auto, native, im2col, shift, gather or hybrid; native and hybrid take seconds per step on the pure Go backend")
	child := flag.String("child", "", "time only this model, on the first backend, and print the result as JSON (the parent runs each model this way; give it yourself with -cpuprofile)")
	cpuProfile := flag.String("cpuprofile", "", "with -child: write a pprof CPU profile of the timed steps to this file")
	write := flag.String("write", "", "also write the table as Markdown to this file (e.g. docs/benchmarks.md), when every model ran on the default backends")
	cli.SetUsage("time the training step of every model on each available backend, beside the PyTorch peer when -torch is given",
		"go run ./cmd/bench", "go run ./cmd/bench -models DCGAN,VAE -steps 20 -write docs/benchmarks.md")
	flag.Parse()
	if err := cli.CheckArgs(flag.CommandLine); err != nil {
		fail(err)
	}

	if *steps < 3 || *warmup < 1 || *rounds < 1 {
		fail(fmt.Errorf("-steps must be >= 3, -warmup >= 1 and -rounds >= 1, got %d, %d and %d", *steps, *warmup, *rounds))
	}
	if *cpuProfile != "" && *child == "" {
		fail(errors.New("-cpuprofile needs -child, because it profiles one model on one backend: add e.g. -child DCGAN -backends go"))
	}
	configs, err := backendConfigs(*backends)
	if err != nil {
		fail(err)
	}
	if *child != "" {
		// Only the child processes train, so only they load the images.
		images, err := benchImages()
		if err != nil {
			fail(err)
		}
		if err := runChild(*child, configs[0], images, *convImpl, *warmup, *steps, *cpuProfile); err != nil {
			fail(err)
		}
		return
	}

	peerErr := errors.New("give the path of torch_reference.py with -torch (make bench PEER_SCRIPT=/path/to/torch_reference.py)")
	if *torchScript != "" {
		peerErr = peerAvailable(*python)
	}
	// Every round times each model on every backend and then the peer's
	// same model, so that the two sides of a ratio are measured minutes
	// apart at most, whatever else the machine does meanwhile.
	type key struct{ model, config string }
	runs := make(map[key][]childRun)
	peerRuns := make(map[string][]peerRun)
	for round := range *rounds {
		for _, m := range models {
			if !selected(m.name, *only) {
				continue
			}
			for _, config := range configs {
				run, err := runInChild(m.name, config, *convImpl, *warmup, *steps)
				if err != nil {
					fmt.Fprintf(os.Stderr, "bench: %s on %q failed: %v\n", m.name, config, err)
					continue
				}
				runs[key{m.name, config}] = append(runs[key{m.name, config}], run)
			}
			if peerErr != nil || m.peerCase == "" {
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: the PyTorch peer on %s, round %d of %d\n", m.name, round+1, *rounds)
			run, err := runPeer(*python, *torchScript, m.peerCase, *steps)
			if err != nil {
				peerErr = err
				continue
			}
			peerRuns[m.name] = append(peerRuns[m.name], run)
		}
	}
	switch {
	case peerErr != nil && len(peerRuns) > 0:
		fmt.Fprintln(os.Stderr, "bench: PyTorch peer failed, so the models after it have no ratio:", peerErr)
	case peerErr != nil:
		fmt.Fprintln(os.Stderr, "bench: PyTorch peer not run:", peerErr)
	}

	var results []result
	for _, config := range configs {
		for _, m := range models {
			modelRuns := runs[key{m.name, config}]
			if len(modelRuns) == 0 {
				continue
			}
			var durations []time.Duration
			var rss int64
			for _, run := range modelRuns {
				durations = append(durations, run.durations...)
				rss = max(rss, run.maxRSS)
			}
			r := summarize(m.name, modelRuns[0].backendName, durations, modelRuns[0].gflop)
			r.MaxRSS = rss
			if len(peerRuns[m.name]) > 0 {
				peer := combinePeerRuns(peerRuns[m.name])
				r.PeerMedian, r.PeerMaxRSS, r.PeerDefaultMedian = peer.median, peer.maxRSS, peer.defaultMedian
			}
			results = append(results, r)
		}
	}

	table := render(results, *rounds, *steps)
	fmt.Print(table)
	switch {
	case *write == "":
	case *only != "" || *backends != "auto" || *convImpl != "auto":
		// A partial table would replace the full one on the page.
		fmt.Printf("bench: did not rewrite %s, because -models, -backends or -conv_impl limited this run; run without them to rewrite its table\n", *write)
	default:
		if err := writePage(*write, table); err != nil {
			fail(err)
		}
		fmt.Println("bench: wrote", *write)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// selected reports whether the -models list, empty for all, names model.
func selected(model, list string) bool {
	if list == "" {
		return true
	}
	for _, prefix := range strings.Split(list, ",") {
		if strings.HasPrefix(model, strings.TrimSpace(prefix)) {
			return true
		}
	}
	return false
}

// backendConfigs expands -backends.
func backendConfigs(flagValue string) ([]string, error) {
	if flagValue != "auto" {
		return strings.Split(flagValue, ","), nil
	}
	configs := []string{"go"}
	if plugin := backend.FindPlugin(); plugin != "" {
		configs = append(configs, "xla:"+plugin)
	}
	if hasGPU() {
		configs = append(configs, "xla:cuda")
	}
	return configs, nil
}

// hasGPU reports whether the machine shows an NVIDIA GPU (/dev/nvidia* or a
// working nvidia-smi), in which case -backends auto adds xla:cuda. A
// variable, so that tests can replace it.
var hasGPU = installer.HasNvidiaGPU

// benchImages returns the real Grumpy cats when a data folder is found, and
// otherwise 64 random images: the step time does not depend on the pixels.
func benchImages() (*dataset.Images, error) {
	if root, err := dataset.Root(""); err == nil {
		if images, err := dataset.Load(filepath.Join(root, dataset.GrumpyDir), gan.ImageSize); err == nil {
			return images, nil
		}
	}
	fmt.Fprintln(os.Stderr, "bench: no cat images found; timing on random images")
	const n = 64
	rng := rand.New(rand.NewPCG(1, 2))
	pixels := make([]float32, n*gan.ImageSize*gan.ImageSize*3)
	for i := range pixels {
		pixels[i] = float32(2*rng.Float64() - 1)
	}
	return &dataset.Images{Dir: "random", Size: gan.ImageSize, Pixels: pixels, Files: make([]string, n)}, nil
}

// buildDCGAN times gan.Trainer.Step: one discriminator and one generator
// update.
func buildDCGAN(b compute.Backend, images *dataset.Images, convImpl string) (func() error, int64, func(), error) {
	return buildDCGANWith(b, images, convImpl, "")
}

// buildDCGANWith is buildDCGAN with a DiffAugment policy on every
// discriminator input; the FLOP count leaves the augmentation out.
func buildDCGANWith(b compute.Backend, images *dataset.Images, convImpl, policy string) (func() error, int64, func(), error) {
	cfg := gan.DefaultConfig()
	cfg.ConvImpl = convImpl
	cfg.DiffAugment = policy
	dir, err := os.MkdirTemp("", "catsynth-bench-")
	if err != nil {
		return nil, 0, nil, err
	}
	trainer, err := gan.NewTrainer(b, cfg, images, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, 0, nil, err
	}
	step := func() error {
		_, err := trainer.Step()
		return err
	}
	cleanup := func() {
		trainer.Close()
		os.RemoveAll(dir)
	}
	return step, cfg.StepFLOPs(), cleanup, nil
}

// When cpuProfile is not empty, it writes a pprof CPU profile of the timed
// steps (not the warm-up) to that file.
func timeSteps(warmup, steps int, step func() error, cpuProfile string) ([]time.Duration, error) {
	for range warmup {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("creating the CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("starting the CPU profile %s: %w", cpuProfile, err)
		}
		defer pprof.StopCPUProfile()
	}
	durations := make([]time.Duration, steps)
	for i := range durations {
		start := time.Now()
		if err := step(); err != nil {
			return nil, err
		}
		durations[i] = time.Since(start)
	}
	return durations, nil
}

// summarize takes the median and the 5th and 95th percentiles (nearest
// rank) of the step times.
func summarize(model, backendName string, durations []time.Duration, gflop float64) result {
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(sorted)-1) + 0.5)
		return sorted[i]
	}
	return result{Model: model, Backend: backendName, Median: rank(0.5), P5: rank(0.05), P95: rank(0.95), GFLOP: gflop}
}
