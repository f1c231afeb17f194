package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	got := graph.MustExecOnce(choice.Backend, func(x *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Mul(x, x))
	}, []float32{1, 2, 3})
	if v := tensors.MustCopyFlatData[float32](got)[0]; v != 14 {
		t.Errorf("sum of squares of [1 2 3] on XLA = %g, want 14", v)
	}
}
