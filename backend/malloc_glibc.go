//go:build linux && cgo

package backend

/*
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef __GLIBC__
#include <malloc.h>
#include <limits.h>

static int catsynth_malloc_tuned = 0;

// catsynth_tune_malloc runs when the program starts, before the Go runtime
// and before any XLA buffer exists. See the Go comment below for why.
__attribute__((constructor)) static void catsynth_tune_malloc(void) {
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (tunables != NULL && strstr(tunables, "glibc.malloc.") != NULL) {
		return;
	}
	const char *keep = getenv("CATSYNTH_KEEP_MALLOC");
	if (keep != NULL && keep[0] != '\0' && strcmp(keep, "0") != 0) {
		return;
	}
	int ok = mallopt(M_ARENA_MAX, 1);
	ok = mallopt(M_MMAP_MAX, 0) && ok;
	ok = mallopt(M_TRIM_THRESHOLD, INT_MAX) && ok;
	catsynth_malloc_tuned = ok;
}

static int catsynth_malloc_is_tuned(void) { return catsynth_malloc_tuned; }
#else
static int catsynth_malloc_is_tuned(void) { return 0; }
#endif

// catsynth_refill_faults allocates size bytes, writes to every page and
// frees them, twice, and returns the minor page faults of the second round,
// or -1 if malloc fails.
static long catsynth_refill_faults(size_t size) {
	struct rusage before, after;
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			getrusage(RUSAGE_THREAD, &before);
		}
		volatile char *p = malloc(size);
		if (p == NULL) {
			return -1;
		}
		for (size_t i = 0; i < size; i += 1024) {
			p[i] = (char)(round + 1);
		}
		free((void *)p);
	}
	getrusage(RUSAGE_THREAD, &after);
	return after.ru_minflt - before.ru_minflt;
}
*/
import "C"

import (
	"fmt"
	"runtime"
)

// MallocTuned reports whether the C allocator was set up at program start
// to keep the memory it frees. It is false when GLIBC_TUNABLES already sets
// glibc.malloc options, when CATSYNTH_KEEP_MALLOC is set to a value other
// than "" or "0", and on a C library other than glibc.
//
// XLA's CPU runtime allocates the intermediate values of each execution in
// one malloc'd buffer, hundreds of MiB for a training step. By default
// glibc maps a buffer that large with mmap and unmaps it on free. Every
// step then paid a page fault and a page clear for each 4 KiB, which was
// about a third of PixelCNN's step time on XLA here. So any program that
// links this package starts with glibc set to serve all allocations from
// one heap (M_ARENA_MAX 1, M_MMAP_MAX 0) and to keep freed memory
// (M_TRIM_THRESHOLD INT_MAX). The process keeps its peak C heap until it
// exits, and a training run reaches that peak again at every step. The pure
// Go backend does not allocate tensors with malloc.
func MallocTuned() bool { return C.catsynth_malloc_is_tuned() != 0 }

// MallocTunables is the GLIBC_TUNABLES value that gives another process,
// such as a Python peer, the allocator settings that MallocTuned reports.
const MallocTunables = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647"

// refillFaults allocates, writes and frees size bytes twice with the C
// allocator on one OS thread, and returns the minor page faults of the
// second round: near zero when the allocator kept the memory.
func refillFaults(size int) (int64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	faults := C.catsynth_refill_faults(C.size_t(size))
	if faults < 0 {
		return 0, fmt.Errorf("malloc of %d bytes failed", size)
	}
	return int64(faults), nil
}
