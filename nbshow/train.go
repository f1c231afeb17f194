package nbshow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/catsynth/catsynth/runconfig"
)

// Trainer is the part of a model's trainer that Train reads: gan.Trainer,
// cyclegan.Trainer, pixelcnn.Trainer and vae.Trainer implement it.
type Trainer interface {
	// Iteration returns the number of iterations done.
	Iteration() int
	// ConfigChanges returns the settings that differ from the run resumed.
	ConfigChanges() []runconfig.Change
	// OutDir returns the run's folder, which holds its config.json.
	OutDir() string
}

// Train runs run, a call of the trainer's Run with the context it is
// given, in a notebook cell, towards iterations iterations. Before it
// starts, Train prints the settings that changed since the run it resumes,
// or that the run is already at iterations, with the changes it does not
// apply. The context is cancelled when the cell's program receives an
// interrupt, which GoNB sends when the kernel is interrupted, and Run then
// saves a checkpoint and returns. Train then prints the iteration at which
// the run stopped and returns true, so that the cell can end without a
// panic and without starting the next run. Other errors of run are
// returned.
func Train(name string, trainer Trainer, iterations int, run func(ctx context.Context) error) (interrupted bool, err error) {
	switch changes := trainer.ConfigChanges(); {
	case trainer.Iteration() >= iterations:
		fmt.Printf("%s: already at iteration %d of %d; raise the iterations to train further\n", name, trainer.Iteration(), iterations)
		if len(changes) > 0 {
			fmt.Printf("%s: the changed settings %s are not applied, since the run trains nothing; "+
				"raise the iterations to train on with them, or set runTag to start a new run\n", name, runconfig.FormatChanges(changes))
		}
	case len(changes) > 0:
		fmt.Printf("%s: resuming at iteration %d with changed settings %s; the earlier config.json is kept as %s\n",
			name, trainer.Iteration(), runconfig.FormatChanges(changes), runconfig.PreviousName(filepath.Join(trainer.OutDir(), "config.json")))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err = run(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		fmt.Printf("\n%s: interrupted at iteration %d; the checkpoint is saved, run the cell again to resume\n", name, trainer.Iteration())
		return true, nil
	}
	return false, err
}
