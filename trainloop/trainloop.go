// Package trainloop runs the training loop that every catsynth model shares.
// It takes one step per iteration up to the last one, and writes the loss
// log, sample grids and checkpoints on their schedules, with a progress bar.
// When the context is cancelled it saves a checkpoint before returning. The
// models supply the steps and the files through Hooks.
package trainloop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"time"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/catsynth/catsynth/progress"
	"github.com/catsynth/catsynth/trainlog"
)

// Schedule is the part of a model's configuration that sets how long to
// train and when to write. Every "Every" field must be at least 1, which the
// models' Validate methods check.
type Schedule struct {
	// Iterations is the iteration count at which training stops.
	Iterations int
	// LogEvery, SampleEvery and CheckpointEvery are the periods, in
	// iterations, of the loss log, the sample grids and the checkpoints.
	// The last iteration gets all three.
	LogEvery, SampleEvery, CheckpointEvery int
	// Milestones are iterations that always get sample grids.
	Milestones []int
}

// Periodic is extra work on its own period, such as an evaluation on
// held-out data. It also runs at the last iteration.
type Periodic struct {
	Every int
	Run   func(iteration int) error
	// Done reports whether the work of iteration exists, e.g. its row in
	// an evaluation log; nil skips the check. Like Hooks.Sampled, Run uses
	// it when it resumes at an iteration whose work is due: the checkpoint
	// is saved before the work, which an interrupt can cut short.
	Done func(iteration int) bool
}

// Hooks are the model's parts of the loop, for losses of type L.
type Hooks[L any] struct {
	// Step runs the next iteration and returns its losses.
	Step func() (L, error)
	// Log appends the losses of iteration to the loss log.
	Log func(iteration int, losses L) error
	// Periodic lists extra work, run after Log in this order.
	Periodic []Periodic
	// Sample writes the sample grids of iteration.
	Sample func(iteration int) error
	// Sampled reports whether the sample grids of iteration exist; nil
	// skips the check. Run uses it when it resumes: a run stopped during
	// the grids of its checkpoint's iteration, which the checkpoint saved
	// before them, gets them then.
	Sampled func(iteration int) bool
	// Save writes a checkpoint of the current iteration.
	Save func() error
	// Status formats the losses for the progress bar, e.g. "D 0.12 G 0.98".
	Status func(losses L) string
	// Finite reports whether all the losses are finite; nil skips the
	// check. Run stops at the first step whose losses are not, before it
	// logs them or saves a checkpoint, so that the checkpoints keep the
	// weights from before the training diverged.
	Finite func(losses L) bool
	// End runs whenever Run returns, after the last iteration, an error or
	// an interrupt, for example to flush the loss log. Its error is joined
	// with Run's.
	End func() error
}

// Options sets what Run reports while it trains. The zero value reports
// nothing.
type Options struct {
	// Progress receives a progress bar with the latest losses and the time
	// per iteration; nil for none.
	Progress io.Writer
	// PlainProgress writes the bar as a new line every few seconds instead of
	// redrawing it in place, for logs and notebooks.
	PlainProgress bool
	// Label names the run on the progress bar.
	Label string
}

