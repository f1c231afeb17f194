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

// TestMallocKeepsFreedMemory checks that refilling a large freed buffer
// costs no page faults in this process. Child processes then show that
// glibc's defaults (CATSYNTH_KEEP_MALLOC=1) do fault, which is the cost the
// tuning removes from every XLA step, and that GLIBC_TUNABLES=MallocTunables
// avoids it as the tuning does.
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

	defaults, tuned := childRefill(t, "CATSYNTH_KEEP_MALLOC=1")
	if tuned {
		t.Errorf("child with CATSYNTH_KEEP_MALLOC=1 reports tuned=true, want false")
	}
	if defaults < pages/2 {
		t.Errorf("glibc's default allocator refilled %d MiB with only %d page faults (tuned: %d); want at least %d, or this test no longer shows the cost it guards against", refillSize>>20, defaults, faults, pages/2)
	}

	// MallocTunables gives another process the same behaviour.
	viaEnv, tuned := childRefill(t, "GLIBC_TUNABLES="+MallocTunables)
	if tuned {
		t.Errorf("child with GLIBC_TUNABLES set reports tuned=true, want false (glibc applies the tunables itself)")
	}
	if viaEnv > pages/16 {
		t.Errorf("with GLIBC_TUNABLES=%s, refilling %d MiB cost %d page faults, want at most %d", MallocTunables, refillSize>>20, viaEnv, pages/16)
	}
	t.Logf("page faults to refill %d MiB: %d tuned, %d with glibc's defaults, %d with MallocTunables", refillSize>>20, faults, defaults, viaEnv)
}

// childRefill runs the refill in a child test process with one more
// environment variable, and returns its page faults and MallocTuned.
func childRefill(t *testing.T, env string) (faults int64, tuned bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMallocKeepsFreedMemory$", "-test.v")
	cmd.Env = append(os.Environ(), "CATSYNTH_MALLOC_CHILD=1", env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test with %s: %v\n%s", env, err, out)
	}
	text := string(out)
	start := strings.Index(text, "faults=")
	if start < 0 {
		t.Fatalf("child with %s printed no fault count:\n%s", env, out)
	}
	fields := strings.Fields(text[start:])
	if len(fields) < 2 {
		t.Fatalf("child with %s printed %q, want faults=N tuned=BOOL", env, text[start:])
	}
	faults, err = strconv.ParseInt(strings.TrimPrefix(fields[0], "faults="), 10, 64)
	if err != nil {
		t.Fatalf("child with %s: reading %q: %v", env, fields[0], err)
	}
	tuned, err = strconv.ParseBool(strings.TrimPrefix(fields[1], "tuned="))
	if err != nil {
		t.Fatalf("child with %s: reading %q: %v", env, fields[1], err)
	}
	return faults, tuned
}
