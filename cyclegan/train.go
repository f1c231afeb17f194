package cyclegan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/catsynth/catsynth/augment"
	"github.com/catsynth/catsynth/dataset"
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

// LossColumns are the loss log columns that the notebook plots: the two
// discriminator losses, the two adversarial generator losses and the
// unweighted cycle loss.
var LossColumns = []string{"D_X_loss", "D_Y_loss", "G_XY_loss", "G_YX_loss", "cycle_loss"}

// LogColumns are all columns of the loss log after "step": LossColumns and
// the unweighted identity loss (0 when lambda_identity is 0).
var LogColumns = append(append([]string(nil), LossColumns...), "identity_loss")

// Losses of one iteration, computed before its updates.
type Losses struct {
	DX, DY, GXY, GYX, Cycle, Identity float64
}

// values returns the losses in LogColumns order.
func (l Losses) values() []float64 {
	return []float64{l.DX, l.DY, l.GXY, l.GYX, l.Cycle, l.Identity}
}

// LoadDomains loads the Russian Blue cats (domain X) and the Grumpy cats
// (domain Y) from a data root (see dataset.Root), resized to 64x64. A
// missing or empty folder is an error naming the domain and the folder.
func LoadDomains(root string) (x, y *dataset.Images, err error) {
	x, err = dataset.Load(filepath.Join(root, dataset.RussianBlueDir), ImageSize)
	if err != nil {
		return nil, nil, fmt.Errorf("cyclegan: domain X (Russian Blue): %w", err)
	}
	y, err = dataset.Load(filepath.Join(root, dataset.GrumpyDir), ImageSize)
	if err != nil {
		return nil, nil, fmt.Errorf("cyclegan: domain Y (Grumpy): %w", err)
	}
	return x, y, nil
}

// checkDomain returns an error naming the domain when images is nil, empty
// or not 64x64.
func checkDomain(name string, images *dataset.Images) error {
	if images == nil || images.Len() == 0 {
		dir := "(no folder)"
		if images != nil {
			dir = images.Dir
		}
		return fmt.Errorf("cyclegan: domain %s has no images (folder %s): load it with LoadDomains or dataset.Load", name, dir)
	}
	if images.Size != ImageSize {
		return fmt.Errorf("cyclegan: domain %s images from %s are %dx%d, want %dx%d: load them with dataset.Load(dir, %d)",
			name, images.Dir, images.Size, images.Size, ImageSize, ImageSize, ImageSize)
	}
	return nil
}

// Trainer runs CycleGAN training into an output folder:
//
//	OUT/config.json                   the configuration of the run
//	OUT/losses.csv                    step and LogColumns
//	OUT/samples/XtoY-iter-NNNNNN.png  fixed X images beside G_XY of them
//	OUT/samples/YtoX-iter-NNNNNN.png  fixed Y images beside G_YX of them
//	OUT/checkpoint/                   GoMLX checkpoints (weights, Adam state, step)
//
// An output folder that already holds a checkpoint is resumed from it.
type Trainer struct {
	// configChanges lists the settings that differ from the run resumed.
	configChanges []runconfig.Change
	// saveConfig writes config.json; begin calls it after the first step.
	saveConfig func() error
	cfg        Config
	store      *model.Store
	stepExec   *model.Exec
	// poolStepExec replaces stepExec when pool_size > 0, with poolX and
	// poolY holding the past fakes of each domain.
	poolStepExec *model.Exec
	poolX, poolY *fakePool
	// policy is the DiffAugment policy, empty when off.
	policy     augment.Policy
	translate  map[string]*model.Exec
	loaderX    *dataset.Loader
	loaderY    *dataset.Loader
	samples    map[string][]float32
	sampleSize int
	outDir     string
	ckpt       *checkpoint.Handler
	// lossLog is nil until begin opens it.
	lossLog   *trainlog.Writer
	iteration int
}

