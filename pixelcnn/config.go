// Package pixelcnn trains PixelCNN (van den Oord, Kalchbrenner and
// Kavukcuoglu, "Pixel Recurrent Neural Networks", ICML 2016) on binarized
// MNIST and on the cat images, as in the PixelCNN part of "When Cats meet
// GANs" (CMU 16-726):
//
//   - a 7x7 masked convolution of type A to h channels;
//   - ResidualBlocks residual blocks: ReLU, 1x1 conv to h/2, ReLU, 3x3
//     masked conv of type B, ReLU, 1x1 conv back to h, added to the input;
//   - ReLU, 1x1 conv to h, ReLU, 1x1 conv to the logits: one Bernoulli logit
//     per pixel for binary images, 256 logits per subpixel for colour
//     images, trained with cross-entropy.
//
// Every convolution is masked, the 1x1 ones included, so that in colour
// images R depends only on earlier pixels, G also on R, and B also on R and
// G of the same pixel (see MaskValues).
//
// Images are held as levels: 0/1 for binary MNIST, 0..255 for the cats.
package pixelcnn

import (
	"fmt"

	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/runconfig"
)

// Data names accepted by Config.Data.
const (
	DataMNIST       = "mnist"
	DataGrumpy      = "grumpy"
	DataRussianBlue = "russian_blue"
)

// Binarization names accepted by Config.Binarization.
const (
	BinarizeThreshold = "threshold"
	BinarizeSampled   = "sampled"
)

// PaperMNISTNLL is the test NLL of PixelCNN on binarized MNIST reported by
// van den Oord et al. (2016), in nats per image. It is quoted, not
// reproduced here. Binarized-MNIST results of that time usually use the
// stochastic binarization of Salakhutdinov and Murray (2008), which
// Binarization "sampled" approximates with its own seed.
const PaperMNISTNLL = 81.30

// Config holds the PixelCNN hyperparameters and the training schedule.
// DefaultConfig gives the defaults, which depend on Data; presets override
// a few fields.
type Config struct {
	// Data is "mnist" (binarized, 28x28x1), "grumpy" or "russian_blue" (the
	// cat images, ImageSize x ImageSize x 3, 256 levels).
	Data string `json:"data"`
	// Binarization turns MNIST intensities into 0/1: "threshold" (default,
	// 1 where intensity > 0.5) or "sampled" (1 with probability intensity,
	// drawn once from Seed).
	Binarization string `json:"binarization"`
	// ImageSize is the side of the cat images: 32 (default), 64, or 16 (the
	// smoke preset). MNIST is always 28.
	ImageSize int `json:"image_size"`
	// Hidden is h, the channel count of the residual stream. The paper used
	// 128 for MNIST. Default 32 for MNIST and 64 for the cats (32x32). On
	// a shared 2-core Intel Xeon, a step at batch 16 then took about 0.05 s
	// and 0.17 s with the XLA CPU backend, and 0.08 s and 0.29 s with the
	// pure Go backend.
	Hidden int `json:"hidden"`
	// ResidualBlocks is the number of residual blocks. Default 15.
	ResidualBlocks int `json:"residual_blocks"`
	// BatchSize is the number of images per step. Default 16.
	BatchSize int `json:"batch_size"`
	// MicroBatches is the number of slices of each batch that run through
	// the network as separate branches of the graph, which the backend runs
	// side by side. Default 2, at least 1, and a value above the batch size
	// gives one slice per image. The weights and the update do not change,
	// only the speed: with 2, the step took 16% to 24% less time on the
	// pure Go backend and 3% to 9% less on XLA (docs/benchmarks.md). The
	// held-out evaluation splits its batches the same way.
	MicroBatches int `json:"micro_batches"`
	// LearningRate is Adam's learning rate. Default 1e-3.
	LearningRate float64 `json:"lr"`
	// Iterations is the number of training steps.
	Iterations int `json:"iterations"`
	// EvalEvery computes the held-out NLL every so many iterations; it is
	// also computed at the end.
	EvalEvery int `json:"eval_every"`
	// EvalImages is the number of held-out images of each evaluation: the
	// first EvalImages of the MNIST test set, or all held-out cats when 0 or
	// more than there are.
	EvalImages int `json:"eval_images"`
	// SampleEvery samples a grid every so many iterations.
	SampleEvery int `json:"sample_every"`
	// SampleCount is the number of images in a sample grid. Default 16.
	SampleCount int `json:"sample_count"`
	// Milestones are iterations that always get a sample grid.
	Milestones []int `json:"milestones"`
	// LogEvery appends the training loss to the loss log every so many
	// iterations. Default 10.
	LogEvery int `json:"log_every"`
	// CheckpointEvery saves a checkpoint every so many iterations; one is
	// also saved at the end. Default 1000.
	CheckpointEvery int `json:"checkpoint_every"`
	// Seed fixes the weights, the data order and the samples. Default 1.
	Seed int64 `json:"seed"`
	// ConvImpl is "auto" (default), "native", "im2col", "shift", "gather" or "hybrid"; see layers.ConvImpl.
	ConvImpl string `json:"conv_impl"`
}

// levels returns the number of values of a subpixel: 2 or 256.
func (c Config) levels() int {
	if c.Data == DataMNIST {
		return 2
	}
	return 256
}

// Shape returns the height, width and channels of the images of c.Data.
func (c Config) Shape() (height, width, channels int) {
	if c.Data == DataMNIST {
		return 28, 28, 1
	}
	return c.ImageSize, c.ImageSize, 3
}

