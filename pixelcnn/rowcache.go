package pixelcnn

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/catsynth/catsynth/layers"
)

// The row graphs split every masked convolution with a kernel taller than
// one row into the part that reads the rows above the output row and the
// part that reads the output row itself. During sampling the rows above do
// not change while a row is drawn, so their part is computed once per row
// (AboveGraph) and each subpixel only runs the network on one row
// (RowGraph). Both graphs use the weights of network.

// spatialConvs returns the number of masked convolutions taller than one
// row: the 7x7 input layer and one 3x3 per residual block.
func spatialConvs(cfg Config) int { return 1 + cfg.ResidualBlocks }

// historyRows returns the rows above the output row that spatial
// convolution l reads: 3 for the 7x7 input layer, 1 for the 3x3 ones.
func historyRows(l int) int {
	if l == 0 {
		return 3
	}
	return 1
}

// spatialScope returns the scope of spatial convolution l and its kernel
// size.
func spatialScope(scope *model.Scope, l int) (*model.Scope, int) {
	if l == 0 {
		return scope.In("input"), 7
	}
	return scope.In("block%02d", l-1).In("conv3x3"), 3
}

// RowGraph runs the network on one row. Its inputs are the row's levels
// [batch, 1, width, channels] followed by, for each spatial convolution l,
// above[l] [batch, 1, width, out_l], the contribution of the rows above
// (from AboveGraph). It returns the row's logits [batch, width, channels,
// 1 or 256] followed by the input of each spatial convolution on this row,
// [batch, 1, width, in_l], which AboveGraph needs for the next rows.
func RowGraph(scope *model.Scope, cfg Config, row *Node, above []*Node) []*Node {
	channels := row.Shape().Dim(-1)
	groups := channels
	hidden, half := cfg.Hidden, cfg.Hidden/2
	var inputs []*Node

	centre := func(convScope *model.Scope, l int, x *Node, outChannels int) *Node {
		kernel, maskType := 3, MaskB
		if l == 0 {
			kernel, maskType = 7, MaskA
		}
		kernelNode, biases := maskedKernel(convScope, x, outChannels, kernel, groups, maskType, 1)
		centreRow := Slice(kernelNode, AxisRange(kernel/2))
		padded := layers.ZeroPad2D(x, 0, 0, kernel/2, kernel/2)
		out := layers.Conv2D(padded, centreRow, 1, 0, convImpl(convScope))
		inputs = append(inputs, x)
		sum := Add(out, above[l])
		return Add(sum, layers.BroadcastTo(biases, sum))
	}

	h := centre(scope.In("input"), 0, scaleInput(cfg, row), hidden)
	for block := range cfg.ResidualBlocks {
		blockScope := scope.In("block%02d", block)
		relu, input := layers.ReLUAndInput(h) // as in network
		h = input
		r := maskedConv(blockScope.In("reduce"), relu, half, 1, groups, MaskB, false)
		r = centre(blockScope.In("conv3x3"), block+1, layers.ReLU(r), half)
		r = maskedConv(blockScope.In("expand"), layers.ReLU(r), hidden, 1, groups, MaskB, false)
		h = Add(h, r)
	}
	h = maskedConv(scope.In("output1"), layers.ReLU(h), hidden, 1, groups, MaskB, false)
	out := logitsConv(scope.In("output2"), cfg, layers.ReLU(h), groups)
	logits := splitLogits(cfg, out)
	dims := logits.Shape().Dimensions
	return append([]*Node{Reshape(logits, dims[0], dims[2], dims[3], dims[4])}, inputs...)
}

// AboveGraph returns, for each spatial convolution l, the contribution
// [batch, 1, width, out_l] of the rows above the output row, given
// history[l] [batch, historyRows(l), width, in_l]: the inputs of
// convolution l on those rows (RowGraph's outputs), zeros above the image.
func AboveGraph(scope *model.Scope, cfg Config, history []*Node) []*Node {
	groups := history[0].Shape().Dim(-1)
	above := make([]*Node, len(history))
	for l, x := range history {
		convScope, kernel := spatialScope(scope, l)
		outChannels, maskType := cfg.Hidden/2, MaskB
		if l == 0 {
			outChannels, maskType = cfg.Hidden, MaskA
		}
		kernelNode, _ := maskedKernel(convScope, x, outChannels, kernel, groups, maskType, 1)
		upperRows := Slice(kernelNode, AxisRange(0, kernel/2))
		padded := layers.ZeroPad2D(x, 0, 0, kernel/2, kernel/2)
		above[l] = layers.Conv2D(padded, upperRows, 1, 0, convImpl(convScope))
	}
	return above
}
