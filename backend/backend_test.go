package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func TestNewHonoursGOMLXBackend(t *testing.T) {
	t.Setenv(EnvBackend, "go")
	choice, err := New()
	if err != nil {
		t.Fatalf("New() with %s=go: %v", EnvBackend, err)
	}
	if got := choice.Backend.String(); got != "go" {
		t.Errorf("backend %q, want go", got)
	}
	if choice.Config != "go" {
		t.Errorf("Config %q, want go", choice.Config)
	}
}

func TestNewRejectsUnknownBackend(t *testing.T) {
	t.Setenv(EnvBackend, "abacus")
	_, err := New()
	if err == nil {
		t.Fatal("New() with an unknown backend returned no error")
	}
	if !strings.Contains(err.Error(), "abacus") {
		t.Errorf("error %q does not name the value", err)
	}
}

// TestNewFallsBackWithoutPlugin checks that a missing plugin gives the Go
// backend and a note on how to get XLA.
func TestNewFallsBackWithoutPlugin(t *testing.T) {
	t.Setenv(EnvBackend, "")
	t.Setenv(EnvPlugin, filepath.Join(t.TempDir(), "missing.so"))
	choice, err := New()
	if err != nil {
		t.Fatalf("New(): %v", err)
	}
	if got := choice.Backend.String(); got != "go" {
		t.Errorf("backend %q, want go", got)
	}
	if !strings.Contains(choice.Note, "make setup") {
		t.Errorf("note %q does not say how to get XLA", choice.Note)
	}
}

// TestNewFallsBackFromBrokenPlugin gives a file that is not a shared library
// as the plugin: New must fall back to the Go backend, not fail or panic.
func TestNewFallsBackFromBrokenPlugin(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "pjrt_c_api_cpu_plugin.so")
	if err := os.WriteFile(broken, []byte("not a shared library"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBackend, "")
	t.Setenv(EnvPlugin, broken)
	choice, err := New()
	if err != nil {
		t.Fatalf("New(): %v", err)
	}
	if got := choice.Backend.String(); got != "go" {
		t.Errorf("backend %q, want go", got)
	}
	if !strings.Contains(choice.Note, broken) {
		t.Errorf("note %q does not name the plugin that failed", choice.Note)
	}
}

func TestFindPluginPrefersExplicitFile(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), "custom.so")
	if err := os.WriteFile(plugin, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvPlugin, plugin)
	if got := FindPlugin(); got != plugin {
		t.Errorf("FindPlugin() = %q, want %q", got, plugin)
	}
}

// TestNewUsesInstalledPlugin runs where `make setup` installed XLA's CPU
// plugin into .xla/, and checks that New picks XLA and that it computes.
func TestNewUsesInstalledPlugin(t *testing.T) {
	t.Setenv(EnvBackend, "")
	t.Setenv(EnvPlugin, "")
	plugin := FindPlugin()
	if plugin == "" {
		t.Skip("no XLA CPU plugin installed (make setup installs one into .xla/)")
	}
	choice, err := New()
	if err != nil {
		t.Fatalf("New(): %v", err)
	}
	if got := choice.Backend.String(); got != "xla" {
		t.Fatalf("backend %q with plugin %s, want xla; note: %s", got, plugin, choice.Note)
	}
	checkSumOfSquares(t, choice.Backend)
}

// checkSumOfSquares runs sum(x*x) for x = [1 2 3] on b and checks that it
// gives 14.
func checkSumOfSquares(t *testing.T, b compute.Backend) {
	t.Helper()
	got := graph.MustExecOnce(b, func(x *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Mul(x, x))
	}, []float32{1, 2, 3})
	if v := tensors.MustCopyFlatData[float32](got)[0]; v != 14 {
		t.Errorf("sum of squares of [1 2 3] on %s = %g, want 14", b.Name(), v)
	}
}

// TestGoBackendRunsManyParallelMatmuls runs a graph with 32 independent
// matmuls of 256x256 matrices, 30 times, on Create("go"). With the Go
// backend's default worker pool (4 slots on 2 cores) this graph hangs: the
// matmuls hold every slot and each waits for more (see GoParallelism). The
// test then fails after two minutes instead of hanging the test binary.
func TestGoBackendRunsManyParallelMatmuls(t *testing.T) {
	b, err := Create("go")
	if err != nil {
		t.Fatal(err)
	}
	if desc := b.Description(); !strings.Contains(desc, fmt.Sprintf("parallelism=%d", GoWorkers())) {
		t.Errorf("Description() = %q, want parallelism=%d", desc, GoWorkers())
	}
	const n, size = 32, 256
	exec, err := graph.NewExec(b, func(x *graph.Node) *graph.Node {
		var sum *graph.Node
		for i := range n {
			a := graph.MulScalar(x, float64(i+1))
			p := graph.ReduceAllSum(graph.MatMul(a, a))
			if sum == nil {
				sum = p
			} else {
				sum = graph.Add(sum, p)
			}
		}
		return sum
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range 30 {
			input := make([][]float32, size)
			for r := range input {
				input[r] = make([]float32, size)
				input[r][r] = 1
			}
			out, err := exec.Exec(tensors.FromValue(input))
			if err != nil {
				done <- err
				return
			}
			// Each matmul squares (i+1)*I, whose entries sum to size*(i+1)^2.
			got := float64(tensors.ToScalar[float32](out[0]))
			want := 0.0
			for i := range n {
				want += float64(size * (i + 1) * (i + 1))
			}
			if diff := got - want; diff > 1e-4*want || diff < -1e-4*want {
				done <- fmt.Errorf("sum of the matmuls = %g, want %g", got, want)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the graph of parallel matmuls did not finish in 2 minutes: the Go backend's worker pool is likely deadlocked")
	}
}