// Run trains from iteration done (the iterations a resumed run has already
// done) to s.Iterations. After each step it logs, runs the periodic work,
// writes sample grids and saves a checkpoint when their schedules are due.
// It saves a checkpoint before the periodic work and the sample grids too,
// since they can take seconds. When ctx is cancelled, Run saves a
// checkpoint after the current step, without starting the work due after
// it, and returns ctx.Err(). Errors from Save on cancellation are prefixed
// by name, e.g. "gan".
//
// The early checkpoints serve notebooks: GoNB kills a cell's program 5 s
// after a kernel interrupt (gonb v0.11.5), and a sample grid of PixelCNN
// alone can take longer. An interrupt during such work then loses nothing
// that the checkpoint before it did not hold.
func Run[L any](ctx context.Context, name string, s Schedule, done int, opts Options, h Hooks[L]) (err error) {
	defer func() {
		if h.End != nil {
			err = errors.Join(err, h.End())
		}
	}()
	var bar *progress.Bar
	if opts.Progress != nil {
		bar = progress.New(opts.Progress, opts.Label, done, s.Iterations, opts.PlainProgress)
	}
	iteration := done
	status := ""
	if done > 0 {
		// Redo the work of the checkpoint's iteration that an interrupt cut
		// short, in the loop's order.
		for _, p := range h.Periodic {
			if p.Done != nil && (done >= s.Iterations || done%p.Every == 0) && !p.Done(done) {
				if err := p.Run(done); err != nil {
					return err
				}
			}
		}
		if h.Sampled != nil && sampleDue(s, done, done >= s.Iterations) && !h.Sampled(done) {
			if err := h.Sample(done); err != nil {
				return err
			}
		}
	}
	// savedAt is the iteration of the newest checkpoint. An interrupt right
	// after a checkpoint does not save the same iteration again, which would
	// push the one before it out of the two that the trainers keep.
	savedAt := done
	interrupted := func(iteration int) error {
		if iteration == savedAt {
			return ctx.Err()
		}
		if err := h.Save(); err != nil {
			return fmt.Errorf("%s: interrupted at iteration %d, and the checkpoint failed: %w", name, iteration, err)
		}
		return ctx.Err()
	}
	for iteration < s.Iterations {
		if ctx.Err() != nil {
			return interrupted(iteration)
		}
		start := time.Now()
		losses, err := h.Step()
		if err != nil {
			return err
		}
		stepTime := time.Since(start)
		iteration++
		if h.Finite != nil && !h.Finite(losses) {
			advice := "no checkpoint was saved yet: start again with a lower learning rate"
			if savedAt > 0 {
				advice = fmt.Sprintf("the newest checkpoint, of iteration %d, is kept: resume from it with a lower learning rate", savedAt)
			}
			return fmt.Errorf("%s: the losses of iteration %d are not finite (%s), so training stopped without saving them; %s",
				name, iteration, h.Status(losses), advice)
		}
		last := iteration == s.Iterations

		if last || iteration%s.LogEvery == 0 {
			if err := h.Log(iteration, losses); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return interrupted(iteration)
		}

		sampleDue := sampleDue(s, iteration, last)
		periodicDue := false
		for _, p := range h.Periodic {
			periodicDue = periodicDue || last || iteration%p.Every == 0
		}
		if sampleDue || periodicDue {
			if err := h.Save(); err != nil {
				return err
			}
			savedAt = iteration
		}
		for _, p := range h.Periodic {
			if last || iteration%p.Every == 0 {
				if err := p.Run(iteration); err != nil {
					return err
				}
			}
		}
		if sampleDue {
			if err := h.Sample(iteration); err != nil {
				return err
			}
		}
		if (last || iteration%s.CheckpointEvery == 0) && savedAt != iteration {
			if err := h.Save(); err != nil {
				return err
			}
			savedAt = iteration
		}
		status = fmt.Sprintf("%s | last step %d ms", h.Status(losses), stepTime.Milliseconds())
		if bar != nil {
			bar.Update(iteration, status)
		}
	}
	if bar != nil {
		bar.Finish(iteration, status)
	}
	return nil
}

// sampleDue reports whether s writes sample grids at iteration, which is
// the run's last one when last is true.
func sampleDue(s Schedule, iteration int, last bool) bool {
	return last || iteration%s.SampleEvery == 0 || slices.Contains(s.Milestones, iteration)
}

