package dataset

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Preprocessing modes accepted by [NewLoader].
const (
	// Basic yields the images as loaded.
	Basic = "basic"
	// Deluxe resizes each image to int(1.1*size) per side with bilinear
	// interpolation (70 for 64), takes a random size x size crop and flips it
	// horizontally with probability 0.5.
	Deluxe = "deluxe"
)

// Stream tags keep the shuffle and augmentation generators independent.
const (
	shuffleStream = 1
	augmentStream = 2
)

// Loader cuts an image set into shuffled batches. It is not safe for
// concurrent use.
//
// Batch b belongs to epoch b / BatchesPerEpoch(). Each epoch is a shuffle
// seeded by (seed, epoch), and the crops and flips of batch b are seeded by
// (seed, b), so the batch sequence depends only on the images, the batch
// size, the preprocessing mode and the seed.
type Loader struct {
	images     *Images
	batchSize  int
	preprocess string
	seed       int64
	position   int

	// enlarged contains the images resized to enlargedSize for Deluxe, computed once.
	enlarged     []float32
	enlargedSize int

	// epoch is the epoch whose shuffle is in order, or -1 before the first batch.
	epoch int
	order []int
}

// NewLoader returns a loader that yields batches of batchSize images from
// images. batchSize must be in [1, images.Len()]. preprocess is [Basic] or
// [Deluxe]. seed determines every shuffle and augmentation.
func NewLoader(images *Images, batchSize int, preprocess string, seed int64) (*Loader, error) {
	if images == nil || images.Size < 1 || images.Len() == 0 {
		return nil, errors.New("dataset: invalid image set: it has no images, so no loader can be made")
	}
	if per := images.Size * images.Size * 3; len(images.Pixels)%per != 0 {
		return nil, fmt.Errorf("dataset: image set has %d values, which is not a multiple of %dx%dx3",
			len(images.Pixels), images.Size, images.Size)
	}
	if batchSize < 1 || batchSize > images.Len() {
		return nil, fmt.Errorf("dataset: invalid batch size %d: it must be between 1 and the number of images, %d",
			batchSize, images.Len())
	}
	l := &Loader{images: images, batchSize: batchSize, preprocess: preprocess, seed: seed, epoch: -1}
	switch preprocess {
	case Basic:
	case Deluxe:
		l.enlargedSize = int(1.1 * float64(images.Size))
		l.enlarged = make([]float32, images.Len()*l.enlargedSize*l.enlargedSize*3)
		per := l.enlargedSize * l.enlargedSize * 3
		for i := 0; i < images.Len(); i++ {
			resizeBilinear(l.enlarged[i*per:(i+1)*per], l.enlargedSize, images.Image(i), images.Size)
		}
	default:
		return nil, fmt.Errorf("dataset: invalid preprocessing %q: valid values are %q and %q",
			preprocess, Basic, Deluxe)
	}
	return l, nil
}

// BatchSize returns the number of images in each batch.
func (l *Loader) BatchSize() int { return l.batchSize }

// Size returns the height and width of the batch images.
func (l *Loader) Size() int { return l.images.Size }

// BatchesPerEpoch returns the number of batches in an epoch: Len() / BatchSize(),
// because the remainder of each epoch is dropped.
func (l *Loader) BatchesPerEpoch() int { return l.images.Len() / l.batchSize }

// Position returns the number of batches yielded so far (or set by Seek).
func (l *Loader) Position() int { return l.position }

// Seek positions the loader as if Next had been called batches times since
// it was made, in constant time. It panics if batches is negative.
func (l *Loader) Seek(batches int) {
	if batches < 0 {
		panic(fmt.Sprintf("dataset: Loader.Seek(%d): the batch count must not be negative", batches))
	}
	l.position = batches
}

// Next returns a new batch of shape [BatchSize, Size, Size, 3] (NHWC,
// flattened) and advances the position by one.
func (l *Loader) Next() []float32 {
	b := l.position
	l.position++

	perEpoch := l.BatchesPerEpoch()
	epoch, slot := b/perEpoch, b%perEpoch
	if epoch != l.epoch {
		l.shuffle(epoch)
	}
	indices := l.order[slot*l.batchSize : (slot+1)*l.batchSize]

	size := l.images.Size
	per := size * size * 3
	batch := make([]float32, l.batchSize*per)
	if l.preprocess == Basic {
		for k, index := range indices {
			copy(batch[k*per:(k+1)*per], l.images.Image(index))
		}
		return batch
	}

	rng := newRand(l.seed, augmentStream, uint64(b))
	big := l.enlargedSize
	bigPer := big * big * 3
	for k, index := range indices {
		top := rng.IntN(big - size + 1)
		left := rng.IntN(big - size + 1)
		flip := rng.IntN(2) == 1
		cropImage(batch[k*per:(k+1)*per], size, l.enlarged[index*bigPer:(index+1)*bigPer], big, top, left, flip)
	}
	return batch
}

// shuffle computes the image order of epoch.
func (l *Loader) shuffle(epoch int) {
	if l.order == nil {
		l.order = make([]int, l.images.Len())
	}
	for i := range l.order {
		l.order[i] = i
	}
	rng := newRand(l.seed, shuffleStream, uint64(epoch))
	rng.Shuffle(len(l.order), func(i, j int) { l.order[i], l.order[j] = l.order[j], l.order[i] })
	l.epoch = epoch
}

// newRand returns a PCG generator determined by (seed, stream, index).
// The second PCG word is hashed so that nearby indices give unrelated states.
func newRand(seed int64, stream, index uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), splitMix64(stream<<56^index)))
}

// splitMix64 is the SplitMix64 finalizer, a bijective 64-bit mixing function.
func splitMix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// cropImage copies the size x size window at (top, left) of the big x big HWC
// image src into dst, mirrored left to right if flip is set.
func cropImage(dst []float32, size int, src []float32, big, top, left int, flip bool) {
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			sx := left + x
			if flip {
				sx = left + size - 1 - x
			}
			copy(dst[(y*size+x)*3:(y*size+x)*3+3], src[((top+y)*big+sx)*3:((top+y)*big+sx)*3+3])
		}
	}
}

// resizeBilinear resizes the in x in HWC RGB image src to out x out into dst.
// Pixel centers are aligned (a source coordinate is (d+0.5)*in/out - 0.5),
// and coordinates outside the image are clamped to its edge.
func resizeBilinear(dst []float32, out int, src []float32, in int) {
	scale := float64(in) / float64(out)
	for y := 0; y < out; y++ {
		y0, y1, wy := sampleCoordinates(y, scale, in)
		for x := 0; x < out; x++ {
			x0, x1, wx := sampleCoordinates(x, scale, in)
			for c := 0; c < 3; c++ {
				top := (1-wx)*float64(src[(y0*in+x0)*3+c]) + wx*float64(src[(y0*in+x1)*3+c])
				bottom := (1-wx)*float64(src[(y1*in+x0)*3+c]) + wx*float64(src[(y1*in+x1)*3+c])
				dst[(y*out+x)*3+c] = float32((1-wy)*top + wy*bottom)
			}
		}
	}
}

// sampleCoordinates returns the two source indices around destination index d and the weight of the second.
func sampleCoordinates(d int, scale float64, in int) (i0, i1 int, w float64) {
	s := (float64(d)+0.5)*scale - 0.5
	if s <= 0 {
		return 0, 0, 0
	}
	i0 = int(s)
	if i0 >= in-1 {
		return in - 1, in - 1, 0
	}
	return i0, i0 + 1, s - float64(i0)
}
