package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/pjrt"

	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/dataset"
)

// childResult is the JSON line that a child process prints: the step times and the FLOPs
// of one model on one backend.
type childResult struct {
	Backend     string          `json:"backend"`
	Durations   []time.Duration `json:"durations_ns"`
	FlopsInStep int64           `json:"flops_per_step"`
}

// runInChild times one model on one backend in a new process of this
// command, so that the process's peak memory belongs to that model alone.
func runInChild(model, config, convImpl string, warmup, steps int) (childRun, error) {
	self, err := os.Executable()
	if err != nil {
		return childRun{}, err
	}
	cmd := exec.Command(self, "-child", model, "-backends", config, "-conv_impl", convImpl,
		"-warmup", fmt.Sprint(warmup), "-steps", fmt.Sprint(steps))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return childRun{}, err
	}
	var out childResult
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return childRun{}, fmt.Errorf("reading the child's output %q: %w", stdout.String(), err)
	}
	name := out.Backend
	if convImpl != "auto" {
		name += " (" + convImpl + ")"
	}
	return childRun{backendName: name, durations: out.Durations, gflop: float64(out.FlopsInStep) / 1e9, maxRSS: maxRSS(cmd.ProcessState)}, nil
}

// childRun is the measurement of one child process.
type childRun struct {
	backendName string
	durations   []time.Duration
	gflop       float64
	maxRSS      int64 // bytes; zero when unknown
}

// runChild is the child's side of runInChild.
func runChild(model, config string, images *dataset.Images, convImpl string, warmup, steps int, cpuProfile string) error {
	var chosen *benchModel
	for i := range models {
		if models[i].name == model {
			chosen = &models[i]
		}
	}
	if chosen == nil {
		return fmt.Errorf("unknown model %q", model)
	}
	b, err := backend.Create(config)
	if err != nil {
		return fmt.Errorf("backend %q: %w", config, err)
	}
	defer b.Finalize()
	step, flops, cleanup, err := chosen.build(b, images, convImpl)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", model, b.String(), err)
	}
	defer cleanup()
	fmt.Fprintf(os.Stderr, "bench: %s on %s: %d warm-up and %d timed steps\n", model, b.String(), warmup, steps)
	durations, err := timeSteps(warmup, steps, step, cpuProfile)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", model, b.String(), err)
	}
	return json.NewEncoder(os.Stdout).Encode(childResult{Backend: backendLabel(b, config), Durations: durations, FlopsInStep: flops})
}

// backendLabel names backend b, created from config, in the table: "go",
// "xla" for XLA on the CPU, "xla:cuda" for XLA on an NVIDIA GPU, and
// config itself for the Go backend with options, such as
// "go:ops_sequential".
func backendLabel(b compute.Backend, config string) string {
	if strings.HasPrefix(config, "go:") {
		return config
	}
	if p, ok := b.(interface{ PluginName() string }); ok && pjrt.IsCUDAName(p.PluginName()) {
		return b.Name() + ":cuda"
	}
	return b.String()
}
