package pixelcnn

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	_ "github.com/gomlx/compute/gobackend"

	"github.com/catsynth/catsynth/internal/testutil"
	"github.com/catsynth/catsynth/trainlog"
)

// smallConfig returns a small network for tests: h 6, 2 residual blocks.
func smallConfig(data string) Config {
	cfg := DefaultConfig(data)
	cfg.Hidden = 6
	cfg.ResidualBlocks = 2
	return cfg
}

// twoIterationConfig returns smallConfig on MNIST for a run of 2
// iterations that logs every iteration, and samples 2 images, evaluates 16
// and saves a checkpoint at iteration 2.
func twoIterationConfig() Config {
	cfg := smallConfig(DataMNIST)
	cfg.Iterations, cfg.SampleEvery, cfg.CheckpointEvery, cfg.EvalEvery = 2, 2, 2, 2
	cfg.LogEvery, cfg.EvalImages, cfg.SampleCount = 1, 16, 2
	return cfg
}

// fewImages loads the data of cfg and keeps its first 64 training images,
// so that short runs start fast and their loss falls quickly.
func fewImages(t *testing.T, cfg Config) *Data {
	t.Helper()
	data, err := LoadData(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	data.Train = data.Train[:64*data.ImageDims()]
	return data
}

func randomLevels(rng *rand.Rand, n, levels int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.IntN(levels))
	}
	return out
}

// randomizeOutputLayer replaces the all-zero initial weights of the last
// layer with random ones, so that the logits depend on the input. The
// variables must exist: run a graph of the network first.
func randomizeOutputLayer(t *testing.T, store *model.Store) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	found := false
	for v := range store.IterVariables() {
		if !strings.Contains(v.Scope(), "output2") {
			continue
		}
		values := make([]float32, v.Shape().Size())
		for i := range values {
			values[i] = float32(rng.Float64()-0.5) * 0.6
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(values, v.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
		found = true
	}
	if !found {
		t.Fatal("no output2 variables in the store: run the network before randomizing it")
	}
}

// TestMaskedConvCausality changes one input subpixel of a single masked
// convolution and checks which outputs move.
func TestMaskedConvCausality(t *testing.T) {
	const size, channels, out = 5, 3, 6
	tests := []struct {
		maskType MaskType
		kernel   int
	}{
		{MaskA, 7}, {MaskB, 3}, {MaskB, 1}, {MaskA, 3},
	}
	backend := testutil.GoBackend(t)
	for _, tt := range tests {
		t.Run(tt.maskType.String()+"/"+string(rune('0'+tt.kernel)), func(t *testing.T) {
			store := NewStore(DefaultConfig(DataGrumpy))
			exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
				return maskedConv(scope, x, out, tt.kernel, channels, tt.maskType, false)
			})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			base := randomLevels(rng, size*size*channels, 5)
			run := func(x []float32) []float32 {
				res, err := exec.Exec1(tensors.FromFlatDataAndDimensions(x, 1, size, size, channels))
				if err != nil {
					t.Fatal(err)
				}
				return tensors.MustCopyFlatData[float32](res)
			}
			want := run(base)
			// Output channel o predicts subpixel (pixel, o % 3).
			for changed := range base {
				x := append([]float32(nil), base...)
				x[changed] += 3
				got := run(x)
				changedPixel, changedGroup := changed/channels, changed%channels
				moved := false
				for i := range got {
					pixel, group := i/out, (i%out)%channels
					before := pixel < changedPixel || (pixel == changedPixel && group < changedGroup)
					same := pixel == changedPixel && group == changedGroup
					mustStay := before || (same && tt.maskType == MaskA)
					if mustStay && got[i] != want[i] {
						t.Fatalf("input subpixel %d (pixel %d, channel %d) changed output %d (pixel %d, group %d): %g -> %g",
							changed, changedPixel, changedGroup, i, pixel, group, want[i], got[i])
					}
					moved = moved || got[i] != want[i]
				}
				if !moved && changedPixel < size*size-1 {
					t.Errorf("input subpixel %d changed no output at all: the mask blocks everything", changed)
				}
			}
		})
	}
}

