//go:build !linux || !cgo

package backend

// MallocTuned reports whether the program's C allocator was set up to keep
// the memory it frees. On this platform it never is (see malloc_glibc.go).
func MallocTuned() bool { return false }
