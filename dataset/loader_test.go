package dataset

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// constantImages returns n size x size images where every value of image i is
// the distinct value id(i), so a batch image can be traced to its source.
func constantImages(n, size int) *Images {
	per := size * size * 3
	images := &Images{Size: size, Pixels: make([]float32, n*per)}
	for i := 0; i < n; i++ {
		for k := range per {
			images.Pixels[i*per+k] = id(i)
		}
	}
	return images
}

func id(i int) float32 { return -1 + float32(i)/1000 }

// randomImages returns n size x size images of uniform random values in [-1, 1].
func randomImages(n, size int, seed uint64) *Images {
	rng := rand.New(rand.NewPCG(seed, 0))
	images := &Images{Size: size, Pixels: make([]float32, n*size*size*3)}
	for i := range images.Pixels {
		images.Pixels[i] = rng.Float32()*2 - 1
	}
	return images
}

// batchIndices maps each image of a batch from constantImages back to its index.
func batchIndices(t *testing.T, batch []float32, batchSize, size int) []int {
	t.Helper()
	per := size * size * 3
	indices := make([]int, batchSize)
	for k := range indices {
		indices[k] = int(math.Round(float64(batch[k*per]+1) * 1000))
	}
	return indices
}

func TestNewLoaderErrors(t *testing.T) {
	images := constantImages(5, 4)
	tests := []struct {
		name       string
		images     *Images
		batchSize  int
		preprocess string
		want       []string
	}{
		{"zero batch", images, 0, Basic, []string{"invalid batch size 0", "5"}},
		{"batch above count", images, 6, Basic, []string{"invalid batch size 6", "5"}},
		{"unknown preprocessing", images, 2, "fancy", []string{`"fancy"`, `"basic"`, `"deluxe"`}},
		{"nil images", nil, 1, Basic, []string{"has no images"}},
		{"no images", &Images{Size: 4}, 1, Basic, []string{"has no images"}},
		{"ragged pixels", &Images{Size: 2, Pixels: make([]float32, 13)}, 1, Basic, []string{"13 values"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLoader(tt.images, tt.batchSize, tt.preprocess, 1)
			if err == nil {
				t.Fatalf("NewLoader(batchSize=%d, %q) succeeded, want an error", tt.batchSize, tt.preprocess)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoaderEpochCoverage(t *testing.T) {
	tests := []struct {
		n, batchSize int
	}{
		{12, 4}, // divides evenly: every image once per epoch
		{10, 3}, // remainder 1: 9 distinct images per epoch, one dropped
		{7, 7},
		{5, 1},
	}
	for _, tt := range tests {
		images := constantImages(tt.n, 3)
		loader, err := NewLoader(images, tt.batchSize, Basic, 42)
		if err != nil {
			t.Fatal(err)
		}
		perEpoch := tt.n / tt.batchSize
		if got := loader.BatchesPerEpoch(); got != perEpoch {
			t.Errorf("n=%d batch=%d: BatchesPerEpoch() = %d, want %d", tt.n, tt.batchSize, got, perEpoch)
		}
		var orders [][]int
		for epoch := 0; epoch < 4; epoch++ {
			seen := map[int]bool{}
			var order []int
			for b := 0; b < perEpoch; b++ {
				batch := loader.Next()
				if got, want := len(batch), tt.batchSize*3*3*3; got != want {
					t.Fatalf("len(batch) = %d, want %d", got, want)
				}
				for _, index := range batchIndices(t, batch, tt.batchSize, 3) {
					if index < 0 || index >= tt.n || seen[index] {
						t.Fatalf("n=%d batch=%d epoch %d: image %d is out of range or repeated", tt.n, tt.batchSize, epoch, index)
					}
					seen[index] = true
					order = append(order, index)
				}
			}
			if got, want := len(seen), perEpoch*tt.batchSize; got != want {
				t.Errorf("n=%d batch=%d epoch %d: %d distinct images, want %d", tt.n, tt.batchSize, epoch, got, want)
			}
			orders = append(orders, order)
		}
		if tt.n > 3 && reflect.DeepEqual(orders[0], orders[1]) && reflect.DeepEqual(orders[1], orders[2]) {
			t.Errorf("n=%d batch=%d: epochs 0-2 have the same order %v, want a new shuffle each epoch", tt.n, tt.batchSize, orders[0])
		}
		if got, want := loader.Position(), 4*perEpoch; got != want {
			t.Errorf("Position() = %d, want %d", got, want)
		}
	}
}

func TestLoaderSeek(t *testing.T) {
	images := randomImages(10, 8, 3)
	for _, preprocess := range []string{Basic, Deluxe} {
		reference, err := NewLoader(images, 3, preprocess, 7)
		if err != nil {
			t.Fatal(err)
		}
		var sequence [][]float32
		for range 25 {
			sequence = append(sequence, reference.Next())
		}
		for _, n := range []int{0, 1, 2, 3, 5, 11, 24} {
			loader, err := NewLoader(images, 3, preprocess, 7)
			if err != nil {
				t.Fatal(err)
			}
			loader.Seek(n)
			if got := loader.Position(); got != n {
				t.Errorf("%s: Position() after Seek(%d) = %d", preprocess, n, got)
			}
			if got := loader.Next(); !reflect.DeepEqual(got, sequence[n]) {
				t.Errorf("%s: Next() after Seek(%d) differs from batch %d of a fresh loader", preprocess, n, n)
			}
		}
		// Seeking backwards on a used loader must also reproduce the batch.
		reference.Seek(4)
		if got := reference.Next(); !reflect.DeepEqual(got, sequence[4]) {
			t.Errorf("%s: Next() after Seek(4) on a used loader differs from batch 4", preprocess)
		}
	}
}

func TestLoaderDeluxe(t *testing.T) {
	const size = 16
	images := randomImages(6, size, 5)
	basic, err := NewLoader(images, 6, Basic, 1)
	if err != nil {
		t.Fatal(err)
	}
	deluxe, err := NewLoader(images, 6, Deluxe, 1)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewLoader(images, 6, Deluxe, 1)
	if err != nil {
		t.Fatal(err)
	}
	otherSeed, err := NewLoader(images, 6, Deluxe, 2)
	if err != nil {
		t.Fatal(err)
	}

	basicBatch, deluxeBatch := basic.Next(), deluxe.Next()
	if got, want := len(deluxeBatch), 6*size*size*3; got != want {
		t.Fatalf("len(deluxe batch) = %d, want %d", got, want)
	}
	for i, v := range deluxeBatch {
		if v < -1 || v > 1 || math.IsNaN(float64(v)) {
			t.Fatalf("deluxe value %d = %g, want within [-1, 1]", i, v)
		}
	}
	if reflect.DeepEqual(basicBatch, deluxeBatch) {
		t.Errorf("deluxe batch equals the basic batch, want cropped and flipped images")
	}
	if got := again.Next(); !reflect.DeepEqual(got, deluxeBatch) {
		t.Errorf("deluxe batches with the same seed differ, want them equal")
	}
	if got := otherSeed.Next(); reflect.DeepEqual(got, deluxeBatch) {
		t.Errorf("deluxe batches with seeds 1 and 2 are equal, want them to differ")
	}
	if deluxe.enlargedSize != 17 {
		t.Errorf("enlarged size for %d = %d, want int(1.1*16) = 17", size, deluxe.enlargedSize)
	}
}

func TestLoaderDeluxeFlip(t *testing.T) {
	// Every row of the source rises from left to right, and both bilinear
	// resizing and cropping keep that, so each output image must rise
	// (not flipped) or fall (flipped) along all its rows.
	const size, n = 12, 40
	images := &Images{Size: size, Pixels: make([]float32, n*size*size*3)}
	for i := 0; i < n; i++ {
		img := images.Image(i)
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				for c := 0; c < 3; c++ {
					img[(y*size+x)*3+c] = -1 + 2*float32(x)/(size-1)
				}
			}
		}
	}
	loader, err := NewLoader(images, 8, Deluxe, 9)
	if err != nil {
		t.Fatal(err)
	}
	flipped, total := 0, 0
	for range 25 {
		batch := loader.Next()
		for k := 0; k < 8; k++ {
			img := batch[k*size*size*3 : (k+1)*size*size*3]
			rising, falling := 0, 0
			for y := 0; y < size; y++ {
				left, right := img[(y*size)*3], img[(y*size+size-1)*3]
				switch {
				case right > left:
					rising++
				case right < left:
					falling++
				}
			}
			if rising != size && falling != size {
				t.Fatalf("image %d: %d rows rise and %d fall, want all %d rows in one direction", total, rising, falling, size)
			}
			if falling == size {
				flipped++
			}
			total++
		}
	}
	// With p = 0.5 over 200 images, a share outside [0.35, 0.65] has
	// probability below 1e-4 for a fair coin.
	if share := float64(flipped) / float64(total); share < 0.35 || share > 0.65 {
		t.Errorf("%d of %d images flipped (%.2f), want about half", flipped, total, share)
	}
}

func TestResizeBilinear(t *testing.T) {
	// One row [0, 1] per channel, enlarged to 4 columns. With aligned pixel
	// centers the sample points are x = -0.25, 0.25, 0.75, 1.25, so after
	// clamping the values are 0, 0.25, 0.75, 1 on every row.
	src := []float32{
		0, 0, 0, 1, 1, 1,
		0, 0, 0, 1, 1, 1,
	}
	// The source is 2x2 with identical rows.
	dst := make([]float32, 4*4*3)
	resizeBilinear(dst, 4, src, 2)
	want := []float32{0, 0.25, 0.75, 1}
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			for c := 0; c < 3; c++ {
				if got := dst[(y*4+x)*3+c]; math.Abs(float64(got-want[x])) > 1e-6 {
					t.Errorf("dst(y=%d, x=%d, c=%d) = %g, want %g", y, x, c, got, want[x])
				}
			}
		}
	}
}

func TestLoaderSeekNegativePanics(t *testing.T) {
	loader, err := NewLoader(constantImages(2, 2), 1, Basic, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Seek(-1) did not panic")
		}
	}()
	loader.Seek(-1)
}
