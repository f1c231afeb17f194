package gan

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/imgrid"
	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/runconfig"
	"github.com/catsynth/catsynth/trainlog"
	"github.com/catsynth/catsynth/trainloop"
)

// Names of the files and folders of a run's output folder.
const (
	ConfigFile    = "config.json"
	LossLogFile   = "losses.csv"
	SamplesDir    = "samples"
	CheckpointDir = "checkpoint"
)

// LossColumns are the columns of the loss log, after "step".
var LossColumns = []string{"D_real_loss", "D_fake_loss", "G_loss"}

// SampleCount is the number of images in a sample grid, from the fixed noise.
const SampleCount = 16

// fixedNoisePath is the store path of the fixed sample noise, a variable so
// that checkpoints carry it.
const fixedNoisePath = "/samples/fixed_noise"

// Losses of one iteration.
type Losses struct {
	DReal, DFake, G float64
}

// Trainer runs DCGAN training into an output folder:
//
//	OUT/config.json          the configuration of the run
//	OUT/losses.csv           step, D_real_loss, D_fake_loss, G_loss
//	OUT/samples/iter-NNNNNN.png  sample grids from the fixed noise
//	OUT/checkpoint/          GoMLX checkpoints (weights, Adam state, fixed noise, step)
//
// An output folder that already holds a checkpoint is resumed from it.
type Trainer struct {
	// configChanges lists the settings that differ from the run resumed.
	configChanges []runconfig.Change
	// saveConfig writes config.json; begin calls it after the first step.
	saveConfig func() error
	cfg        Config
	backend    compute.Backend
	store      *model.Store
	stepExec   *model.Exec
	genExec    *model.Exec
	loader     *dataset.Loader
	outDir     string
	ckpt       *checkpoint.Handler
	// lossLog is nil until begin opens it.
	lossLog   *trainlog.Writer
	iteration int
	// policy is the DiffAugment policy; empty when off.
	policy augment.Policy
}

// NewTrainer prepares a run on images (64x64; see dataset.Load) writing to
// outDir. When outDir holds a checkpoint, training resumes from its
// iteration. It returns an error for an invalid configuration, images of
// another size, or an output folder from a run with another architecture.
// It writes config.json and the loss log only at the first training step
// (see begin), so a trainer that only samples changes neither.
func NewTrainer(backend compute.Backend, cfg Config, images *dataset.Images, outDir string) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The same policy written with spaces, "color, translation", is the same
	// setting when a run resumes.
	cfg.DiffAugment = mustPolicy(cfg).String()
	if images.Size != ImageSize {
		return nil, fmt.Errorf("gan: images from %s are %dx%d, want %dx%d: load them with dataset.Load(dir, %d)",
			images.Dir, images.Size, images.Size, ImageSize, ImageSize, ImageSize)
	}
	if outDir == "" {
		return nil, errors.New("gan: the output folder is empty: give a folder for samples, the loss log and checkpoints")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("gan: creating the output folder: %w", err)
	}
	configPath := filepath.Join(outDir, ConfigFile)
	configChanges, saveConfig, err := runconfig.Prepare(configPath, cfg, func(saved Config) error { return cfg.checkResumable(saved, configPath) })
	if err != nil {
		return nil, err
	}
	loader, err := dataset.NewLoader(images, cfg.BatchSize, cfg.Preprocess, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("gan: %w", err)
	}

	t := &Trainer{cfg: cfg, backend: backend, store: model.NewStore(), loader: loader, outDir: outDir}
	t.configChanges, t.saveConfig = configChanges, saveConfig
	t.store.SetParam(layers.ParamConvImpl, cfg.ConvImpl)
	if err := t.store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, fmt.Errorf("gan: seeding the model: %w", err)
	}
	if t.ckpt, t.iteration, err = trainloop.OpenCheckpoint("gan", t.store, filepath.Join(outDir, CheckpointDir)); err != nil {
		return nil, err
	}
	// A resumed run trains on with the configured learning rate, not with
	// the one its checkpoint holds.
	if _, err := trainloop.ApplyLearningRate("gan", t.store, cfg.LearningRate); err != nil {
		return nil, err
	}
	if t.store.GetVariable(fixedNoisePath) == nil {
		t.store.VariableWithValue(fixedNoisePath, uniformNoise(cfg.Seed, -1, SampleCount, cfg.NoiseSize)).SetTrainable(false)
	}
	t.loader.Seek(t.iteration)

	// The steps always take the DiffAugment draws. Without a policy they
	// are unused: Apply returns its input for the empty policy.
	t.policy = mustPolicy(cfg)
	t.stepExec, err = model.NewExec(backend, t.store, func(scope *model.Scope, real, zD, zG, uReal, uFake, uGenerated *Node) (*Node, *Node, *Node) {
		trainloop.ReadVariablesEachCall(scope, real.Graph())
		return StepGraph(scope, cfg, real, zD, zG, uReal, uFake, uGenerated)
	})
	if err != nil {
		return nil, fmt.Errorf("gan: building the training step: %w", err)
	}
	t.genExec, err = model.NewExec(backend, t.store, func(scope *model.Scope, z *Node) *Node {
		trainloop.ReadVariablesEachCall(scope, z.Graph())
		return Generator(scope.In(GeneratorScope), cfg, z)
	})
	if err != nil {
		return nil, fmt.Errorf("gan: building the generator: %w", err)
	}

	return t, nil
}

