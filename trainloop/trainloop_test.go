package trainloop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/catsynth/catsynth/internal/testutil"
)

// recorder builds hooks whose losses are the iteration numbers, and
// records the iterations at which each hook ran.
type recorder struct {
	iteration                        int
	steps, logs, samples, saves, end []int
	periodic                         []int
	// cancelAt cancels the context after that step, when > 0.
	cancelAt int
	cancel   context.CancelFunc
	saveErr  error
}

func (r *recorder) hooks() Hooks[int] {
	return Hooks[int]{
		Step: func() (int, error) {
			r.iteration++
			r.steps = append(r.steps, r.iteration)
			if r.iteration == r.cancelAt {
				r.cancel()
			}
			return r.iteration, nil
		},
		Log: func(iteration, losses int) error {
			if losses != iteration {
				return fmt.Errorf("Log(%d) got the losses of step %d", iteration, losses)
			}
			r.logs = append(r.logs, iteration)
			return nil
		},
		Periodic: []Periodic{{Every: 4, Run: func(iteration int) error {
			r.periodic = append(r.periodic, iteration)
			return nil
		}}},
		Sample: func(iteration int) error {
			r.samples = append(r.samples, iteration)
			return nil
		},
		Save: func() error {
			r.saves = append(r.saves, r.iteration)
			return r.saveErr
		},
		Status: func(losses int) string { return fmt.Sprintf("loss %d", losses) },
		End: func() error {
			r.end = append(r.end, r.iteration)
			return nil
		},
	}
}

var schedule = Schedule{Iterations: 7, LogEvery: 2, SampleEvery: 3, CheckpointEvery: 5, Milestones: []int{1}}

func TestRunFollowsSchedule(t *testing.T) {
	r := &recorder{}
	var out bytes.Buffer
	if err := Run(context.Background(), "test", schedule, 0, Options{Progress: &out, PlainProgress: true, Label: "toy"}, r.hooks()); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want []int
	}{
		{"steps", r.steps, []int{1, 2, 3, 4, 5, 6, 7}},
		{"logs", r.logs, []int{2, 4, 6, 7}},
		{"periodic", r.periodic, []int{4, 7}},
		{"samples", r.samples, []int{1, 3, 6, 7}},
		// Before each sample grid and periodic run, and at 5.
		{"saves", r.saves, []int{1, 3, 4, 5, 6, 7}},
		{"end", r.end, []int{7}},
	}
	for _, c := range checks {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s at iterations %v, want %v", c.name, c.got, c.want)
		}
	}
	if text := out.String(); !strings.Contains(text, "toy") || !strings.Contains(text, "loss 7 |") {
		t.Errorf("progress output %q lacks the label or the last status", text)
	}
}

func TestRunResumesFromDone(t *testing.T) {
	r := &recorder{iteration: 5}
	if err := Run(context.Background(), "test", schedule, 5, Options{}, r.hooks()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.steps, []int{6, 7}) {
		t.Errorf("steps %v after resuming at 5, want [6 7]", r.steps)
	}
	if !slices.Equal(r.saves, []int{6, 7}) {
		t.Errorf("saves at %v after resuming at 5, want [6 7], before the grids", r.saves)
	}
	if !slices.Equal(r.end, []int{7}) {
		t.Errorf("end at %v after resuming at 5, want [7]", r.end)
	}

	done := &recorder{iteration: 9}
	if err := Run(context.Background(), "test", schedule, 9, Options{}, done.hooks()); err != nil {
		t.Fatal(err)
	}
	if len(done.steps) != 0 {
		t.Errorf("a run past its last iteration stepped at %v, want no steps", done.steps)
	}
	if !slices.Equal(done.end, []int{9}) {
		t.Errorf("a run past its last iteration ended at %v, want one end at 9", done.end)
	}
}

func TestRunSavesWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{cancelAt: 3, cancel: cancel}
	err := Run(ctx, "test", schedule, 0, Options{}, r.hooks())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if !slices.Equal(r.steps, []int{1, 2, 3}) {
		t.Errorf("steps %v, want [1 2 3]", r.steps)
	}
	if !slices.Equal(r.saves, []int{1, 3}) {
		t.Errorf("saves at %v, want [1 3]: before the grid of 1, and at the interrupt", r.saves)
	}
	if !slices.Equal(r.samples, []int{1}) {
		t.Errorf("samples at %v, want [1]: the grid due at 3 is skipped after the interrupt", r.samples)
	}
	if !slices.Equal(r.end, []int{3}) {
		t.Errorf("End ran at %v, want once at 3: an interrupted run flushes its logs too", r.end)
	}

	ctx, cancel = context.WithCancel(context.Background())
	failing := &recorder{cancelAt: 2, cancel: cancel, saveErr: errors.New("disk full")}
	// No grid before the interrupt, so the first save is the interrupt's.
	rare := Schedule{Iterations: 7, LogEvery: 2, SampleEvery: 100, CheckpointEvery: 100}
	err = Run(ctx, "test", rare, 0, Options{}, failing.hooks())
	if err == nil || !strings.Contains(err.Error(), "test: interrupted at iteration 2") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Run with a failing checkpoint returned %v, want the iteration and the cause", err)
	}
}

func TestRunStopsAtStepError(t *testing.T) {
	r := &recorder{}
	h := r.hooks()
	step := h.Step
	h.Step = func() (int, error) {
		if r.iteration == 4 {
			return 0, errors.New("NaN loss")
		}
		return step()
	}
	err := Run(context.Background(), "test", schedule, 0, Options{}, h)
	if err == nil || err.Error() != "NaN loss" {
		t.Fatalf("Run returned %v, want the step's error", err)
	}
	if !slices.Equal(r.steps, []int{1, 2, 3, 4}) {
		t.Errorf("steps %v, want [1 2 3 4]", r.steps)
	}
	if !slices.Equal(r.end, []int{4}) {
		t.Errorf("End ran at %v, want once at 4: a failed run flushes the rows it logged", r.end)
	}
}

// TestShownIterations checks the grids a notebook shows: the milestones
// within the run, then the last iteration when it is not one of them.
func TestShownIterations(t *testing.T) {
	for _, c := range []struct {
		milestones []int
		iterations int
		want       []int
	}{
		{[]int{200, 4000, 26000}, 26000, []int{200, 4000, 26000}},
		{[]int{200, 4000, 26000}, 5000, []int{200, 4000, 5000}},
		{[]int{3, 6}, 12, []int{3, 6, 12}},
		{[]int{3, 6}, 2, []int{2}},
		{nil, 10, []int{10}},
	} {
		if got := ShownIterations(c.milestones, c.iterations); !slices.Equal(got, c.want) {
			t.Errorf("ShownIterations(%v, %d) = %v, want %v", c.milestones, c.iterations, got, c.want)
		}
	}
}

// TestRunWritesMissingGridOnResume resumes at iteration 3, whose grid the
// schedule writes, once with that grid missing and once with it present.
// Only the first run writes it again, before its first step.
func TestRunWritesMissingGridOnResume(t *testing.T) {
	for _, present := range []bool{false, true} {
		r := &recorder{iteration: 3}
		h := r.hooks()
		h.Sampled = func(iteration int) bool {
			if iteration != 3 {
				t.Errorf("Sampled(%d) on resuming at 3, want Sampled(3)", iteration)
			}
			return present
		}
		if err := Run(context.Background(), "test", schedule, 3, Options{}, h); err != nil {
			t.Fatal(err)
		}
		want := []int{6, 7}
		if !present {
			want = []int{3, 6, 7}
		}
		if !slices.Equal(r.samples, want) {
			t.Errorf("with the grid of 3 present: %v, samples at %v, want %v", present, r.samples, want)
		}
	}
}

