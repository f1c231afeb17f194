package vae

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/dataset"
)

// Batches is a reproducible stream of training batches, such as a
// *dataset.Loader.
type Batches interface {
	// Next returns the next batch, [BatchSize, height, width, channels]
	// flattened in NHWC order.
	Next() []float32
	// Seek positions the stream so that the next batch is the one that
	// followed the given number of batches from the start.
	Seek(batches int)
}

// Data is the training data of a run.
type Data struct {
	// Batches feeds the training steps.
	Batches Batches
	// Fixed contains SampleCount images, [SampleCount, height, width,
	// channels] flattened, reconstructed in every reconstruction grid. A
	// resumed run uses the copy stored in its checkpoint instead.
	Fixed []float32
}

// CatData returns the training data of the cat VAE: batches of images with
// cfg.Preprocess augmentation, and the first SampleCount images, without
// augmentation, as the fixed batch. The images must be 64x64 (see
// dataset.Load) and at least SampleCount.
func CatData(cfg Config, images *dataset.Images) (Data, error) {
	height, _, _ := cfg.ImageShape()
	if cfg.Dataset != Cats {
		return Data{}, fmt.Errorf("vae: CatData needs dataset %q, got %q", Cats, cfg.Dataset)
	}
	if images.Size != height {
		return Data{}, fmt.Errorf("vae: images from %s are %dx%d, want %dx%d: load them with dataset.Load(dir, %d)",
			images.Dir, images.Size, images.Size, height, height, height)
	}
	if images.Len() < SampleCount {
		return Data{}, fmt.Errorf("vae: %s has %d images, want at least %d", images.Dir, images.Len(), SampleCount)
	}
	loader, err := dataset.NewLoader(images, cfg.BatchSize, cfg.Preprocess, cfg.Seed)
	if err != nil {
		return Data{}, fmt.Errorf("vae: %w", err)
	}
	fixed := make([]float32, SampleCount*cfg.imageValues())
	copy(fixed, images.Pixels)
	return Data{Batches: loader, Fixed: fixed}, nil
}

// normalNoise returns a [rows, cols] tensor of independent N(0, 1) values,
// seeded by (seed, stream): training step i uses stream i, and negative
// streams serve the fixed sample noise and the evaluation.
func normalNoise(seed, stream int64, rows, cols int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(stream)))
	data := make([]float32, rows*cols)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(data, rows, cols)
}

// Noise streams that are not training steps.
const (
	fixedNoiseStream = -1
	evalNoiseStream  = -2
)