// begin writes config.json and opens the loss log, cut back to the
// current iteration so that no row is written twice. Step calls it once,
// when the first training step has run and before it counts that step.
func (t *Trainer) begin() error {
	if t.lossLog != nil {
		return nil
	}
	logs, err := trainloop.BeginRun("gan", t.saveConfig, t.iteration,
		trainloop.LogFile{Path: filepath.Join(t.outDir, LossLogFile), Columns: LossColumns})
	if err != nil {
		return err
	}
	t.lossLog = logs[0]
	return nil
}

// uniformNoise returns a [rows, cols] tensor drawn uniformly from [-1, 1],
// seeded by (seed, stream): the training noise of iteration i uses stream i.
func uniformNoise(seed int64, stream int64, rows, cols int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(stream)))
	data := make([]float32, rows*cols)
	for i := range data {
		data[i] = float32(2*rng.Float64() - 1)
	}
	return tensors.FromFlatDataAndDimensions(data, rows, cols)
}

// Config returns the configuration of the run.
func (t *Trainer) Config() Config { return t.cfg }

// Iteration returns the number of iterations done, including those of the
// run that was resumed.
func (t *Trainer) Iteration() int { return t.iteration }

// OutDir returns the output folder.
func (t *Trainer) OutDir() string { return t.outDir }

// Step runs one iteration: a discriminator and a generator update.
func (t *Trainer) Step() (Losses, error) {
	batch := t.loader.Next()
	real := tensors.FromFlatDataAndDimensions(batch, t.cfg.BatchSize, ImageSize, ImageSize, 3)
	// Two noise streams per iteration: even for D, odd for G.
	zD := uniformNoise(t.cfg.Seed, 2*int64(t.iteration), t.cfg.BatchSize, t.cfg.NoiseSize)
	zG := uniformNoise(t.cfg.Seed, 2*int64(t.iteration)+1, t.cfg.BatchSize, t.cfg.NoiseSize)
	// Three DiffAugment draws per iteration: real, fake, and generated images.
	seed, stream := augment.Seed(t.cfg.Seed), 3*uint64(t.iteration)
	uReal := t.policy.Uniforms(seed, stream, t.cfg.BatchSize)
	uFake := t.policy.Uniforms(seed, stream+1, t.cfg.BatchSize)
	uGenerated := t.policy.Uniforms(seed, stream+2, t.cfg.BatchSize)
	out, err := t.stepExec.Exec(real, zD, zG, uReal, uFake, uGenerated)
	if err != nil {
		return Losses{}, fmt.Errorf("gan: training iteration %d failed: %w", t.iteration+1, err)
	}
	// config.json and the logs are written after the first step, so that a
	// run stopped while it compiles changes no file.
	if err := t.begin(); err != nil {
		return Losses{}, err
	}
	t.iteration++
	return Losses{DReal: scalar(out[0]), DFake: scalar(out[1]), G: scalar(out[2])}, nil
}

