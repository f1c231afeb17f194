package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/catsynth/catsynth/backend"
)

// peerResult is the PyTorch peer's median step time and peak memory for one
// model.
type peerResult struct {
	median time.Duration
	maxRSS int64
	// defaultMedian is the median with glibc's default allocator settings.
	// median is the faster of it and the median with ours
	// (backend.MallocTunables) when those were run too.
	defaultMedian time.Duration
}

// defaultPython prefers Debian's interpreter, which can import the
// python3-torch package, over a python3 earlier on the PATH (a pyenv or virtualenv one).
func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// runPeer runs the PyTorch peer script at 2 threads, one process per model
// so that each peak memory is its own, and returns the results by model name.
func runPeer(python, script string, steps int, only string) (map[string]peerResult, error) {
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		return nil, fmt.Errorf("%s cannot import torch (on Debian: apt-get install python3-torch libopenblas0-openmp): %w", python, err)
	}
	results := make(map[string]peerResult)
	for _, m := range models {
		if !selected(m.name, only) || m.peerCase == "" {
			continue
		}
		median, maxRSS, err := runPeerCase(python, script, m.peerCase, steps, "")
		if err != nil {
			return results, fmt.Errorf("case %s (%s): %w", m.peerCase, m.name, err)
		}
		result := peerResult{median: median, maxRSS: maxRSS, defaultMedian: median}
		if backend.MallocTuned() {
			// Our processes run with the tuned allocator, so the peer gets
			// the same settings too, and the faster of its two forms counts.
			tunedMedian, tunedRSS, err := runPeerCase(python, script, m.peerCase, steps, backend.MallocTunables)
			if err != nil {
				return results, fmt.Errorf("case %s (%s) with GLIBC_TUNABLES=%s: %w", m.peerCase, m.name, backend.MallocTunables, err)
			}
			if tunedMedian < median {
				result.median, result.maxRSS = tunedMedian, tunedRSS
			}
		}
		results[m.name] = result
	}
	return results, nil
}

// runPeerCase runs one case of the peer script, with GLIBC_TUNABLES set to
// tunables unless it is empty, and returns its median step time and peak
// memory.
func runPeerCase(python, script, peerCase string, steps int, tunables string) (time.Duration, int64, error) {
	jsonFile, err := os.CreateTemp("", "catsynth-peer-*.json")
	if err != nil {
		return 0, 0, err
	}
	jsonFile.Close()
	defer os.Remove(jsonFile.Name())
	cmd := exec.Command(python, script, "--threads", "2", "--steps", fmt.Sprint(steps),
		"--only", peerCase, "--json", jsonFile.Name())
	if tunables != "" {
		cmd.Env = append(os.Environ(), "GLIBC_TUNABLES="+tunables)
	}
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s failed: %w", script, err)
	}
	data, err := os.ReadFile(jsonFile.Name())
	if err != nil {
		return 0, 0, err
	}
	var rows []struct {
		Case     string  `json:"case"`
		MedianMS float64 `json:"median_ms"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		return 0, 0, fmt.Errorf("reading the peer's JSON output: %w", err)
	}
	for _, row := range rows {
		if row.Case == peerCase {
			return time.Duration(row.MedianMS * float64(time.Millisecond)), maxRSS(cmd.ProcessState), nil
		}
	}
	return 0, 0, fmt.Errorf("no result for case %s in the peer's output", peerCase)
}

// maxRSS returns the peak resident memory of a finished process in bytes,
// or 0 where the system does not report it.
func maxRSS(state *os.ProcessState) int64 {
	if usage, ok := state.SysUsage().(*syscall.Rusage); ok {
		return usage.Maxrss * 1024 // Linux reports kilobytes.
	}
	return 0
}
