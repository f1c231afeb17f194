// Package vae trains a convolutional variational autoencoder, as in the VAE
// part of "When Cats meet GANs" (CMU 16-726), on the 64x64 Grumpy cats and on
// binarized 28x28 MNIST digits:
//
//   - Encoder: 4x4 stride-2 convolutions to 1*, 2*, ... conv_dim channels
//     (four for the cats, 64 -> 4 pixels; two for MNIST, 28 -> 7), each with
//     norm and LeakyReLU(0.2), then two dense layers giving the mean mu and
//     the log-variance logvar of q(z|x), [batch, LatentSize] each.
//   - Reparameterization: z = mu + exp(logvar/2) * eps, with eps ~ N(0, I)
//     drawn in Go and passed in, so that runs and resumes are reproducible.
//   - Decoder: a dense layer to the smallest feature map, then up_conv blocks
//     (nearest upsampling x2 and a 3x3 convolution) with norm and ReLU, and a
//     last up_conv to the image: tanh pixels in [-1, 1] for the cats, Bernoulli
//     logits for MNIST.
//   - Loss, the negative ELBO: reconstruction + beta * KL, both summed over
//     the pixels or the latent dimensions of one image and averaged over the
//     batch (see ReconstructionLoss and KL).
package vae

import (
	"fmt"

	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/runconfig"
)

// Dataset names accepted by Config.Dataset.
const (
	// Cats are the 64x64 RGB Grumpy cats, in [-1, 1], with an MSE
	// reconstruction loss.
	Cats = "cats"
	// MNIST are the 28x28 binarized digits, in {0, 1}, with a Bernoulli
	// likelihood.
	MNIST = "mnist"
)

// Config holds the VAE hyperparameters and the training schedule.
// DefaultConfig and DefaultMNISTConfig give the defaults; presets override
// the schedule.
type Config struct {
	// Dataset is Cats (default) or MNIST. It fixes the image shape, the
	// number of down and up blocks and the likelihood.
	Dataset string `json:"dataset"`
	// ConvDim is the channel count of the first encoder layer and of the
	// last hidden decoder layer; the others are multiples of it. Default 32.
	ConvDim int `json:"conv_dim"`
	// LatentSize is the dimension of z. Default 128 for the cats, 32 for
	// MNIST.
	LatentSize int `json:"latent_size"`
	// Norm is "none" (default), "batch" or "instance", after every hidden
	// convolution. Without a norm, every image is encoded and decoded
	// independently of the rest of its batch (batch norm here always uses
	// the current batch's statistics, also when sampling).
	Norm string `json:"norm"`
	// Beta weighs the KL term: loss = reconstruction + beta * KL. Default 1,
	// the negative ELBO.
	Beta float64 `json:"beta"`
	// BatchSize is the number of images per step. Default 16 for the cats,
	// 128 for MNIST.
	BatchSize int `json:"batch_size"`
	// LearningRate is Adam's learning rate. Default 1e-3.
	LearningRate float64 `json:"lr"`
	// Beta1 and Beta2 are Adam's moment decays. Defaults 0.9 and 0.999.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Preprocess is the augmentation of the cats: "basic" or "deluxe"
	// (resize to 1.1x, random crop back, random horizontal flip). Default
	// "deluxe". MNIST ignores it.
	Preprocess string `json:"data_preprocess"`
	// Iterations is the number of training steps. Default 14000 for the
	// cats, as in the report, and 10000 for MNIST.
	Iterations int `json:"iterations"`
	// SampleEvery saves a prior sample grid and a reconstruction grid every
	// so many iterations. Default 200.
	SampleEvery int `json:"sample_every"`
	// Milestones are iterations that always get sample grids: the ones the
	// notebook shows. Default 400, 3200, 6000 and 14000 for the cats.
	Milestones []int `json:"milestones"`
	// LogEvery appends the losses to the loss log every so many iterations.
	// Default 10.
	LogEvery int `json:"log_every"`
	// CheckpointEvery saves a checkpoint every so many iterations; one is
	// also saved at the end. Default 1000.
	CheckpointEvery int `json:"checkpoint_every"`
	// EvalImages is how many MNIST test images Evaluate uses; 0 (default)
	// means all 10000.
	EvalImages int `json:"eval_images"`
	// Seed fixes the weight initialization, the noise and the data order.
	// Default 1.
	Seed int64 `json:"seed"`
	// ConvImpl is "auto" (default), "native", "im2col", "shift", "gather" or "hybrid"; see layers.ConvImpl.
	ConvImpl string `json:"conv_impl"`
}

// DefaultConfig returns the settings of the cat VAE.
func DefaultConfig() Config {
	return Config{
		Dataset:         Cats,
		ConvDim:         32,
		LatentSize:      128,
		Norm:            layers.NormNone,
		Beta:            1,
		BatchSize:       16,
		LearningRate:    1e-3,
		Beta1:           0.9,
		Beta2:           0.999,
		Preprocess:      dataset.Deluxe,
		Iterations:      14000,
		SampleEvery:     200,
		Milestones:      []int{400, 3200, 6000, 14000},
		LogEvery:        10,
		CheckpointEvery: 1000,
		Seed:            1,
		ConvImpl:        layers.ConvAuto.String(),
	}
}

