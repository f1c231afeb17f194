// Package backend chooses the GoMLX backend that the catsynth models run on.
//
// The order is:
//
//  1. GOMLX_BACKEND, when set, as GoMLX reads it: "go" for the pure Go
//     backend, "xla:cpu", "xla:cuda", or "xla:/abs/path/to/plugin.so".
//  2. XLA, when a PJRT CPU plugin file is found: in CATSYNTH_XLA_PLUGIN, in
//     the repository's .xla/ folder (where `make setup` puts it), or in the
//     folders of PJRT_PLUGIN_LIBRARY_PATH.
//  3. GoMLX's pure Go backend, with a note on how to get XLA.
//
// The pure Go backend ("go") always gets a worker pool of GoWorkers()
// slots, which avoids a hang of its scheduler. GoParallelism explains why.
//
// On its own it never downloads anything: it gives go-xla an absolute plugin
// path. "xla:cpu" takes the CPU plugin of step 2 when there is one. For
// "xla:cuda", and for "xla:cpu" without such a plugin, Create first runs
// go-xla's installer of that plugin (see installPlugin), which downloads it
// into ~/.local/lib/go-xla unless it is found already.
// GOMLX_NO_AUTO_INSTALL=1 turns that off.
package backend

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/installer"
	"github.com/gomlx/go-xla/pjrt"

	"github.com/catsynth/catsynth/repo"
)

// Environment variables read by New.
const (
	// EnvBackend is GoMLX's own backend selector.
	EnvBackend = "GOMLX_BACKEND"
	// EnvPlugin names a PJRT plugin file to use for XLA.
	EnvPlugin = "CATSYNTH_XLA_PLUGIN"
	// envPluginPath is go-xla's plugin search path.
	envPluginPath = "PJRT_PLUGIN_LIBRARY_PATH"
)

// PluginDir is the folder, relative to the repository root, where
// `make setup` installs the XLA CPU plugin.
const PluginDir = ".xla"

// pluginFileName is the file name of the PJRT CPU plugin that go-xla loads.
const pluginFileName = "pjrt_c_api_cpu_plugin.so"

// XLAHint is the advice printed with the Go backend on how to get XLA.
const XLAHint = "for XLA, run `make setup` (it installs a PJRT CPU plugin into .xla/) or set GOMLX_BACKEND=xla:/abs/path/to/pjrt_c_api_cpu_plugin.so"

// Choice is the backend picked by New, with a one-line note for the user.
type Choice struct {
	Backend compute.Backend
	// Config is the GoMLX configuration string used, e.g. "go" or "xla:/path".
	Config string
	// Note names the backend that runs and, for the Go backend, how to get XLA.
	Note string
}

// New picks a backend as the package documentation describes. It returns an
// error only when GOMLX_BACKEND is set and that backend cannot be created. A
// plugin found on disk that fails to load falls back to the Go backend, and
// Note then reports the failure.
func New() (*Choice, error) {
	if config, set := os.LookupEnv(EnvBackend); set && config != "" {
		b, err := Create(config)
		if err != nil {
			return nil, fmt.Errorf("backend: %s=%q failed: %w; unset it to let catsynth choose, or use \"go\"", EnvBackend, config, err)
		}
		return &Choice{Backend: b, Config: config, Note: describe(b)}, nil
	}

	var xlaFailure string
	if plugin := FindPlugin(); plugin != "" {
		config := "xla:" + plugin
		b, err := Create(config)
		if err == nil {
			return &Choice{Backend: b, Config: config, Note: describe(b)}, nil
		}
		xlaFailure = fmt.Sprintf("the XLA plugin %s failed to load (%v); ", plugin, err)
	}

	b, err := Create("go")
	if err != nil {
		return nil, fmt.Errorf("backend: the pure Go backend failed: %w", err)
	}
	note := fmt.Sprintf("catsynth: %susing GoMLX's pure Go backend; %s", xlaFailure, XLAHint)
	return &Choice{Backend: b, Config: "go", Note: note}, nil
}

