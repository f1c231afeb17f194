// Package gan trains a DCGAN on 64x64 cat images with the least-squares GAN
// loss, as in the DCGAN part of "When Cats meet GANs" (CMU 16-726):
//
//   - Generator: noise [batch, 100] -> dense -> [batch, 4, 4, 8*conv_dim],
//     then up_conv blocks (nearest upsampling x2 and a 3x3 convolution) to
//     4*, 2*, 1*conv_dim and 3 channels, norm and ReLU after each but the last,
//     and tanh: [batch, 64, 64, 3] in [-1, 1].
//   - Discriminator: 4x4 stride-2 convolutions to 1*, 2*, 4*, 8*conv_dim
//     channels, each with norm and LeakyReLU(0.2), then a 4x4 convolution
//     without padding to one logit per image.
//   - Losses (least squares): D minimizes (mean((D(x)-1)^2) +
//     mean(D(G(z))^2)) / 2; G minimizes mean((D(G(z))-1)^2).
//   - Adam with lr 2e-4 and betas (0.5, 0.999) for both networks, batch 16,
//     noise drawn uniformly from [-1, 1].
//
// The first layer of the generator is a dense layer, which computes the same
// function as the report's 4x4 transposed convolution over a 1x1 input.
package gan

import (
	"fmt"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/runconfig"
)

// ImageSize is the side of the images the DCGAN generates and judges.
const ImageSize = 64

// Config holds the DCGAN hyperparameters and the training schedule.
// DefaultConfig gives the defaults; presets override a few fields.
type Config struct {
	// ConvDim is the channel count of the first discriminator layer and of
	// the last hidden generator layer; the others are multiples of it.
	// Default 32.
	ConvDim int `json:"conv_dim"`
	// NoiseSize is the length of the noise vector z. Default 100.
	NoiseSize int `json:"noise_size"`
	// Norm is "instance" (default), "batch" or "none".
	Norm string `json:"norm"`
	// BatchSize is the number of real and of fake images per step. Default 16.
	BatchSize int `json:"batch_size"`
	// LearningRate is Adam's learning rate for both networks. Default 2e-4.
	LearningRate float64 `json:"lr"`
	// Beta1 and Beta2 are Adam's moment decays. Defaults 0.5 and 0.999.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Preprocess is the data augmentation: "basic" or "deluxe" (resize to
	// 1.1x, random crop back, random horizontal flip). Default "deluxe".
	Preprocess string `json:"data_preprocess"`
	// Iterations is the number of training steps (one D and one G update
	// each). Default 26000, as in the report.
	Iterations int `json:"iterations"`
	// SampleEvery saves a sample grid from the fixed noise every so many
	// iterations. Default 200.
	SampleEvery int `json:"sample_every"`
	// Milestones are iterations that always get a sample grid: the ones the
	// notebook shows. Default 200, 4000 and 26000.
	Milestones []int `json:"milestones"`
	// LogEvery appends the losses to the loss log every so many iterations.
	// Default 10.
	LogEvery int `json:"log_every"`
	// CheckpointEvery saves a checkpoint every so many iterations; one is
	// also saved at the end. Default 1000.
	CheckpointEvery int `json:"checkpoint_every"`
	// Seed fixes the weight initialization, the noise and the data order.
	// Default 1.
	Seed int64 `json:"seed"`
	// ConvImpl is "auto" (default), "native", "im2col", "shift", "gather" or "hybrid"; see layers.ConvImpl.
	ConvImpl string `json:"conv_impl"`
	// DiffAugment is the DiffAugment policy applied to every discriminator
	// input, real and fake, in both updates: a comma-separated list of
	// color, translation and cutout (see package augment). Default "" (off).
	DiffAugment string `json:"diffaugment"`
}

