// Package cyclegan trains a CycleGAN between two cat breeds, as in the
// CycleGAN part of "When Cats meet GANs" (CMU 16-726): domain X is the
// Russian Blue cats and domain Y the Grumpy cats, both 64x64.
//
//   - Generators G_XY (X to Y) and G_YX (Y to X): a 4x4 stride-2 convolution
//     to conv_dim channels and one to 2*conv_dim, then n_res residual blocks
//     x + ReLU(norm(conv3x3(x))). An up_conv (nearest upsampling x2 and a 3x3
//     convolution) to conv_dim and one to 3 channels follow, then an
//     optional 3x3 stride-1 convolution (final_conv), and tanh.
//   - Discriminators D_X and D_Y: the DCGAN discriminator of package gan (one
//     score per image) or a patch discriminator (a 4x4 map of scores for
//     64x64 images, one per overlapping patch).
//   - Losses (least squares): each discriminator minimizes
//     mean((D(real)-1)^2) + mean(D(fake)^2); the generators jointly minimize
//     mean((D_Y(fakeY)-1)^2) + mean((D_X(fakeX)-1)^2) + lambda_cycle *
//     cycle, where cycle = dist(realX, recX) + dist(realY, recY),
//     recX = G_YX(G_XY(realX)), recY = G_XY(G_YX(realY)), and dist is the
//     mean squared error ("mse") or the mean absolute error ("l1").
//   - Adam with lr 3e-4 and betas (0.5, 0.999), batch 16.
//
// The two folders differ in size (75 Russian Blue and 204 Grumpy images).
// Each domain has its own dataset.Loader, and every iteration takes one
// batch from each. A loader reshuffles its folder at its own epoch
// boundary, so each small-folder image is seen about 2.7 times as often as
// each large-folder image. The images left over after the last full batch
// of an epoch are skipped for that epoch only.
package cyclegan

import (
	"fmt"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/runconfig"
)

// ImageSize is the side of the images of both domains.
const ImageSize = 64

// Discriminator kinds accepted by Config.Discriminator.
const (
	DiscriminatorDC    = "dc"
	DiscriminatorPatch = "patch"
)

// Distances accepted by Config.CycleNorm.
const (
	CycleMSE = "mse"
	CycleL1  = "l1"
)

