package vae

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/internal/testutil"
)

// grumpyImages loads the real Grumpy cat images, skipping the test when no
// data folder is configured (CI sets CATSYNTH_DATA).
func grumpyImages(t testing.TB) *dataset.Images {
	return testutil.CatImages(t, dataset.GrumpyDir, 64)
}

// testConfig is the cat architecture with a short schedule.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Iterations = 4
	cfg.SampleEvery = 2
	cfg.Milestones = nil
	cfg.LogEvery = 1
	cfg.CheckpointEvery = 2
	return cfg
}

func newCatTrainer(t *testing.T, backend compute.Backend, cfg Config, images *dataset.Images, dir string) *Trainer {
	t.Helper()
	data, err := CatData(cfg, images)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(backend, cfg, data, dir)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// klOf evaluates KL for mu and logvar [batch, latent].
func klOf(t *testing.T, mu, logvar [][]float32) float64 {
	t.Helper()
	out := MustExecOnce(testutil.GoBackend(t), func(mu, logvar *Node) *Node { return KL(mu, logvar) },
		tensors.FromValue(mu), tensors.FromValue(logvar))
	return float64(tensors.MustCopyFlatData[float32](out)[0])
}

func TestKLZeroAtPrior(t *testing.T) {
	cases := []struct {
		name       string
		batch, dim int
	}{
		{"one image one dim", 1, 1},
		{"batch of 3", 3, 128},
	}
	for _, c := range cases {
		zeros := make([][]float32, c.batch)
		for i := range zeros {
			zeros[i] = make([]float32, c.dim)
		}
		if got := klOf(t, zeros, zeros); got != 0 {
			t.Errorf("%s: KL(N(0, I) || N(0, I)) = %g, want 0", c.name, got)
		}
	}
}

// monteCarloKL estimates KL(N(mu, diag(exp(logvar))) || N(0, I)) as the
// mean of log q(z) - log p(z) over samples z of q.
func monteCarloKL(mu, logvar []float64, samples int) float64 {
	rng := rand.New(rand.NewPCG(3, 4))
	sum := 0.0
	for range samples {
		for i := range mu {
			sigma := math.Exp(logvar[i] / 2)
			eps := rng.NormFloat64()
			z := mu[i] + sigma*eps
			logQ := -0.5*eps*eps - math.Log(sigma)
			logP := -0.5 * z * z
			sum += logQ - logP
		}
	}
	return sum / float64(samples)
}

func TestKLMatchesMonteCarlo(t *testing.T) {
	mu := [][]float64{{0.5, -1.2}, {2.0, 0.0}}
	logvar := [][]float64{{-0.7, 0.4}, {0.0, -2.0}}
	want := 0.0
	for i := range mu {
		want += monteCarloKL(mu[i], logvar[i], 400000) / float64(len(mu))
	}
	toFloat32 := func(rows [][]float64) [][]float32 {
		out := make([][]float32, len(rows))
		for i, row := range rows {
			for _, v := range row {
				out[i] = append(out[i], float32(v))
			}
		}
		return out
	}
	got := klOf(t, toFloat32(mu), toFloat32(logvar))
	// The Monte Carlo standard error here is below 0.005 nats.
	if math.Abs(got-want) > 0.02 {
		t.Errorf("KL = %.4f, Monte Carlo estimate %.4f, want within 0.02", got, want)
	}
}

func TestReconstructionLoss(t *testing.T) {
	// Two 1x1 "images" per case; the loss is summed per image, averaged over 2.
	cases := []struct {
		name      string
		dataset   string
		x, output []float32
		want      float64
	}{
		{"cats squared error", Cats, []float32{0.5, -1}, []float32{0, 1}, (0.25 + 4) / 2},
		{"mnist bernoulli", MNIST, []float32{1, 0}, []float32{2, -1},
			(math.Log1p(math.Exp(-2)) + math.Log1p(math.Exp(-1))) / 2},
		{"mnist large logits", MNIST, []float32{1, 1}, []float32{100, -100}, (0 + 100) / 2},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.Dataset = c.dataset
		out := MustExecOnce(testutil.GoBackend(t), func(x, output *Node) *Node { return ReconstructionLoss(cfg, x, output) },
			tensors.FromFlatDataAndDimensions(c.x, 2, 1, 1, 1), tensors.FromFlatDataAndDimensions(c.output, 2, 1, 1, 1))
		got := float64(tensors.MustCopyFlatData[float32](out)[0])
		if math.Abs(got-c.want) > 1e-4*math.Max(1, c.want) {
			t.Errorf("%s: loss %.6f, want %.6f", c.name, got, c.want)
		}
	}
}

func TestNetworkShapes(t *testing.T) {
	backend := testutil.GoBackend(t)
	for _, data := range []string{Cats, MNIST} {
		t.Run(data, func(t *testing.T) {
			cfg, err := PresetConfig(data, "smoke")
			if err != nil {
				t.Fatal(err)
			}
			height, width, channels := cfg.ImageShape()
			x := tensors.FromFlatDataAndDimensions(make([]float32, 3*cfg.imageValues()), 3, height, width, channels)
			outputs := model.MustExecOnceN(backend, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
				mu, logvar := Encoder(scope.In(EncoderScope), cfg, x)
				decoded := DecodedImages(cfg, Decoder(scope.In(DecoderScope), cfg, mu))
				return []*Node{mu, logvar, decoded}
			}, x)
			want := [][]int{{3, cfg.LatentSize}, {3, cfg.LatentSize}, {3, height, width, channels}}
			for i, name := range []string{"mu", "logvar", "decoded"} {
				if got := outputs[i].Shape().Dimensions; !slices.Equal(got, want[i]) {
					t.Errorf("%s shape %v, want %v", name, got, want[i])
				}
			}
			for i, v := range tensors.MustCopyFlatData[float32](outputs[2]) {
				if v < -1 || v > 1 || math.IsNaN(float64(v)) {
					t.Fatalf("decoded pixel %d = %g, want within [-1, 1]", i, v)
				}
			}
		})
	}
}