// FilesExist reports whether every path names an existing file, for
// Hooks.Sampled.
func FilesExist(paths ...string) bool {
	for _, path := range paths {
		if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// ShownIterations returns the iterations whose sample grids a run of
// iterations iterations shows. These are the milestones that it reaches, in
// their order, and then iterations itself unless it is one of them, since
// Run always saves a grid at the last iteration. A run whose iterations
// were raised past its milestones thus still shows where it ended.
func ShownIterations(milestones []int, iterations int) []int {
	var reached []int
	for _, iteration := range milestones {
		if iteration <= iterations {
			reached = append(reached, iteration)
		}
	}
	if !slices.Contains(reached, iterations) {
		reached = append(reached, iterations)
	}
	return reached
}

// LogFile names a log that BeginRun opens: its path and its value columns.
type LogFile struct {
	Path    string
	Columns []string
}

// BeginRun does what a trainer writes once its first training step has
// run: it calls saveConfig, which writes config.json, and opens each log,
// cut back to iteration so that a resumed run writes no row twice. name
// (e.g. "gan") prefixes the errors of the logs. On an error it closes the
// logs it opened.
func BeginRun(name string, saveConfig func() error, iteration int, logs ...LogFile) ([]*trainlog.Writer, error) {
	if err := saveConfig(); err != nil {
		return nil, err
	}
	writers := make([]*trainlog.Writer, 0, len(logs))
	for _, log := range logs {
		writer, err := trainlog.OpenAt(log.Path, log.Columns, iteration)
		if err != nil {
			for _, opened := range writers {
				opened.Close()
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		writers = append(writers, writer)
	}
	return writers, nil
}

// CheckpointLoadError returns the error of a trainer, named name (e.g.
// "gan"), whose checkpoints in dir failed to load with err. The error
// explains how to resume from an earlier checkpoint when the latest one is
// damaged.
func CheckpointLoadError(name, dir string, err error) error {
	return fmt.Errorf("%s: loading the checkpoint in %s failed: %w; if the newest checkpoint there is damaged "+
		"(a full disk or a killed process can cut one short), move its two files, checkpoint-...-step-N.bin and .json "+
		"with the largest N, out of that folder to resume from the one before it, or start over in another output folder", name, dir, err)
}

// OpenCheckpoint opens the checkpoint folder dir for store, keeping the
// newest two checkpoints, and loads the newest one at once if there is one.
// It returns the handler and the iteration that checkpoint records, 0 for a
// new run. The store's params are not loaded, because they come from the
// run's configuration, which a resumed run may change (conv_impl). name
// prefixes the errors, e.g. "gan".
func OpenCheckpoint(name string, store *model.Store, dir string) (*checkpoint.Handler, int, error) {
	handler, err := checkpoint.Build(store).ExcludeAllParams().Dir(dir).Keep(2).Immediate().Done()
	if err != nil {
		return nil, 0, CheckpointLoadError(name, dir, err)
	}
	return handler, int(optimizer.GetGlobalStep(store)), nil
}

// SaveCheckpoint records iteration as the global step of store, which is
// where a resumed run reads its iteration count, and writes a checkpoint
// with handler. name prefixes the errors, e.g. "gan".
func SaveCheckpoint(name string, store *model.Store, handler *checkpoint.Handler, iteration int) error {
	if err := optimizer.GetGlobalStepVar(store).SetValue(tensors.FromScalar(int64(iteration))); err != nil {
		return fmt.Errorf("%s: recording the iteration: %w", name, err)
	}
	if err := handler.Save(); err != nil {
		return fmt.Errorf("%s: saving a checkpoint in %s: %w", name, handler.Dir(), err)
	}
	return nil
}

// ApplyLearningRate sets every learning rate variable of GoMLX's optimizers
// in store (optimizer.ParamLearningRate in an optimizer.Scope scope) to lr,
// and returns how many it set. A checkpoint contains the rate it was saved
// with, and GoMLX's Adam reuses that variable, so a resumed run needs this
// to train with a new rate. name prefixes the errors, e.g. "gan".
func ApplyLearningRate(name string, store *model.Store, lr float64) (int, error) {
	count := 0
	for v := range store.IterVariables() {
		if v.Name() != optimizer.ParamLearningRate || path.Base(v.Scope()) != optimizer.Scope {
			continue
		}
		value, err := tensors.FromAnyValue(shapes.CastAsDType(lr, v.Shape().DType))
		if err == nil {
			err = v.SetValue(value)
		}
		if err != nil {
			return count, fmt.Errorf("%s: setting the learning rate %s to %g: %w", name, v.Path(), lr, err)
		}
		count++
	}
	return count, nil
}

// AllFinite reports whether no value is NaN or infinite, for Hooks.Finite.
func AllFinite(values ...float64) bool {
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
