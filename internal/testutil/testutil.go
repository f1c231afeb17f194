// Package testutil holds the helpers that the model packages' tests share:
// the pure Go backend, the real cat images, copies of a model store, the
// comparison of a resumed run's loss log with an uninterrupted one, and the
// check that a resumed run takes a new learning rate.
package testutil

import (
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/trainlog"
)

// GoBackend returns the pure Go backend as backend.Create("go") builds it,
// failing t when it cannot be created.
func GoBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Create("go")
	if err != nil {
		t.Fatalf("creating the go backend: %v", err)
	}
	return b
}

// XLABackend returns XLA on the CPU plugin that backend.FindPlugin finds,
// skipping t when none is installed (`make setup` installs one) and failing
// it when the plugin does not load.
func XLABackend(t testing.TB) compute.Backend {
	t.Helper()
	plugin := backend.FindPlugin()
	if plugin == "" {
		t.Skip("no XLA CPU plugin installed (make setup installs one into .xla/)")
	}
	b, err := backend.Create("xla:" + plugin)
	if err != nil {
		t.Fatalf("creating XLA with plugin %s: %v", plugin, err)
	}
	return b
}

// CatImages loads the real cat images of folder (dataset.GrumpyDir or
// dataset.RussianBlueDir) at size x size. It skips t when no data root is
// configured (CI sets CATSYNTH_DATA) and fails it when the folder cannot be
// loaded.
func CatImages(t testing.TB, folder string, size int) *dataset.Images {
	t.Helper()
	root, err := dataset.Root("")
	if err != nil {
		t.Skipf("no cat images: %v", err)
	}
	images, err := dataset.Load(filepath.Join(root, folder), size)
	if err != nil {
		t.Fatal(err)
	}
	return images
}

// SameLossLogs fails t unless the loss logs at gotPath and wantPath both
// have exactly the steps wantSteps and, in every column, values that differ
// by at most tolerance*max(1, |want|). The tests use it to check that a
// resumed run repeats an uninterrupted one.
func SameLossLogs(t testing.TB, wantPath, gotPath string, columns []string, wantSteps []int, tolerance float64) {
	t.Helper()
	want, err := trainlog.Read(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := trainlog.Read(gotPath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Steps, wantSteps) || !slices.Equal(want.Steps, wantSteps) {
		t.Fatalf("loss log steps %v (resumed) and %v (uninterrupted), want %v", got.Steps, want.Steps, wantSteps)
	}
	for c, column := range columns {
		for i, step := range wantSteps {
			if math.Abs(got.Values[c][i]-want.Values[c][i]) > tolerance*math.Max(1, math.Abs(want.Values[c][i])) {
				t.Errorf("%s at step %d: resumed %.6f, uninterrupted %.6f", column, step, got.Values[c][i], want.Values[c][i])
			}
		}
	}
}

// WriteLog writes a loss log at path with the given value columns and one
// row per entry of rows, at steps 1, 2, ..., failing t on an error.
func WriteLog(t testing.TB, path string, columns []string, rows ...[]float64) {
	t.Helper()
	w, err := trainlog.Open(path, columns)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		if err := w.Append(i+1, row...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// CloneStores returns two copies of store, so that two ways of training can
// start from the same weights, failing t when a copy fails.
func CloneStores(t testing.TB, store *model.Store) (first, second *model.Store) {
	t.Helper()
	var err error
	if first, err = store.Clone(); err != nil {
		t.Fatalf("copying the model store: %v", err)
	}
	if second, err = store.Clone(); err != nil {
		t.Fatalf("copying the model store: %v", err)
	}
	return first, second
}

// CaptureStdout returns what f prints to os.Stdout.
func CaptureStdout(t testing.TB, f func()) string {
	t.Helper()
	reader, writer, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = writer
	f()
	os.Stdout = saved
	writer.Close()
	output, err := io.ReadAll(reader)
	reader.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(output)
}

// LearningRates returns the learning rates that GoMLX's optimizers keep in
// store, by variable path (e.g. "/generator/optimizers/learning_rate").
func LearningRates(t testing.TB, store *model.Store) map[string]float64 {
	t.Helper()
	rates := map[string]float64{}
	for v := range store.IterVariables() {
		if v.Name() != optimizer.ParamLearningRate || path.Base(v.Scope()) != optimizer.Scope {
			continue
		}
		value, err := v.Value()
		if err != nil {
			t.Fatalf("reading %s: %v", v.Path(), err)
		}
		switch rate := value.Value().(type) {
		case float32:
			rates[v.Path()] = float64(rate)
		case float64:
			rates[v.Path()] = rate
		default:
			t.Fatalf("%s contains %v (%T), want a float32 or float64 scalar", v.Path(), rate, rate)
		}
	}
	return rates
}

// ResumedLearningRateApplies checks that a resumed run trains with the
// learning rate of its new configuration, not with the one in its
// checkpoint. train runs a trainer on dir with learning rate lr up to
// iterations, resuming the run in dir, then closes it and returns its store.
// Its loss log, at logName in dir, must have one row per iteration. before
// names the log's columns computed before any update of their iteration. A
// GAN's generator losses are not among them, because they see the
// discriminator's update of the same iteration.
//
// It trains 2 iterations with oldRate, copies the folder, and resumes the
// original to 4 iterations with oldRate and the copy with newRate. The
// resumed optimizers must contain their run's rate. The before columns of
// iteration 3 must agree, and the losses of iteration 4 must differ in some
// column.
func ResumedLearningRateApplies(t testing.TB, logName string, before []string, oldRate, newRate float64, train func(dir string, lr float64, iterations int) *model.Store) {
	t.Helper()

	// Two copies of a run of 2 iterations, resumed with each rate.
	same := t.TempDir()
	train(same, oldRate, 2)
	changed := t.TempDir()
	if err := os.CopyFS(changed, os.DirFS(same)); err != nil {
		t.Fatal(err)
	}
	for _, run := range []struct {
		dir string
		lr  float64
	}{{same, oldRate}, {changed, newRate}} {
		rates := LearningRates(t, train(run.dir, run.lr, 4))
		if len(rates) == 0 {
			t.Fatalf("the resumed store contains no learning rate variable of an optimizer")
		}
		for path, rate := range rates {
			if float32(rate) != float32(run.lr) {
				t.Errorf("resumed with learning rate %g, but %s contains %g", run.lr, path, rate)
			}
		}
	}

	// The losses before and after the first resumed update.
	sameLog, err := trainlog.Read(filepath.Join(same, logName))
	if err != nil {
		t.Fatal(err)
	}
	changedLog, err := trainlog.Read(filepath.Join(changed, logName))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 3, 4}; !slices.Equal(sameLog.Steps, want) || !slices.Equal(changedLog.Steps, want) {
		t.Fatalf("loss log steps %v and %v, want %v", sameLog.Steps, changedLog.Steps, want)
	}
	for _, column := range before {
		c := slices.Index(sameLog.Columns, column)
		if c < 0 {
			t.Fatalf("the loss log has no column %s; it has %v", column, sameLog.Columns)
		}
		if a, b := sameLog.Values[c][2], changedLog.Values[c][2]; math.Abs(a-b) > 1e-6*math.Max(1, math.Abs(a)) {
			t.Errorf("%s at iteration 3, before the first resumed update: %g and %g, want the same", column, a, b)
		}
	}
	differs := false
	for c := range sameLog.Columns {
		differs = differs || sameLog.Values[c][3] != changedLog.Values[c][3]
	}
	if !differs {
		t.Errorf("the losses of iteration 4 are the same with learning rates %g and %g: the resumed update ignored the new rate", oldRate, newRate)
	}
}