// TestRunInterruptAfterCheckpoint interrupts Run while it writes the grid of
// iteration 3, whose checkpoint it saved just before, and checks that it
// does not save iteration 3 a second time.
func TestRunInterruptAfterCheckpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{}
	h := r.hooks()
	sample := h.Sample
	h.Sample = func(iteration int) error {
		if iteration == 3 {
			cancel()
		}
		return sample(iteration)
	}
	if err := Run(ctx, "test", schedule, 0, Options{}, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if !slices.Equal(r.saves, []int{1, 3}) {
		t.Errorf("saves at %v, want [1 3], with 3 once", r.saves)
	}
	if !slices.Equal(r.steps, []int{1, 2, 3}) {
		t.Errorf("steps %v, want [1 2 3]", r.steps)
	}
}

// TestBeginRunOpensLogs writes two rows into a log, then begins a run at
// iteration 1 with that log and a new one. The configuration must be saved,
// the old log cut back to row 1 and the new one created. A log whose
// columns differ must fail with an error prefixed by the trainer's name.
func TestBeginRunOpensLogs(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "losses.csv")
	testutil.WriteLog(t, old, []string{"loss"}, []float64{1}, []float64{2})

	saves := 0
	saveConfig := func() error { saves++; return nil }
	fresh := filepath.Join(dir, "eval.csv")
	logs, err := BeginRun("test", saveConfig, 1, LogFile{old, []string{"loss"}}, LogFile{fresh, []string{"nll"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, log := range logs {
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if saves != 1 {
		t.Errorf("saveConfig ran %d times, want 1", saves)
	}
	if data, _ := os.ReadFile(old); string(data) != "step,loss\n1,1\n" {
		t.Errorf("the resumed log is %q, want the rows up to 1", data)
	}
	if data, _ := os.ReadFile(fresh); string(data) != "step,nll\n" {
		t.Errorf("the new log is %q, want its header", data)
	}

	if _, err := BeginRun("test", saveConfig, 1, LogFile{old, []string{"other"}}); err == nil || !strings.HasPrefix(err.Error(), "test: ") {
		t.Errorf("BeginRun with other columns = %v, want an error prefixed by test:", err)
	}
}

// TestRunRedoesMissingPeriodicOnResume resumes at iteration 4, where the
// periodic work is due, once with its result missing and once with it
// present, and at 7, the last iteration. Only a missing result is redone,
// before the first step.
func TestRunRedoesMissingPeriodicOnResume(t *testing.T) {
	for _, c := range []struct {
		done    int
		present bool
		want    []int
	}{
		{4, false, []int{4, 7}},
		{4, true, []int{7}},
		{7, false, []int{7}},
		{7, true, nil},
		{5, false, []int{7}},
	} {
		r := &recorder{iteration: c.done}
		h := r.hooks()
		var checked []int
		h.Periodic[0].Done = func(iteration int) bool {
			checked = append(checked, iteration)
			return c.present
		}
		if err := Run(context.Background(), "test", schedule, c.done, Options{}, h); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.periodic, c.want) {
			t.Errorf("resumed at %d with its result present: %v: periodic work at %v, want %v", c.done, c.present, r.periodic, c.want)
		}
		if c.done == 5 && len(checked) != 0 {
			t.Errorf("resumed at 5, where no periodic work is due, Done was called for %v", checked)
		}
	}
}

// TestRunStopsAtNonFiniteLosses makes the losses of iteration 4 infinite.
// Run must stop there with an error that names the iteration and the
// checkpoint kept, without logging or saving iteration 4.
func TestRunStopsAtNonFiniteLosses(t *testing.T) {
	r := &recorder{}
	h := r.hooks()
	h.Finite = func(losses int) bool { return losses != 4 }
	err := Run(context.Background(), "test", schedule, 0, Options{}, h)
	if err == nil {
		t.Fatal("Run went on past non-finite losses")
	}
	for _, want := range []string{"test: the losses of iteration 4 are not finite (loss 4)", "of iteration 3, is kept"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if !slices.Equal(r.logs, []int{2}) {
		t.Errorf("logs at %v, want [2]: iteration 4 must not be logged", r.logs)
	}
	if !slices.Equal(r.saves, []int{1, 3}) {
		t.Errorf("saves at %v, want [1 3]: iteration 4 must not be saved", r.saves)
	}
}
