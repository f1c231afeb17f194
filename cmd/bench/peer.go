package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
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

// peerRun is one round of the peer on one model: its median step time and
// peak memory with glibc's default allocator, and with ours where our
// processes use it (tunedMedian is zero otherwise).
type peerRun struct {
	defaultMedian, tunedMedian time.Duration
	defaultRSS, tunedRSS       int64
}

// combinePeerRuns pools the rounds of one model: the median of the round
// medians for each allocator, the largest peak memory, and the faster
// allocator's figures as the result.
func combinePeerRuns(runs []peerRun) peerResult {
	var defaults, tuned []time.Duration
	var defaultRSS, tunedRSS int64
	for _, r := range runs {
		defaults = append(defaults, r.defaultMedian)
		defaultRSS = max(defaultRSS, r.defaultRSS)
		if r.tunedMedian > 0 {
			tuned = append(tuned, r.tunedMedian)
			tunedRSS = max(tunedRSS, r.tunedRSS)
		}
	}
	result := peerResult{median: medianOf(defaults), maxRSS: defaultRSS}
	result.defaultMedian = result.median
	if tunedMedian := medianOf(tuned); len(tuned) > 0 && tunedMedian < result.median {
		result.median, result.maxRSS = tunedMedian, tunedRSS
	}
	return result
}

// medianOf returns the median of ds (the mean of the middle two for an even
// count), or zero for none.
func medianOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// defaultPython prefers Debian's interpreter, which can import the
// python3-torch package, over a python3 earlier on the PATH (a pyenv or virtualenv one).
func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// peerAvailable reports, as an error, why python cannot run the peer.
func peerAvailable(python string) error {
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		return fmt.Errorf("%s cannot import torch (on Debian: apt-get install python3-torch libopenblas0-openmp): %w", python, err)
	}
	return nil
}

// runPeer runs the PyTorch peer script's case peerCase at 2 threads, in a
// process of its own so that the peak memory is the model's alone. It runs
// once with glibc's default allocator and, when our processes tune it, once
// more with our settings.
func runPeer(python, script, peerCase string, steps int) (peerRun, error) {
	var run peerRun
	var err error
	run.defaultMedian, run.defaultRSS, err = runPeerCase(python, script, peerCase, steps, "")
	if err != nil {
		return run, fmt.Errorf("case %s: %w", peerCase, err)
	}
	if backend.MallocTuned() {
		run.tunedMedian, run.tunedRSS, err = runPeerCase(python, script, peerCase, steps, backend.MallocTunables)
		if err != nil {
			return run, fmt.Errorf("case %s with GLIBC_TUNABLES=%s: %w", peerCase, backend.MallocTunables, err)
		}
	}
	return run, nil
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
