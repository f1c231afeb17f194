package pixelcnn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/catsynth/catsynth/layers"
	"github.com/catsynth/catsynth/runconfig"
	"github.com/catsynth/catsynth/trainlog"
	"github.com/catsynth/catsynth/trainloop"
)

// Names of the files and folders of a run's output folder.
const (
	ConfigFile    = "config.json"
	LossLogFile   = "losses.csv"
	EvalLogFile   = "eval.csv"
	SamplesDir    = "samples"
	CheckpointDir = "checkpoint"
)

// networkScope is the scope of the PixelCNN weights.
const networkScope = "pixelcnn"

// evalBatch is the batch size of the held-out NLL evaluation.
const evalBatch = 32

// Unit returns the unit of the NLL reported for cfg.Data:
// "nats_per_image" for MNIST and "bits_per_dim" for the cats.
func Unit(cfg Config) string {
	if cfg.Data == DataMNIST {
		return "nats_per_image"
	}
	return "bits_per_dim"
}

// LossColumn returns the column of the training NLL in the loss log, and
// EvalColumn that of the held-out NLL in the evaluation log.
func LossColumn(cfg Config) string { return "train_" + Unit(cfg) }

// EvalColumn returns the column of the held-out NLL in EvalLogFile.
func EvalColumn(cfg Config) string { return "test_" + Unit(cfg) }

// Trainer runs PixelCNN training into an output folder:
//
//	OUT/config.json              the configuration of the run
//	OUT/losses.csv               step, training NLL of the batch (see Unit)
//	OUT/eval.csv                 step, held-out NLL
//	OUT/samples/iter-NNNNNN.png  sample grids
//	OUT/checkpoint/              GoMLX checkpoints (weights, Adam state, step)
//
// An output folder that already holds a checkpoint is resumed from it.
type Trainer struct {
	// configChanges lists the settings that differ from the run resumed.
	configChanges []runconfig.Change
	// saveConfig writes config.json; begin calls it after the first step.
	saveConfig func() error
	cfg        Config
	data       *Data
	backend    compute.Backend
	store      *model.Store
	stepExec   *model.Exec
	evalExec   *model.Exec
	sampler    *Sampler
	outDir     string
	ckpt       *checkpoint.Handler
	// ctx is the context of Run while it runs, which the sample grids and
	// the evaluation check, so that an interrupt stops them; nil otherwise.
	ctx context.Context
	// lossLog and evalLog are nil until begin opens them.
	lossLog   *trainlog.Writer
	evalLog   *trainlog.Writer
	iteration int
}

// NewTrainer prepares a run on data (see LoadData) writing to outDir. When
// outDir holds a checkpoint, training resumes from its iteration. It
// returns an error for an invalid configuration, data of another shape than
// cfg, or an output folder from a run with other data or another
// architecture. It writes config.json and the logs only at the first
// training step (see begin), so a trainer that only samples or evaluates
// changes none of them.
func NewTrainer(backend compute.Backend, cfg Config, data *Data, outDir string) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	height, width, channels := cfg.Shape()
	if data.Height != height || data.Width != width || data.Channels != channels {
		return nil, fmt.Errorf("pixelcnn: data from %s is %dx%dx%d, want %dx%dx%d for data %q: load it with LoadData(cfg, ...)",
			data.Source, data.Height, data.Width, data.Channels, height, width, channels, cfg.Data)
	}
	if data.TrainCount() == 0 || data.TestCount() == 0 {
		return nil, fmt.Errorf("pixelcnn: data from %s has %d training and %d held-out images, want at least one of each",
			data.Source, data.TrainCount(), data.TestCount())
	}
	if cfg.BatchSize > data.TrainCount() {
		return nil, fmt.Errorf("pixelcnn: invalid batch_size %d: data from %s has only %d training images, so use %d or less",
			cfg.BatchSize, data.Source, data.TrainCount(), data.TrainCount())
	}
	if outDir == "" {
		return nil, errors.New("pixelcnn: the output folder is empty: give a folder for samples, the logs and checkpoints")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("pixelcnn: creating the output folder: %w", err)
	}
	configPath := filepath.Join(outDir, ConfigFile)
	configChanges, saveConfig, err := runconfig.Prepare(configPath, cfg, func(saved Config) error { return cfg.checkResumable(saved, configPath) })
	if err != nil {
		return nil, err
	}

	t := &Trainer{cfg: cfg, data: data, backend: backend, store: NewStore(cfg), outDir: outDir}
	t.configChanges, t.saveConfig = configChanges, saveConfig
	if t.ckpt, t.iteration, err = trainloop.OpenCheckpoint("pixelcnn", t.store, filepath.Join(outDir, CheckpointDir)); err != nil {
		return nil, err
	}
	// A resumed run trains on with the configured learning rate, not with
	// the one its checkpoint holds.
	if _, err := trainloop.ApplyLearningRate("pixelcnn", t.store, cfg.LearningRate); err != nil {
		return nil, err
	}

	t.stepExec, err = model.NewExec(backend, t.store, func(scope *model.Scope, levels *Node) *Node {
		trainloop.ReadVariablesEachCall(scope, levels.Graph())
		return StepGraph(scope, cfg, levels)
	})
	if err != nil {
		return nil, fmt.Errorf("pixelcnn: building the training step: %w", err)
	}
	t.evalExec, err = model.NewExec(backend, t.store, func(scope *model.Scope, levels *Node) *Node {
		trainloop.ReadVariablesEachCall(scope, levels.Graph())
		return ImagesNLL(scope, cfg, levels)
	})
	if err != nil {
		return nil, fmt.Errorf("pixelcnn: building the evaluation: %w", err)
	}
	if t.sampler, err = NewSampler(backend, t.store, cfg); err != nil {
		return nil, err
	}

	return t, nil
}