// TestNetworkCausality checks the whole network: changing one subpixel
// leaves every logit at or before it in raster and channel order unchanged.
func TestNetworkCausality(t *testing.T) {
	tests := []struct {
		data     string
		size     int
		channels int
	}{
		{DataMNIST, 28, 1},
		{DataGrumpy, 16, 3},
	}
	backend := testutil.GoBackend(t)
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			cfg := smallConfig(tt.data)
			cfg.ImageSize = 16
			store := NewStore(cfg)
			exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
				return Logits(scope.In(networkScope), cfg, x)
			})
			if err != nil {
				t.Fatal(err)
			}
			height, width, channels := cfg.Shape()
			dims := height * width * channels
			rng := rand.New(rand.NewPCG(5, 6))
			base := randomLevels(rng, dims, cfg.levels())
			run := func(x []float32) []float32 {
				res, err := exec.Exec1(tensors.FromFlatDataAndDimensions(x, 1, height, width, channels))
				if err != nil {
					t.Fatal(err)
				}
				return tensors.MustCopyFlatData[float32](res)
			}
			run(base)
			randomizeOutputLayer(t, store)
			want := run(base)
			k := len(want) / dims
			// A sample of subpixels, the first and last included.
			for _, changed := range []int{0, 1, 2, dims / 3, dims/2 + 1, dims - 2, dims - 1} {
				x := append([]float32(nil), base...)
				x[changed] = float32((int(x[changed]) + 1) % cfg.levels())
				got := run(x)
				moved := false
				for i := range got {
					subpixel := i / k
					if subpixel <= changed && got[i] != want[i] {
						t.Fatalf("changing subpixel %d changed the logit of subpixel %d: %g -> %g", changed, subpixel, want[i], got[i])
					}
					moved = moved || got[i] != want[i]
				}
				if !moved && changed < dims-1 {
					t.Errorf("changing subpixel %d changed no later logit", changed)
				}
			}
		})
	}
}

// TestWindowMatchesFullImage checks that WindowLogits on the rows above a
// row gives that row's logits from Logits.
func TestWindowMatchesFullImage(t *testing.T) {
	cfg := smallConfig(DataGrumpy)
	cfg.ImageSize = 16
	backend := testutil.GoBackend(t)
	store := NewStore(cfg)
	height, width, channels := cfg.Shape()
	full, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
		return Logits(scope.In(networkScope), cfg, x)
	})
	if err != nil {
		t.Fatal(err)
	}
	window, err := model.NewExec(backend, store, func(scope *model.Scope, x, valid *Node) *Node {
		return WindowLogits(scope.In(networkScope), cfg, x, valid)
	})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	image := randomLevels(rng, height*width*channels, 256)
	if _, err := full.Exec1(tensors.FromFlatDataAndDimensions(image, 1, height, width, channels)); err != nil {
		t.Fatal(err)
	}
	randomizeOutputLayer(t, store)
	fullOut, err := full.Exec1(tensors.FromFlatDataAndDimensions(image, 1, height, width, channels))
	if err != nil {
		t.Fatal(err)
	}
	want := tensors.MustCopyFlatData[float32](fullOut)
	rows := Receptive(cfg) + 1
	rowSize := width * channels
	rowLogits := rowSize * 256
	for _, row := range []int{0, 2, rows - 1, rows, height - 1} {
		data := make([]float32, rows*rowSize)
		valid := make([]float32, rows)
		for k := range rows {
			source := row - rows + 1 + k
			if source < 0 {
				continue
			}
			valid[k] = 1
			copy(data[k*rowSize:], image[source*rowSize:(source+1)*rowSize])
		}
		out, err := window.Exec1(tensors.FromFlatDataAndDimensions(data, 1, rows, width, channels),
			tensors.FromFlatDataAndDimensions(valid, rows))
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](out)
		if len(got) != rowLogits {
			t.Fatalf("row %d: got %d logits, want %d", row, len(got), rowLogits)
		}
		for i, v := range got {
			if w := want[row*rowLogits+i]; math.Abs(float64(v-w)) > 1e-4*(1+math.Abs(float64(w))) {
				t.Fatalf("row %d logit %d: window gives %g, full image gives %g", row, i, v, w)
			}
		}
	}
}