// GoParallelism is the least number of worker-pool slots that Create gives
// the pure Go backend, in place of its default of twice GOMAXPROCS; see
// GoWorkers.
//
// NOTE: in gomlx/compute v0.1.2 the Go backend runs each ready op of a graph
// in a slot of its worker pool, and a large matmul then requests more slots
// from the same pool (workerspool.Pool.Saturate) and waits until one frees up.
// When every slot holds such a matmul, none ever frees up and the training
// step hangs. With the default pool this hung the CycleGAN step in 2 of 3
// runs on 2 cores, a VAE test in CI, and a test graph of 32 parallel
// matmuls every time (TestGoBackendRunsManyParallelMatmuls). With 64 slots
// that test and the CycleGAN tests pass. Our widest graph, CycleGAN's
// generator step, runs two generators and two discriminators side by side,
// which by our estimate is far fewer than 64 matmuls ready at once. Each matmul still splits its work in
// GOMAXPROCS parts. The alternative, "go:ops_sequential", avoids the hang
// too, but made the DCGAN, VAE and PixelCNN steps 1.6 to 1.8 times slower
// on 2 cores.
//
// With gomlx/compute v0.1.14 the graph of 32 matmuls finished in 3 of 3
// runs with the default pool of 4 slots. The 64 slots stay because they are
// faster on 2 cores. In alternating runs, 4, 8, 16, 32 and 64 slots gave
// DCGAN steps of 282, 280, 223, 223 and 232 ms, and CycleGAN steps of 774,
// 798, 639, 632 and 631 ms. With 256 slots, CycleGAN took 697 ms.
const GoParallelism = 64

// Create builds the backend for a GoMLX configuration string, such as "go",
// "go:ops_sequential" or "xla:/abs/path/plugin.so", and turns GoMLX's panics
// into errors. For exactly "go" it sets the worker pool to GoWorkers()
// slots. Any other "go:..." configuration is passed through unchanged. For
// "xla:" followed by the absolute path of a CPU plugin, it first adds
// OneDNNFlag to XLA_FLAGS when that plugin supports the flag (see
// OneDNNFlag), and requests XLACPUDevices CPU devices. A GPU plugin given by
// its path (see acceleratorPlugin) is loaded with its own defaults.
func Create(config string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	if plugin, isXLA := strings.CutPrefix(config, "xla:"); isXLA && filepath.IsAbs(plugin) {
		if !acceleratorPlugin(plugin) {
			enableOneDNN(plugin)
			if b, err := newXLAOneDevice(plugin); err == nil {
				return b, nil
			}
		}
	} else if isXLA {
		name, options, hasOptions := strings.Cut(plugin, ",")
		// The CPU plugin that `make setup` installed, with the settings that
		// New gives it.
		if name == "cpu" {
			if path := FindPlugin(); path != "" {
				if hasOptions {
					path += "," + options
				}
				return Create("xla:" + path)
			}
		}
		if err := installPlugin(name); err != nil {
			return nil, err
		}
	}
	b, err = compute.NewWithConfig(config)
	if err != nil || config != "go" {
		return b, err
	}
	if err := setWorkers(b, GoWorkers()); err != nil {
		b.Finalize()
		return nil, fmt.Errorf("backend: sizing the Go backend's worker pool: %w", err)
	}
	return b, nil
}

