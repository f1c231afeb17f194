package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTimeStepsWritesCPUProfile checks that timeSteps times every step and
// that -cpuprofile's file holds a gzip-compressed pprof profile of the
// timed steps.
func TestTimeStepsWritesCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steps.pprof")
	calls := 0
	sink := 0
	step := func() error {
		calls++
		for i := range 20_000_000 {
			sink += i % 7
		}
		return nil
	}

	durations, err := timeSteps(1, 3, step, path)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 || len(durations) != 3 {
		t.Fatalf("got %d calls and %d durations, want 4 calls (1 warm-up) and 3 durations", calls, len(durations))
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not gzip-compressed: %v", path, err)
	}
	profile, err := io.ReadAll(reader)
	if err != nil || len(profile) == 0 {
		t.Fatalf("reading the profile in %s: %d bytes, error %v", path, len(profile), err)
	}
	t.Logf("profile: %d bytes, sink %d", len(profile), sink)
}

// TestTimeStepsRejectsBadProfilePath checks that a profile path in a
// missing folder is reported before any step is timed.
func TestTimeStepsRejectsBadProfilePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "steps.pprof")
	timed := 0
	_, err := timeSteps(1, 3, func() error { timed++; return nil }, path)
	if err == nil {
		t.Fatalf("timeSteps with profile path %s: no error", path)
	}
	if timed != 1 {
		t.Errorf("%d steps ran, want only the warm-up before the error", timed)
	}
}

// TestAutoBackendsAddCUDAWithGPU checks that -backends auto times xla:cuda
// exactly when the machine shows an NVIDIA GPU, and that a given list is
// used as it is.
func TestAutoBackendsAddCUDAWithGPU(t *testing.T) {
	defer func(f func() bool) { hasGPU = f }(hasGPU)
	for _, gpu := range []bool{false, true} {
		hasGPU = func() bool { return gpu }
		configs, err := backendConfigs("auto")
		if err != nil {
			t.Fatal(err)
		}
		if configs[0] != "go" {
			t.Errorf("GPU %v: auto gave %q, want go first", gpu, configs)
		}
		if got := slices.Contains(configs, "xla:cuda"); got != gpu {
			t.Errorf("GPU %v: auto gave %q, which has xla:cuda %v", gpu, configs, got)
		}
	}
	hasGPU = func() bool { return true }
	configs, err := backendConfigs("go,xla:cpu")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(configs, []string{"go", "xla:cpu"}) {
		t.Errorf("-backends go,xla:cpu gave %q", configs)
	}
}

// TestRenderNotesCPUPeerForCUDARows checks that the table states that the peer ran
// on the CPU when it has an xla:cuda row, and only then.
func TestRenderNotesCPUPeerForCUDARows(t *testing.T) {
	row := result{Model: "DCGAN", Backend: "xla", Median: 70 * time.Millisecond, P5: 60 * time.Millisecond,
		P95: 80 * time.Millisecond, GFLOP: 15.5, PeerMedian: 90 * time.Millisecond}
	const note = "The peer runs on the CPU only"
	if got := render([]result{row}, 1, 12); strings.Contains(got, note) {
		t.Errorf("a CPU-only table has the GPU note:\n%s", got)
	}
	gpuRow := row
	gpuRow.Backend = "xla:cuda"
	got := render([]result{row, gpuRow}, 1, 12)
	if !strings.Contains(got, note) {
		t.Errorf("a table with an xla:cuda row lacks the note on the peer:\n%s", got)
	}
	if !strings.Contains(got, "| DCGAN | xla:cuda | 70 |") {
		t.Errorf("the xla:cuda row is missing or misnamed:\n%s", got)
	}
}
