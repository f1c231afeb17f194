package cyclegan

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/gan"
	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/trainloop"
)

// convMACs returns the multiply-accumulates of a convolution with a
// kernel x kernel window producing side x side x outChannels values.
func convMACs(side, kernel, inChannels, outChannels int64) int64 {
	return side * side * kernel * kernel * inChannels * outChannels
}

// ForwardMACs returns the multiply-accumulates of one forward pass of a
// generator and of a discriminator for one 64x64 image, counting the
// convolutions only (norms and activations are cheap next to them). An
// up_conv counts as a 3x3 convolution at the upsampled size.
func (c Config) ForwardMACs() (generator, discriminator int64) {
	d := int64(c.ConvDim)
	generator = convMACs(32, 4, 3, d) + convMACs(16, 4, d, 2*d)
	generator += int64(c.ResBlocks) * convMACs(16, 3, 2*d, 2*d)
	generator += convMACs(32, 3, 2*d, d) + convMACs(64, 3, d, 3)
	if c.FinalConv {
		generator += convMACs(64, 3, 3, 3)
	}

	if c.Discriminator == DiscriminatorDC {
		_, discriminator = gan.Config{ConvDim: c.ConvDim}.ForwardMACs()
		return generator, discriminator
	}
	discriminator = convMACs(32, 4, 3, d) + convMACs(16, 4, d, 2*d) + convMACs(8, 4, 2*d, 4*d) + convMACs(4, 4, 4*d, 1)
	return generator, discriminator
}

// StepFLOPs returns the floating point operations of one training
// iteration (Trainer.Step) for a batch, counted as 2 per forward MAC and 4
// per backward MAC. The iteration runs both generators forward once for the
// fakes, each discriminator on a real and a fake batch, and backpropagates
// through the discriminators. The generators' update reuses those fakes,
// runs the two reconstructions of the cycle and both discriminators, and
// backpropagates through all of them; lambda_cycle 0 drops the backward
// pass of the two reconstructions, and lambda_identity > 0 adds two
// generator passes. With a pool (pool_size > 0) the discriminators see
// fakes computed before the step, and the generators' update computes its
// own: two more generator passes.
func (c Config) StepFLOPs() int64 {
	g, d := c.ForwardMACs()
	forward := 4*d + (4*g + 2*d)
	backward := 4*d + (2*g + 2*d)
	if c.PoolSize > 0 {
		forward += 2 * g
	}
	if c.LambdaCycle > 0 {
		backward += 2 * g
	}
	if c.LambdaIdentity > 0 {
		forward += 2 * g
		backward += 2 * g
	}
	return int64(c.BatchSize) * (2*forward + 4*backward)
}

// BenchStep builds one CycleGAN training iteration on backend with the
// default configuration (batch 16, 64x64) and random images in [-1, 1]: the
// update of D_X and D_Y, then the joint update of G_XY and G_YX. It returns
// a function that runs one iteration and the iteration's FLOPs by
// StepFLOPs. The first call of step also compiles the graphs. convImpl is
// a layers.ConvImpl name, or "" for the default.
func BenchStep(backend compute.Backend, convImpl string) (step func() error, flopsPerStep int64, err error) {
	return BenchStepWith(backend, "", convImpl)
}

// BenchStepWith is BenchStep with the DiffAugment policy diffAugment (""
// for none) on every discriminator input. The FLOP count leaves the
// augmentation out.
func BenchStepWith(backend compute.Backend, diffAugment, convImpl string) (step func() error, flopsPerStep int64, err error) {
	cfg := DefaultConfig()
	cfg.DiffAugment = diffAugment
	if convImpl != "" {
		cfg.ConvImpl = convImpl
	}
	if err := cfg.Validate(); err != nil {
		return nil, 0, err
	}
	policy, err := augment.Parse(diffAugment)
	if err != nil {
		return nil, 0, fmt.Errorf("cyclegan: diffaugment: %w", err)
	}
	store := model.NewStore()
	store.SetParam(layers.ParamConvImpl, cfg.ConvImpl)
	if err := store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, 0, fmt.Errorf("cyclegan: seeding the model: %w", err)
	}
	// Without a policy the draws u are an input that no output uses, which
	// GoMLX's executors accept.
	stepExec, err := model.NewExec(backend, store, func(scope *model.Scope, realX, realY, uD, uG *Node) []*Node {
		trainloop.ReadVariablesEachCall(scope, realX.Graph())
		return stepOutputs(StepGraph(scope, cfg, realX, realY, uD, uG))
	})
	if err != nil {
		return nil, 0, fmt.Errorf("cyclegan: building the training step: %w", err)
	}

	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0))
	randomImages := func() *tensors.Tensor {
		pixels := make([]float32, cfg.BatchSize*ImageSize*ImageSize*3)
		for i := range pixels {
			pixels[i] = float32(2*rng.Float64() - 1)
		}
		return tensors.FromFlatDataAndDimensions(pixels, cfg.BatchSize, ImageSize, ImageSize, 3)
	}
	realX, realY := randomImages(), randomImages()
	draw := uint64(0)
	step = func() error {
		// New draws every step, as in training. A tensor given to Exec may
		// be donated, so none is reused.
		draw += 2
		uD := policy.Uniforms(uint64(cfg.Seed), draw, 4*cfg.BatchSize)
		uG := policy.Uniforms(uint64(cfg.Seed), draw+1, 2*cfg.BatchSize)
		if _, err := stepExec.Exec(realX, realY, uD, uG); err != nil {
			return fmt.Errorf("cyclegan: training step: %w", err)
		}
		return nil
	}
	return step, cfg.StepFLOPs(), nil
}
