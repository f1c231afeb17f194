package pixelcnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/mnist"
)

// HeldOutEvery puts every HeldOutEvery-th cat image (indices 9, 19, 29, ...
// in file order) into the held-out split, so the split is fixed.
const HeldOutEvery = 10

// Data holds the training and held-out images as levels, one byte per
// subpixel in NHWC order: 0/1 for binary MNIST, 0..255 for the cats.
type Data struct {
	Train, Test             []uint8
	Height, Width, Channels int
	// Source describes where the images came from, for logs.
	Source string
}

// ImageDims returns the number of subpixels of one image.
func (d *Data) ImageDims() int { return d.Height * d.Width * d.Channels }

// TrainCount returns the number of training images.
func (d *Data) TrainCount() int { return len(d.Train) / d.ImageDims() }

// TestCount returns the number of held-out images.
func (d *Data) TestCount() int { return len(d.Test) / d.ImageDims() }

// LoadData loads the images of cfg.Data: the MNIST train and test splits
// binarized by cfg.Binarization, or the cat images of dataRoot (see
// dataset.Root) resized to cfg.ImageSize, quantized to 256 levels and
// split by HeldOutEvery.
func LoadData(cfg Config, dataRoot string) (*Data, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Data == DataMNIST {
		return loadMNIST(cfg)
	}
	root, err := dataset.Root(dataRoot)
	if err != nil {
		return nil, fmt.Errorf("pixelcnn: %w", err)
	}
	dir := dataset.GrumpyDir
	if cfg.Data == DataRussianBlue {
		dir = dataset.RussianBlueDir
	}
	images, err := dataset.Load(filepath.Join(root, dir), cfg.ImageSize)
	if err != nil {
		return nil, fmt.Errorf("pixelcnn: %w", err)
	}
	return QuantizeCats(images), nil
}

// QuantizeCats converts images in [-1, 1] to 256 levels and splits them:
// image i is held out when i%HeldOutEvery == HeldOutEvery-1.
func QuantizeCats(images *dataset.Images) *Data {
	d := &Data{Height: images.Size, Width: images.Size, Channels: 3, Source: images.Dir}
	for i := range images.Len() {
		pixels := images.Image(i)
		levels := make([]uint8, len(pixels))
		for j, v := range pixels {
			levels[j] = uint8(math.Round(math.Max(0, math.Min(255, (float64(v)+1)*127.5))))
		}
		if i%HeldOutEvery == HeldOutEvery-1 {
			d.Test = append(d.Test, levels...)
		} else {
			d.Train = append(d.Train, levels...)
		}
	}
	return d
}

func loadMNIST(cfg Config) (*Data, error) {
	binarize := func(set *mnist.Set, stream uint64) []uint8 {
		if cfg.Binarization == BinarizeSampled {
			return set.BinarizeSampled(uint64(cfg.Seed)*2 + stream)
		}
		return set.Binarize()
	}
	train, err := mnist.Load("train")
	if err != nil {
		return nil, fmt.Errorf("pixelcnn: %w", err)
	}
	test, err := mnist.Load("test")
	if err != nil {
		return nil, fmt.Errorf("pixelcnn: %w", err)
	}
	return &Data{
		Train: binarize(train, 0), Test: binarize(test, 1),
		Height: mnist.Size, Width: mnist.Size, Channels: 1,
		Source: fmt.Sprintf("MNIST, %s binarization", cfg.Binarization),
	}, nil
}

// batchAt returns batch number step (0-based) of the training images as
// float32 levels: the images are shuffled once per epoch from seed, so a
// resumed run gets the same batches.
func (d *Data) batchAt(seed int64, step, batchSize int) []float32 {
	n := d.TrainCount()
	dims := d.ImageDims()
	out := make([]float32, batchSize*dims)
	var perm []int
	permEpoch := -1
	for b := range batchSize {
		position := step*batchSize + b
		epoch := position / n
		if epoch != permEpoch {
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(epoch)))
			perm = rng.Perm(n)
			permEpoch = epoch
		}
		image := perm[position%n]
		for j, v := range d.Train[image*dims : (image+1)*dims] {
			out[b*dims+j] = float32(v)
		}
	}
	return out
}

// testImages returns the first count held-out images (all when count is 0
// or too large) as float32 levels, and their number.
func (d *Data) testImages(count int) ([]float32, int) {
	n := d.TestCount()
	if count <= 0 || count > n {
		count = n
	}
	out := make([]float32, count*d.ImageDims())
	for i := range out {
		out[i] = float32(d.Test[i])
	}
	return out, count
}
