// Command bench times the training step of each catsynth model on every
// backend available here and prints the median, the 5th and 95th
// percentiles and GFLOP/s; with -torch it also runs the PyTorch peer script
// in the same run and prints our/PyTorch ratios.
//
//	go run ./cmd/bench                       # DCGAN on the go backend, and XLA if its plugin is installed
//	go run ./cmd/bench -steps 30 -torch ../shared/bench/torch_reference.py
//	go run ./cmd/bench -write docs/benchmarks.md
//
// Build with GOEXPERIMENT=simd (the Makefile does), or the Go backend's
// MatMul runs without AVX-512 and about 3 times slower.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/catsynth/catsynth/backend"
	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/gan"
)

// benchModel is one model the command can time.
type benchModel struct {
	name string
	// peerCase is the PyTorch peer's case id for the same step.
	peerCase string
	// build returns one training step, its FLOP count and a cleanup.
	build func(b compute.Backend, images *dataset.Images, convImpl string) (step func() error, flops int64, cleanup func(), err error)
}

// models lists every model with a benchmark, in table order.
var models = []benchModel{
	{name: "DCGAN", peerCase: "A", build: buildDCGAN},
}

// result is one row of the table.
type result struct {
	Model, Backend  string
	Median, P5, P95 time.Duration
	GFLOP           float64
	PeerMedian      time.Duration // zero when the peer did not run
}

func main() {
	steps := flag.Int("steps", 12, "timed steps per model and backend")
	warmup := flag.Int("warmup", 3, "untimed steps first (the first one compiles the graphs)")
	backends := flag.String("backends", "auto", `comma-separated GOMLX_BACKEND values, or "auto" for go plus XLA when its plugin is found`)
	torchScript := flag.String("torch", "", "path to torch_reference.py; runs the PyTorch peer in the same run when -python can import torch")
	python := flag.String("python", defaultPython(), "Python interpreter for the PyTorch peer")
	convImpl := flag.String("conv_impl", "auto", "convolution implementation: auto, native or im2col")
	write := flag.String("write", "", "also write the table as Markdown to this file (e.g. docs/benchmarks.md)")
	flag.Parse()

	if *steps < 3 || *warmup < 1 {
		fail(fmt.Errorf("-steps must be >= 3 and -warmup >= 1, got %d and %d", *steps, *warmup))
	}
	configs, err := backendConfigs(*backends)
	if err != nil {
		fail(err)
	}
	images, err := benchImages()
	if err != nil {
		fail(err)
	}

	var results []result
	for _, config := range configs {
		b, err := compute.NewWithConfig(config)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: skipping backend %q: %v\n", config, err)
			continue
		}
		for _, m := range models {
			step, flops, cleanup, err := m.build(b, images, *convImpl)
			if err != nil {
				fail(fmt.Errorf("%s on %s: %w", m.name, b.String(), err))
			}
			fmt.Fprintf(os.Stderr, "bench: %s on %s: %d warm-up and %d timed steps\n", m.name, b.String(), *warmup, *steps)
			durations, err := timeSteps(*warmup, *steps, step)
			cleanup()
			if err != nil {
				fail(fmt.Errorf("%s on %s: %w", m.name, b.String(), err))
			}
			name := b.String()
			if *convImpl != "auto" {
				name += " (" + *convImpl + ")"
			}
			results = append(results, summarize(m.name, name, durations, float64(flops)/1e9))
		}
		b.Finalize()
	}

	if *torchScript != "" {
		if peer, err := runPeer(*python, *torchScript, *steps); err != nil {
			fmt.Fprintf(os.Stderr, "bench: PyTorch peer not run: %v\n", err)
		} else {
			for i := range results {
				results[i].PeerMedian = peer[results[i].Model]
			}
		}
	}

	table := render(results)
	fmt.Print(table)
	if *write != "" {
		if err := writePage(*write, table); err != nil {
			fail(err)
		}
		fmt.Println("bench: wrote", *write)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// backendConfigs expands -backends.
func backendConfigs(flagValue string) ([]string, error) {
	if flagValue != "auto" {
		return strings.Split(flagValue, ","), nil
	}
	configs := []string{"go"}
	if plugin := backend.FindPlugin(); plugin != "" {
		configs = append(configs, "xla:"+plugin)
	}
	return configs, nil
}

// benchImages returns the real Grumpy cats when a data folder is found, and
// otherwise 64 random images: the step time does not depend on the pixels.
func benchImages() (*dataset.Images, error) {
	if root, err := dataset.Root(""); err == nil {
		if images, err := dataset.Load(filepath.Join(root, dataset.GrumpyDir), gan.ImageSize); err == nil {
			return images, nil
		}
	}
	fmt.Fprintln(os.Stderr, "bench: no cat images found; timing on random images")
	const n = 64
	rng := rand.New(rand.NewPCG(1, 2))
	pixels := make([]float32, n*gan.ImageSize*gan.ImageSize*3)
	for i := range pixels {
		pixels[i] = float32(2*rng.Float64() - 1)
	}
	return &dataset.Images{Dir: "random", Size: gan.ImageSize, Pixels: pixels, Files: make([]string, n)}, nil
}

// buildDCGAN times gan.Trainer.Step: one discriminator and one generator
// update.
func buildDCGAN(b compute.Backend, images *dataset.Images, convImpl string) (func() error, int64, func(), error) {
	cfg := gan.DefaultConfig()
	cfg.ConvImpl = convImpl
	dir, err := os.MkdirTemp("", "catsynth-bench-")
	if err != nil {
		return nil, 0, nil, err
	}
	trainer, err := gan.NewTrainer(b, cfg, images, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, 0, nil, err
	}
	step := func() error {
		_, err := trainer.Step()
		return err
	}
	cleanup := func() {
		trainer.Close()
		os.RemoveAll(dir)
	}
	return step, cfg.StepFLOPs(), cleanup, nil
}

func timeSteps(warmup, steps int, step func() error) ([]time.Duration, error) {
	for range warmup {
		if err := step(); err != nil {
			return nil, err
		}
	}
	durations := make([]time.Duration, steps)
	for i := range durations {
		start := time.Now()
		if err := step(); err != nil {
			return nil, err
		}
		durations[i] = time.Since(start)
	}
	return durations, nil
}

// summarize takes the median and the 5th and 95th percentiles (nearest
// rank) of the step times.
func summarize(model, backendName string, durations []time.Duration, gflop float64) result {
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(sorted)-1) + 0.5)
		return sorted[i]
	}
	return result{Model: model, Backend: backendName, Median: rank(0.5), P5: rank(0.05), P95: rank(0.95), GFLOP: gflop}
}