// begin writes config.json and opens the loss and evaluation logs, cut back
// to the current iteration so that no row is written twice. Step calls it
// once, when the first training step has run and before it counts that
// step.
func (t *Trainer) begin() error {
	if t.lossLog != nil {
		return nil
	}
	logs, err := trainloop.BeginRun("pixelcnn", t.saveConfig, t.iteration,
		trainloop.LogFile{Path: filepath.Join(t.outDir, LossLogFile), Columns: []string{LossColumn(t.cfg)}})
	if err != nil {
		return err
	}
	t.lossLog = logs[0]
	return t.openEvalLog()
}

// openEvalLog opens the evaluation log, cut back to the current iteration,
// unless it is open. An evaluation that a resumed run redoes before any
// step opens it alone: it writes that row, but not config.json, since the
// run does not train with the new settings.
func (t *Trainer) openEvalLog() error {
	if t.evalLog != nil {
		return nil
	}
	log, err := trainlog.OpenAt(filepath.Join(t.outDir, EvalLogFile), []string{EvalColumn(t.cfg)}, t.iteration)
	if err != nil {
		return fmt.Errorf("pixelcnn: %w", err)
	}
	t.evalLog = log
	return nil
}

// NewStore returns a model store for cfg: seeded from cfg.Seed, with the
// convolution implementation of cfg.ConvImpl.
func NewStore(cfg Config) *model.Store {
	store := model.NewStore()
	store.SetParam(layers.ParamConvImpl, cfg.ConvImpl)
	if err := store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		panic(fmt.Sprintf("pixelcnn: seeding the model store: %v", err))
	}
	return store
}

// StepGraph builds one Adam update (learning rate cfg.LearningRate) on a
// batch of levels [batch, height, width, channels] and returns the batch's
// mean NLL in nats per image. The optimized loss is that NLL divided by the
// subpixels per image, so that the learning rate does not depend on the
// image size.
func StepGraph(scope *model.Scope, cfg Config, levels *Node) *Node {
	meanNLL := ReduceAllMean(ImagesNLL(scope, cfg, levels))
	dims := levels.Shape().Size() / levels.Shape().Dim(0)
	loss := DivScalar(meanNLL, float64(dims))
	optimizer.Adam().LearningRate(cfg.LearningRate).Done().UpdateGraph(scope, loss.Graph(), loss)
	return meanNLL
}

// ImagesNLL returns the NLL in nats of each image of levels [batch,
// height, width, channels] under the network in scope, as [batch]. The
// network runs once per micro-batch (see Config.MicroBatches), and the
// slices are as even as the batch size allows.
//
// On the pure Go backend, several ops of an im2col convolution run on one
// core: the patch gather, the zero padding and the copies of Reshape. Two
// branches keep both cores busy while one of them runs such an op. The
// op times of a PixelCNN 28x28x1 step on a 2-core Intel Xeon, run one op
// at a time, summed to 221 ms, of which the patch gathers took 36 ms.
func ImagesNLL(scope *model.Scope, cfg Config, levels *Node) *Node {
	batch := levels.Shape().Dim(0)
	parts := max(1, min(cfg.MicroBatches, batch))
	nlls := make([]*Node, parts)
	for i := range parts {
		part := levels
		if parts > 1 {
			part = Slice(levels, AxisRange(i*batch/parts, (i+1)*batch/parts))
		}
		network := scope.In
		if i > 0 {
			network = scope.Shared
		}
		nlls[i] = NLL(cfg, Logits(network(networkScope), cfg, part), part)
	}
	if parts == 1 {
		return nlls[0]
	}
	return Concatenate(nlls, 0)
}