// DefaultMNISTConfig returns the settings of the binarized-MNIST VAE: a
// smaller latent space and larger batches than the cats, since the digits
// are small and there are 60000 of them.
func DefaultMNISTConfig() Config {
	c := DefaultConfig()
	c.Dataset = MNIST
	c.LatentSize = 32
	c.BatchSize = 128
	c.Iterations = 10000
	c.Milestones = []int{500, 2000, 10000}
	return c
}

// Presets are named schedules applied over the defaults of either dataset:
//
//   - "smoke": a few iterations to check that everything runs (used by the
//     tests and the notebook test).
//   - "quick": a few minutes on two CPU cores; the cats get their colors
//     and rough shape, and the digits become readable.
//   - "report": the full schedule of DefaultConfig or DefaultMNISTConfig.
var Presets = map[string]func(*Config){
	"smoke": func(c *Config) {
		c.Iterations = 6
		c.SampleEvery = 3
		c.Milestones = []int{3, 6}
		c.LogEvery = 1
		c.CheckpointEvery = 6
		if c.Dataset == MNIST {
			c.EvalImages = 500
		}
	},
	"quick": func(c *Config) {
		c.SampleEvery = 100
		c.LogEvery = 5
		c.CheckpointEvery = 200
		c.Iterations = 400
		c.Milestones = []int{50, 150, 400}
		if c.Dataset == MNIST {
			c.Iterations = 600
			c.Milestones = []int{100, 300, 600}
			c.EvalImages = 2000
		}
	},
	"report": func(c *Config) {},
}

// PresetNames returns the preset names in a stable order.
func PresetNames() []string { return runconfig.PresetNames(Presets) }

// PresetConfig returns the defaults of data (Cats or MNIST) with the named
// preset applied.
func PresetConfig(data, preset string) (Config, error) {
	var cfg Config
	switch data {
	case Cats:
		cfg = DefaultConfig()
	case MNIST:
		cfg = DefaultMNISTConfig()
	default:
		return Config{}, fmt.Errorf("vae: unknown dataset %q: valid values are %q and %q", data, Cats, MNIST)
	}
	return runconfig.ApplyPreset("vae", Presets, preset, cfg)
}

// Validate returns an error naming the first invalid field.
func (c Config) Validate() error {
	if c.Dataset != Cats && c.Dataset != MNIST {
		return fmt.Errorf("vae: dataset must be %q or %q, got %q", Cats, MNIST, c.Dataset)
	}
	positive := []struct {
		name  string
		value int
	}{
		{"conv_dim", c.ConvDim}, {"latent_size", c.LatentSize}, {"batch_size", c.BatchSize},
		{"iterations", c.Iterations}, {"sample_every", c.SampleEvery}, {"log_every", c.LogEvery},
		{"checkpoint_every", c.CheckpointEvery},
	}
	for _, p := range positive {
		if p.value < 1 {
			return fmt.Errorf("vae: %s must be >= 1, got %d", p.name, p.value)
		}
	}
	if c.EvalImages < 0 {
		return fmt.Errorf("vae: eval_images must be >= 0 (0 for all), got %d", c.EvalImages)
	}
	if err := layers.CheckNorm(c.Norm); err != nil {
		return fmt.Errorf("vae: norm: %w", err)
	}
	if c.Beta < 0 {
		return fmt.Errorf("vae: beta must be >= 0, got %g", c.Beta)
	}
	if c.LearningRate <= 0 {
		return fmt.Errorf("vae: lr must be > 0, got %g", c.LearningRate)
	}
	if c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
		return fmt.Errorf("vae: beta1 and beta2 must be in [0, 1), got %g and %g", c.Beta1, c.Beta2)
	}
	if c.Preprocess != dataset.Basic && c.Preprocess != dataset.Deluxe {
		return fmt.Errorf("vae: data_preprocess must be %q or %q, got %q", dataset.Basic, dataset.Deluxe, c.Preprocess)
	}
	if _, err := layers.ParseConvImpl(c.ConvImpl); err != nil {
		return fmt.Errorf("vae: conv_impl: %w", err)
	}
	return nil
}

// ImageShape returns the height, width and channels of the images of
// c.Dataset: 64x64x3 for the cats, 28x28x1 for MNIST.
func (c Config) ImageShape() (height, width, channels int) {
	if c.Dataset == MNIST {
		return 28, 28, 1
	}
	return 64, 64, 3
}

// blocks returns the number of stride-2 encoder convolutions, which is also
// the number of up_conv blocks of the decoder: 4 for the cats (64 -> 4) and
// 2 for MNIST (28 -> 7).
func (c Config) blocks() int {
	if c.Dataset == MNIST {
		return 2
	}
	return 4
}

// imageValues returns the number of values of one image.
func (c Config) imageValues() int {
	h, w, ch := c.ImageShape()
	return h * w * ch
}

// architectureFields lists the fields that fix the shapes of the variables:
// a checkpoint can only be resumed with the same values.
func (c Config) architectureFields() map[string]any {
	return map[string]any{
		"dataset": c.Dataset, "conv_dim": c.ConvDim, "latent_size": c.LatentSize,
		"norm": c.Norm, "batch_size": c.BatchSize,
	}
}