// DefaultConfig returns the report's settings for the DCGAN section.
func DefaultConfig() Config {
	return Config{
		ConvDim:         32,
		NoiseSize:       100,
		Norm:            layers.NormInstance,
		BatchSize:       16,
		LearningRate:    2e-4,
		Beta1:           0.5,
		Beta2:           0.999,
		Preprocess:      dataset.Deluxe,
		Iterations:      26000,
		SampleEvery:     200,
		Milestones:      []int{200, 4000, 26000},
		LogEvery:        10,
		CheckpointEvery: 1000,
		Seed:            1,
		ConvImpl:        layers.ConvAuto.String(),
	}
}

// Presets are named overrides of DefaultConfig, each with its reason:
//
//   - "smoke": a few iterations to check that everything runs (used by the
//     tests); about a minute with a warm build cache on two cores.
//   - "quick": 600 iterations per run, about 2 minutes per run with XLA on
//     two cores (about 4 minutes on the pure Go backend). The samples show
//     blurry face layouts: dark eye patches around a light muzzle.
//   - "report": the report's iteration counts (26000): 38 minutes per run
//     with XLA and 52 minutes on the pure Go backend, measured on two
//     cores of an Intel Xeon with AVX-512.
var Presets = map[string]func(*Config){
	"smoke": func(c *Config) {
		c.Iterations = 6
		c.SampleEvery = 3
		c.Milestones = []int{1, 3, 6}
		c.LogEvery = 1
		c.CheckpointEvery = 6
	},
	"quick": func(c *Config) {
		c.Iterations = 600
		c.SampleEvery = 100
		c.Milestones = []int{50, 200, 600}
		c.LogEvery = 5
		c.CheckpointEvery = 200
	},
	"report": func(c *Config) {},
}

// PresetNames returns the preset names in a stable order.
func PresetNames() []string { return runconfig.PresetNames(Presets) }

// PresetConfig returns DefaultConfig with the named preset applied.
func PresetConfig(name string) (Config, error) {
	return runconfig.ApplyPreset("gan", Presets, name, DefaultConfig())
}

// Validate returns an error naming the first invalid field.
func (c Config) Validate() error {
	positive := []struct {
		name  string
		value int
	}{
		{"conv_dim", c.ConvDim}, {"noise_size", c.NoiseSize}, {"batch_size", c.BatchSize},
		{"iterations", c.Iterations}, {"sample_every", c.SampleEvery}, {"log_every", c.LogEvery},
		{"checkpoint_every", c.CheckpointEvery},
	}
	for _, p := range positive {
		if p.value < 1 {
			return fmt.Errorf("gan: %s must be >= 1, got %d", p.name, p.value)
		}
	}
	if err := layers.CheckNorm(c.Norm); err != nil {
		return fmt.Errorf("gan: norm: %w", err)
	}
	if c.LearningRate <= 0 {
		return fmt.Errorf("gan: lr must be > 0, got %g", c.LearningRate)
	}
	if c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
		return fmt.Errorf("gan: beta1 and beta2 must be in [0, 1), got %g and %g", c.Beta1, c.Beta2)
	}
	if c.Preprocess != dataset.Basic && c.Preprocess != dataset.Deluxe {
		return fmt.Errorf("gan: data_preprocess must be %q or %q, got %q", dataset.Basic, dataset.Deluxe, c.Preprocess)
	}
	if _, err := layers.ParseConvImpl(c.ConvImpl); err != nil {
		return fmt.Errorf("gan: conv_impl: %w", err)
	}
	if _, err := augment.Parse(c.DiffAugment); err != nil {
		return fmt.Errorf("gan: diffaugment: %w", err)
	}
	return nil
}

// architectureFields lists the fields that fix the shapes of the variables:
// a checkpoint can only be resumed with the same values.
func (c Config) architectureFields() map[string]any {
	return map[string]any{"conv_dim": c.ConvDim, "noise_size": c.NoiseSize, "norm": c.Norm, "batch_size": c.BatchSize}
}

// checkResumable returns an error when saved, the configuration of an
// earlier run in the same folder, has another architecture than c.
func (c Config) checkResumable(saved Config, path string) error {
	return runconfig.CheckArchitecture("gan", saved.architectureFields(), c.architectureFields(), path)
}