// NewTrainer prepares a run on the domains imagesX and imagesY (64x64; see
// LoadDomains) writing to outDir. When outDir holds a checkpoint, training
// resumes from its iteration. It returns an error for an invalid
// configuration, a domain without images or with fewer images than
// batch_size, or an output folder from a run with another architecture. It
// writes config.json and the loss log only at the first training step (see
// begin), so a trainer that only samples changes neither.
func NewTrainer(backend compute.Backend, cfg Config, imagesX, imagesY *dataset.Images, outDir string) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The same policy written with spaces, "color, translation", is the same
	// setting when a run resumes. Validate has parsed it already.
	if policy, err := augment.Parse(cfg.DiffAugment); err == nil {
		cfg.DiffAugment = policy.String()
	}
	if err := checkDomain("X", imagesX); err != nil {
		return nil, err
	}
	if err := checkDomain("Y", imagesY); err != nil {
		return nil, err
	}
	if outDir == "" {
		return nil, errors.New("cyclegan: the output folder is empty: give a folder for samples, the loss log and checkpoints")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("cyclegan: creating the output folder: %w", err)
	}
	configPath := filepath.Join(outDir, ConfigFile)
	configChanges, saveConfig, err := runconfig.Prepare(configPath, cfg, func(saved Config) error { return cfg.checkResumable(saved, configPath) })
	if err != nil {
		return nil, err
	}

	t := &Trainer{cfg: cfg, store: model.NewStore(), outDir: outDir}
	t.configChanges, t.saveConfig = configChanges, saveConfig
	// Distinct seeds give the two domains independent orders.
	if t.loaderX, err = dataset.NewLoader(imagesX, cfg.BatchSize, cfg.Preprocess, cfg.Seed); err != nil {
		return nil, fmt.Errorf("cyclegan: domain X (%s): %w", imagesX.Dir, err)
	}
	if t.loaderY, err = dataset.NewLoader(imagesY, cfg.BatchSize, cfg.Preprocess, cfg.Seed+1); err != nil {
		return nil, fmt.Errorf("cyclegan: domain Y (%s): %w", imagesY.Dir, err)
	}
	t.sampleSize = min(SampleCount, imagesX.Len(), imagesY.Len())
	per := ImageSize * ImageSize * 3
	t.samples = map[string][]float32{
		XtoY: imagesX.Pixels[:t.sampleSize*per],
		YtoX: imagesY.Pixels[:t.sampleSize*per],
	}

	t.store.SetParam(layers.ParamConvImpl, cfg.ConvImpl)
	if err := t.store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, fmt.Errorf("cyclegan: seeding the model: %w", err)
	}
	if t.ckpt, t.iteration, err = trainloop.OpenCheckpoint("cyclegan", t.store, filepath.Join(outDir, CheckpointDir)); err != nil {
		return nil, err
	}
	// A resumed run trains on with the learning rate that its configuration
	// schedules for the next iteration, not with the one its checkpoint holds.
	if err := t.setLearningRates(); err != nil {
		return nil, err
	}
	t.loaderX.Seek(t.iteration)
	t.loaderY.Seek(t.iteration)
	if cfg.PoolSize > 0 {
		t.poolX, t.poolY = newFakePool(cfg.PoolSize), newFakePool(cfg.PoolSize)
		if err := t.poolX.restore(t.store, "X"); err != nil {
			return nil, err
		}
		if err := t.poolY.restore(t.store, "Y"); err != nil {
			return nil, err
		}
	}

	if err := t.buildExecs(backend); err != nil {
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
	logs, err := trainloop.BeginRun("cyclegan", t.saveConfig, t.iteration,
		trainloop.LogFile{Path: filepath.Join(t.outDir, LossLogFile), Columns: LogColumns})
	if err != nil {
		return err
	}
	t.lossLog = logs[0]
	return nil
}

func (t *Trainer) buildExecs(backend compute.Backend) error {
	cfg := t.cfg
	var err error
	if t.policy, err = augment.Parse(cfg.DiffAugment); err != nil {
		return fmt.Errorf("cyclegan: diffaugment: %w", err)
	}
	// The steps always take the DiffAugment draws uD and uG as their last
	// inputs. Without a policy they are unused: Apply returns its input for
	// the empty policy.
	t.stepExec, err = model.NewExec(backend, t.store, func(scope *model.Scope, realX, realY, uD, uG *Node) []*Node {
		trainloop.ReadVariablesEachCall(scope, realX.Graph())
		return stepOutputs(StepGraph(scope, cfg, realX, realY, uD, uG))
	})
	if err != nil {
		return fmt.Errorf("cyclegan: building the training step: %w", err)
	}
	t.poolStepExec, err = model.NewExec(backend, t.store, func(scope *model.Scope, realX, realY, shownX, shownY, uD, uG *Node) []*Node {
		trainloop.ReadVariablesEachCall(scope, realX.Graph())
		return stepOutputs(PoolStepGraph(scope, cfg, realX, realY, shownX, shownY, uD, uG))
	})
	if err != nil {
		return fmt.Errorf("cyclegan: building the training step with a pool: %w", err)
	}
	t.translate = make(map[string]*model.Exec)
	for direction, generator := range map[string]string{XtoY: GXY, YtoX: GYX} {
		t.translate[direction], err = model.NewExec(backend, t.store, func(scope *model.Scope, x *Node) *Node {
			trainloop.ReadVariablesEachCall(scope, x.Graph())
			return Generator(scope.In(GeneratorsScope).In("%s", generator), cfg, x)
		})
		if err != nil {
			return fmt.Errorf("cyclegan: building %s: %w", generator, err)
		}
	}
	return nil
}

// Config returns the configuration of the run.
func (t *Trainer) Config() Config { return t.cfg }

// Iteration returns the number of iterations done, including those of the
// run that was resumed.
func (t *Trainer) Iteration() int { return t.iteration }

// OutDir returns the output folder.
func (t *Trainer) OutDir() string { return t.outDir }

// learningRatePaths are the store paths of the learning rates of the two
// optimizers, where GoMLX's Adam reads them at every update.
var learningRatePaths = []string{
	"/" + GeneratorsScope + "/" + optimizer.Scope + "/" + optimizer.ParamLearningRate,
	"/" + DiscriminatorsScope + "/" + optimizer.Scope + "/" + optimizer.ParamLearningRate,
}

