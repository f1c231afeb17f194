package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/installer"
)

// TestCreateCUDAWithoutGPU checks that xla:cuda on a machine without an
// NVIDIA GPU fails at once, with an error that names the missing GPU.
// go-xla's own error there reports only that no plugin was found.
func TestCreateCUDAWithoutGPU(t *testing.T) {
	if installer.HasNvidiaGPU() {
		t.Skip("this machine has an NVIDIA GPU")
	}
	for _, config := range []string{"xla:cuda", "xla:cuda,preallocate=false"} {
		b, err := Create(config)
		if err == nil {
			b.Finalize()
			t.Fatalf("Create(%q) succeeded without a GPU", config)
		}
		if !strings.Contains(err.Error(), "NVIDIA GPU") {
			t.Errorf("Create(%q) error = %q, want one that names the missing NVIDIA GPU", config, err)
		}
	}
}

// TestInstallPluginOff checks that with GOMLX_NO_AUTO_INSTALL set and no
// plugin in go-xla's search path, installPlugin downloads nothing and
// returns an error that names the setting.
func TestInstallPluginOff(t *testing.T) {
	t.Setenv(xla.NoAutoInstallEnv, "1")
	t.Setenv(envPluginPath, t.TempDir())
	for _, name := range []string{"cpu", "cuda"} {
		err := installPlugin(name)
		if err == nil || !strings.Contains(err.Error(), xla.NoAutoInstallEnv) {
			t.Errorf("installPlugin(%q) with %s set = %v, want an error that names it", name, xla.NoAutoInstallEnv, err)
		}
	}
}

// TestCreateXLACPUUsesFoundPlugin checks that GOMLX_BACKEND=xla:cpu takes
// the plugin that FindPlugin finds, with the one CPU device that Create
// gives a plugin named by its path, and downloads nothing.
func TestCreateXLACPUUsesFoundPlugin(t *testing.T) {
	plugin := FindPlugin()
	if plugin == "" {
		t.Skip("no XLA CPU plugin installed (make setup installs one into .xla/)")
	}
	t.Setenv(xla.NoAutoInstallEnv, "1")
	t.Setenv(envPluginPath, t.TempDir())
	b, err := Create("xla:cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if n := b.NumDevices(); n != XLACPUDevices {
		t.Errorf("NumDevices() = %d, want XLACPUDevices (%d)", n, XLACPUDevices)
	}
	if !strings.Contains(b.Description(), plugin) {
		t.Errorf("backend %q does not name the plugin %s", b.Description(), plugin)
	}
}

// TestCreateSkipsOneDNNForGPUPlugins gives Create plugin files that contain
// OneDNNFlag's name, as XLA's plugins do, and checks that only the one named
// as a CPU plugin gets the flag in XLA_FLAGS. The files are not shared
// libraries, so every Create fails after XLA_FLAGS is set.
func TestCreateSkipsOneDNNForGPUPlugins(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		path     string
		wantFlag bool
	}{
		{filepath.Join(dir, "pjrt_c_api_cpu_plugin.so"), true},
		{filepath.Join(dir, "pjrt_c_api_cuda_plugin.so"), false},
		{filepath.Join(dir, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"), false},
		{filepath.Join(dir, "pjrt_c_api_rocm_plugin.so"), false},
	}
	for _, c := range cases {
		if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.path, []byte("flags: "+oneDNNFlagName), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("XLA_FLAGS", "")
		if b, err := Create("xla:" + c.path); err == nil {
			b.Finalize()
			t.Fatalf("Create(%s) succeeded on a file that is not a plugin", c.path)
		}
		if got := strings.Contains(os.Getenv("XLA_FLAGS"), oneDNNFlagName); got != c.wantFlag {
			t.Errorf("Create(%s): XLA_FLAGS = %q, oneDNN flag expected: %v", c.path, os.Getenv("XLA_FLAGS"), c.wantFlag)
		}
	}
}