// TestUniformLogitsNLL checks the NLL of all-zero logits: 8 bits per
// subpixel for 256 levels and ln 2 nats per pixel for binary images.
func TestUniformLogitsNLL(t *testing.T) {
	tests := []struct {
		data          string
		height, width int
		channels, k   int
		wantBitsDim   float64
	}{
		{DataGrumpy, 4, 5, 3, 256, 8},
		{DataMNIST, 28, 28, 1, 1, 1},
	}
	backend := testutil.GoBackend(t)
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			cfg := DefaultConfig(tt.data)
			levels := randomLevels(rand.New(rand.NewPCG(1, 1)), 2*tt.height*tt.width*tt.channels, cfg.levels())
			nll, err := ExecOnce(backend, func(levels *Node) *Node {
				logits := Zeros(levels.Graph(), shapes.Make(levels.DType(), 2, tt.height, tt.width, tt.channels, tt.k))
				return NLL(cfg, logits, levels)
			}, tensors.FromFlatDataAndDimensions(levels, 2, tt.height, tt.width, tt.channels))
			if err != nil {
				t.Fatal(err)
			}
			dims := tt.height * tt.width * tt.channels
			for i, v := range tensors.MustCopyFlatData[float32](nll) {
				if got := BitsPerDim(float64(v), dims); math.Abs(got-tt.wantBitsDim) > 1e-5 {
					t.Errorf("image %d: %g bits per dim, want %g", i, got, tt.wantBitsDim)
				}
			}
		})
	}
}

func TestSamplesValid(t *testing.T) {
	tests := []struct {
		data   string
		levels int
	}{
		{DataMNIST, 2},
		{DataGrumpy, 256},
	}
	backend := testutil.GoBackend(t)
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			cfg := smallConfig(tt.data)
			cfg.ImageSize = 16
			store := NewStore(cfg)
			sampler, err := NewSampler(backend, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := sampler.Sample(1, 9); err != nil {
				t.Fatal(err)
			}
			randomizeOutputLayer(t, store)
			samples, elapsed, err := sampler.Sample(2, 9)
			if err != nil {
				t.Fatal(err)
			}
			height, width, channels := cfg.Shape()
			if want := 2 * height * width * channels; len(samples) != want {
				t.Fatalf("got %d subpixels, want %d", len(samples), want)
			}
			distinct := map[uint8]bool{}
			for i, v := range samples {
				if int(v) >= tt.levels {
					t.Fatalf("subpixel %d is %d, want < %d", i, v, tt.levels)
				}
				distinct[v] = true
			}
			if len(distinct) < 2 {
				t.Errorf("all subpixels are %v: an untrained model should draw varied values", distinct)
			}
			t.Logf("%s: %v per image", tt.data, elapsed/2)
		})
	}
}

// TestTrainingLowersLoss trains a small model on a few real MNIST images
// and checks that the training NLL falls, then resumes from the checkpoint.
func TestTrainingLowersLoss(t *testing.T) {
	cfg := smallConfig(DataMNIST)
	cfg.Hidden = 8
	cfg.LearningRate = 3e-3
	cfg.EvalImages = 32
	cfg.Iterations = 40
	cfg.SampleCount = 1
	data := fewImages(t, cfg)
	out := t.TempDir()
	trainer, err := NewTrainer(testutil.GoBackend(t), cfg, data, out)
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	for i := range cfg.Iterations {
		nll, err := trainer.Step()
		if err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			first += nll / 3
		}
		if i >= cfg.Iterations-3 {
			last += nll / 3
		}
	}
	if !(last < 0.8*first) {
		t.Errorf("training NLL went from %.1f to %.1f nats per image, want a fall of at least 20%%", first, last)
	}
	if err := trainer.Save(); err != nil {
		t.Fatal(err)
	}
	if err := trainer.Close(); err != nil {
		t.Fatal(err)
	}
	resumed, err := NewTrainer(testutil.GoBackend(t), cfg, data, out)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if got := resumed.Iteration(); got != cfg.Iterations {
		t.Errorf("resumed at iteration %d, want %d", got, cfg.Iterations)
	}
	testNLL, err := resumed.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	if uniform := 784 * math.Ln2; !(testNLL < uniform) {
		t.Errorf("held-out NLL after resuming is %.1f nats, want below the uniform model's %.1f", testNLL, uniform)
	}
}

