package cyclegan

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/imgrid"
	"github.com/catsynth/catsynth/internal/testutil"
	"github.com/catsynth/catsynth/trainloop"
)

// catDomains loads the real Russian Blue and Grumpy cats, skipping the test
// when no data folder is configured (CI sets CATSYNTH_DATA).
func catDomains(t testing.TB) (x, y *dataset.Images) {
	t.Helper()
	root, err := dataset.Root("")
	if err != nil {
		t.Skipf("no cat images: %v", err)
	}
	x, y, err = LoadDomains(root)
	if err != nil {
		t.Fatalf("loading the cats: %v", err)
	}
	return x, y
}

// smallConfig is a narrow network with a short schedule, to keep the
// training tests fast on the Go backend.
func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.ConvDim = 8
	cfg.ResBlocks = 1
	cfg.BatchSize = 4
	cfg.Iterations = 4
	cfg.SampleEvery = 2
	cfg.Milestones = nil
	cfg.LogEvery = 1
	cfg.CheckpointEvery = 2
	return cfg
}

func randomImages(seed uint64, n int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0))
	pixels := make([]float32, n*ImageSize*ImageSize*3)
	for i := range pixels {
		pixels[i] = float32(2*rng.Float64() - 1)
	}
	return tensors.FromFlatDataAndDimensions(pixels, n, ImageSize, ImageSize, 3)
}

func TestModuleShapes(t *testing.T) {
	backend := testutil.GoBackend(t)
	cases := []struct {
		name       string
		change     func(*Config)
		wantScores []int
	}{
		{"defaults", func(c *Config) {}, []int{2, 4, 4}},
		{"final_conv", func(c *Config) { c.FinalConv = true }, []int{2, 4, 4}},
		{"dc discriminator", func(c *Config) { c.Discriminator = DiscriminatorDC }, []int{2}},
		{"batch norm, no res blocks", func(c *Config) { c.Norm = "batch"; c.ResBlocks = 0 }, []int{2, 4, 4}},
		{"no norm", func(c *Config) { c.Norm = "none" }, []int{2, 4, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(&cfg)
			outputs := model.MustExecOnceN(backend, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
				fake := Generator(scope.In(GXY), cfg, x)
				return []*Node{fake, Discriminator(scope.In(DY), cfg, fake)}
			}, randomImages(1, 2))
			if got, want := outputs[0].Shape().Dimensions, []int{2, 64, 64, 3}; !slices.Equal(got, want) {
				t.Errorf("generator output %v, want %v", got, want)
			}
			if got := outputs[1].Shape().Dimensions; !slices.Equal(got, tc.wantScores) {
				t.Errorf("discriminator output %v, want %v", got, tc.wantScores)
			}
			for i, v := range tensors.MustCopyFlatData[float32](outputs[0]) {
				if v < -1 || v > 1 || math.IsNaN(float64(v)) {
					t.Fatalf("generator pixel %d = %g, want within [-1, 1]", i, v)
				}
			}
		})
	}
}

func TestCycleLossOfIdentityIsZero(t *testing.T) {
	backend := testutil.GoBackend(t)
	cases := []struct {
		name      string
		norm      string
		translate func(*Node) *Node
		wantZero  bool
	}{
		{"identity mse", CycleMSE, func(x *Node) *Node { return x }, true},
		{"identity l1", CycleL1, func(x *Node) *Node { return x }, true},
		// Negating twice gives the input back exactly: a perfect cycle.
		{"negation mse", CycleMSE, Neg, true},
		{"tanh mse", CycleMSE, Tanh, false},
		{"tanh l1", CycleL1, Tanh, false},
	}
	for _, tc := range cases {
		cfg := DefaultConfig()
		cfg.CycleNorm = tc.norm
		got := MustExecOnce(backend, func(realX, realY *Node) *Node {
			fakeY, fakeX := tc.translate(realX), tc.translate(realY)
			return cycleLoss(cfg, realX, realY, fakeX, fakeY, tc.translate, tc.translate)
		}, randomImages(2, 3), randomImages(3, 3))
		loss := tensors.MustCopyFlatData[float32](got)[0]
		if tc.wantZero && loss != 0 {
			t.Errorf("%s: cycle loss = %g, want exactly 0", tc.name, loss)
		}
		if !tc.wantZero && !(loss > 0) {
			t.Errorf("%s: cycle loss = %g, want > 0", tc.name, loss)
		}
	}
}