// runPeer runs the PyTorch peer with 2 threads and returns its median step
// time per model.
func runPeer(python, script string, steps int) (map[string]time.Duration, error) {
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		return nil, fmt.Errorf("%s cannot import torch (on Debian: apt-get install python3-torch libopenblas0-openmp): %w", python, err)
	}
	ids := make([]string, 0, len(models))
	for _, m := range models {
		ids = append(ids, m.peerCase)
	}
	jsonFile, err := os.CreateTemp("", "catsynth-peer-*.json")
	if err != nil {
		return nil, err
	}
	jsonFile.Close()
	defer os.Remove(jsonFile.Name())
	cmd := exec.Command(python, script, "--threads", "2", "--steps", fmt.Sprint(steps),
		"--only", strings.Join(ids, ","), "--json", jsonFile.Name())
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s failed: %w", script, err)
	}
	data, err := os.ReadFile(jsonFile.Name())
	if err != nil {
		return nil, err
	}
	return parsePeer(data)
}

// parsePeer reads the median step time of each case from the peer's JSON
// output: a list of objects with "case" and "median_ms".
func parsePeer(data []byte) (map[string]time.Duration, error) {
	var rows []struct {
		Case     string  `json:"case"`
		MedianMS float64 `json:"median_ms"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("reading the peer's JSON output: %w", err)
	}
	medians := make(map[string]time.Duration)
	for _, row := range rows {
		for _, m := range models {
			if m.peerCase == row.Case {
				medians[m.name] = time.Duration(row.MedianMS * float64(time.Millisecond))
			}
		}
	}
	if len(medians) == 0 {
		return nil, fmt.Errorf("no results in the peer's output")
	}
	return medians, nil
}

// defaultPython prefers Debian's interpreter, which sees the python3-torch
// package, over a python3 earlier on the PATH (a pyenv or virtualenv one).
func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

func render(results []result) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Machine: %s, %d CPUs, %s/%s; %s, GOEXPERIMENT=%s. Batch 16; the PyTorch peer at 2 threads.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), os.Getenv("GOEXPERIMENT"))
	sb.WriteString("| model | backend | median ms | p5 ms | p95 ms | GFLOP/step | GFLOP/s | PyTorch ms | ratio |\n")
	sb.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }
	for _, r := range results {
		peer, ratio := "-", "-"
		if r.PeerMedian > 0 {
			peer = ms(r.PeerMedian)
			ratio = fmt.Sprintf("%.2f", float64(r.Median)/float64(r.PeerMedian))
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %.1f | %.1f | %s | %s |\n",
			r.Model, r.Backend, ms(r.Median), ms(r.P5), ms(r.P95), r.GFLOP, r.GFLOP/r.Median.Seconds(), peer, ratio)
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
