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
// On its own it never downloads anything: it gives go-xla an absolute plugin
// path, for which go-xla skips its automatic plugin download. A
// GOMLX_BACKEND such as "xla:cuda" is passed to go-xla unchanged, so go-xla
// installs the CUDA plugin as it documents (this needs access to PyPI and
// GitHub; GOMLX_NO_AUTO_INSTALL=1 turns that off).
package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	_ "github.com/gomlx/go-xla/compute/xla"

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
		b, err := create(config)
		if err != nil {
			return nil, fmt.Errorf("backend: %s=%q failed: %w; unset it to let catsynth choose, or use \"go\"", EnvBackend, config, err)
		}
		return &Choice{Backend: b, Config: config, Note: describe(b)}, nil
	}

	var xlaFailure string
	if plugin := FindPlugin(); plugin != "" {
		config := "xla:" + plugin
		b, err := create(config)
		if err == nil {
			return &Choice{Backend: b, Config: config, Note: describe(b)}, nil
		}
		xlaFailure = fmt.Sprintf("the XLA plugin %s failed to load (%v); ", plugin, err)
	}

	b, err := create("go")
	if err != nil {
		return nil, fmt.Errorf("backend: the pure Go backend failed: %w", err)
	}
	note := fmt.Sprintf("catsynth: %susing GoMLX's pure Go backend; %s", xlaFailure, XLAHint)
	return &Choice{Backend: b, Config: "go", Note: note}, nil
}

// create builds a backend, turning GoMLX's panics into errors.
func create(config string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return compute.NewWithConfig(config)
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
