package cyclegan

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// imageLength is the number of float32 values of one 64x64 RGB image.
const imageLength = ImageSize * ImageSize * 3

// fakePool is the image buffer of past fakes that CycleGAN borrows from
// Shrivastava et al. (2017): a discriminator is shown, half of the time,
// a fake from an earlier iteration in place of the current one, which damps
// the oscillation between generator and discriminator.
//
// While the pool is not full, each new fake is stored and shown as is. Once
// it is full, each new fake is shown as is with probability 1/2. Otherwise
// it replaces a stored fake chosen uniformly, and that stored fake is shown.
type fakePool struct {
	capacity int
	// images holds count images of imageLength values each.
	images []float32
	count  int
}

func newFakePool(capacity int) *fakePool {
	return &fakePool{capacity: capacity, images: make([]float32, capacity*imageLength)}
}

// query returns the batch a discriminator is shown for the n fakes in
// fakes [n, 64, 64, 3], updating the pool as the type documentation
// describes. fakes is not modified.
func (p *fakePool) query(fakes []float32, n int, rng *rand.Rand) []float32 {
	shown := make([]float32, len(fakes))
	copy(shown, fakes)
	for i := range n {
		fake := fakes[i*imageLength : (i+1)*imageLength]
		if p.count < p.capacity {
			copy(p.images[p.count*imageLength:], fake)
			p.count++
			continue
		}
		if rng.IntN(2) == 0 {
			continue
		}
		j := rng.IntN(p.capacity)
		stored := p.images[j*imageLength : (j+1)*imageLength]
		copy(shown[i*imageLength:], stored)
		copy(stored, fake)
	}
	return shown
}

// poolVariablePaths returns the store paths that keep a domain's pool in
// the checkpoint: its images and its fill count.
func poolVariablePaths(domain string) (images, count string) {
	return "/pool/fake" + domain + "/images", "/pool/fake" + domain + "/count"
}

// restore loads the pool of domain from the store, when a resumed
// checkpoint holds one, and otherwise creates its variables so that the
// next checkpoint saves it.
func (p *fakePool) restore(store *model.Store, domain string) error {
	imagesPath, countPath := poolVariablePaths(domain)
	imagesVar, countVar := store.GetVariable(imagesPath), store.GetVariable(countPath)
	if imagesVar == nil || countVar == nil {
		store.VariableWithValue(imagesPath, tensors.FromFlatDataAndDimensions(slices.Clone(p.images), p.capacity, ImageSize, ImageSize, 3)).SetTrainable(false)
		store.VariableWithValue(countPath, int64(p.count)).SetTrainable(false)
		return nil
	}
	imagesValue, err := imagesVar.Value()
	if err != nil {
		return fmt.Errorf("cyclegan: reading the pool of fake %s from the checkpoint: %w", domain, err)
	}
	countValue, err := countVar.Value()
	if err != nil {
		return fmt.Errorf("cyclegan: reading the pool of fake %s from the checkpoint: %w", domain, err)
	}
	images := tensors.MustCopyFlatData[float32](imagesValue)
	count := int(tensors.MustCopyFlatData[int64](countValue)[0])
	if len(images) != len(p.images) || count < 0 || count > p.capacity {
		return fmt.Errorf("cyclegan: the checkpoint's pool of fake %s has room for %d images and holds %d, but pool_size is %d: resume with the pool_size it was saved with",
			domain, len(images)/imageLength, count, p.capacity)
	}
	copy(p.images, images)
	p.count = count
	return nil
}

// store writes the pool into its store variables, before a checkpoint.
func (p *fakePool) store(store *model.Store, domain string) error {
	imagesPath, countPath := poolVariablePaths(domain)
	if err := store.GetVariable(imagesPath).SetValue(tensors.FromFlatDataAndDimensions(slices.Clone(p.images), p.capacity, ImageSize, ImageSize, 3)); err != nil {
		return fmt.Errorf("cyclegan: saving the pool of fake %s: %w", domain, err)
	}
	if err := store.GetVariable(countPath).SetValue(tensors.FromScalar(int64(p.count))); err != nil {
		return fmt.Errorf("cyclegan: saving the pool of fake %s: %w", domain, err)
	}
	return nil
}
