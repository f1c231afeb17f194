package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// peerResult is the PyTorch peer's median step time and peak memory for one
// model.
type peerResult struct {
	median time.Duration
	maxRSS int64
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
		median, maxRSS, err := runPeerCase(python, script, m.peerCase, steps)
		if err != nil {
			return results, fmt.Errorf("case %s (%s): %w", m.peerCase, m.name, err)
		}
		results[m.name] = peerResult{median: median, maxRSS: maxRSS}
	}
	return results, nil
}

func runPeerCase(python, script, peerCase string, steps int) (time.Duration, int64, error) {
	jsonFile, err := os.CreateTemp("", "catsynth-peer-*.json")
	if err != nil {
		return 0, 0, err
	}
	jsonFile.Close()
	defer os.Remove(jsonFile.Name())
	cmd := exec.Command(python, script, "--threads", "2", "--steps", fmt.Sprint(steps),
		"--only", peerCase, "--json", jsonFile.Name())
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