// TestCycleGradientsReachBothGenerators differentiates the cycle loss alone
// with respect to the weights of each generator.
func TestCycleGradientsReachBothGenerators(t *testing.T) {
	backend := testutil.GoBackend(t)
	for _, norm := range []string{CycleMSE, CycleL1} {
		cfg := smallConfig()
		cfg.CycleNorm = norm
		store := model.NewStore()
		outputs := model.MustExecOnceN(backend, store, func(scope *model.Scope, realX, realY *Node) []*Node {
			losses, _ := GeneratorLossesGraph(scope, cfg, realX, realY, nil)
			var norms []*Node
			for _, generator := range []string{GXY, GYX} {
				prefix := "/" + GeneratorsScope + "/" + generator + "/"
				var weights []*Node
				for v := range store.IterVariables() {
					if strings.HasPrefix(v.Scope()+"/", prefix) && v.Trainable {
						weights = append(weights, v.NodeValue(realX.Graph()))
					}
				}
				if len(weights) == 0 {
					panic("no variables under " + prefix)
				}
				sum := ScalarZero(realX.Graph(), realX.DType())
				for _, grad := range Gradient(losses.Cycle, weights...) {
					sum = Add(sum, ReduceAllSum(Square(grad)))
				}
				norms = append(norms, sum)
			}
			return norms
		}, randomImages(4, 2), randomImages(5, 2))
		for i, generator := range []string{GXY, GYX} {
			if got := tensors.MustCopyFlatData[float32](outputs[i])[0]; !(got > 0) || math.IsInf(float64(got), 0) {
				t.Errorf("%s: squared norm of the cycle loss gradient for %s = %g, want finite and > 0", norm, generator, got)
			}
		}
	}
}

func runSteps(t *testing.T, tr *Trainer, n int) []Losses {
	t.Helper()
	var all []Losses
	for range n {
		losses, err := tr.Step()
		if err != nil {
			t.Fatalf("step: %v", err)
		}
		all = append(all, losses)
	}
	return all
}