func TestQuantizeCatsSplit(t *testing.T) {
	root := os.Getenv("CATSYNTH_DATA")
	if root == "" {
		t.Skip("CATSYNTH_DATA is not set")
	}
	cfg := DefaultConfig(DataGrumpy)
	data, err := LoadData(cfg, root)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := data.TestCount(), 204/HeldOutEvery; got != want {
		t.Errorf("held-out images = %d, want %d", got, want)
	}
	if got, want := data.TrainCount(), 204-204/HeldOutEvery; got != want {
		t.Errorf("training images = %d, want %d", got, want)
	}
	if _, err := os.Stat(filepath.Join(root, "cats")); err != nil {
		t.Errorf("data root %s has no cats folder: %v", root, err)
	}
}

func TestMaskValues(t *testing.T) {
	tests := []struct {
		maskType MaskType
		in, out  int
		want     float32
	}{
		{MaskA, 0, 0, 0}, {MaskA, 0, 1, 1}, {MaskA, 1, 1, 0}, {MaskA, 2, 1, 0},
		{MaskB, 0, 0, 1}, {MaskB, 1, 1, 1}, {MaskB, 2, 1, 0}, {MaskB, 1, 2, 1},
	}
	for _, tt := range tests {
		mask := MaskValues(3, 3, 3, 3, tt.maskType)
		// The centre tap is row 1, column 1.
		got := mask[((1*3+1)*3+tt.in)*3+tt.out]
		if got != tt.want {
			t.Errorf("mask %s centre tap in %d -> out %d = %g, want %g", tt.maskType, tt.in, tt.out, got, tt.want)
		}
	}
}

// TestUsedTaps checks that the taps maskedConv skips have all-zero masks
// and that the last tap it computes does not, for the masks of both
// datasets.
func TestUsedTaps(t *testing.T) {
	tests := []struct {
		kernel, in, out, groups int
		maskType                MaskType
		want                    int
	}{
		{7, 1, 8, 1, MaskA, 24}, // MNIST's first layer: no centre tap
		{7, 3, 6, 3, MaskA, 25}, // the cats' first layer: centre tap for later colours
		{3, 4, 4, 1, MaskB, 5},
		{3, 6, 6, 3, MaskB, 5},
		{1, 6, 6, 3, MaskB, 1},
	}
	for _, tt := range tests {
		got := usedTaps(tt.kernel, tt.in, tt.out, tt.groups, tt.maskType)
		if got != tt.want {
			t.Errorf("usedTaps(%d, %d, %d, %d, %s) = %d, want %d", tt.kernel, tt.in, tt.out, tt.groups, tt.maskType, got, tt.want)
		}
		mask := MaskValues(tt.kernel, tt.in, tt.out, tt.groups, tt.maskType)
		perTap := tt.in * tt.out
		for tap := range len(mask) / perTap {
			nonzero := slices.ContainsFunc(mask[tap*perTap:(tap+1)*perTap], func(m float32) bool { return m != 0 })
			if tap >= got && nonzero {
				t.Errorf("kernel %d, mask %s, %d groups: tap %d is skipped but its mask is not zero", tt.kernel, tt.maskType, tt.groups, tap)
			}
			if tap == got-1 && !nonzero {
				t.Errorf("kernel %d, mask %s, %d groups: last computed tap %d has an all-zero mask", tt.kernel, tt.maskType, tt.groups, tap)
			}
		}
	}
}

