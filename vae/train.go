package vae

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/runconfig"
	"github.com/catsynth/catsynth/trainlog"
	"github.com/catsynth/catsynth/trainloop"
)

// Names of the files and folders of a run's output folder.
const (
	ConfigFile        = "config.json"
	LossLogFile       = "losses.csv"
	SamplesDir        = "samples"
	ReconstructionDir = "reconstructions"
	InterpolationFile = "interpolation.png"
	CheckpointDir     = "checkpoint"
)

// LossColumns are the columns of the loss log, after "step": the
// reconstruction loss, the KL term and their total, as defined by ELBOGraph.
var LossColumns = []string{"reconstruction", "KL", "total"}

// SampleCount is the number of images of a prior sample grid and of the
// fixed batch of real images.
const SampleCount = 16

// Store paths of the fixed prior noise and the fixed real batch, which the
// checkpoints carry so that a resumed run draws the same grids.
const (
	fixedNoisePath  = "/samples/fixed_noise"
	fixedImagesPath = "/samples/fixed_images"
)

// Losses of one step, per image (see ELBOGraph).
type Losses struct {
	Reconstruction, KL, Total float64
}

// Trainer runs VAE training into an output folder:
//
//	OUT/config.json                     the configuration of the run
//	OUT/losses.csv                      step, reconstruction, KL, total
//	OUT/samples/iter-NNNNNN.png         decoded fixed prior noise
//	OUT/reconstructions/iter-NNNNNN.png the fixed real batch beside its reconstruction
//	OUT/interpolation.png               written by SaveInterpolation
//	OUT/checkpoint/                     weights, Adam state, fixed noise and batch, step
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
	encodeExec *model.Exec
	decodeExec *model.Exec
	elboExec   *model.Exec
	batches    Batches
	outDir     string
	ckpt       *checkpoint.Handler
	// lossLog is nil until begin opens it.
	lossLog   *trainlog.Writer
	iteration int
}

// NewTrainer prepares a run on data writing to outDir. When outDir holds a
// checkpoint, training resumes from its iteration. It returns an error for
// an invalid configuration, a fixed batch of the wrong size, or an output
// folder from a run with another architecture. It writes config.json and
// the loss log only at the first training step (see begin), so a trainer
// that only samples changes neither.
func NewTrainer(backend compute.Backend, cfg Config, data Data, outDir string) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	height, width, channels := cfg.ImageShape()
	if len(data.Fixed) != SampleCount*cfg.imageValues() {
		return nil, fmt.Errorf("vae: the fixed batch has %d values, want %d images of %dx%dx%d (%d values)",
			len(data.Fixed), SampleCount, height, width, channels, SampleCount*cfg.imageValues())
	}
	if data.Batches == nil {
		return nil, errors.New("vae: data.Batches is nil: give a batch stream such as a dataset.Loader")
	}
	if outDir == "" {
		return nil, errors.New("vae: the output folder is empty: give a folder for samples, the loss log and checkpoints")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("vae: creating the output folder: %w", err)
	}
	configPath := filepath.Join(outDir, ConfigFile)
	configChanges, saveConfig, err := runconfig.Prepare(configPath, cfg, func(saved Config) error { return checkArchitecture(cfg, saved, configPath) })
	if err != nil {
		return nil, err
	}

	t := &Trainer{cfg: cfg, backend: backend, store: model.NewStore(), batches: data.Batches, outDir: outDir}
	t.configChanges, t.saveConfig = configChanges, saveConfig
	t.store.SetParam(layers.ParamConvImpl, cfg.ConvImpl)
	if err := t.store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, fmt.Errorf("vae: seeding the model: %w", err)
	}
	if t.ckpt, t.iteration, err = trainloop.OpenCheckpoint("vae", t.store, filepath.Join(outDir, CheckpointDir)); err != nil {
		return nil, err
	}
	// A resumed run trains on with the configured learning rate, not with
	// the one its checkpoint holds.
	if _, err := trainloop.ApplyLearningRate("vae", t.store, cfg.LearningRate); err != nil {
		return nil, err
	}
	if t.store.GetVariable(fixedNoisePath) == nil {
		noise := normalNoise(cfg.Seed, fixedNoiseStream, SampleCount, cfg.LatentSize)
		t.store.VariableWithValue(fixedNoisePath, noise).SetTrainable(false)
	}
	if t.store.GetVariable(fixedImagesPath) == nil {
		fixed := tensors.FromFlatDataAndDimensions(data.Fixed, SampleCount, height, width, channels)
		t.store.VariableWithValue(fixedImagesPath, fixed).SetTrainable(false)
	}
	t.batches.Seek(t.iteration)

	if err := t.buildExecs(); err != nil {
		return nil, err
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
	logs, err := trainloop.BeginRun("vae", t.saveConfig, t.iteration,
		trainloop.LogFile{Path: filepath.Join(t.outDir, LossLogFile), Columns: LossColumns})
	if err != nil {
		return err
	}
	t.lossLog = logs[0]
	return nil
}

