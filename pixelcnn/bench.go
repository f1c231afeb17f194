package pixelcnn

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/catsynth/catsynth/trainloop"
)

// benchBatch is the batch size of BenchStep.
const benchBatch = 16

// BenchStep builds a training step at batch 16 of random images, 28x28x1
// binary when binary is true, else 32x32x3 with 256 levels, with h = hidden
// and 15 residual blocks. It returns a function that runs one step (the
// first call also compiles) and the step's FLOP count. The count is 2 per
// multiply-accumulate of the forward convolutions plus 4 per
// multiply-accumulate of the backward ones (gradients of the input and of
// the weights). It counts the stored kernel rows (see maskedConv) and no
// elementwise operations. convImpl is a layers.ConvImpl name, or "" for
// the default.
func BenchStep(backend compute.Backend, binary bool, hidden int, convImpl string) (step func() error, flopsPerStep int64, err error) {
	data := DataGrumpy
	if binary {
		data = DataMNIST
	}
	cfg := DefaultConfig(data)
	cfg.Hidden = hidden
	if convImpl != "" {
		cfg.ConvImpl = convImpl
	}
	if err := cfg.Validate(); err != nil {
		return nil, 0, err
	}
	height, width, channels := cfg.Shape()
	rng := rand.New(rand.NewPCG(1, 2))
	levels := make([]float32, benchBatch*height*width*channels)
	for i := range levels {
		levels[i] = float32(rng.IntN(cfg.levels()))
	}
	input := tensors.FromFlatDataAndDimensions(levels, benchBatch, height, width, channels)
	exec, err := model.NewExec(backend, NewStore(cfg), func(scope *model.Scope, x *Node) *Node {
		trainloop.ReadVariablesEachCall(scope, x.Graph())
		return StepGraph(scope, cfg, x)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("pixelcnn: building the benchmark step: %w", err)
	}
	step = func() error {
		out, err := exec.Exec1(input)
		if err != nil {
			return err
		}
		return out.FinalizeAll()
	}
	macs := int64(benchBatch*height*width) * ConvMACsPerPixel(cfg, channels)
	return step, 6 * macs, nil
}

// ConvMACsPerPixel returns the multiply-accumulates of one forward pass per
// pixel, over the stored kernel rows of every convolution.
func ConvMACsPerPixel(cfg Config, channels int) int64 {
	h, half := int64(cfg.Hidden), int64(cfg.Hidden/2)
	c := int64(channels)
	first := int64(4*7) * c * h
	block := h*half + int64(2*3)*half*half + half*h
	head := h*h + h*c*int64(logitsPerSubpixel(cfg))
	return first + int64(cfg.ResidualBlocks)*block + head
}
