package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
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
