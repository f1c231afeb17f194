package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/catsynth/catsynth/backend"
)

// mebibytes formats a byte count, or "-" for an unknown 0.
func mebibytes(bytes int64) string {
	if bytes <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(bytes)/(1<<20))
}

func render(results []result, rounds, steps int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Machine: %s, %d CPUs, %s/%s; %s, GOEXPERIMENT=%s. Batch 16; the PyTorch peer at 2 threads; peak memory is the resident set of the process that ran one model.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), os.Getenv("GOEXPERIMENT"))
	roundsText := "One round"
	if rounds > 1 {
		roundsText = fmt.Sprintf("%d rounds", rounds)
	}
	fmt.Fprintf(&sb, "%s of %d timed steps; each round timed a model on every backend and then the peer's same model. Our percentiles pool the steps of all rounds; the peer's time is the median of its round medians.\n\n",
		roundsText, steps)
	if slices.ContainsFunc(results, func(r result) bool { return strings.HasSuffix(r.Backend, ":cuda") }) {
		sb.WriteString("The peer runs on the CPU only: the ratios of the xla:cuda rows compare our step on the GPU with the peer's on 2 CPU threads, and their peak MiB is host memory, not GPU memory.\n\n")
	}
	if backend.MallocTuned() {
		fmt.Fprintf(&sb, "Our processes ran with glibc's allocator tuned (see `backend.MallocTuned`). In each round the peer ran twice, with glibc's defaults and with GLIBC_TUNABLES=%s. \"PyTorch ms\", the ratio and \"PyTorch peak MiB\" come from the faster of the two, \"default malloc\" from the first.\n\n", backend.MallocTunables)
	}
	sb.WriteString("| model | backend | median ms | p5 ms | p95 ms | GFLOP/step | GFLOP/s | PyTorch ms | PyTorch ms, default malloc | ratio | peak MiB | PyTorch peak MiB |\n")
	sb.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }
	for _, r := range results {
		peer, peerDefault, ratio := "-", "-", "-"
		if r.PeerDefaultMedian > 0 {
			peerDefault = ms(r.PeerDefaultMedian)
		}
		if r.PeerMedian > 0 {
			peer = ms(r.PeerMedian)
			ratio = fmt.Sprintf("%.2f", float64(r.Median)/float64(r.PeerMedian))
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %.1f | %.1f | %s | %s | %s | %s | %s |\n",
			r.Model, r.Backend, ms(r.Median), ms(r.P5), ms(r.P95), r.GFLOP, r.GFLOP/r.Median.Seconds(), peer, peerDefault, ratio,
			mebibytes(r.MaxRSS), mebibytes(r.PeerMaxRSS))
	}
	return sb.String()
}

// Markers of the generated part of the benchmark page: writePage replaces
// what lies between them and keeps the rest of the page.
const (
	beginMarker = "<!-- bench:begin -->"
	endMarker   = "<!-- bench:end -->"
)

// writePage puts the table, dated, between the markers of the page at path,
// creating the page when it does not exist.
func writePage(path, table string) error {
	generated := fmt.Sprintf("%s\nMeasured by `make bench` on %s.\n\n%s%s",
		beginMarker, time.Now().UTC().Format("2006-01-02 15:04 MST"), table, endMarker)
	old, err := os.ReadFile(path)
	var page string
	switch {
	case err == nil:
		text := string(old)
		begin, end := strings.Index(text, beginMarker), strings.Index(text, endMarker)
		if begin < 0 || end < begin {
			return fmt.Errorf("%s has no %s ... %s section: add the two markers where the table goes", path, beginMarker, endMarker)
		}
		page = text[:begin] + generated + text[end+len(endMarker):]
	case os.IsNotExist(err):
		page = "# Training step benchmarks\n\n" + generated + "\n"
	default:
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(page), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// cpuModel returns the processor name from /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, found := strings.CutPrefix(line, "model name"); found {
			return strings.TrimSpace(strings.TrimLeft(name, " \t:"))
		}
	}
	return "unknown CPU"
}