// DefaultConfig returns the defaults for data ("mnist", "grumpy" or
// "russian_blue"), with the "report" schedule: 6000 iterations for MNIST,
// and for the cats the report's 14000 with samples at 200, 3000 and 14000.
func DefaultConfig(data string) Config {
	c := Config{
		Data:            data,
		Binarization:    BinarizeThreshold,
		ImageSize:       32,
		Hidden:          64,
		ResidualBlocks:  15,
		BatchSize:       16,
		MicroBatches:    2,
		LearningRate:    1e-3,
		Iterations:      14000,
		EvalEvery:       1000,
		EvalImages:      0,
		SampleEvery:     1000,
		SampleCount:     16,
		Milestones:      []int{200, 3000, 14000},
		LogEvery:        10,
		CheckpointEvery: 1000,
		Seed:            1,
		ConvImpl:        layers.ConvAuto.String(),
	}
	if data == DataMNIST {
		c.Hidden = 32
		c.Iterations = 6000
		c.EvalEvery = 500
		c.EvalImages = 10000
		c.Milestones = []int{200, 1000, 6000}
	}
	return c
}

// Presets are named overrides of DefaultConfig:
//
//   - "smoke": a few iterations of a small network (h 16, 2 blocks, cats
//     at 16x16), to check that everything runs. The notebook test uses it.
//   - "quick": a few minutes on two cores.
//   - "report": the defaults.
var Presets = map[string]func(*Config){
	"smoke": func(c *Config) {
		c.Hidden = 16
		c.ResidualBlocks = 2
		c.Iterations = 6
		c.EvalEvery = 3
		c.EvalImages = 64
		c.SampleEvery = 3
		c.SampleCount = 4
		c.Milestones = []int{1, 3, 6}
		c.LogEvery = 1
		c.CheckpointEvery = 6
		if c.Data != DataMNIST {
			c.ImageSize = 16
		}
	},
	"quick": func(c *Config) {
		c.Iterations = 300
		c.EvalEvery = 100
		c.EvalImages = 1000
		c.SampleEvery = 100
		c.SampleCount = 8
		c.Milestones = []int{20, 100, 300}
		c.LogEvery = 5
		c.CheckpointEvery = 100
	},
	"report": func(c *Config) {},
}

// PresetNames returns the preset names in a stable order.
func PresetNames() []string { return runconfig.PresetNames(Presets) }

// PresetConfig returns DefaultConfig(data) with the named preset applied.
func PresetConfig(name, data string) (Config, error) {
	return runconfig.ApplyPreset("pixelcnn", Presets, name, DefaultConfig(data))
}

// Validate returns an error naming the first invalid field.
func (c Config) Validate() error {
	switch c.Data {
	case DataMNIST, DataGrumpy, DataRussianBlue:
	default:
		return fmt.Errorf("pixelcnn: data (the dataset) must be %q, %q or %q, got %q", DataMNIST, DataGrumpy, DataRussianBlue, c.Data)
	}
	if c.Binarization != BinarizeThreshold && c.Binarization != BinarizeSampled {
		return fmt.Errorf("pixelcnn: binarization must be %q or %q, got %q", BinarizeThreshold, BinarizeSampled, c.Binarization)
	}
	if c.Data != DataMNIST && c.ImageSize != 32 && c.ImageSize != 64 && c.ImageSize != 16 {
		return fmt.Errorf("pixelcnn: image_size must be 16, 32 or 64, got %d", c.ImageSize)
	}
	positive := []struct {
		name  string
		value int
	}{
		{"hidden", c.Hidden}, {"residual_blocks", c.ResidualBlocks}, {"batch_size", c.BatchSize}, {"micro_batches", c.MicroBatches},
		{"iterations", c.Iterations}, {"eval_every", c.EvalEvery}, {"sample_every", c.SampleEvery},
		{"sample_count", c.SampleCount}, {"log_every", c.LogEvery}, {"checkpoint_every", c.CheckpointEvery},
	}
	for _, p := range positive {
		if p.value < 1 {
			return fmt.Errorf("pixelcnn: %s must be >= 1, got %d", p.name, p.value)
		}
	}
	if c.Hidden < 2 || c.Hidden%2 != 0 {
		return fmt.Errorf("pixelcnn: hidden must be even and >= 2 (the blocks use hidden/2 channels), got %d", c.Hidden)
	}
	if c.EvalImages < 0 {
		return fmt.Errorf("pixelcnn: eval_images must be >= 0, got %d", c.EvalImages)
	}
	if c.LearningRate <= 0 {
		return fmt.Errorf("pixelcnn: lr must be > 0, got %g", c.LearningRate)
	}
	if _, err := layers.ParseConvImpl(c.ConvImpl); err != nil {
		return fmt.Errorf("pixelcnn: conv_impl: %w", err)
	}
	return nil
}

// checkResumable returns an error when saved, the configuration of an
// earlier run in the same folder, has other data, another architecture or
// another batch size, as the other models' runs do. micro_batches may
// change, since it changes the speed and not the updates.
func (c Config) checkResumable(saved Config, path string) error {
	fields := func(x Config) map[string]any {
		return map[string]any{"data": x.Data, "image_size": x.ImageSize, "hidden": x.Hidden,
			"residual_blocks": x.ResidualBlocks, "binarization": x.Binarization, "batch_size": x.BatchSize}
	}
	return runconfig.CheckArchitecture("pixelcnn", fields(saved), fields(c), path)
}
