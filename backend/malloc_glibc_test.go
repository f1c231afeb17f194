//go:build linux && cgo

package backend

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// refillSize is larger than glibc's largest mmap threshold (32 MiB), so
// that an untuned allocator maps and unmaps it on every round.
const refillSize = 64 << 20

// TestMallocKeepsFreedMemory checks that a large buffer freed and allocated
// again costs no new page faults, and, in a child process started with
// CATSYNTH_KEEP_MALLOC=1, that glibc's default behaviour does fault: that
// child's count is what the tuning removes from every XLA step.
func TestMallocKeepsFreedMemory(t *testing.T) {
	if os.Getenv("CATSYNTH_MALLOC_CHILD") != "" {
		faults, err := refillFaults(refillSize)
		if err != nil {
			t.Fatal(err)
		}
		// The parent reads this line.
		t.Logf("faults=%d tuned=%v", faults, MallocTuned())
		return
	}
	if !MallocTuned() {
		t.Skip("the C library is not glibc, or GLIBC_TUNABLES/CATSYNTH_KEEP_MALLOC is set: the allocator is not tuned")
	}
	pages := int64(refillSize / os.Getpagesize())
	faults, err := refillFaults(refillSize)
	if err != nil {
		t.Fatal(err)
	}
	if faults > pages/16 {
		t.Errorf("reallocating %d MiB cost %d page faults with the tuned allocator, want at most %d", refillSize>>20, faults, pages/16)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestMallocKeepsFreedMemory$", "-test.v")
	cmd.Env = append(os.Environ(), "CATSYNTH_MALLOC_CHILD=1", "CATSYNTH_KEEP_MALLOC=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test: %v\n%s", err, out)
	}
	text := string(out)
	start := strings.Index(text, "faults=")
	if start < 0 {
		t.Fatalf("child printed no fault count:\n%s", out)
	}
	fields := strings.Fields(text[start:])
	childFaults, err := strconv.ParseInt(strings.TrimPrefix(fields[0], "faults="), 10, 64)
	if err != nil || len(fields) < 2 {
		t.Fatalf("cannot read the child's output %q: %v", text[start:], err)
	}
	if fields[1] != "tuned=false" {
		t.Errorf("child with CATSYNTH_KEEP_MALLOC=1 reports %s, want tuned=false", fields[1])
	}
	if childFaults < pages/2 {
		t.Errorf("glibc's default allocator refilled %d MiB with only %d page faults (tuned: %d); want at least %d, or this test no longer shows the cost it guards against", refillSize>>20, childFaults, faults, pages/2)
	}
	t.Logf("page faults to refill %d MiB: %d tuned, %d with glibc's defaults", refillSize>>20, faults, childFaults)
}