// Config holds the CycleGAN hyperparameters and the training schedule.
// DefaultConfig gives the defaults; presets override a few fields.
type Config struct {
	// ConvDim is the channel count of the first layer of every network; the
	// others are multiples of it. Default 32.
	ConvDim int `json:"conv_dim"`
	// ResBlocks is the number of residual blocks of each generator. Default 3.
	ResBlocks int `json:"n_res_blocks"`
	// Norm is "instance" (default), "batch" or "none".
	Norm string `json:"norm"`
	// FinalConv adds a 3x3 stride-1 convolution (3 to 3 channels) after the
	// last up_conv of each generator, before tanh. Default false.
	FinalConv bool `json:"final_conv"`
	// Discriminator is "patch" (default: a 4x4 map of scores) or "dc" (the
	// DCGAN discriminator: one score per image).
	Discriminator string `json:"disc"`
	// LambdaCycle weights the cycle-consistency loss; 0 turns it off (it is
	// still computed and logged, but no gradient flows from it). Default 10.
	LambdaCycle float64 `json:"lambda_cycle"`
	// CycleNorm is the distance of the cycle loss: "mse" (default, as the
	// report) or "l1" (as the CycleGAN paper).
	CycleNorm string `json:"cycle_norm"`
	// LambdaIdentity weights the identity loss dist(G_XY(realY), realY) +
	// dist(G_YX(realX), realX), with dist as for the cycle loss. It costs
	// two more generator passes per iteration. Default 0 (off).
	LambdaIdentity float64 `json:"lambda_identity"`
	// PoolSize is the number of past fakes kept per domain: each
	// discriminator is then shown, half of the time, an earlier fake in place of
	// the current one (see fakePool). The CycleGAN paper used 50. Default 0
	// (off). The pools are saved with the checkpoints.
	PoolSize int `json:"pool_size"`
	// DecayFrom starts a linear learning-rate decay: from iteration
	// DecayFrom on, both learning rates fall linearly to reach 0 after the
	// last iteration. Default 0 (no decay).
	DecayFrom int `json:"decay_from"`
	// BatchSize is the number of images of each domain per step. Default 16.
	BatchSize int `json:"batch_size"`
	// LearningRate is Adam's learning rate for all networks. Default 3e-4.
	LearningRate float64 `json:"lr"`
	// Beta1 and Beta2 are Adam's moment decays. Defaults 0.5 and 0.999.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Preprocess is the data augmentation of both domains: "basic" or
	// "deluxe" (resize to 1.1x, random crop back, random horizontal flip).
	// Default "deluxe".
	Preprocess string `json:"data_preprocess"`
	// DiffAugment is the DiffAugment policy applied to every discriminator
	// input, real and fake, in the discriminator and the generator updates:
	// a comma-separated list of color, translation and cutout (see package
	// augment). Default "" (off).
	DiffAugment string `json:"diffaugment"`
	// Iterations is the number of training steps (both discriminator
	// updates and one joint generator update each). Default 10000.
	Iterations int `json:"iterations"`
	// SampleEvery saves the X to Y and Y to X grids every so many
	// iterations. Default 200.
	SampleEvery int `json:"sample_every"`
	// Milestones are iterations that always get sample grids: the ones the
	// notebook shows. Default 200, 1000, 5000 and 10000.
	Milestones []int `json:"milestones"`
	// LogEvery appends the losses to the loss log every so many iterations.
	// Default 10.
	LogEvery int `json:"log_every"`
	// CheckpointEvery saves a checkpoint every so many iterations; one is
	// also saved at the end. Default 1000.
	CheckpointEvery int `json:"checkpoint_every"`
	// Seed fixes the weight initialization and the data order. Default 1.
	Seed int64 `json:"seed"`
	// ConvImpl is "auto" (default), "native", "im2col", "shift", "gather" or "hybrid"; see layers.ConvImpl.
	ConvImpl string `json:"conv_impl"`
}

// DefaultConfig returns the report's settings for the CycleGAN section.
func DefaultConfig() Config {
	return Config{
		ConvDim:         32,
		ResBlocks:       3,
		Norm:            layers.NormInstance,
		Discriminator:   DiscriminatorPatch,
		LambdaCycle:     10,
		CycleNorm:       CycleMSE,
		BatchSize:       16,
		LearningRate:    3e-4,
		Beta1:           0.5,
		Beta2:           0.999,
		Preprocess:      dataset.Deluxe,
		Iterations:      10000,
		SampleEvery:     200,
		Milestones:      []int{200, 1000, 5000, 10000},
		LogEvery:        10,
		CheckpointEvery: 1000,
		Seed:            1,
		ConvImpl:        layers.ConvAuto.String(),
	}
}

// Presets are named overrides of DefaultConfig, each with its reason:
//
//   - "smoke": two iterations to check that everything runs (used by the
//     notebook test, which trains several runs in about a minute).
//   - "quick": a few hundred iterations, minutes per run on two cores; the
//     translations start to take the colors of the other breed.
//   - "report": the report's iteration counts (10000).
var Presets = map[string]func(*Config){
	"smoke": func(c *Config) {
		c.Iterations = 2
		c.SampleEvery = 2
		c.Milestones = []int{1, 2}
		c.LogEvery = 1
		c.CheckpointEvery = 2
	},
	"quick": func(c *Config) {
		c.Iterations = 300
		c.SampleEvery = 50
		c.Milestones = []int{20, 100, 300}
		c.LogEvery = 5
		c.CheckpointEvery = 100
	},
	"report": func(c *Config) {},
}

// PresetNames returns the preset names in a stable order.
func PresetNames() []string { return runconfig.PresetNames(Presets) }

// PresetConfig returns DefaultConfig with the named preset applied.
func PresetConfig(name string) (Config, error) {
	return runconfig.ApplyPreset("cyclegan", Presets, name, DefaultConfig())
}

