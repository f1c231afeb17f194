package vae

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/trainloop"
)

// BenchStep prepares the training step of the cat VAE with DefaultConfig
// (64x64x3 images, batch 16, latent 128) on backend, fed with uniform random
// images in [-1, 1] and fixed noise. It returns a function that runs one
// step, and the step's floating point operations by Config.StepFLOPs. The
// graph is compiled and run once before BenchStep returns, so that every
// call of step times the step alone. convImpl is a layers.ConvImpl name, or
// "" for the default.
func BenchStep(backend compute.Backend, convImpl string) (step func() error, flopsPerStep int64, err error) {
	cfg := DefaultConfig()
	if convImpl != "" {
		cfg.ConvImpl = convImpl
	}
	if err := cfg.Validate(); err != nil {
		return nil, 0, err
	}
	height, width, channels := cfg.ImageShape()
	rng := rand.New(rand.NewPCG(1, 2))
	pixels := make([]float32, cfg.BatchSize*cfg.imageValues())
	for i := range pixels {
		pixels[i] = float32(2*rng.Float64() - 1)
	}
	x := tensors.FromFlatDataAndDimensions(pixels, cfg.BatchSize, height, width, channels)
	eps := normalNoise(cfg.Seed, 0, cfg.BatchSize, cfg.LatentSize)

	store := model.NewStore()
	store.SetParam(layers.ParamConvImpl, cfg.ConvImpl)
	if err := store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, 0, fmt.Errorf("vae: seeding the benchmark model: %w", err)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, eps *Node) (*Node, *Node, *Node) {
		trainloop.ReadVariablesEachCall(scope, x.Graph())
		return StepGraph(scope, cfg, x, eps)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("vae: building the benchmark step: %w", err)
	}
	step = func() error {
		if _, err := exec.Exec(x, eps); err != nil {
			return fmt.Errorf("vae: benchmark step: %w", err)
		}
		return nil
	}
	if err := step(); err != nil {
		return nil, 0, err
	}
	return step, cfg.StepFLOPs(), nil
}