// installPlugin runs go-xla's installer of the PJRT plugin name, such as
// "cpu" or "cuda", unless go-xla's search (PJRT_PLUGIN_LIBRARY_PATH,
// ~/.local/lib/go-xla, ...) already finds the plugin. When it does not and
// GOMLX_NO_AUTO_INSTALL is set, installPlugin returns an error that
// explains how to get the plugin. The installer downloads the CPU plugin
// from GitHub, and the CUDA plugin with NVIDIA's libraries from PyPI. For
// "cuda" it returns an error when the machine shows no NVIDIA GPU, since
// the installer then installs nothing. Names without an installer are left to go-xla.
//
// go-xla v0.4.13 runs its installers by itself only when its autoinstall
// package is linked in. It then runs all of them whenever it lists the
// plugins, so a request for "cuda" also downloads the CPU plugin, and fails
// with a page of errors where GitHub cannot be reached. Running the one
// installer here avoids both.
func installPlugin(name string) error {
	for found := range pjrt.AvailablePlugins() {
		if found == name || strings.HasPrefix(found, name+"_") {
			return nil
		}
	}
	if _, off := os.LookupEnv(xla.NoAutoInstallEnv); off {
		hint := "unset " + xla.NoAutoInstallEnv + " to let go-xla download the plugin into ~/.local/lib/go-xla"
		if name == "cpu" {
			hint = "run `make setup`, which installs the CPU plugin into .xla/, or " + hint
		}
		return fmt.Errorf("XLA plugin %q not found in .xla/, %s or go-xla's folders, and %s is set: %s",
			name, envPluginPath, xla.NoAutoInstallEnv, hint)
	}
	if name == "cuda" && !installer.HasNvidiaGPU() {
		return errors.New("xla:cuda needs an NVIDIA GPU, and this machine has none (no /dev/nvidia* and no working nvidia-smi)")
	}
	if err := installer.AutoInstallPlugin(name, "", true, installer.Normal); err != nil {
		return fmt.Errorf("installing go-xla's %q plugin failed: %w; set %s=1 to skip the download, "+
			"and for the CPU run `make setup`, which installs a plugin from PyPI into .xla/", name, err, xla.NoAutoInstallEnv)
	}
	return nil
}

// acceleratorPlugin reports whether the plugin path, optionally followed by
// ",key=value" options, names a GPU plugin: one whose file name contains
// "cuda", "nvidia" or "rocm", in any case. Examples are go-xla's
// pjrt_c_api_cuda_plugin.so and JAX's
// jax_plugins/xla_cuda13/xla_cuda_plugin.so. Create gives such a plugin
// neither OneDNNFlag nor the CPU device count, which concern XLA's CPU
// client only.
func acceleratorPlugin(plugin string) bool {
	path, _, _ := strings.Cut(plugin, ",")
	name := strings.ToLower(filepath.Base(path))
	for _, marker := range []string{"cuda", "nvidia", "rocm"} {
		if strings.Contains(name, marker) {
			return true
		}
	}
	return false
}

// newXLAOneDevice creates the XLA backend for plugin (an absolute path,
// optionally followed by go-xla's ",key=value" options) with
// XLACPUDevices CPU devices. It returns an error, and creates nothing, when
// the plugin rejects the option. Create then falls back to the plugin's
// defaults.
func newXLAOneDevice(plugin string) (compute.Backend, error) {
	return xla.NewWithOptions(plugin, pjrt.NamedValuesMap{"cpu_device_count": int64(XLACPUDevices)})
}

// XLACPUDevices is the number of CPU devices that Create requests from an
// XLA plugin given by its path, through the PJRT client option
// "cpu_device_count". The plugin's own default is 4 devices (it ignores
// XLA_FLAGS' --xla_force_host_platform_device_count), and its pool of
// compute threads has max(cores, devices) threads (XLA's cpu_client.cc).
// That is 4 on a 2-core machine, where they then take turns on the cores.
// The models use one device, and with one the pool has one thread per core.
//
// Alternating runs on 2 cores, in ABBA order, compared one device with 4.
// The medians were 107.7 against 119.8 ms for PixelCNN 28x28x1 (8 runs of
// each). With 6 runs of each, the VAE took 57.8 against 63.5 ms, DCGAN
// 97.5 against 100.9 ms and CycleGAN 219.9 against 227.3 ms. PixelCNN
// 32x32x3 did not change (558.6 against 549.1 ms, 4 runs of each).
// Machines with 4 cores or more get the same pool either way.
const XLACPUDevices = 1

