package vae

import (
	"fmt"
	"image"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/imgrid"
)

// Encode returns the mean mu and log-variance logvar of q(z|x) for images
// x [n, height, width, channels] flattened, each [n, LatentSize] flattened.
func (t *Trainer) Encode(x []float32) (mu, logvar []float32, err error) {
	height, width, channels := t.cfg.ImageShape()
	n := len(x) / t.cfg.imageValues()
	if n == 0 || n*t.cfg.imageValues() != len(x) {
		return nil, nil, fmt.Errorf("vae: encoding %d values, want a positive multiple of %dx%dx%d", len(x), height, width, channels)
	}
	outputs, err := t.encodeExec.Exec(tensors.FromFlatDataAndDimensions(x, n, height, width, channels))
	if err != nil {
		return nil, nil, fmt.Errorf("vae: encoding: %w", err)
	}
	return tensors.MustCopyFlatData[float32](outputs[0]), tensors.MustCopyFlatData[float32](outputs[1]), nil
}

// Decode returns the images decoded from z [n, LatentSize] flattened, as
// display pixels in [-1, 1], [n, height, width, channels] flattened (see
// DecodedImages).
func (t *Trainer) Decode(z []float32) ([]float32, error) {
	n := len(z) / t.cfg.LatentSize
	if n == 0 || n*t.cfg.LatentSize != len(z) {
		return nil, fmt.Errorf("vae: decoding %d values, want a positive multiple of the latent size %d", len(z), t.cfg.LatentSize)
	}
	outputs, err := t.decodeExec.Exec(tensors.FromFlatDataAndDimensions(z, n, t.cfg.LatentSize))
	if err != nil {
		return nil, fmt.Errorf("vae: decoding: %w", err)
	}
	return tensors.MustCopyFlatData[float32](outputs[0]), nil
}

// FixedNoise returns the [SampleCount, LatentSize] prior noise of the sample
// grids, flattened.
func (t *Trainer) FixedNoise() ([]float32, error) {
	return t.storedValues(fixedNoisePath)
}

// FixedImages returns the fixed batch of real images,
// [SampleCount, height, width, channels] flattened.
func (t *Trainer) FixedImages() ([]float32, error) {
	return t.storedValues(fixedImagesPath)
}

func (t *Trainer) storedValues(path string) ([]float32, error) {
	value, err := t.store.GetVariable(path).Value()
	if err != nil {
		return nil, fmt.Errorf("vae: reading %s: %w", path, err)
	}
	return tensors.MustCopyFlatData[float32](value), nil
}

// Samples returns the decoded fixed prior noise, [SampleCount, height,
// width, channels] flattened in [-1, 1].
func (t *Trainer) Samples() ([]float32, error) {
	noise, err := t.FixedNoise()
	if err != nil {
		return nil, err
	}
	return t.Decode(noise)
}

// displayPixels maps model inputs to [-1, 1]: MNIST's {0, 1} to {-1, 1}.
func (t *Trainer) displayPixels(x []float32) []float32 {
	if t.cfg.Dataset != MNIST {
		return x
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = 2*v - 1
	}
	return out
}

// Reconstructions returns the fixed batch of real images and their
// reconstructions decoded from the mean mu (without sampling), both
// [SampleCount, height, width, channels] flattened in [-1, 1].
func (t *Trainer) Reconstructions() (inputs, outputs []float32, err error) {
	fixed, err := t.FixedImages()
	if err != nil {
		return nil, nil, err
	}
	mu, _, err := t.Encode(fixed)
	if err != nil {
		return nil, nil, err
	}
	outputs, err = t.Decode(mu)
	if err != nil {
		return nil, nil, err
	}
	return t.displayPixels(fixed), outputs, nil
}

// Interpolation decodes steps points evenly spaced on the segment between
// the means mu of fixed images a and b (indices below SampleCount), ends
// included, and returns one row: image a, the decoded points, image b.
func (t *Trainer) Interpolation(a, b, steps int) (*image.RGBA, error) {
	if a < 0 || a >= SampleCount || b < 0 || b >= SampleCount {
		return nil, fmt.Errorf("vae: interpolation between fixed images %d and %d, want indices in [0, %d)", a, b, SampleCount)
	}
	if steps < 2 {
		return nil, fmt.Errorf("vae: interpolation with %d steps, want at least 2", steps)
	}
	fixed, err := t.FixedImages()
	if err != nil {
		return nil, err
	}
	mu, _, err := t.Encode(fixed)
	if err != nil {
		return nil, err
	}
	latent := t.cfg.LatentSize
	muA, muB := mu[a*latent:(a+1)*latent], mu[b*latent:(b+1)*latent]
	z := make([]float32, 0, steps*latent)
	for s := range steps {
		w := float32(s) / float32(steps-1)
		for i := range latent {
			z = append(z, (1-w)*muA[i]+w*muB[i])
		}
	}
	decoded, err := t.Decode(z)
	if err != nil {
		return nil, err
	}
	values := t.cfg.imageValues()
	real := t.displayPixels(fixed)
	row := make([]float32, 0, (steps+2)*values)
	row = append(row, real[a*values:(a+1)*values]...)
	row = append(row, decoded...)
	row = append(row, real[b*values:(b+1)*values]...)
	height, width, channels := t.cfg.ImageShape()
	return imgrid.Grid(row, steps+2, height, width, channels, steps+2)
}

// SamplePath returns the prior sample grid saved at iteration.
func SamplePath(outDir string, iteration int) string {
	return filepath.Join(outDir, SamplesDir, fmt.Sprintf("iter-%06d.png", iteration))
}

// ReconstructionPath returns the reconstruction grid saved at iteration.
func ReconstructionPath(outDir string, iteration int) string {
	return filepath.Join(outDir, ReconstructionDir, fmt.Sprintf("iter-%06d.png", iteration))
}

// SaveSamples writes the prior sample grid (4x4) and the reconstruction
// grid (real image left, reconstruction right, 4 pairs per row) of the
// current iteration, at SamplePath and ReconstructionPath.
func (t *Trainer) SaveSamples() error {
	height, width, channels := t.cfg.ImageShape()
	samples, err := t.Samples()
	if err != nil {
		return err
	}
	grid, err := imgrid.Grid(samples, SampleCount, height, width, channels, 4)
	if err != nil {
		return fmt.Errorf("vae: %w", err)
	}
	if err := imgrid.WritePNG(SamplePath(t.outDir, t.iteration), grid); err != nil {
		return fmt.Errorf("vae: %w", err)
	}
	inputs, outputs, err := t.Reconstructions()
	if err != nil {
		return err
	}
	pairs, err := imgrid.Pairs(inputs, outputs, SampleCount, height, width, channels, 4)
	if err != nil {
		return fmt.Errorf("vae: %w", err)
	}
	if err := imgrid.WritePNG(ReconstructionPath(t.outDir, t.iteration), pairs); err != nil {
		return fmt.Errorf("vae: %w", err)
	}
	return nil
}

// SaveInterpolation writes Interpolation(a, b, steps) to InterpolationFile
// in the output folder and returns its path.
func (t *Trainer) SaveInterpolation(a, b, steps int) (string, error) {
	row, err := t.Interpolation(a, b, steps)
	if err != nil {
		return "", err
	}
	path := filepath.Join(t.outDir, InterpolationFile)
	if err := imgrid.WritePNG(path, row); err != nil {
		return "", fmt.Errorf("vae: %w", err)
	}
	return path, nil
}