// TestRowGraphsMatchFullImage feeds a fixed image through the row graphs
// that Sample uses and compares every logit with Logits on the whole image.
func TestRowGraphsMatchFullImage(t *testing.T) {
	tests := []string{DataMNIST, DataGrumpy}
	backend := testutil.GoBackend(t)
	for _, data := range tests {
		t.Run(data, func(t *testing.T) {
			cfg := smallConfig(data)
			cfg.ImageSize = 8
			store := NewStore(cfg)
			height, width, channels := cfg.Shape()
			full, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
				return Logits(scope.In(networkScope), cfg, x)
			})
			if err != nil {
				t.Fatal(err)
			}
			const n = 2
			rng := rand.New(rand.NewPCG(13, 14))
			images := randomLevels(rng, n*height*width*channels, cfg.levels())
			input := tensors.FromFlatDataAndDimensions(images, n, height, width, channels)
			if _, err := full.Exec1(input); err != nil {
				t.Fatal(err)
			}
			randomizeOutputLayer(t, store)
			fullOut, err := full.Exec1(input)
			if err != nil {
				t.Fatal(err)
			}
			want := tensors.MustCopyFlatData[float32](fullOut)

			sampler, err := NewSampler(backend, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			imageSize := height * width * channels
			checked := 0
			_, err = sampler.runRows(context.Background(), n, func(b, row, column, channel int, logits []float32) uint8 {
				subpixel := (row*width+column)*channels + channel
				for i, v := range logits {
					w := want[(b*imageSize+subpixel)*len(logits)+i]
					if math.Abs(float64(v-w)) > 1e-4*(1+math.Abs(float64(w))) {
						t.Fatalf("image %d row %d column %d channel %d logit %d: row graphs give %g, full image gives %g",
							b, row, column, channel, i, v, w)
					}
				}
				checked++
				return uint8(images[b*imageSize+subpixel])
			})
			if err != nil {
				t.Fatal(err)
			}
			if checked != n*imageSize {
				t.Errorf("checked %d subpixels, want %d", checked, n*imageSize)
			}
		})
	}
}

