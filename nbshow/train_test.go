package nbshow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/catsynth/catsynth/cyclegan"
	"github.com/catsynth/catsynth/gan"
	"github.com/catsynth/catsynth/internal/testutil"
	"github.com/catsynth/catsynth/pixelcnn"
	"github.com/catsynth/catsynth/runconfig"
	"github.com/catsynth/catsynth/vae"
)

// fakeTrainer counts iterations as a trainer's Run does.
type fakeTrainer struct {
	iteration int
	changes   []runconfig.Change
	outDir    string
}

func (f *fakeTrainer) Iteration() int                    { return f.iteration }
func (f *fakeTrainer) ConfigChanges() []runconfig.Change { return f.changes }
func (f *fakeTrainer) OutDir() string                    { return f.outDir }

// TestTrainStopsOnInterrupt sends this process an interrupt while run
// trains, as GoNB does when the kernel is interrupted. run's context must
// be cancelled, Train must report the interrupt without an error, and its
// output must name the changed settings, the file that will keep the
// earlier ones, and the iteration reached.
func TestTrainStopsOnInterrupt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.previous-1.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	trainer := &fakeTrainer{iteration: 5, changes: []runconfig.Change{{Name: "lr", Old: "0.0002", New: "0.0001"}}, outDir: dir}
	var err error
	var interrupted bool
	output := testutil.CaptureStdout(t, func() {
		interrupted, err = Train("basic", trainer, 100, func(ctx context.Context) error {
			if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
				return err
			}
			deadline := time.After(10 * time.Second)
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-deadline:
					return errors.New("the context was not cancelled within 10 s of the interrupt")
				case <-time.After(10 * time.Millisecond):
					trainer.iteration++
				}
			}
		})
	})
	if err != nil || !interrupted {
		t.Fatalf("Train after an interrupt = %v, %v; want true, nil", interrupted, err)
	}
	for _, want := range []string{
		"resuming at iteration 5 with changed settings lr 0.0002 -> 0.0001",
		"the earlier config.json is kept as " + filepath.Join(dir, "config.previous-2.json"),
		"basic: interrupted at iteration",
	} {
		if !strings.Contains(output, want) {
			t.Errorf("output %q does not contain %q", output, want)
		}
	}
}

// TestTrainReturnsOtherErrors checks that an error of run other than an
// interrupt comes back from Train.
func TestTrainReturnsOtherErrors(t *testing.T) {
	failure := errors.New("out of memory")
	var err error
	var interrupted bool
	testutil.CaptureStdout(t, func() {
		interrupted, err = Train("basic", &fakeTrainer{}, 100, func(context.Context) error { return failure })
	})
	if interrupted || !errors.Is(err, failure) {
		t.Errorf("Train = %v, %v; want false, %v", interrupted, err, failure)
	}
}

// TestTrainFinishedRun checks that a run already at its iterations is
// reported as such, and its changed settings as not applied.
func TestTrainFinishedRun(t *testing.T) {
	trainer := &fakeTrainer{iteration: 300, changes: []runconfig.Change{{Name: "lr", Old: "0.001", New: "0.0005"}}}
	output := testutil.CaptureStdout(t, func() {
		if _, err := Train("mnist", trainer, 300, func(context.Context) error { return nil }); err != nil {
			t.Error(err)
		}
	})
	for _, want := range []string{
		"mnist: already at iteration 300 of 300",
		"mnist: the changed settings lr 0.001 -> 0.0005 are not applied",
	} {
		if !strings.Contains(output, want) {
			t.Errorf("output %q does not contain %q", output, want)
		}
	}
	if strings.Contains(output, "resuming") {
		t.Errorf("output %q reports a resume of a run that trains nothing", output)
	}
}

// Compile-time checks that the trainers implement Trainer.
var (
	_ Trainer = (*gan.Trainer)(nil)
	_ Trainer = (*cyclegan.Trainer)(nil)
	_ Trainer = (*pixelcnn.Trainer)(nil)
	_ Trainer = (*vae.Trainer)(nil)
)
