package gan

import (
	"context"
	"math"
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

	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/internal/testutil"
	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/trainloop"
)

// grumpyImages loads the real Grumpy cat images, skipping the test when no
// data folder is configured (CI sets CATSYNTH_DATA).
func grumpyImages(t testing.TB) *dataset.Images {
	return testutil.CatImages(t, dataset.GrumpyDir, ImageSize)
}

// testConfig is the report's architecture with a short schedule.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Iterations = 4
	cfg.SampleEvery = 2
	cfg.Milestones = nil
	cfg.LogEvery = 1
	cfg.CheckpointEvery = 2
	return cfg
}

func TestNetworkShapes(t *testing.T) {
	backend := testutil.GoBackend(t)
	for _, norm := range []string{"instance", "batch", "none"} {
		t.Run(norm, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Norm = norm
			store := model.NewStore()
			outputs := model.MustExecOnceN(backend, store, func(scope *model.Scope, z *Node) []*Node {
				fake := Generator(scope.In(GeneratorScope), cfg, z)
				score := Discriminator(scope.In(DiscriminatorScope), cfg, fake)
				return []*Node{fake, score}
			}, uniformNoise(1, 0, 3, cfg.NoiseSize))
			if got, want := outputs[0].Shape().Dimensions, []int{3, 64, 64, 3}; !slices.Equal(got, want) {
				t.Errorf("generator output %v, want %v", got, want)
			}
			if got, want := outputs[1].Shape().Dimensions, []int{3}; !slices.Equal(got, want) {
				t.Errorf("discriminator output %v, want %v", got, want)
			}
			for i, v := range tensors.MustCopyFlatData[float32](outputs[0]) {
				if v < -1 || v > 1 || math.IsNaN(float64(v)) {
					t.Fatalf("generator pixel %d = %g, want within [-1, 1]", i, v)
				}
			}
		})
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

// TestTrainingMovesLosses checks that a few iterations on the real cats give
// finite losses and that the discriminator learns to tell real from fake.
func TestTrainingMovesLosses(t *testing.T) {
	images := grumpyImages(t)
	cfg := testConfig()
	tr, err := NewTrainer(testutil.GoBackend(t), cfg, images, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	losses := runSteps(t, tr, 6)
	for i, l := range losses {
		for _, v := range []float64{l.DReal, l.DFake, l.G} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("iteration %d: losses %+v are not finite", i+1, l)
			}
		}
	}
	first, last := losses[0], losses[len(losses)-1]
	if first == last {
		t.Errorf("losses did not change: first %+v, last %+v", first, last)
	}
	if dFirst, dLast := first.DReal+first.DFake, last.DReal+last.DFake; dLast >= dFirst {
		t.Errorf("discriminator loss went from %.4f to %.4f, want a decrease", dFirst, dLast)
	}
	if tr.Iteration() != 6 {
		t.Errorf("Iteration() = %d, want 6", tr.Iteration())
	}
}

// TestSamplesFollowTraining trains one iteration, generates from the fixed
// noise, trains two more iterations and generates again with the same
// trainer. The two batches must differ. A generator graph that kept the
// weights of its first call (see trainloop.ReadVariablesEachCall) would
// repeat the first batch.
func TestSamplesFollowTraining(t *testing.T) {
	images := grumpyImages(t)
	tr, err := NewTrainer(testutil.GoBackend(t), testConfig(), images, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	noise, err := tr.FixedNoise()
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, tr, 1)
	before, err := tr.Generate(noise)
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, tr, 2)
	after, err := tr.Generate(noise)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(before, after) {
		t.Error("the generator's output from the fixed noise did not change over two training iterations")
	}
}

