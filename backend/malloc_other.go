//go:build !linux || !cgo

package backend

// MallocTuned reports whether the program's C allocator was set up to keep
// the memory it frees. On this platform it never is (see malloc_glibc.go).
func MallocTuned() bool { return false }

// MallocTunables is the GLIBC_TUNABLES value of the glibc settings that
// malloc_glibc.go applies on Linux.
const MallocTunables = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647"
