package vae

import (
	"fmt"
	"math/rand/v2"

	"github.com/catsynth/catsynth/mnist"
)

// BinarizedPixels returns the first n images of set (all when n is 0 or
// above set.N), binarized with mnist.Set.Binarize (threshold 0.5), as
// float32 values in {0, 1}, [n, 28, 28, 1] flattened: the input of the
// MNIST VAE.
func BinarizedPixels(set *mnist.Set, n int) []float32 {
	if n <= 0 || n > set.N {
		n = set.N
	}
	binary := set.Binarize()[:n*mnist.Pixels]
	pixels := make([]float32, len(binary))
	for i, v := range binary {
		pixels[i] = float32(v)
	}
	return pixels
}

// MNISTData returns the training data of the MNIST VAE: shuffled batches of
// the binarized images of train, reshuffled every epoch from cfg.Seed, and
// the first SampleCount images as the fixed batch.
func MNISTData(cfg Config, train *mnist.Set) (Data, error) {
	if cfg.Dataset != MNIST {
		return Data{}, fmt.Errorf("vae: MNISTData needs dataset %q, got %q", MNIST, cfg.Dataset)
	}
	if train.N < max(SampleCount, cfg.BatchSize) {
		return Data{}, fmt.Errorf("vae: %d MNIST images, want at least %d", train.N, max(SampleCount, cfg.BatchSize))
	}
	pixels := BinarizedPixels(train, 0)
	batches := &shuffledBatches{pixels: pixels, n: train.N, batchSize: cfg.BatchSize, seed: cfg.Seed}
	fixed := make([]float32, SampleCount*mnist.Pixels)
	copy(fixed, pixels)
	return Data{Batches: batches, Fixed: fixed}, nil
}

// shuffledBatches cycles through n images of mnist.Pixels values in a new
// random order every epoch, dropping the images that do not fill a last
// batch. The order of epoch e depends only on (seed, e).
type shuffledBatches struct {
	pixels    []float32
	n         int
	batchSize int
	seed      int64
	position  int // batches returned so far
	epoch     int
	order     []int
}

// Seek positions the stream so that Next returns batch number batches.
func (s *shuffledBatches) Seek(batches int) {
	s.position = batches
	s.order = nil
}

// Next returns the next [batchSize, 28, 28, 1] batch, flattened.
func (s *shuffledBatches) Next() []float32 {
	perEpoch := s.n / s.batchSize
	epoch, index := s.position/perEpoch, s.position%perEpoch
	if s.order == nil || epoch != s.epoch {
		rng := rand.New(rand.NewPCG(uint64(s.seed), uint64(epoch)))
		s.order = rng.Perm(s.n)
		s.epoch = epoch
	}
	batch := make([]float32, 0, s.batchSize*mnist.Pixels)
	for _, image := range s.order[index*s.batchSize : (index+1)*s.batchSize] {
		batch = append(batch, s.pixels[image*mnist.Pixels:(image+1)*mnist.Pixels]...)
	}
	s.position++
	return batch
}
