package pixelcnn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/catsynth/catsynth/trainloop"
)

// Sampler draws images from a PixelCNN one subpixel at a time, in raster
// order and R, G, B within a pixel, reusing compiled graphs (one set per
// sample count).
//
// The logits of a row depend only on the rows above it and on the row
// itself, and the rows above do not change while a row is drawn. Sample
// therefore computes the contribution of the rows above once per row
// (AboveGraph, from the cached activations of the last rows) and runs the
// network on the current row alone for every subpixel (RowGraph).
// SampleWindowed is the simpler exact method: it runs the network on the
// Receptive(cfg)+1 rows ending at the current row for every subpixel.
type Sampler struct {
	cfg        Config
	rowExec    *model.Exec
	aboveExec  *model.Exec
	windowExec *model.Exec
	window     int
}

// NewSampler builds the sampler of a model whose weights are in store
// (see NewStore); a Trainer's store can be shared.
func NewSampler(backend compute.Backend, store *model.Store, cfg Config) (*Sampler, error) {
	s := &Sampler{cfg: cfg, window: Receptive(cfg) + 1}
	var err error
	s.rowExec, err = model.NewExec(backend, store, func(scope *model.Scope, inputs []*Node) []*Node {
		trainloop.ReadVariablesEachCall(scope, inputs[0].Graph())
		return RowGraph(scope.In(networkScope), cfg, inputs[0], inputs[1:])
	})
	if err == nil {
		s.aboveExec, err = model.NewExec(backend, store, func(scope *model.Scope, history []*Node) []*Node {
			trainloop.ReadVariablesEachCall(scope, history[0].Graph())
			return AboveGraph(scope.In(networkScope), cfg, history)
		})
	}
	if err == nil {
		s.windowExec, err = model.NewExec(backend, store, func(scope *model.Scope, window, valid *Node) *Node {
			trainloop.ReadVariablesEachCall(scope, window.Graph())
			return WindowLogits(scope.In(networkScope), cfg, window, valid)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("pixelcnn: building the sampler: %w", err)
	}
	return s, nil
}

// pickFunc chooses the level of subpixel (row, column, channel) of image
// b from its logits (1 Bernoulli logit or 256 levels).
type pickFunc func(b, row, column, channel int, logits []float32) uint8

// drawFrom returns a pickFunc that draws from the logits with a generator
// seeded by seed.
func (s *Sampler) drawFrom(seed uint64) pickFunc {
	rng := rand.New(rand.NewPCG(seed, 0x706978656c))
	probabilities := make([]float64, s.cfg.levels())
	return func(_, _, _, _ int, logits []float32) uint8 {
		return drawLevel(rng, logits, probabilities)
	}
}

// Sample draws n images with a generator seeded by seed and returns their
// levels in NHWC order (0/1 for MNIST, 0..255 for the cats) and the time
// taken.
func (s *Sampler) Sample(n int, seed uint64) ([]uint8, time.Duration, error) {
	return s.SampleContext(context.Background(), n, seed)
}

// SampleContext is Sample that stops before the next row of pixels once ctx
// is done, and then returns an error that wraps ctx.Err(). A grid of 8
// cats of 32x32 takes seconds, longer than GoNB waits after an interrupt.
func (s *Sampler) SampleContext(ctx context.Context, n int, seed uint64) ([]uint8, time.Duration, error) {
	start := time.Now()
	canvas, err := s.runRows(ctx, n, s.drawFrom(seed))
	return canvas, time.Since(start), err
}

// runRows fills n images subpixel by subpixel with pick, using the row
// graphs, and stops before a row once ctx is done.
func (s *Sampler) runRows(ctx context.Context, n int, pick pickFunc) ([]uint8, error) {
	height, width, channels := s.cfg.Shape()
	rowSize := width * channels
	imageSize := height * rowSize
	canvas := make([]uint8, n*imageSize)

	// history[l] holds the inputs of spatial convolution l on the rows above
	// the current one, [n, historyRows(l), width, in_l], zeros above the image.
	convs := spatialConvs(s.cfg)
	history := make([][]float32, convs)
	historyChannels := make([]int, convs)
	for l := range convs {
		historyChannels[l] = s.cfg.Hidden / 2
		if l == 0 {
			historyChannels[l] = channels
		}
		history[l] = make([]float32, n*historyRows(l)*width*historyChannels[l])
	}
	rowData := make([]float32, n*rowSize)

	for row := range height {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pixelcnn: sampling stopped at row %d: %w", row, err)
		}
		historyTensors := make([]any, convs)
		for l := range convs {
			historyTensors[l] = tensors.FromFlatDataAndDimensions(history[l], n, historyRows(l), width, historyChannels[l])
		}
		above, err := s.aboveExec.Exec(historyTensors...)
		if err != nil {
			return nil, fmt.Errorf("pixelcnn: sampling row %d, rows above: %w", row, err)
		}
		clear(rowData)
		runRow := func() ([]*tensors.Tensor, error) {
			args := []any{tensors.FromFlatDataAndDimensions(rowData, n, 1, width, channels)}
			for _, t := range above {
				args = append(args, t)
			}
			return s.rowExec.Exec(args...)
		}
		for column := range width {
			for channel := range channels {
				outputs, err := runRow()
				if err != nil {
					return nil, fmt.Errorf("pixelcnn: sampling row %d, column %d, channel %d: %w", row, column, channel, err)
				}
				logits := tensors.MustCopyFlatData[float32](outputs[0])
				finalize(outputs)
				k := len(logits) / (n * rowSize)
				for b := range n {
					offset := ((b*width+column)*channels + channel) * k
					value := pick(b, row, column, channel, logits[offset:offset+k])
					canvas[b*imageSize+row*rowSize+column*channels+channel] = value
					rowData[b*rowSize+column*channels+channel] = float32(value)
				}
			}
		}
		// Run the finished row once more for its activations, and shift them
		// into the history.
		outputs, err := runRow()
		if err != nil {
			return nil, fmt.Errorf("pixelcnn: sampling row %d, activations: %w", row, err)
		}
		for l := range convs {
			rowInput := tensors.MustCopyFlatData[float32](outputs[1+l])
			shiftHistory(history[l], rowInput, n, historyRows(l), width*historyChannels[l])
		}
		finalize(outputs)
		finalize(above)
	}
	return canvas, nil
}

// shiftHistory drops the oldest of the rows of history [n, rows, size] and
// appends newRow [n, size] as the newest.
func shiftHistory(history, newRow []float32, n, rows, size int) {
	for b := range n {
		image := history[b*rows*size : (b+1)*rows*size]
		copy(image, image[size:])
		copy(image[(rows-1)*size:], newRow[b*size:(b+1)*size])
	}
}

func finalize(outputs []*tensors.Tensor) {
	for _, t := range outputs {
		_ = t.FinalizeAll()
	}
}

// SampleWindowed draws n images like Sample, but runs the network on a
// window of Receptive(cfg)+1 rows for every subpixel (see WindowLogits).
// It is slower than Sample and is kept as an independent check.
func (s *Sampler) SampleWindowed(n int, seed uint64) ([]uint8, time.Duration, error) {
	start := time.Now()
	pick := s.drawFrom(seed)
	height, width, channels := s.cfg.Shape()
	canvas := make([]uint8, n*height*width*channels)
	rowSize := width * channels
	imageSize := height * rowSize
	windowData := make([]float32, n*s.window*rowSize)
	valid := make([]float32, s.window)

	for row := range height {
		first := row - s.window + 1
		for k := range s.window {
			valid[k] = 0
			if first+k >= 0 {
				valid[k] = 1
			}
		}
		for column := range width {
			for channel := range channels {
				// Copy the rows of the window, including what is sampled of this row.
				clear(windowData)
				for b := range n {
					for k := range s.window {
						if first+k < 0 {
							continue
						}
						src := canvas[b*imageSize+(first+k)*rowSize : b*imageSize+(first+k+1)*rowSize]
						dst := windowData[(b*s.window+k)*rowSize:]
						for j, v := range src {
							dst[j] = float32(v)
						}
					}
				}
				out, err := s.windowExec.Exec1(
					tensors.FromFlatDataAndDimensions(windowData, n, s.window, width, channels),
					tensors.FromFlatDataAndDimensions(valid, s.window))
				if err != nil {
					return nil, 0, fmt.Errorf("pixelcnn: sampling row %d, column %d, channel %d: %w", row, column, channel, err)
				}
				logits := tensors.MustCopyFlatData[float32](out)
				k := len(logits) / (n * width * channels)
				for b := range n {
					offset := ((b*width+column)*channels + channel) * k
					canvas[b*imageSize+row*rowSize+column*channels+channel] = pick(b, row, column, channel, logits[offset:offset+k])
				}
			}
		}
	}
	return canvas, time.Since(start), nil
}

// drawLevel draws a level from one Bernoulli logit (len(logits) == 1) or
// from a softmax over len(logits) levels, using probabilities as scratch.
func drawLevel(rng *rand.Rand, logits []float32, probabilities []float64) uint8 {
	if len(logits) == 1 {
		p := 1 / (1 + math.Exp(-float64(logits[0])))
		if rng.Float64() < p {
			return 1
		}
		return 0
	}
	maxLogit := math.Inf(-1)
	for _, l := range logits {
		maxLogit = math.Max(maxLogit, float64(l))
	}
	var total float64
	for i, l := range logits {
		probabilities[i] = math.Exp(float64(l) - maxLogit)
		total += probabilities[i]
	}
	u := rng.Float64() * total
	for i := range logits {
		u -= probabilities[i]
		if u < 0 {
			return uint8(i)
		}
	}
	return uint8(len(logits) - 1)
}

// LevelsToPixels converts levels to pixels in [-1, 1] for imgrid: 0/1 for
// binary images, 0..255 otherwise.
func LevelsToPixels(cfg Config, levels []uint8) []float32 {
	out := make([]float32, len(levels))
	top := float32(cfg.levels() - 1)
	for i, v := range levels {
		out[i] = 2*float32(v)/top - 1
	}
	return out
}