// TestSampleMatchesWindowed checks that both sampling methods draw the same
// images from the same seed.
func TestSampleMatchesWindowed(t *testing.T) {
	cfg := smallConfig(DataGrumpy)
	cfg.ImageSize = 8
	store := NewStore(cfg)
	sampler, err := NewSampler(testutil.GoBackend(t), store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sampler.Sample(1, 1); err != nil {
		t.Fatal(err)
	}
	randomizeOutputLayer(t, store)
	fast, fastTime, err := sampler.Sample(2, 21)
	if err != nil {
		t.Fatal(err)
	}
	windowed, windowedTime, err := sampler.SampleWindowed(2, 21)
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	for i := range fast {
		if fast[i] != windowed[i] {
			differ++
		}
	}
	// A draw can flip only when its uniform number falls within rounding
	// error of a bin edge, so at most one in a thousand.
	if differ > len(fast)/1000 {
		t.Errorf("%d of %d subpixels differ between Sample and SampleWindowed", differ, len(fast))
	}
	t.Logf("row graphs %v, windowed %v", fastTime, windowedTime)
}

// TestMicroBatchesMatchWholeBatch runs three training steps on a batch of
// 5 images, whole and in 3 uneven micro-batches (1, 2 and 2 images). The
// NLLs must agree. That needs one set of weights for all micro-batches and
// the gradients of all of them in every update.
func TestMicroBatchesMatchWholeBatch(t *testing.T) {
	for _, data := range []string{DataMNIST, DataGrumpy} {
		t.Run(data, func(t *testing.T) {
			cfg := smallConfig(data)
			cfg.ImageSize = 16
			cfg.BatchSize = 5
			// A large step, so that a missing gradient shows in the NLLs.
			cfg.LearningRate = 0.05
			height, width, channels := cfg.Shape()
			rng := rand.New(rand.NewPCG(5, 6))
			images := make([]*tensors.Tensor, 3)
			for i := range images {
				images[i] = tensors.FromFlatDataAndDimensions(randomLevels(rng, cfg.BatchSize*height*width*channels, cfg.levels()),
					cfg.BatchSize, height, width, channels)
			}
			backend := testutil.GoBackend(t)
			run := func(microBatches int) (nlls []float32, variables int) {
				cfg.MicroBatches = microBatches
				store := NewStore(cfg)
				exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
					return StepGraph(scope, cfg, x)
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range images {
					out, err := exec.Exec1(x)
					if err != nil {
						t.Fatalf("micro_batches %d: %v", microBatches, err)
					}
					nlls = append(nlls, tensors.MustCopyFlatData[float32](out)[0])
				}
				return nlls, store.NumVariables()
			}
			whole, wholeVariables := run(1)
			split, splitVariables := run(3)
			if splitVariables != wholeVariables {
				t.Errorf("micro-batches created %d variables, the whole batch %d", splitVariables, wholeVariables)
			}
			if diff := math.Abs(float64(split[0] - whole[0])); diff > 1e-5*math.Abs(float64(whole[0])) {
				t.Errorf("step 1: NLL %g with micro-batches, %g with the whole batch", split[0], whole[0])
			}
			// What the updates changed must agree within 1%. Summing the
			// gradients in another order moved it by 0.2% at most. Dropping
			// the gradients of all micro-batches but the first moved it by 3%
			// to 20%.
			for i := 1; i < len(whole); i++ {
				wholeChange, splitChange := float64(whole[i]-whole[0]), float64(split[i]-split[0])
				if math.Abs(splitChange-wholeChange) > 0.01*math.Abs(wholeChange) {
					t.Errorf("step %d: the NLL changed by %g since step 1 with micro-batches, by %g with the whole batch",
						i+1, splitChange, wholeChange)
				}
			}
		})
	}
}

// TestImagesNLLPerMicroBatch checks the graph of the held-out evaluation
// on 5 images with 1, 3 and 100 micro-batches (100 gives one per image).
// The per-image NLLs must be the same, in the same order, and the graph
// must hold one network per micro-batch.
func TestImagesNLLPerMicroBatch(t *testing.T) {
	cfg := smallConfig(DataMNIST)
	cfg.BatchSize = 5
	height, width, channels := cfg.Shape()
	rng := rand.New(rand.NewPCG(7, 8))
	x := tensors.FromFlatDataAndDimensions(randomLevels(rng, cfg.BatchSize*height*width*channels, 2),
		cfg.BatchSize, height, width, channels)
	backend := testutil.GoBackend(t)
	run := func(microBatches int) (nlls []float32, nodes int) {
		cfg.MicroBatches = microBatches
		store := NewStore(cfg)
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, levels *Node) *Node {
			nll := ImagesNLL(scope, cfg, levels)
			nodes = len(levels.Graph().Nodes())
			return nll
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exec.Exec1(x); err != nil {
			t.Fatal(err)
		}
		// The last layer starts at zero, which gives every image the same
		// NLL: randomize it, then run the network again.
		randomizeOutputLayer(t, store)
		out, err := exec.Exec1(x)
		if err != nil {
			t.Fatalf("micro_batches %d: %v", microBatches, err)
		}
		return tensors.MustCopyFlatData[float32](out), nodes
	}
	whole, wholeNodes := run(1)
	if whole[0] == whole[1] {
		t.Fatalf("images 0 and 1 have the same NLL %g: the test cannot see the order", whole[0])
	}
	for _, c := range []struct{ microBatches, networks int }{{3, 3}, {100, 5}} {
		nlls, nodes := run(c.microBatches)
		if len(nlls) != len(whole) {
			t.Fatalf("micro_batches %d: %d NLLs, want %d", c.microBatches, len(nlls), len(whole))
		}
		for i := range whole {
			if diff := math.Abs(float64(nlls[i] - whole[i])); diff > 1e-5*math.Abs(float64(whole[i])) {
				t.Errorf("micro_batches %d, image %d: NLL %g, want %g as with the whole batch", c.microBatches, i, nlls[i], whole[i])
			}
		}
		// Nearly all nodes are the network's, so n networks hold about n
		// times the nodes of one.
		if least := c.networks * wholeNodes * 9 / 10; nodes < least {
			t.Errorf("micro_batches %d: the graph has %d nodes, want at least %d for %d networks of %d nodes",
				c.microBatches, nodes, least, c.networks, wholeNodes)
		}
	}
}

// TestSamplingWritesOnlyNewGrids trains a small model for two iterations
// through Run, then samples from its checkpoint with a changed sample count,
// as `pixelcnn -sample_only` does. config.json, the logs and the grid saved
// by training must stay unchanged, and each extra grid must get a new file.
func TestSamplingWritesOnlyNewGrids(t *testing.T) {
	cfg := twoIterationConfig()
	data := fewImages(t, cfg)
	out := t.TempDir()
	backend := testutil.GoBackend(t)

	fresh, err := NewTrainer(backend, cfg, data, out)
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(out); len(entries) > 1 {
		t.Errorf("NewTrainer wrote %d entries before training, want the checkpoint folder at most", len(entries))
	}
	if err := fresh.Run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Close(); err != nil {
		t.Fatal(err)
	}
	files := []string{ConfigFile, LossLogFile, EvalLogFile, filepath.Join(SamplesDir, "iter-000002.png")}
	before := map[string][]byte{}
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatalf("training did not write %s: %v", name, err)
		}
		before[name] = data
	}

	cfg.SampleCount = 3
	sampler, err := NewTrainer(backend, cfg, data, out)
	if err != nil {
		t.Fatal(err)
	}
	defer sampler.Close()
	if changes := sampler.ConfigChanges(); len(changes) != 1 || changes[0].Name != "sample_count" {
		t.Errorf("ConfigChanges = %+v, want sample_count alone", changes)
	}
	var paths []string
	for range 2 {
		path, _, err := sampler.SaveExtraSamples()
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	if err := sampler.Close(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"iter-000002-extra-1.png", "iter-000002-extra-2.png"} {
		if filepath.Base(paths[i]) != want {
			t.Errorf("extra grid %d went to %s, want %s", i+1, paths[i], want)
		}
	}
	for _, name := range files {
		after, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(after, before[name]) {
			t.Errorf("sampling changed %s (error %v)", name, err)
		}
	}
	if earlier, _ := filepath.Glob(filepath.Join(out, "config.previous-*.json")); len(earlier) != 0 {
		t.Errorf("sampling kept earlier configurations %v, want none", earlier)
	}
}