// TestReconstructionErrorFalls trains a few steps on the real cats and
// checks that the reconstruction loss of the fixed batch falls.
func TestReconstructionErrorFalls(t *testing.T) {
	images := grumpyImages(t)
	cfg := testConfig()
	tr := newCatTrainer(t, testutil.GoBackend(t), cfg, images, t.TempDir())
	defer tr.Close()
	fixed, err := tr.FixedImages()
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := tr.Evaluate(fixed)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		losses, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []float64{losses.Reconstruction, losses.KL, losses.Total} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("step %d: losses %+v are not finite", tr.Iteration(), losses)
			}
		}
	}
	after, _, err := tr.Evaluate(fixed)
	if err != nil {
		t.Fatal(err)
	}
	if after > 0.9*before {
		t.Errorf("reconstruction loss of the fixed batch went from %.1f to %.1f in 10 steps, want a fall of at least 10%%", before, after)
	}
}

func TestSameSeedSameSamples(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	samplesAfterStep := func(seed int64) []float32 {
		cfg := testConfig()
		cfg.Seed = seed
		tr := newCatTrainer(t, backend, cfg, images, t.TempDir())
		defer tr.Close()
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
		samples, err := tr.Samples()
		if err != nil {
			t.Fatal(err)
		}
		return samples
	}
	a, b, other := samplesAfterStep(7), samplesAfterStep(7), samplesAfterStep(8)
	if !slices.Equal(a, b) {
		t.Error("seed 7 gave different samples in two runs, want equal")
	}
	if slices.Equal(a, other) {
		t.Error("seeds 7 and 8 gave equal samples, want different")
	}
}

