package backend

import (
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