// TestBatchLargerThanDataRejected gives NewTrainer a batch of more images
// than the training set holds, which the other models reject too.
func TestBatchLargerThanDataRejected(t *testing.T) {
	cfg := smallConfig(DataMNIST)
	data, err := LoadData(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	data.Train = data.Train[:8*data.ImageDims()]
	cfg.BatchSize = 9
	out := t.TempDir()
	if _, err := NewTrainer(testutil.GoBackend(t), cfg, data, out); err == nil || !strings.Contains(err.Error(), "use 8 or less") {
		t.Errorf("NewTrainer with batch_size 9 for 8 images = %v, want an error that allows 8", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("the rejected run left %d entries in its folder", len(entries))
	}
}

// TestSampleContextStops checks that sampling with a cancelled context
// stops before its first row with an error that wraps the cancellation,
// which Run passes on, and that the same sampler then samples normally.
func TestSampleContextStops(t *testing.T) {
	cfg := smallConfig(DataMNIST)
	sampler, err := NewSampler(testutil.GoBackend(t), NewStore(cfg), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := sampler.SampleContext(ctx, 2, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("SampleContext with a cancelled context = %v, want context.Canceled", err)
	}
	levels, _, err := sampler.Sample(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if height, width, channels := cfg.Shape(); len(levels) != 2*height*width*channels {
		t.Errorf("Sample returned %d levels, want %d", len(levels), 2*height*width*channels)
	}
}

// TestResumeAppliesNewLearningRate resumes a run with another learning
// rate, which must reach the optimizer.
func TestResumeAppliesNewLearningRate(t *testing.T) {
	base := twoIterationConfig()
	data := fewImages(t, base)
	backend := testutil.GoBackend(t)
	testutil.ResumedLearningRateApplies(t, LossLogFile, []string{LossColumn(base)}, 1e-3, 1e-1, func(dir string, lr float64, iterations int) *model.Store {
		cfg := base
		cfg.LearningRate, cfg.Iterations = lr, iterations
		tr, err := NewTrainer(backend, cfg, data, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		if err := tr.Run(context.Background(), RunOptions{}); err != nil {
			t.Fatal(err)
		}
		return tr.store
	})
}

// TestInterruptedRunKeepsEvaluation interrupts a run while it samples the
// grid of its last iteration, right after the evaluation, and never closes
// the trainer, as a notebook cell that exits does. The evaluation row must
// be in eval.csv all the same. A resumed run with that row cut from the log
// must evaluate again, before anything else, and get the same NLL, without
// writing its changed settings to config.json.
func TestInterruptedRunKeepsEvaluation(t *testing.T) {
	cfg := twoIterationConfig()
	data := fewImages(t, cfg)
	out := t.TempDir()
	backend := testutil.GoBackend(t)
	evalPath := filepath.Join(out, EvalLogFile)

	interrupted, err := NewTrainer(backend, cfg, data, out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = interrupted.Run(ctx, RunOptions{OnEval: func(iteration int, nll float64) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run interrupted during sampling returned %v, want context.Canceled", err)
	}
	if _, err := os.Stat(SamplePath(out, 2)); err == nil {
		t.Fatalf("the interrupt came after the grid of iteration 2 was written; the test needs it during sampling")
	}
	table, err := trainlog.Read(evalPath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(table.Steps, []int{2}) {
		t.Fatalf("eval.csv has rows %v after the interrupt, want [2]", table.Steps)
	}
	firstNLL := table.Values[0][0]

	// An interrupt during the evaluation leaves no row: cut it.
	logged, err := os.ReadFile(evalPath)
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(logged), "\n")
	if err := os.WriteFile(evalPath, []byte(header+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The resumed run changes a setting but trains nothing, so it must
	// leave config.json as it is.
	savedConfig, err := os.ReadFile(filepath.Join(out, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	changed := cfg
	changed.LearningRate *= 2
	resumed, err := NewTrainer(backend, changed, data, out)
	if err != nil {
		t.Fatal(err)
	}
	var evaluated []int
	err = resumed.Run(context.Background(), RunOptions{OnEval: func(iteration int, nll float64) { evaluated = append(evaluated, iteration) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(evaluated, []int{2}) {
		t.Errorf("the resumed run evaluated at %v, want [2]", evaluated)
	}
	table, err = trainlog.Read(evalPath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(table.Steps, []int{2}) {
		t.Fatalf("eval.csv has rows %v after the resume, want [2]", table.Steps)
	}
	if got := table.Values[0][0]; math.Abs(got-firstNLL) > 1e-6*math.Abs(firstNLL) {
		t.Errorf("the evaluation redone at iteration 2 gave %g, the first one %g", got, firstNLL)
	}
	if _, err := os.Stat(SamplePath(out, 2)); err != nil {
		t.Errorf("the resumed run did not write the grid cut short: %v", err)
	}
	if after, err := os.ReadFile(filepath.Join(out, ConfigFile)); err != nil || !bytes.Equal(after, savedConfig) {
		t.Errorf("the resumed run, which trained nothing, rewrote config.json (error %v):\n%s", err, after)
	}
}