// setLearningRates stores the scheduled learning rate of the next update.
func (t *Trainer) setLearningRates() error {
	lr := float32(t.cfg.LearningRateAt(t.iteration))
	for _, path := range learningRatePaths {
		v := t.store.GetVariable(path)
		if v == nil {
			t.store.VariableWithValue(path, lr).SetTrainable(false)
			continue
		}
		if err := v.SetValue(tensors.FromScalar(lr)); err != nil {
			return fmt.Errorf("cyclegan: setting the learning rate %s: %w", path, err)
		}
	}
	return nil
}

// Step runs one iteration: the update of D_X and D_Y, then the joint update
// of G_XY and G_YX on the same real batches.
func (t *Trainer) Step() (Losses, error) {
	if t.cfg.DecayFrom > 0 {
		if err := t.setLearningRates(); err != nil {
			return Losses{}, err
		}
	}
	shape := []int{t.cfg.BatchSize, ImageSize, ImageSize, 3}
	realX := tensors.FromFlatDataAndDimensions(t.loaderX.Next(), shape...)
	realY := tensors.FromFlatDataAndDimensions(t.loaderY.Next(), shape...)
	uD, uG := t.draws()
	var out []*tensors.Tensor
	var err error
	if t.cfg.PoolSize > 0 {
		out, err = t.poolStep(realX, realY, uD, uG)
	} else {
		out, err = t.stepExec.Exec(realX, realY, uD, uG)
	}
	if err != nil {
		return Losses{}, fmt.Errorf("cyclegan: training iteration %d failed: %w", t.iteration+1, err)
	}
	// config.json and the logs are written after the first step, so that a
	// run stopped while it compiles changes no file.
	if err := t.begin(); err != nil {
		return Losses{}, err
	}
	t.iteration++
	return Losses{
		DX: scalar(out[0]), DY: scalar(out[1]),
		GXY: scalar(out[2]), GYX: scalar(out[3]), Cycle: scalar(out[4]), Identity: scalar(out[5]),
	}, nil
}

// stepOutputs lists the losses of one iteration in the order of Losses.
func stepOutputs(dXLoss, dYLoss *Node, g GeneratorLosses) []*Node {
	return []*Node{dXLoss, dYLoss, g.GXY, g.GYX, g.Cycle, g.Identity}
}

// poolStep runs an iteration whose discriminator update is given fakes
// that pass through the pools of past fakes. The pools' random choices are
// seeded by the seed and the iteration, so a resumed run makes the same
// choices.
func (t *Trainer) poolStep(realX, realY, uD, uG *tensors.Tensor) ([]*tensors.Tensor, error) {
	fakeY, err := t.translate[XtoY].Exec1(realX)
	if err != nil {
		return nil, err
	}
	fakeX, err := t.translate[YtoX].Exec1(realY)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(t.cfg.Seed), uint64(t.iteration)))
	n := t.cfg.BatchSize
	shownX := t.poolX.query(tensors.MustCopyFlatData[float32](fakeX), n, rng)
	shownY := t.poolY.query(tensors.MustCopyFlatData[float32](fakeY), n, rng)
	shape := []int{n, ImageSize, ImageSize, 3}
	return t.poolStepExec.Exec(realX, realY,
		tensors.FromFlatDataAndDimensions(shownX, shape...), tensors.FromFlatDataAndDimensions(shownY, shape...), uD, uG)
}

// draws returns the DiffAugment draws of the coming iteration: uD
// [4*batch, R] for the discriminator update and uG [2*batch, R] for the
// generator update, with R = max(policy.RandomCount(), 1). They are seeded
// by the seed and the iteration, so a resumed run draws the same values.
func (t *Trainer) draws() (uD, uG *tensors.Tensor) {
	seed, stream := augment.Seed(t.cfg.Seed), 2*uint64(t.iteration)
	return t.policy.Uniforms(seed, stream, 4*t.cfg.BatchSize), t.policy.Uniforms(seed, stream+1, 2*t.cfg.BatchSize)
}

func scalar(t *tensors.Tensor) float64 {
	return float64(tensors.MustCopyFlatData[float32](t)[0])
}

// Save writes a checkpoint (weights, Adam moments and learning rates, and
// the iteration count) and flushes the loss log.
func (t *Trainer) Save() error {
	if err := t.lossLog.Flush(); err != nil {
		return fmt.Errorf("cyclegan: %w", err)
	}
	if t.cfg.PoolSize > 0 {
		if err := t.poolX.store(t.store, "X"); err != nil {
			return err
		}
		if err := t.poolY.store(t.store, "Y"); err != nil {
			return err
		}
	}
	return trainloop.SaveCheckpoint("cyclegan", t.store, t.ckpt, t.iteration)
}

// Close flushes and closes the loss log. It does not save a checkpoint.
func (t *Trainer) Close() error {
	return t.lossLog.Close()
}

// ConfigChanges returns the settings that differ from the configuration of
// the run this one resumes, sorted by JSON name; none for a new run. The
// first training step keeps the earlier configuration as
// config.previous-N.json.
func (t *Trainer) ConfigChanges() []runconfig.Change { return t.configChanges }