// TestTrainingOnRealCats checks that a few iterations on the two cat
// folders give finite losses that change, and sample grids of both
// directions.
func TestTrainingOnRealCats(t *testing.T) {
	x, y := catDomains(t)
	cfg := smallConfig()
	cfg.LambdaIdentity = 1
	dir := t.TempDir()
	tr, err := NewTrainer(testutil.GoBackend(t), cfg, x, y, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	losses := runSteps(t, tr, 3)
	for i, l := range losses {
		for _, v := range l.values() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("iteration %d: losses %+v are not finite", i+1, l)
			}
		}
		if l.Cycle <= 0 || l.Identity <= 0 {
			t.Errorf("iteration %d: cycle %g and identity %g, want both > 0", i+1, l.Cycle, l.Identity)
		}
	}
	if first, last := losses[0], losses[len(losses)-1]; first == last {
		t.Errorf("losses did not change: first %+v, last %+v", first, last)
	}
	if tr.Iteration() != 3 {
		t.Errorf("Iteration() = %d, want 3", tr.Iteration())
	}

	paths, err := tr.SaveSamples()
	if err != nil {
		t.Fatal(err)
	}
	for i, direction := range []string{XtoY, YtoX} {
		if want := SamplePath(dir, direction, 3); paths[i] != want {
			t.Errorf("sample path %d = %s, want %s", i, paths[i], want)
		}
		bounds := decodePNG(t, paths[i]).Bounds()
		// 4 pairs of 128x64 per row, with gaps between them.
		if got, want := bounds.Dx(), 4*128+3*imgrid.Padding; got != want {
			t.Errorf("%s grid width %d, want %d", direction, got, want)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return img
}

// TestResumeMatchesUninterrupted trains 4 iterations straight, and 2 + 2
// with a cancellation after iteration 2 and a new Trainer resuming from the
// checkpoint. Both must give the same loss log. The learning rate decays
// from iteration 2 on, so the schedule must survive the resume too.
func TestResumeMatchesUninterrupted(t *testing.T) {
	x, y := catDomains(t)
	backend := testutil.GoBackend(t)
	cfg := smallConfig()
	cfg.DecayFrom = 2
	// Batches of 4 fill a pool of 6 during the first two iterations, so the
	// resumed iterations swap with fakes that only the checkpoint holds.
	cfg.PoolSize = 6
	// The DiffAugment draws of the resumed iterations must match too.
	cfg.DiffAugment = "color,translation,cutout"

	straightDir := t.TempDir()
	trainRun(t, backend, cfg, x, y, straightDir)

	resumedDir := t.TempDir()
	first, err := NewTrainer(backend, cfg, x, y, resumedDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = first.Run(ctx, RunOptions{OnSample: func(iteration int, paths []string) {
		if iteration == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Run returned %v, want context.Canceled", err)
	}
	first.Close()

	second, err := NewTrainer(backend, cfg, x, y, resumedDir)
	if err != nil {
		t.Fatal(err)
	}
	if second.Iteration() != 2 {
		t.Fatalf("resumed at iteration %d, want 2", second.Iteration())
	}
	if err := second.Run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	second.Close()

	testutil.SameLossLogs(t, filepath.Join(straightDir, LossLogFile), filepath.Join(resumedDir, LossLogFile), LogColumns, []int{1, 2, 3, 4}, 1e-5)
	for _, direction := range []string{XtoY, YtoX} {
		for _, iteration := range []int{2, 4} {
			if _, err := os.Stat(SamplePath(resumedDir, direction, iteration)); err != nil {
				t.Errorf("%s sample grid of iteration %d: %v", direction, iteration, err)
			}
		}
	}

	cfg.FinalConv = true
	if _, err := NewTrainer(backend, cfg, x, y, resumedDir); err == nil || !strings.Contains(err.Error(), "final_conv") {
		t.Errorf("NewTrainer with final_conv on a run without it returned %v, want an error naming final_conv", err)
	}
}

// writeCat writes a 10x10 PNG (a colored diagonal on black), an image of
// another size than the model's.
func writeCat(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 10, 10))
	for i := range 10 {
		img.Set(i, i, color.RGBA{R: 200, G: 100, B: 50, A: 255})
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestDiffAugmentOnlyOnDiscriminatorInputs computes the generator losses of
// the same weights and images with and without DiffAugment draws: the
// adversarial losses must change and the cycle and identity losses must
// not, since the policy only transforms what the discriminators see.
func TestDiffAugmentOnlyOnDiscriminatorInputs(t *testing.T) {
	backend := testutil.GoBackend(t)
	cfg := smallConfig()
	cfg.LambdaIdentity = 1
	cfg.DiffAugment = "color,translation,cutout"
	policy, err := augment.Parse(cfg.DiffAugment)
	if err != nil {
		t.Fatal(err)
	}

	const batch = 2
	store := model.NewStore()
	losses := func(withDraws bool) []float32 {
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, realX, realY, u *Node) []*Node {
			if !withDraws {
				u = nil
			}
			l, _ := GeneratorLossesGraph(scope, cfg, realX, realY, u)
			return []*Node{l.GXY, l.GYX, l.Cycle, l.Identity}
		})
		if err != nil {
			t.Fatal(err)
		}

		out, err := exec.Exec(randomImages(6, batch), randomImages(7, batch), policy.Uniforms(1, 0, 2*batch))
		if err != nil {
			t.Fatal(err)
		}
		values := make([]float32, len(out))
		for i, o := range out {
			values[i] = tensors.MustCopyFlatData[float32](o)[0]
		}
		return values
	}

	plain, augmented := losses(false), losses(true)
	for i, name := range []string{"G_XY", "G_YX"} {
		if plain[i] == augmented[i] {
			t.Errorf("%s loss %g with and without DiffAugment, want them to differ", name, plain[i])
		}
	}
	for i, name := range []string{"cycle", "identity"} {
		if plain[2+i] != augmented[2+i] {
			t.Errorf("%s loss %g without DiffAugment, %g with it: want equal", name, plain[2+i], augmented[2+i])
		}
	}
}

// TestDiffAugmentTrains runs two iterations on the real cats with and
// without DiffAugment, with and without a pool of fakes. The first
// discriminator losses, computed before any update, must differ, and the
// first cycle loss must not (see TestDiffAugmentOnlyOnDiscriminatorInputs).
func TestDiffAugmentTrains(t *testing.T) {
	x, y := catDomains(t)
	backend := testutil.GoBackend(t)
	run := func(policy string, poolSize int) []Losses {
		cfg := smallConfig()
		cfg.DiffAugment = policy
		cfg.PoolSize = poolSize
		tr, err := NewTrainer(backend, cfg, x, y, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		return runSteps(t, tr, 2)
	}
	plain := run("", 0)
	for _, poolSize := range []int{0, 6} {
		augmented := run("color,translation,cutout", poolSize)
		for i, l := range augmented {
			for _, v := range l.values() {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("pool_size %d, iteration %d with DiffAugment: losses %+v are not finite", poolSize, i+1, l)
				}
			}
		}
		first := augmented[0]
		if first.DX == plain[0].DX {
			t.Errorf("pool_size %d: first D_X loss %g with and without DiffAugment, want them to differ", poolSize, first.DX)
		}
		if first.DY == plain[0].DY {
			t.Errorf("pool_size %d: first D_Y loss %g with and without DiffAugment, want them to differ", poolSize, first.DY)
		}
		if math.Abs(first.Cycle-plain[0].Cycle) > 1e-6 {
			t.Errorf("pool_size %d: first cycle loss %g with DiffAugment, %g without: want equal", poolSize, first.Cycle, plain[0].Cycle)
		}
	}

	cfg := smallConfig()
	cfg.DiffAugment = "translation,zoom"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "zoom") {
		t.Errorf("Validate with policy translation,zoom: %v, want an error naming zoom", err)
	}
}

func TestLoadDomainsErrors(t *testing.T) {
	cases := []struct {
		name       string
		prepare    func(root string)
		wantDomain string
		wantPath   string
	}{
		{"missing X", func(root string) {}, "domain X", dataset.RussianBlueDir},
		{"empty X", func(root string) {
			os.MkdirAll(filepath.Join(root, dataset.RussianBlueDir), 0o755)
			writeCat(t, filepath.Join(root, dataset.GrumpyDir, "0.png"))
		}, "domain X", dataset.RussianBlueDir},
		{"missing Y", func(root string) {
			writeCat(t, filepath.Join(root, dataset.RussianBlueDir, "0.png"))
		}, "domain Y", dataset.GrumpyDir},
		{"empty Y", func(root string) {
			writeCat(t, filepath.Join(root, dataset.RussianBlueDir, "0.png"))
			os.MkdirAll(filepath.Join(root, dataset.GrumpyDir), 0o755)
		}, "domain Y", dataset.GrumpyDir},
	}
	for _, tc := range cases {
		root := t.TempDir()
		tc.prepare(root)
		_, _, err := LoadDomains(root)
		if err == nil {
			t.Errorf("%s: LoadDomains returned no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantDomain) || !strings.Contains(err.Error(), filepath.Join(root, tc.wantPath)) {
			t.Errorf("%s: error %q, want it to name %q and %s", tc.name, err, tc.wantDomain, filepath.Join(root, tc.wantPath))
		}
	}

	// Images of another size are resized to the model size.
	root := t.TempDir()
	writeCat(t, filepath.Join(root, dataset.RussianBlueDir, "0.png"))
	writeCat(t, filepath.Join(root, dataset.GrumpyDir, "0.png"))
	x, y, err := LoadDomains(root)
	if err != nil {
		t.Fatal(err)
	}
	if x.Size != ImageSize || y.Size != ImageSize || x.Len() != 1 || y.Len() != 1 {
		t.Errorf("loaded X %dx%d (%d images) and Y %dx%d (%d images), want one %dx%d image each",
			x.Size, x.Size, x.Len(), y.Size, y.Size, y.Len(), ImageSize, ImageSize)
	}

	// NewTrainer rejects an empty domain and one smaller than a batch.
	empty := &dataset.Images{Size: ImageSize, Dir: "/nowhere/cats"}
	if _, err := NewTrainer(testutil.GoBackend(t), smallConfig(), x, empty, t.TempDir()); err == nil || !strings.Contains(err.Error(), "domain Y") {
		t.Errorf("NewTrainer with an empty Y returned %v, want an error naming domain Y", err)
	}
	if _, err := NewTrainer(testutil.GoBackend(t), smallConfig(), x, y, t.TempDir()); err == nil || !strings.Contains(err.Error(), "domain X") {
		t.Errorf("NewTrainer with 1 image and batch 4 returned %v, want an error naming domain X", err)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
	}{
		{"conv_dim", func(c *Config) { c.ConvDim = 0 }},
		{"n_res_blocks", func(c *Config) { c.ResBlocks = -1 }},
		{"norm", func(c *Config) { c.Norm = "group" }},
		{"disc", func(c *Config) { c.Discriminator = "wide" }},
		{"cycle_norm", func(c *Config) { c.CycleNorm = "l2" }},
		{"lambda_cycle", func(c *Config) { c.LambdaCycle = -1 }},
		{"lambda_identity", func(c *Config) { c.LambdaIdentity = -1 }},
		{"pool_size", func(c *Config) { c.PoolSize = -1 }},
		{"decay_from", func(c *Config) { c.DecayFrom = c.Iterations }},
		{"lr", func(c *Config) { c.LearningRate = 0 }},
		{"beta2", func(c *Config) { c.Beta2 = 1 }},
		{"data_preprocess", func(c *Config) { c.Preprocess = "fancy" }},
		{"conv_impl", func(c *Config) { c.ConvImpl = "fft" }},
		{"batch_size", func(c *Config) { c.BatchSize = 0 }},
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	for _, tc := range cases {
		cfg := DefaultConfig()
		tc.change(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("invalid %s: Validate returned %v, want an error naming %s", tc.name, err, tc.name)
		}
	}
	for _, name := range PresetNames() {
		cfg, err := PresetConfig(name)
		if err != nil {
			t.Errorf("preset %s: %v", name, err)
		} else if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := PresetConfig("huge"); err == nil {
		t.Error(`PresetConfig("huge") returned no error`)
	}
}

func TestLearningRateAt(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Iterations, cfg.DecayFrom, cfg.LearningRate = 10, 6, 1
	cases := []struct {
		done int
		want float64
	}{
		{0, 1}, {5, 1}, {6, 1}, {7, 0.75}, {9, 0.25}, {10, 0},
	}
	for _, tc := range cases {
		if got := cfg.LearningRateAt(tc.done); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LearningRateAt(%d) = %g, want %g", tc.done, got, tc.want)
		}
	}
	cfg.DecayFrom = 0
	if got := cfg.LearningRateAt(9); got != 1 {
		t.Errorf("without decay, LearningRateAt(9) = %g, want 1", got)
	}
}

func TestStepFLOPs(t *testing.T) {
	// Layer by layer for conv_dim 32, per image. Generator: 1572864 +
	// 8388608 + 3*2359296*4 + 18874368 + 3538944 MACs (the res blocks are
	// 16x16x9x64x64 each). Patch discriminator: 1572864 + 8388608 +
	// 8388608 + 32768.
	g, d := DefaultConfig().ForwardMACs()
	if want := int64(1572864 + 8388608 + 3*9437184 + 18874368 + 3538944); g != want {
		t.Errorf("generator MACs %d, want %d", g, want)
	}
	if want := int64(1572864 + 8388608 + 8388608 + 32768); d != want {
		t.Errorf("patch discriminator MACs %d, want %d", d, want)
	}
	// Forward 4g + 6d, backward 4g + 6d, per image, times batch 16.
	if got, want := DefaultConfig().StepFLOPs(), 16*(2*(4*g+6*d)+4*(4*g+6*d)); got != want {
		t.Errorf("StepFLOPs = %d, want %d", got, want)
	}
	// A pool costs two generator passes more.
	pool := DefaultConfig()
	pool.PoolSize = 50
	if got, want := pool.StepFLOPs(), DefaultConfig().StepFLOPs()+16*2*2*g; got != want {
		t.Errorf("StepFLOPs with a pool = %d, want %d", got, want)
	}
	noCycle := DefaultConfig()
	noCycle.LambdaCycle = 0
	if got, want := noCycle.StepFLOPs(), DefaultConfig().StepFLOPs()-16*4*2*g; got != want {
		t.Errorf("StepFLOPs without the cycle loss = %d, want %d", got, want)
	}
}

func TestBenchStep(t *testing.T) {
	if testing.Short() {
		t.Skip("a full-size iteration takes seconds on the Go backend")
	}
	step, flops, err := BenchStep(testutil.GoBackend(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if flops != DefaultConfig().StepFLOPs() {
		t.Errorf("BenchStep FLOPs %d, want StepFLOPs() = %d", flops, DefaultConfig().StepFLOPs())
	}
	if err := step(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkStep times one CycleGAN iteration (both discriminator updates
// and the joint generator update, batch 16) on the backend that backend.New
// picks (GOMLX_BACKEND selects one) and reports GFLOP/s.
func BenchmarkStep(b *testing.B) {
	choice, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Log(choice.Note)
	step, flops, err := BenchStep(choice.Backend, "")
	if err != nil {
		b.Fatal(err)
	}
	if err := step(); err != nil { // compiles the graphs
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	perStep := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(flops)/perStep/1e9, "GFLOP/s")
}

// TestLearningRateDecayReachesAdam checks that the scheduled learning rate
// lands in the variables that Adam reads, and in no other.
func TestLearningRateDecayReachesAdam(t *testing.T) {
	x, y := catDomains(t)
	cfg := smallConfig()
	cfg.Iterations, cfg.DecayFrom = 4, 1
	tr, err := NewTrainer(testutil.GoBackend(t), cfg, x, y, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	runSteps(t, tr, 3) // the third update uses LearningRateAt(2)
	want := float32(cfg.LearningRateAt(2))
	found := 0
	for v := range tr.store.IterVariables() {
		if v.Name() != "learning_rate" {
			continue
		}
		found++
		path := v.Scope() + "/" + v.Name()
		if !slices.Contains(learningRatePaths, path) {
			t.Errorf("Adam reads a learning rate at %s, which the schedule does not set", path)
		}
		if got := tensors.MustCopyFlatData[float32](v.MustValue())[0]; got != want {
			t.Errorf("%s = %g, want %g", path, got, want)
		}
	}
	if found != len(learningRatePaths) {
		t.Errorf("found %d learning rate variables, want %d", found, len(learningRatePaths))
	}
}

// TestStepGraphMatchesTwoUpdates runs StepGraph and PoolStepGraph against
// the update of D_X and D_Y and the generators' update built as two graphs
// and run in that order, from the same weights, on real cats. The losses
// must agree at every iteration: the generators' losses must see the
// updated discriminators in both, and the fakes that the one-graph step
// shares between its updates must be the ones the generators' update
// would compute.
func TestStepGraphMatchesTwoUpdates(t *testing.T) {
	backend := testutil.GoBackend(t)
	imagesX, imagesY := catDomains(t)
	for _, tc := range []struct {
		name        string
		pool        bool
		diffAugment string
	}{
		{"plain", false, ""},
		{"pool", true, ""},
		{"diffaugment", false, "color,translation,cutout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			cfg.LambdaIdentity = 1
			cfg.DiffAugment = tc.diffAugment
			policy, err := augment.Parse(cfg.DiffAugment)
			if err != nil {
				t.Fatal(err)
			}
			n := cfg.BatchSize
			size := n * ImageSize * ImageSize * 3
			realX := tensors.FromFlatDataAndDimensions(imagesX.Pixels[:size], n, ImageSize, ImageSize, 3)
			realY := tensors.FromFlatDataAndDimensions(imagesY.Pixels[:size], n, ImageSize, ImageSize, 3)

			// Create the weights once and copy them into both stores.
			initial := model.NewStore()
			if err := initial.SetRNGStateFromSeed(cfg.Seed); err != nil {
				t.Fatal(err)
			}
			model.MustExecOnceN(backend, initial, func(scope *model.Scope, x *Node) []*Node {
				network := newNetworks(scope)
				var scores []*Node
				for _, name := range []string{GXY, GYX} {
					fake := Generator(network.get(name), cfg, x)
					for _, d := range []string{DX, DY} {
						scores = append(scores, Discriminator(network.get(d), cfg, fake))
					}
				}
				return scores
			}, realX)
			oneGraph, twoGraphs := testutil.CloneStores(t, initial)

			// The shown fakes of the pool case are fixed random images.
			shownX, shownY := randomImages(11, n), randomImages(12, n)
			stepExec := model.MustNewExec(backend, oneGraph, func(scope *model.Scope, realX, realY, shownX, shownY, uD, uG *Node) []*Node {
				trainloop.ReadVariablesEachCall(scope, realX.Graph())
				if tc.pool {
					return stepOutputs(PoolStepGraph(scope, cfg, realX, realY, shownX, shownY, uD, uG))
				}
				return stepOutputs(StepGraph(scope, cfg, realX, realY, uD, uG))
			})
			dExec := model.MustNewExec(backend, twoGraphs, func(scope *model.Scope, realX, realY, shownX, shownY, uD *Node) []*Node {
				trainloop.ReadVariablesEachCall(scope, realX.Graph())
				network := newNetworks(scope)
				if !tc.pool {
					shownY = StopGradient(Generator(network.get(GXY), cfg, realX))
					shownX = StopGradient(Generator(network.get(GYX), cfg, realY))
				}
				dX, dY := discriminatorUpdate(network, cfg, realX, realY, shownX, shownY, uD)
				return []*Node{dX, dY}
			})
			gExec := model.MustNewExec(backend, twoGraphs, func(scope *model.Scope, realX, realY, uG *Node) []*Node {
				trainloop.ReadVariablesEachCall(scope, realX.Graph())
				network := newNetworks(scope)
				fakeY := Generator(network.get(GXY), cfg, realX)
				fakeX := Generator(network.get(GYX), cfg, realY)
				g := generatorUpdate(network, cfg, realX, realY, fakeX, fakeY, uG)
				return []*Node{g.GXY, g.GYX, g.Cycle, g.Identity}
			})
			for i := range 3 {
				uD := policy.Uniforms(1, 2*uint64(i), 4*n)
				uG := policy.Uniforms(1, 2*uint64(i)+1, 2*n)
				got := stepExec.MustExec(realX, realY, shownX, shownY, uD, uG)
				want := dExec.MustExec(realX, realY, shownX, shownY, uD)
				want = append(want, gExec.MustExec(realX, realY, uG)...)
				for j, name := range LogColumns {
					g, w := scalar(got[j]), scalar(want[j])
					if math.Abs(g-w) > 1e-4*math.Max(1, math.Abs(w)) {
						t.Errorf("iteration %d: %s = %.7g in one graph, %.7g in two", i+1, name, g, w)
					}
				}
			}
		})
	}
}

// TestResumeAppliesNewLearningRate resumes a run with another learning
// rate, which must reach both optimizers.
func TestResumeAppliesNewLearningRate(t *testing.T) {
	x, y := catDomains(t)
	backend := testutil.GoBackend(t)
	testutil.ResumedLearningRateApplies(t, LossLogFile, LossColumns[:2], 3e-4, 3e-2, func(dir string, lr float64, iterations int) *model.Store {
		cfg := smallConfig()
		cfg.LearningRate, cfg.Iterations = lr, iterations
		return trainRun(t, backend, cfg, x, y, dir).store
	})
}

// trainRun trains a run of cfg into dir to its end, resuming the run in
// dir, closes it and returns its trainer.
func trainRun(t *testing.T, backend compute.Backend, cfg Config, x, y *dataset.Images, dir string) *Trainer {
	t.Helper()
	trainer, err := NewTrainer(backend, cfg, x, y, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := trainer.Run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := trainer.Close(); err != nil {
		t.Fatal(err)
	}
	return trainer
}
