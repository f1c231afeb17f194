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

// TestInstallPluginOff checks that GOMLX_NO_AUTO_INSTALL skips go-xla's
// installers, which would otherwise download a plugin.
func TestInstallPluginOff(t *testing.T) {
	t.Setenv(xla.NoAutoInstallEnv, "1")
	for _, name := range []string{"cpu", "cuda"} {
		if err := installPlugin(name); err != nil {
			t.Errorf("installPlugin(%q) with %s set = %v, want nil", name, xla.NoAutoInstallEnv, err)
		}
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