// Validate returns an error naming the first invalid field.
func (c Config) Validate() error {
	positive := []struct {
		name  string
		value int
	}{
		{"conv_dim", c.ConvDim}, {"batch_size", c.BatchSize}, {"iterations", c.Iterations},
		{"sample_every", c.SampleEvery}, {"log_every", c.LogEvery}, {"checkpoint_every", c.CheckpointEvery},
	}
	for _, p := range positive {
		if p.value < 1 {
			return fmt.Errorf("cyclegan: %s must be >= 1, got %d", p.name, p.value)
		}
	}

	if c.ResBlocks < 0 {
		return fmt.Errorf("cyclegan: n_res_blocks must be >= 0, got %d", c.ResBlocks)
	}
	if err := layers.CheckNorm(c.Norm); err != nil {
		return fmt.Errorf("cyclegan: norm: %w", err)
	}
	if c.Discriminator != DiscriminatorDC && c.Discriminator != DiscriminatorPatch {
		return fmt.Errorf("cyclegan: disc must be %q or %q, got %q", DiscriminatorDC, DiscriminatorPatch, c.Discriminator)
	}
	if c.CycleNorm != CycleMSE && c.CycleNorm != CycleL1 {
		return fmt.Errorf("cyclegan: cycle_norm must be %q or %q, got %q", CycleMSE, CycleL1, c.CycleNorm)
	}
	if c.LambdaCycle < 0 || c.LambdaIdentity < 0 {
		return fmt.Errorf("cyclegan: lambda_cycle and lambda_identity must be >= 0, got %g and %g", c.LambdaCycle, c.LambdaIdentity)
	}

	if c.PoolSize < 0 {
		return fmt.Errorf("cyclegan: pool_size must be 0 (off) or a number of images, got %d", c.PoolSize)
	}
	if c.DecayFrom < 0 || (c.DecayFrom != 0 && c.DecayFrom >= c.Iterations) {
		return fmt.Errorf("cyclegan: decay_from must be 0 (no decay) or in [1, iterations=%d), got %d", c.Iterations, c.DecayFrom)
	}
	if c.LearningRate <= 0 {
		return fmt.Errorf("cyclegan: lr must be > 0, got %g", c.LearningRate)
	}
	if c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
		return fmt.Errorf("cyclegan: beta1 and beta2 must be in [0, 1), got %g and %g", c.Beta1, c.Beta2)
	}
	if c.Preprocess != dataset.Basic && c.Preprocess != dataset.Deluxe {
		return fmt.Errorf("cyclegan: data_preprocess must be %q or %q, got %q", dataset.Basic, dataset.Deluxe, c.Preprocess)
	}
	if _, err := augment.Parse(c.DiffAugment); err != nil {
		return fmt.Errorf("cyclegan: diffaugment: %w", err)
	}
	if _, err := layers.ParseConvImpl(c.ConvImpl); err != nil {
		return fmt.Errorf("cyclegan: conv_impl: %w", err)
	}
	return nil
}

// LearningRateAt returns the learning rate of the update that follows
// iteration done: LearningRate until DecayFrom, then falling linearly so
// that the last of Iterations updates uses LearningRate/(Iterations-DecayFrom).
func (c Config) LearningRateAt(done int) float64 {
	if c.DecayFrom == 0 || done < c.DecayFrom {
		return c.LearningRate
	}
	span := float64(c.Iterations - c.DecayFrom)
	return c.LearningRate * max(0, span-float64(done-c.DecayFrom)) / span
}

// architectureFields lists the fields that fix the shapes of the variables:
// a checkpoint can only be resumed with the same values.
func (c Config) architectureFields() map[string]any {
	return map[string]any{
		"conv_dim": c.ConvDim, "n_res_blocks": c.ResBlocks, "norm": c.Norm,
		"final_conv": c.FinalConv, "disc": c.Discriminator, "batch_size": c.BatchSize,
		"pool_size": c.PoolSize,
	}
}

// checkResumable returns an error when saved, the configuration of an
// earlier run in the same folder, has another architecture than c.
func (c Config) checkResumable(saved Config, path string) error {
	return runconfig.CheckArchitecture("cyclegan", saved.architectureFields(), c.architectureFields(), path)
}