func TestSameSeedSameLosses(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	firstLosses := func(seed int64) Losses {
		cfg := testConfig()
		cfg.Seed = seed
		tr, err := NewTrainer(backend, cfg, images, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		return runSteps(t, tr, 1)[0]
	}
	a, b, other := firstLosses(7), firstLosses(7), firstLosses(8)
	if a != b {
		t.Errorf("seed 7 gave %+v and then %+v, want equal losses", a, b)
	}
	if a == other {
		t.Errorf("seeds 7 and 8 both gave %+v, want different losses", a)
	}
}

// TestResumeMatchesUninterrupted trains 4 iterations straight, and 2 + 2 with
// a new Trainer resuming from the checkpoint in between. Both runs must give
// the same losses, samples and loss log.
func TestResumeMatchesUninterrupted(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	cfg := testConfig()
	ctx := context.Background()

	straightDir := t.TempDir()
	trainRun(t, backend, cfg, images, straightDir)

	resumedDir := t.TempDir()
	half := cfg
	half.Iterations = 2
	first, err := NewTrainer(backend, half, images, resumedDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Run(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	firstNoise, _ := first.FixedNoise()
	first.Close()

	second, err := NewTrainer(backend, cfg, images, resumedDir)
	if err != nil {
		t.Fatal(err)
	}
	if second.Iteration() != 2 {
		t.Fatalf("resumed at iteration %d, want 2", second.Iteration())
	}
	secondNoise, _ := second.FixedNoise()
	if !slices.Equal(tensors.MustCopyFlatData[float32](firstNoise), tensors.MustCopyFlatData[float32](secondNoise)) {
		t.Error("the fixed noise changed across the resume")
	}
	if err := second.Run(ctx, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	second.Close()

	testutil.SameLossLogs(t, filepath.Join(straightDir, LossLogFile), filepath.Join(resumedDir, LossLogFile), LossColumns, []int{1, 2, 3, 4}, 1e-5)
	for _, iteration := range []int{2, 4} {
		if _, err := os.Stat(SamplePath(resumedDir, iteration)); err != nil {
			t.Errorf("sample grid of iteration %d: %v", iteration, err)
		}
	}
}

func TestResumeRejectsOtherArchitecture(t *testing.T) {
	images := grumpyImages(t)
	dir := t.TempDir()
	cfg := testConfig()
	cfg.Iterations = 1
	tr, err := NewTrainer(testutil.GoBackend(t), cfg, images, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	cfg.ConvDim = 16
	if _, err := NewTrainer(testutil.GoBackend(t), cfg, images, dir); err == nil {
		t.Fatal("NewTrainer with conv_dim 16 on a conv_dim 32 run returned no error")
	}
	// The earlier run's files are intact.
	for _, name := range []string{ConfigFile, LossLogFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s after the rejected resume: %v", name, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
	}{
		{"conv_dim", func(c *Config) { c.ConvDim = 0 }},
		{"norm", func(c *Config) { c.Norm = "group" }},
		{"lr", func(c *Config) { c.LearningRate = 0 }},
		{"beta1", func(c *Config) { c.Beta1 = 1 }},
		{"data_preprocess", func(c *Config) { c.Preprocess = "fancy" }},
		{"conv_impl", func(c *Config) { c.ConvImpl = "fft" }},
		{"batch_size", func(c *Config) { c.BatchSize = -1 }},
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
	for _, name := range PresetNames() {
		cfg, err := PresetConfig(name)
		if err != nil || cfg.Validate() != nil {
			t.Errorf("preset %s: %v %v", name, err, cfg.Validate())
		}
	}
	if _, err := PresetConfig("huge"); err == nil {
		t.Error("PresetConfig(\"huge\") returned no error")
	}
}

func TestStepFLOPs(t *testing.T) {
	// Layer by layer for conv_dim 32, per image: the generator has
	// 409600 + 3*18874368 + 3538944 MACs and the discriminator
	// 1572864 + 3*8388608 + 4096.
	g, d := DefaultConfig().ForwardMACs()
	if wantG := int64(409600 + 3*18874368 + 3538944); g != wantG {
		t.Errorf("generator MACs %d, want %d", g, wantG)
	}
	if wantD := int64(1572864 + 3*8388608 + 4096); d != wantD {
		t.Errorf("discriminator MACs %d, want %d", d, wantD)
	}
	if got := float64(DefaultConfig().StepFLOPs()) / 1e9; math.Abs(got-15.45) > 0.05 {
		t.Errorf("StepFLOPs = %.2f GFLOP, want about 15.45", got)
	}
}

// BenchmarkStep times one DCGAN iteration (D and G updates, batch 16) on the
// pure Go backend and reports GFLOP/s.
func BenchmarkStep(b *testing.B) {
	images := grumpyImages(b)
	cfg := DefaultConfig()
	tr, err := NewTrainer(testutil.GoBackend(b), cfg, images, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Step(); err != nil { // compiles the graphs
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := tr.Step(); err != nil {
			b.Fatal(err)
		}
	}
	perStep := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(cfg.StepFLOPs())/perStep/1e9, "GFLOP/s")
}

// TestDiffAugmentTrains runs two iterations with every DiffAugment
// operation: the losses stay finite and differ from a run without it.
func TestDiffAugmentTrains(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	run := func(policy string) []Losses {
		cfg := testConfig()
		cfg.DiffAugment = policy
		tr, err := NewTrainer(backend, cfg, images, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		return runSteps(t, tr, 2)
	}
	plain, augmented := run(""), run("color,translation,cutout")
	for i, l := range augmented {
		for _, v := range []float64{l.DReal, l.DFake, l.G} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("iteration %d with DiffAugment: losses %+v are not finite", i+1, l)
			}
		}
	}
	if plain[0].DReal == augmented[0].DReal {
		t.Errorf("D_real_loss %g with and without DiffAugment, want them to differ", plain[0].DReal)
	}
	cfg := testConfig()
	cfg.DiffAugment = "color,blur"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "blur") {
		t.Errorf("Validate with policy color,blur: %v, want an error naming blur", err)
	}
}

// TestStepGraphMatchesTwoUpdates runs StepGraph against the discriminator
// update and the generator update built as two graphs and run in that
// order, from the same weights, on real Grumpy cats, for each norm and with
// DiffAugment. The losses must agree at every iteration: the generator's
// loss must see the updated discriminator in both, and the frozen
// discriminator must not change the generator's gradient.
func TestStepGraphMatchesTwoUpdates(t *testing.T) {
	backend := testutil.GoBackend(t)
	images := grumpyImages(t)
	for _, tc := range []struct{ name, norm, diffAugment string }{
		{"instance", layers.NormInstance, ""},
		{"batch", layers.NormBatch, ""},
		{"none", layers.NormNone, ""},
		{"diffaugment", layers.NormInstance, "color,translation,cutout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.BatchSize = 4
			cfg.Norm = tc.norm
			cfg.DiffAugment = tc.diffAugment
			policy := mustPolicy(cfg)
			n := cfg.BatchSize
			real := tensors.FromFlatDataAndDimensions(images.Pixels[:n*ImageSize*ImageSize*3], n, ImageSize, ImageSize, 3)

			// Create the weights once and copy them into both stores.
			initial := model.NewStore()
			if err := initial.SetRNGStateFromSeed(cfg.Seed); err != nil {
				t.Fatal(err)
			}
			model.MustExecOnceN(backend, initial, func(scope *model.Scope, z *Node) []*Node {
				fake := Generator(scope.In(GeneratorScope), cfg, z)
				return []*Node{Discriminator(scope.In(DiscriminatorScope), cfg, fake)}
			}, uniformNoise(cfg.Seed, -2, n, cfg.NoiseSize))
			oneGraph, twoGraphs := testutil.CloneStores(t, initial)

			// Without a policy the draws are unused, as in Trainer.
			stepExec := model.MustNewExec(backend, oneGraph, func(scope *model.Scope, real, zD, zG, uReal, uFake, uGenerated *Node) (*Node, *Node, *Node) {
				trainloop.ReadVariablesEachCall(scope, real.Graph())
				return StepGraph(scope, cfg, real, zD, zG, uReal, uFake, uGenerated)
			})
			dExec := model.MustNewExec(backend, twoGraphs, func(scope *model.Scope, real, zD, uReal, uFake *Node) (*Node, *Node) {
				trainloop.ReadVariablesEachCall(scope, real.Graph())
				return discriminatorUpdate(subScopes(scope), cfg, real, zD, uReal, uFake)
			})
			gExec := model.MustNewExec(backend, twoGraphs, func(scope *model.Scope, zG, uGenerated *Node) *Node {
				trainloop.ReadVariablesEachCall(scope, zG.Graph())
				return generatorUpdate(subScopes(scope), cfg, zG, uGenerated)
			})
			for i := range 3 {
				zD := uniformNoise(cfg.Seed, 2*int64(i), n, cfg.NoiseSize)
				zG := uniformNoise(cfg.Seed, 2*int64(i)+1, n, cfg.NoiseSize)
				uReal := policy.Uniforms(1, 3*uint64(i), n)
				uFake := policy.Uniforms(1, 3*uint64(i)+1, n)
				uGenerated := policy.Uniforms(1, 3*uint64(i)+2, n)
				got := stepExec.MustExec(real, zD, zG, uReal, uFake, uGenerated)
				dReal, dFake := dExec.MustExec2(real, zD, uReal, uFake)
				gLoss := gExec.MustExec1(zG, uGenerated)
				for j, want := range []*tensors.Tensor{dReal, dFake, gLoss} {
					g, w := scalar(got[j]), scalar(want)
					if math.Abs(g-w) > 1e-4*math.Max(1, math.Abs(w)) {
						t.Errorf("iteration %d: %s = %.7g in one graph, %.7g in two", i+1, LossColumns[j], g, w)
					}
				}
			}
		})
	}
}

// TestNoTrainingWritesNothing checks the runs that train nothing: one whose
// batch is larger than the data, which NewTrainer rejects, and a finished
// run opened again with a changed seed and run to the same iteration. The
// first leaves no config.json, and the second leaves config.json and the
// loss log as training wrote them.
func TestNoTrainingWritesNothing(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)

	rejected := t.TempDir()
	tooLarge := testConfig()
	tooLarge.BatchSize = images.Len() + 1
	if _, err := NewTrainer(backend, tooLarge, images, rejected); err == nil {
		t.Fatalf("NewTrainer accepted batch_size %d for %d images", tooLarge.BatchSize, images.Len())
	}
	if _, err := os.Stat(filepath.Join(rejected, ConfigFile)); err == nil {
		t.Error("a rejected run left config.json behind")
	}

	dir := t.TempDir()
	cfg := testConfig()
	cfg.Iterations = 2
	trainRun(t, backend, cfg, images, dir)
	config, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	losses, _ := os.ReadFile(filepath.Join(dir, LossLogFile))

	cfg.Seed++
	trainRun(t, backend, cfg, images, dir)
	if after, _ := os.ReadFile(filepath.Join(dir, ConfigFile)); string(after) != string(config) {
		t.Errorf("config.json went from %s to %s without training", config, after)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, LossLogFile)); string(after) != string(losses) {
		t.Errorf("the loss log went from %q to %q without training", losses, after)
	}
}

// TestDamagedCheckpointAdvice cuts the newest checkpoint of a run short and
// checks that NewTrainer's error explains how to recover. Following that
// advice, by moving the checkpoint's files away, resumes from the one before.
func TestDamagedCheckpointAdvice(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	dir := t.TempDir()
	cfg := testConfig()
	trainRun(t, backend, cfg, images, dir)

	newest, _ := filepath.Glob(filepath.Join(dir, CheckpointDir, "*-step-00000004.*"))
	if len(newest) != 2 {
		t.Fatalf("found %v for the checkpoint of iteration 4, want its .bin and .json", newest)
	}
	for _, path := range newest {
		if strings.HasSuffix(path, ".bin") {
			if err := os.Truncate(path, 100); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := NewTrainer(backend, cfg, images, dir); err == nil || !strings.Contains(err.Error(), "move its two files") {
		t.Fatalf("NewTrainer on a damaged checkpoint returned %v, want the advice to move its files", err)
	}

	aside := t.TempDir()
	for _, path := range newest {
		if err := os.Rename(path, filepath.Join(aside, filepath.Base(path))); err != nil {
			t.Fatal(err)
		}
	}
	resumed, err := NewTrainer(backend, cfg, images, dir)
	if err != nil {
		t.Fatalf("NewTrainer after moving the damaged checkpoint away: %v", err)
	}
	defer resumed.Close()
	if got := resumed.Iteration(); got != 2 {
		t.Errorf("resumed at iteration %d, want 2, from the checkpoint before the damaged one", got)
	}
}

// trainRun trains a run of cfg into dir to its end, resuming the run in
// dir, closes it and returns its trainer.
func trainRun(t *testing.T, backend compute.Backend, cfg Config, images *dataset.Images, dir string) *Trainer {
	t.Helper()
	trainer, err := NewTrainer(backend, cfg, images, dir)
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

// TestPolicyStoredCompact checks that a DiffAugment policy written with
// spaces is kept in its compact form, so that a resume that writes it
// without them counts as no change.
func TestPolicyStoredCompact(t *testing.T) {
	cfg := testConfig()
	cfg.DiffAugment = "color, translation"
	trainer, err := NewTrainer(testutil.GoBackend(t), cfg, grumpyImages(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer trainer.Close()
	if got := trainer.Config().DiffAugment; got != "color,translation" {
		t.Errorf("DiffAugment stored as %q, want %q", got, "color,translation")
	}
}

// TestResumeAppliesNewLearningRate resumes a run with another learning
// rate, which must reach both optimizers.
func TestResumeAppliesNewLearningRate(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	testutil.ResumedLearningRateApplies(t, LossLogFile, LossColumns[:2], 2e-4, 2e-2, func(dir string, lr float64, iterations int) *model.Store {
		cfg := testConfig()
		cfg.LearningRate, cfg.Iterations = lr, iterations
		return trainRun(t, backend, cfg, images, dir).store
	})
}

// TestResumeAppliesNewConvImpl resumes a run with another convolution
// implementation, which must replace the one saved in the checkpoint.
func TestResumeAppliesNewConvImpl(t *testing.T) {
	images := grumpyImages(t)
	backend := testutil.GoBackend(t)
	dir := t.TempDir()
	for _, impl := range []string{"im2col", "native"} {
		cfg := testConfig()
		cfg.ConvImpl = impl
		tr, err := NewTrainer(backend, cfg, images, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := tr.store.GetParam(layers.ParamConvImpl); got != impl {
			t.Errorf("configured conv_impl %q, the store's is %v", impl, got)
		}
		if err := tr.Save(); err != nil {
			t.Fatal(err)
		}
		tr.Close()
	}
}
