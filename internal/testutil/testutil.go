// Package testutil holds the helpers that the model packages' tests share:
// the pure Go backend, the real cat images, copies of a model store, and
// the comparison of a resumed run's loss log with an uninterrupted one.
package testutil

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

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