// TestResumeMatchesUninterrupted trains 4 iterations straight, and 2 + 2 with
// a new Trainer resuming from the checkpoint in between; both must give the
// same loss log, fixed noise and fixed batch.
func TestResumeMatchesUninterrupted(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	cfg := testConfig()
	ctx := context.Background()

	straightDir := t.TempDir()
	straight := newCatTrainer(t, backend, cfg, images, straightDir)
	if err := straight.Run(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	straight.Close()

	resumedDir := t.TempDir()
	half := cfg
	half.Iterations = 2
	first := newCatTrainer(t, backend, half, images, resumedDir)
	if err := first.Run(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	firstNoise, _ := first.FixedNoise()
	first.Close()

	// Another fixed batch in the data: the checkpoint's copy must win.
	data, err := CatData(cfg, images)
	if err != nil {
		t.Fatal(err)
	}
	data.Fixed = slices.Clone(images.Pixels[cfg.imageValues() : (SampleCount+1)*cfg.imageValues()])
	second, err := NewTrainer(backend, cfg, data, resumedDir)
	if err != nil {
		t.Fatal(err)
	}
	if second.Iteration() != 2 {
		t.Fatalf("resumed at iteration %d, want 2", second.Iteration())
	}
	secondNoise, _ := second.FixedNoise()
	if !slices.Equal(firstNoise, secondNoise) {
		t.Error("the fixed noise changed across the resume")
	}
	secondFixed, _ := second.FixedImages()
	if !slices.Equal(secondFixed, images.Pixels[:len(secondFixed)]) {
		t.Error("the fixed batch changed across the resume")
	}
	if err := second.Run(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	second.Close()

	testutil.SameLossLogs(t, filepath.Join(straightDir, LossLogFile), filepath.Join(resumedDir, LossLogFile), LossColumns, []int{1, 2, 3, 4}, 1e-4)
	for _, iteration := range []int{2, 4} {
		for _, path := range []string{SamplePath(resumedDir, iteration), ReconstructionPath(resumedDir, iteration)} {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("grid of iteration %d: %v", iteration, err)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
	}{
		{"dataset", func(c *Config) { c.Dataset = "cifar" }},
		{"latent_size", func(c *Config) { c.LatentSize = 0 }},
		{"norm", func(c *Config) { c.Norm = "group" }},
		{"beta", func(c *Config) { c.Beta = -1 }},
		{"lr", func(c *Config) { c.LearningRate = 0 }},
		{"beta2", func(c *Config) { c.Beta2 = 1 }},
		{"eval_images", func(c *Config) { c.EvalImages = -1 }},
		{"conv_impl", func(c *Config) { c.ConvImpl = "fft" }},
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.change(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("invalid %s: Validate returned no error", c.name)
		}
	}
	for _, data := range []string{Cats, MNIST} {
		for _, name := range PresetNames() {
			cfg, err := PresetConfig(data, name)
			if err != nil {
				t.Errorf("PresetConfig(%q, %q): %v", data, name, err)
				continue
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("preset %s of %s: %v", name, data, err)
			}
		}
	}
	if _, err := PresetConfig(Cats, "huge"); err == nil {
		t.Error(`PresetConfig(Cats, "huge") returned no error`)
	}
}

func TestStepFLOPs(t *testing.T) {
	// Per cat image with conv_dim 32 and latent 128: the encoder's convs have
	// 32*32*32*3*16 + 16*16*64*32*16 + 8*8*128*64*16 + 4*4*256*128*16 MACs
	// and its two dense layers 2*4096*128; the decoder has 128*4096 for the
	// dense layer, then 8*8*128*256*9 + 16*16*64*128*9 + 32*32*32*64*9 +
	// 64*64*3*32*9 for the up_convs.
	wantEncoder := int64(32*32*32*3*16 + 16*16*64*32*16 + 8*8*128*64*16 + 4*4*256*128*16 + 2*4096*128)
	wantDecoder := int64(128*4096 + 8*8*128*256*9 + 16*16*64*128*9 + 32*32*32*64*9 + 64*64*3*32*9)
	encoder, decoder := DefaultConfig().ForwardMACs()
	if encoder != wantEncoder {
		t.Errorf("encoder MACs %d, want %d", encoder, wantEncoder)
	}
	if decoder != wantDecoder {
		t.Errorf("decoder MACs %d, want %d", decoder, wantDecoder)
	}
	if got, want := DefaultConfig().StepFLOPs(), 16*6*(wantEncoder+wantDecoder); got != want {
		t.Errorf("StepFLOPs = %d, want %d", got, want)
	}
}

// TestResumeAppliesNewLearningRate resumes a run with another learning
// rate, which must reach the optimizer.
func TestResumeAppliesNewLearningRate(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	testutil.ResumedLearningRateApplies(t, LossLogFile, LossColumns, 1e-3, 3e-3, func(dir string, lr float64, iterations int) *model.Store {
		cfg := testConfig()
		cfg.LearningRate, cfg.Iterations = lr, iterations
		tr := newCatTrainer(t, backend, cfg, images, dir)
		defer tr.Close()
		if err := tr.Run(context.Background(), RunOptions{}); err != nil {
			t.Fatal(err)
		}
		return tr.store
	})
}