// buildExecs creates the executables of the training step, the encoder,
// the decoder and the ELBO evaluation.
func (t *Trainer) buildExecs() error {
	cfg := t.cfg
	var err error
	t.stepExec, err = model.NewExec(t.backend, t.store, func(scope *model.Scope, x, eps *Node) (*Node, *Node, *Node) {
		trainloop.ReadVariablesEachCall(scope, x.Graph())
		return StepGraph(scope, cfg, x, eps)
	})
	if err != nil {
		return fmt.Errorf("vae: building the training step: %w", err)
	}
	t.encodeExec, err = model.NewExec(t.backend, t.store, func(scope *model.Scope, x *Node) (*Node, *Node) {
		trainloop.ReadVariablesEachCall(scope, x.Graph())
		return Encoder(scope.In(EncoderScope), cfg, x)
	})
	if err != nil {
		return fmt.Errorf("vae: building the encoder: %w", err)
	}
	t.decodeExec, err = model.NewExec(t.backend, t.store, func(scope *model.Scope, z *Node) *Node {
		trainloop.ReadVariablesEachCall(scope, z.Graph())
		return DecodedImages(cfg, Decoder(scope.In(DecoderScope), cfg, z))
	})
	if err != nil {
		return fmt.Errorf("vae: building the decoder: %w", err)
	}
	t.elboExec, err = model.NewExec(t.backend, t.store, func(scope *model.Scope, x, eps *Node) (*Node, *Node) {
		trainloop.ReadVariablesEachCall(scope, x.Graph())
		reconstruction, kl, _ := ELBOGraph(scope, cfg, x, eps)
		return reconstruction, kl
	})
	if err != nil {
		return fmt.Errorf("vae: building the ELBO: %w", err)
	}
	return nil
}

// Config returns the configuration of the run.
func (t *Trainer) Config() Config { return t.cfg }

// Iteration returns the number of steps done, including those of the run
// that was resumed.
func (t *Trainer) Iteration() int { return t.iteration }

// OutDir returns the output folder.
func (t *Trainer) OutDir() string { return t.outDir }

// Step runs one training step on the next batch.
func (t *Trainer) Step() (Losses, error) {
	height, width, channels := t.cfg.ImageShape()
	x := tensors.FromFlatDataAndDimensions(t.batches.Next(), t.cfg.BatchSize, height, width, channels)
	eps := normalNoise(t.cfg.Seed, int64(t.iteration), t.cfg.BatchSize, t.cfg.LatentSize)
	outputs, err := t.stepExec.Exec(x, eps)
	if err != nil {
		return Losses{}, fmt.Errorf("vae: training step %d: %w", t.iteration+1, err)
	}
	// config.json and the logs are written after the first step, so that a
	// run stopped while it compiles changes no file.
	if err := t.begin(); err != nil {
		return Losses{}, err
	}
	t.iteration++
	return Losses{Reconstruction: scalar(outputs[0]), KL: scalar(outputs[1]), Total: scalar(outputs[2])}, nil
}

func scalar(t *tensors.Tensor) float64 {
	return float64(tensors.MustCopyFlatData[float32](t)[0])
}

// Save writes a checkpoint (weights, Adam moments, fixed noise and batch,
// and the iteration count) and flushes the loss log.
func (t *Trainer) Save() error {
	if err := t.lossLog.Flush(); err != nil {
		return fmt.Errorf("vae: %w", err)
	}
	return trainloop.SaveCheckpoint("vae", t.store, t.ckpt, t.iteration)
}

// Close flushes and closes the loss log. It does not save a checkpoint.
func (t *Trainer) Close() error {
	return t.lossLog.Close()
}

// ParameterCount returns the number of trainable weights of the encoder and
// of the decoder.
func (t *Trainer) ParameterCount() (encoder, decoder int) {
	for v := range t.store.IterVariables() {
		if !v.Trainable {
			continue
		}
		switch {
		case strings.HasPrefix(v.Scope(), "/"+EncoderScope):
			encoder += v.Shape().Size()
		case strings.HasPrefix(v.Scope(), "/"+DecoderScope):
			decoder += v.Shape().Size()
		}
	}
	return encoder, decoder
}

// ConfigChanges returns the settings that differ from the configuration of
// the run this one resumes, sorted by JSON name; none for a new run. The
// first training step keeps the earlier configuration as
// config.previous-N.json.
func (t *Trainer) ConfigChanges() []runconfig.Change { return t.configChanges }

// checkArchitecture returns an error when saved, the configuration of an
// earlier run in the folder of path, has another architecture than cfg.
func checkArchitecture(cfg, saved Config, path string) error {
	return runconfig.CheckArchitecture("vae", saved.architectureFields(), cfg.architectureFields(), path)
}
