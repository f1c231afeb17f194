package vae

import (
	"math"
	"slices"
	"testing"

	"github.com/catsynth/catsynth/internal/testutil"
	"github.com/catsynth/catsynth/mnist"
)

func loadMNIST(t *testing.T, split string) *mnist.Set {
	t.Helper()
	set, err := mnist.Load(split)
	if err != nil {
		t.Skipf("no MNIST data: %v", err)
	}
	return set
}

func TestShuffledBatchesSeek(t *testing.T) {
	pixels := make([]float32, 10*mnist.Pixels)
	for i := range pixels {
		pixels[i] = float32(i / mnist.Pixels)
	}
	straight := &shuffledBatches{pixels: pixels, n: 10, batchSize: 3, seed: 5}
	var batches [][]float32
	for range 7 { // over two epochs of 3 batches each, and one more
		batches = append(batches, straight.Next())
	}
	for _, skip := range []int{0, 2, 3, 5} {
		resumed := &shuffledBatches{pixels: pixels, n: 10, batchSize: 3, seed: 5}
		resumed.Seek(skip)
		if got := resumed.Next(); !slices.Equal(got, batches[skip]) {
			t.Errorf("batch %d after Seek(%d) differs from the uninterrupted stream", skip, skip)
		}
	}
	if slices.Equal(batches[0], batches[3]) {
		t.Error("epochs 0 and 1 start with the same batch, want a new order every epoch")
	}
}

// TestMNISTTrainingLowersELBO trains a few steps on binarized MNIST and
// checks that the negative ELBO of test images falls from its start.
func TestMNISTTrainingLowersELBO(t *testing.T) {
	train, test := loadMNIST(t, "train"), loadMNIST(t, "test")
	cfg, err := PresetConfig(MNIST, "smoke")
	if err != nil {
		t.Fatal(err)
	}
	data, err := MNISTData(cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(testutil.GoBackend(t), cfg, data, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	testPixels := BinarizedPixels(test, 500)
	negativeELBO := func() float64 {
		reconstruction, kl, err := tr.Evaluate(testPixels)
		if err != nil {
			t.Fatal(err)
		}
		return reconstruction + kl
	}
	before := negativeELBO()
	// A random decoder predicts about 0.5 per pixel: 784*ln(2) = 543 nats.
	if before < 400 || before > 700 {
		t.Errorf("negative ELBO before training %.1f nats, want about 543", before)
	}
	for range 20 {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	after := negativeELBO()
	if math.IsNaN(after) || after > 0.7*before {
		t.Errorf("negative ELBO went from %.1f to %.1f nats in 20 steps, want a fall of at least 30%%", before, after)
	}
}
