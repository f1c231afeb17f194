package testutil

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// failures records what a helper reports instead of failing the test that
// runs it. Fatalf ends the goroutine, as testing.T's does.
type failures struct {
	testing.TB
	mu       sync.Mutex
	messages []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messages = append(f.messages, fmt.Sprintf(format, args...))
}

func (f *failures) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

func (f *failures) Fatal(args ...any) {
	f.Errorf("%s", fmt.Sprint(args...))
	runtime.Goexit()
}

// run calls check with a recorder in its own goroutine and returns what it
// reported.
func run(check func(tb testing.TB)) []string {
	f := &failures{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(f)
	}()
	<-done
	return f.messages
}

func TestSameLossLogs(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	columns := []string{"a", "b"}
	WriteLog(t, path("want.csv"), columns, []float64{1, 2}, []float64{3, 4})
	WriteLog(t, path("same.csv"), columns, []float64{1, 2}, []float64{3, 4.000001})
	WriteLog(t, path("changed.csv"), columns, []float64{1, 2}, []float64{3, 4.1})
	WriteLog(t, path("short.csv"), columns, []float64{1, 2})
	compare := func(name string) []string {
		return run(func(tb testing.TB) {
			SameLossLogs(tb, path("want.csv"), path(name), []string{"a", "b"}, []int{1, 2}, 1e-5)
		})
	}

	if got := compare("same.csv"); len(got) != 0 {
		t.Errorf("equal logs reported %q", got)
	}
	if got := compare("changed.csv"); len(got) != 1 || !strings.Contains(got[0], "b at step 2") {
		t.Errorf("a changed value reported %q, want one message about b at step 2", got)
	}
	if got := compare("short.csv"); len(got) != 1 || !strings.Contains(got[0], "steps [1]") {
		t.Errorf("a missing step reported %q, want one message naming the steps", got)
	}
}