// OneDNNFlag is the XLA flag that Create adds to XLA_FLAGS for a CPU plugin
// given by its path. With it, XLA runs through oneDNN, instead of Eigen, the
// dot products that its YNNPACK fusions do not take. Those are the ones
// that contract the first axis of both operands, such as the weight
// gradient a^T @ v of a dense layer or a 1x1 convolution: 31 per PixelCNN
// 28x28x1 step and 32 per PixelCNN 32x32x3 step. In alternating runs on 2
// cores, the PixelCNN 28x28x1 step took 149 to 168 ms with the flag
// against 172 to 189 ms without, and the PixelCNN 32x32x3 step 714 to 791
// ms against 829 to 907 ms. docs/benchmarks.md has the other models.
//
// XLA stops the process at an unknown flag in XLA_FLAGS, so Create adds the
// flag only when the plugin file contains its name, and never when
// XLA_FLAGS already sets it. XLA_FLAGS=--xla_cpu_experimental_onednn_custom_call=false
// turns it off.
const OneDNNFlag = "--" + oneDNNFlagName + "=true"

const oneDNNFlagName = "xla_cpu_experimental_onednn_custom_call"

// enableOneDNN adds OneDNNFlag to XLA_FLAGS as OneDNNFlag describes. The
// environment variable stays set for the rest of the process and its
// children.
//
// NOTE: a child process that loads a plugin without the flag inherits it,
// and XLA then stops that child at the unknown flag.
func enableOneDNN(plugin string) {
	flags := os.Getenv("XLA_FLAGS")
	if strings.Contains(flags, oneDNNFlagName) {
		return
	}
	supported, err := fileContains(plugin, oneDNNFlagName)
	if err != nil || !supported {
		return
	}
	os.Setenv("XLA_FLAGS", strings.TrimSpace(flags+" "+OneDNNFlag))
}

// fileContains reports whether the file at path contains text, reading it
// in 4 MiB blocks that overlap by len(text)-1 bytes.
func fileContains(path, text string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	needle := []byte(text)
	block := make([]byte, 4<<20)
	carried := 0 // bytes carried over from the end of the previous block
	for {
		n, err := io.ReadFull(f, block[carried:])
		window := block[:carried+n]
		if bytes.Contains(window, needle) {
			return true, nil
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		carried = min(len(needle)-1, len(window))
		copy(block, window[len(window)-carried:])
	}
}

// GoWorkers returns the worker-pool size that Create gives the pure Go
// backend: GoParallelism, or twice GOMAXPROCS when that is larger.
func GoWorkers() int {
	return max(GoParallelism, 2*runtime.GOMAXPROCS(0))
}

// setWorkers sets the size of the Go backend's worker pool by reflection.
// The backend's option "parallelism=N" does the same but also prints a line
// to stdout, where the benchmark's child processes write their JSON.
func setWorkers(b compute.Backend, n int) error {
	v := reflect.ValueOf(b)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("unexpected backend type %T: gomlx/compute has changed, so update setWorkers", b)
	}
	workers := v.Elem().FieldByName("Workers")
	if !workers.IsValid() {
		return fmt.Errorf("backend type %T has no Workers field: gomlx/compute has changed, so update setWorkers", b)
	}
	set := workers.MethodByName("SetMaxParallelism")
	if !set.IsValid() {
		return fmt.Errorf("the worker pool of %T has no SetMaxParallelism method: gomlx/compute has changed, so update setWorkers", b)
	}
	set.Call([]reflect.Value{reflect.ValueOf(n)})
	return nil
}

// describe names the backend; its description already includes the
// configuration, such as the plugin path.
func describe(b compute.Backend) string {
	return fmt.Sprintf("catsynth: using the %s backend: %s", b.String(), b.Description())
}

// FindPlugin returns the absolute path of a PJRT CPU plugin file, or "" when
// there is none. See the package documentation for where it looks.
func FindPlugin() string {
	if path := os.Getenv(EnvPlugin); path != "" {
		if isFile(path) {
			abs, _ := filepath.Abs(path)
			return abs
		}
		return ""
	}
	if root, err := repo.Root(); err == nil {
		if path := filepath.Join(root, PluginDir, pluginFileName); isFile(path) {
			return path
		}
	}
	for _, dir := range strings.Split(os.Getenv(envPluginPath), string(os.PathListSeparator)) {
		if dir == "" {
			continue
		}
		if path := filepath.Join(dir, pluginFileName); isFile(path) {
			abs, _ := filepath.Abs(path)
			return abs
		}
	}
	return ""
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}