// Config returns the configuration of the run.
func (t *Trainer) Config() Config { return t.cfg }

// Iteration returns the number of iterations done, including those of the
// run that was resumed.
func (t *Trainer) Iteration() int { return t.iteration }

// OutDir returns the output folder.
func (t *Trainer) OutDir() string { return t.outDir }

// Sampler returns the sampler that shares the trainer's weights.
func (t *Trainer) Sampler() *Sampler { return t.sampler }

// Step runs one training iteration and returns the batch's mean NLL in
// nats per image.
func (t *Trainer) Step() (float64, error) {
	batch := t.data.batchAt(t.cfg.Seed, t.iteration, t.cfg.BatchSize)
	input := tensors.FromFlatDataAndDimensions(batch, t.cfg.BatchSize, t.data.Height, t.data.Width, t.data.Channels)
	nll, err := t.stepExec.Exec1(input)
	if err != nil {
		return 0, fmt.Errorf("pixelcnn: training step of iteration %d: %w", t.iteration+1, err)
	}
	// config.json and the logs are written after the first step, so that a
	// run stopped while it compiles changes no file.
	if err := t.begin(); err != nil {
		return 0, err
	}
	t.iteration++
	return float64(tensors.MustCopyFlatData[float32](nll)[0]), nil
}

// Report converts a NLL in nats per image to the unit of Unit(cfg).
func (t *Trainer) Report(natsPerImage float64) float64 {
	if t.cfg.Data == DataMNIST {
		return natsPerImage
	}
	return BitsPerDim(natsPerImage, t.data.ImageDims())
}

// Evaluate returns the mean NLL, in nats per image, of the first
// cfg.EvalImages held-out images (all of them when EvalImages is 0). During
// Run it stops between batches once Run's context is done.
func (t *Trainer) Evaluate() (float64, error) {
	images, count := t.data.testImages(t.cfg.EvalImages)
	dims := t.data.ImageDims()
	var total float64
	batch := make([]float32, evalBatch*dims)
	for start := 0; start < count; start += evalBatch {
		if err := t.runContext().Err(); err != nil {
			return 0, fmt.Errorf("pixelcnn: evaluation stopped at held-out image %d: %w", start, err)
		}
		n := min(evalBatch, count-start)
		clear(batch)
		copy(batch, images[start*dims:(start+n)*dims])
		input := tensors.FromFlatDataAndDimensions(batch, evalBatch, t.data.Height, t.data.Width, t.data.Channels)
		out, err := t.evalExec.Exec1(input)
		if err != nil {
			return 0, fmt.Errorf("pixelcnn: evaluating held-out images %d..%d: %w", start, start+n-1, err)
		}
		// Only the first n rows are real images; the rest of the batch is padding.
		for _, v := range tensors.MustCopyFlatData[float32](out)[:n] {
			total += float64(v)
		}
	}
	mean := total / float64(count)
	if math.IsNaN(mean) || math.IsInf(mean, 0) {
		return 0, fmt.Errorf("pixelcnn: the held-out NLL at iteration %d is %g", t.iteration, mean)
	}
	return mean, nil
}

// runContext returns the context of Run while it runs, else
// context.Background().
func (t *Trainer) runContext() context.Context {
	if t.ctx == nil {
		return context.Background()
	}
	return t.ctx
}

// Save writes a checkpoint (weights, Adam moments and the iteration count)
// and flushes the logs.
func (t *Trainer) Save() error {
	if err := t.flushLogs(); err != nil {
		return err
	}
	return trainloop.SaveCheckpoint("pixelcnn", t.store, t.ckpt, t.iteration)
}

// flushLogs writes the buffered rows of the loss and evaluation logs.
func (t *Trainer) flushLogs() error {
	for _, log := range []*trainlog.Writer{t.lossLog, t.evalLog} {
		if err := log.Flush(); err != nil {
			return fmt.Errorf("pixelcnn: %w", err)
		}
	}
	return nil
}

// Close flushes and closes the logs. It does not save a checkpoint.
func (t *Trainer) Close() error {
	return errors.Join(t.lossLog.Close(), t.evalLog.Close())
}

// ParameterCount returns the number of trainable weights.
func (t *Trainer) ParameterCount() int {
	count := 0
	for v := range t.store.IterVariables() {
		if v.Trainable {
			count += v.Shape().Size()
		}
	}
	return count
}

// ConfigChanges returns the settings that differ from the configuration of
// the run this one resumes, sorted by JSON name; none for a new run. The
// first training step keeps the earlier configuration as
// config.previous-N.json.
func (t *Trainer) ConfigChanges() []runconfig.Change { return t.configChanges }