func scalar(t *tensors.Tensor) float64 {
	return float64(tensors.MustCopyFlatData[float32](t)[0])
}

// Generate returns G(z) for z [n, NoiseSize] as NHWC float32 in [-1, 1],
// [n, 64, 64, 3] flattened.
func (t *Trainer) Generate(z *tensors.Tensor) ([]float32, error) {
	if z.Shape().Rank() != 2 || z.Shape().Dim(1) != t.cfg.NoiseSize {
		return nil, fmt.Errorf("gan: noise must be [n, %d], got %s", t.cfg.NoiseSize, z.Shape())
	}
	images, err := t.genExec.Exec1(z)
	if err != nil {
		return nil, fmt.Errorf("gan: generating: %w", err)
	}
	return tensors.MustCopyFlatData[float32](images), nil
}

// FixedNoise returns the [SampleCount, NoiseSize] noise of the sample grids.
func (t *Trainer) FixedNoise() (*tensors.Tensor, error) {
	return t.store.GetVariable(fixedNoisePath).Value()
}

// SampleGrid returns a 4x4 grid of G(fixed noise).
func (t *Trainer) SampleGrid() (*image.RGBA, error) {
	noise, err := t.FixedNoise()
	if err != nil {
		return nil, fmt.Errorf("gan: reading the fixed noise: %w", err)
	}
	pixels, err := t.Generate(noise)
	if err != nil {
		return nil, err
	}
	return imgrid.Grid(pixels, SampleCount, ImageSize, ImageSize, 3, 4)
}

// SamplePath returns the file of the sample grid saved at iteration.
func SamplePath(outDir string, iteration int) string {
	return filepath.Join(outDir, SamplesDir, fmt.Sprintf("iter-%06d.png", iteration))
}

// SaveSamples writes the sample grid of the current iteration to
// SamplePath and returns that path.
func (t *Trainer) SaveSamples() (string, error) {
	grid, err := t.SampleGrid()
	if err != nil {
		return "", err
	}
	path := SamplePath(t.outDir, t.iteration)
	if err := imgrid.WritePNG(path, grid); err != nil {
		return "", fmt.Errorf("gan: %w", err)
	}
	return path, nil
}

// Save writes a checkpoint (weights, Adam moments, fixed noise and the
// iteration count) and flushes the loss log.
func (t *Trainer) Save() error {
	if err := t.lossLog.Flush(); err != nil {
		return fmt.Errorf("gan: %w", err)
	}
	return trainloop.SaveCheckpoint("gan", t.store, t.ckpt, t.iteration)
}

// Close flushes and closes the loss log. It does not save a checkpoint.
func (t *Trainer) Close() error {
	return t.lossLog.Close()
}

// ParameterCount returns the number of trainable weights of each network.
func (t *Trainer) ParameterCount() (generator, discriminator int) {
	for v := range t.store.IterVariables() {
		if !v.Trainable {
			continue
		}
		size := v.Shape().Size()
		switch {
		case strings.HasPrefix(v.Scope(), "/"+GeneratorScope):
			generator += size
		case strings.HasPrefix(v.Scope(), "/"+DiscriminatorScope):
			discriminator += size
		}
	}
	return generator, discriminator
}

// ConfigChanges returns the settings that differ from the configuration of
// the run this one resumes, sorted by JSON name; none for a new run. The
// first training step keeps the earlier configuration as
// config.previous-N.json.
func (t *Trainer) ConfigChanges() []runconfig.Change { return t.configChanges }
