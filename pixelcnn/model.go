package pixelcnn

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/catsynth/catsynth/layers"
)

// MaskType selects which inputs at the current pixel a masked convolution
// may see.
type MaskType int

const (
	// MaskA excludes the current subpixel: output channels of colour group g
	// see only input channels of groups < g at the current pixel. Used by the
	// first layer, whose inputs are the image itself.
	MaskA MaskType = iota
	// MaskB includes the current subpixel: groups <= g. Used by every later
	// layer.
	MaskB
)

func (m MaskType) String() string {
	if m == MaskA {
		return "A"
	}
	return "B"
}

// channelGroup returns the colour group (0 red, 1 green, 2 blue) of channel
// i when channels are split into groups interleaved groups: channel i
// belongs to group i % groups. With groups == 1 every channel is in group 0.
func channelGroup(i, groups int) int { return i % groups }

// MaskValues returns the mask of a masked convolution kernel with
// kernel/2+1 rows (the rows below the centre are never used, see
// maskedConv), kernel columns, and the given channel counts, flattened in
// [row, column, in, out] order. Rows above the centre are all ones. In the
// centre row, columns left of the centre are ones and columns right of it
// zeros, and the centre tap follows the colour groups of maskType.
func MaskValues(kernel, inChannels, outChannels, groups int, maskType MaskType) []float32 {
	rows := kernel/2 + 1
	mask := make([]float32, rows*kernel*inChannels*outChannels)
	centre := kernel / 2
	index := 0
	for r := range rows {
		for c := range kernel {
			for in := range inChannels {
				for out := range outChannels {
					var allowed bool
					switch {
					case r < centre || c < centre:
						allowed = true
					case c > centre:
						allowed = false
					case maskType == MaskA:
						allowed = channelGroup(in, groups) < channelGroup(out, groups)
					default:
						allowed = channelGroup(in, groups) <= channelGroup(out, groups)
					}
					if allowed {
						mask[index] = 1
					}
					index++
				}
			}
		}
	}
	return mask
}

// maskedConv applies a kernel x kernel masked convolution (kernel odd) with
// bias to x [batch, rows, width, in], creating "weights" and "biases" in
// scope. Only the kernel's top kernel/2+1 rows are stored, because the
// mask zeroes the rows below the centre, and only the taps up to the last
// one the mask lets through are computed (see usedTaps).
//
// When shrink is false the input gets kernel/2 rows of zero padding on top,
// and the output has the same size as x. When shrink is true there is no
// top padding and the output loses the kernel/2 top rows: the caller has
// already supplied the rows above (see network).
func maskedConv(scope *model.Scope, x *Node, outChannels, kernel, groups int, maskType MaskType, shrink bool) *Node {
	kernelNode, biases := maskedKernel(scope, x, outChannels, kernel, groups, maskType, 1)
	half := kernel / 2
	top := half
	if shrink {
		top = 0
	}
	taps := usedTaps(kernel, x.Shape().Dim(-1), outChannels, groups, maskType)
	out := layers.Conv2DPaddedTaps(x, kernelNode, top, 0, half, half, taps, convImpl(scope))
	return Add(out, layers.BroadcastTo(biases, out))
}

// usedTaps returns how many taps of the masked kernel, in row-major order,
// precede its last tap with a nonzero mask: the taps the convolution must
// compute. The rest, right of the centre in the centre row (and the centre
// itself for a mask A with one colour group), are zero.
func usedTaps(kernel, inChannels, outChannels, groups int, maskType MaskType) int {
	mask := MaskValues(kernel, inChannels, outChannels, groups, maskType)
	perTap := inChannels * outChannels
	for tap := len(mask)/perTap - 1; tap > 0; tap-- {
		for _, m := range mask[tap*perTap : (tap+1)*perTap] {
			if m != 0 {
				return tap + 1
			}
		}
	}
	return 1
}

// maskedKernel returns the masked kernel [kernel/2+1, kernel, in, out] and
// the biases [out] of the masked convolution in scope that reads x's
// channels, creating the variables "weights" and "biases" on first use.
// Their initial values are uniform in +-initScale/sqrt(fan-in), so 0 starts
// them at zero.
func maskedKernel(scope *model.Scope, x *Node, outChannels, kernel, groups int, maskType MaskType, initScale float64) (kernelNode, biases *Node) {
	g := x.Graph()
	inChannels := x.Shape().Dim(-1)
	rows := kernel/2 + 1
	fanIn := rows * kernel * inChannels
	bound := initScale / math.Sqrt(float64(fanIn))
	init := initializer.RandomUniformFn(scope, -bound, bound)
	weights := scope.WithInitializer(init).
		VariableWithShape("weights", shapes.Make(x.DType(), rows, kernel, inChannels, outChannels)).NodeValue(g)
	maskTensor := tensors.FromFlatDataAndDimensions(MaskValues(kernel, inChannels, outChannels, groups, maskType),
		rows, kernel, inChannels, outChannels)
	kernelNode = Mul(weights, ConvertDType(Const(g, maskTensor), x.DType()))
	biases = scope.WithInitializer(init).VariableWithShape("biases", shapes.Make(x.DType(), outChannels)).NodeValue(g)
	return kernelNode, biases
}

// convImpl reads layers.ParamConvImpl, panicking on an invalid value.
func convImpl(scope *model.Scope) layers.ConvImpl {
	impl, err := layers.ParseConvImpl(model.GetParamOr(scope, layers.ParamConvImpl, layers.ConvAuto.String()))
	if err != nil {
		panic(err)
	}
	return impl
}

// Receptive returns the number of rows above a pixel that its logits
// depend on: 3 for the 7x7 first layer plus 1 per residual block.
func Receptive(cfg Config) int { return 3 + cfg.ResidualBlocks }

// network computes the logits of PixelCNN for images x [batch, rows, width,
// channels] scaled by inputScale (see scaleInput). Without valid, every
// convolution pads with zeros on top and the logits have x's rows.
//
// With valid [rows] (1 for real rows, 0 for rows above the image), the
// network runs in window mode. Each convolution consumes the rows above its
// output instead of padding, and the activations of rows outside the image
// are zeroed before every convolution, which matches zero padding exactly.
// Only the last row's logits are returned.
//
// The output is [batch, rows, width, channels*K] (or [batch, 1, ...] in
// window mode), where K is 1 for binary images and 256 otherwise, with the
// logit of level l for channel c at c*K + l (see logitsConv).
func network(scope *model.Scope, cfg Config, x, valid *Node) *Node {
	channels := x.Shape().Dim(-1)
	groups := channels
	shrink := valid != nil
	consumed := 0
	maskRows := func(h *Node) *Node {
		if !shrink {
			return h
		}
		rows := h.Shape().Dim(1)
		v := Slice(valid, AxisRange(consumed, consumed+rows))
		return Mul(h, ConvertDType(Reshape(v, 1, rows, 1, 1), h.DType()))
	}
	hidden := cfg.Hidden
	half := cfg.Hidden / 2

	h := maskedConv(scope.In("input"), maskRows(x), hidden, 7, groups, MaskA, shrink)
	if shrink {
		consumed += 3
	}
	for block := range cfg.ResidualBlocks {
		blockScope := scope.In("block%02d", block)
		// The residual sum reads h through ReLUAndInput, so that the pure
		// Go backend does not copy h for its ReLU's gradient.
		relu, input := layers.ReLUAndInput(h)
		h = input
		r := maskedConv(blockScope.In("reduce"), relu, half, 1, groups, MaskB, shrink)
		r = maskedConv(blockScope.In("conv3x3"), maskRows(layers.ReLU(r)), half, 3, groups, MaskB, shrink)
		if shrink {
			consumed++
			h = Slice(h, AxisRange(), AxisRange(1))
		}
		r = maskedConv(blockScope.In("expand"), layers.ReLU(r), hidden, 1, groups, MaskB, shrink)
		h = Add(h, r)
	}
	if shrink {
		rows := h.Shape().Dim(1)
		h = Slice(h, AxisRange(), AxisRange(rows-1))
	}
	h = maskedConv(scope.In("output1"), layers.ReLU(h), hidden, 1, groups, MaskB, shrink)
	return logitsConv(scope.In("output2"), cfg, layers.ReLU(h), groups)
}

// logitsConv is the network's last layer: a 1x1 masked convolution (mask
// B) from x [batch, rows, width, in] to the logits [batch, rows, width,
// channels*K], K = logitsPerSubpixel(cfg), with channels = groups. Its
// weights and biases start at zero, a uniform model, instead of a random
// one whose NLL is far above uniform.
//
// The variables keep the logit of level l for channel c in column
// l*channels + c, where channelGroup gives every column its colour group.
// The columns are reordered to c*K + l before the convolution, so that the
// logits reshape into [..., channels, K] directly. Transposing the 256-level
// logits instead took 6% of the PixelCNN 32x32x3 step on XLA and 10% on
// the Go backend.
func logitsConv(scope *model.Scope, cfg Config, x *Node, groups int) *Node {
	channels, k := groups, logitsPerSubpixel(cfg)
	inChannels := x.Shape().Dim(-1)
	kernelNode, biases := maskedKernel(scope, x, channels*k, 1, groups, MaskB, 0)
	kernelNode = Reshape(TransposeAllAxes(Reshape(kernelNode, inChannels, k, channels), 0, 2, 1), 1, 1, inChannels, channels*k)
	biases = Reshape(TransposeAllAxes(Reshape(biases, k, channels), 1, 0), channels*k)
	out := layers.Conv2DPaddedTaps(x, kernelNode, 0, 0, 0, 0, 1, convImpl(scope))
	return Add(out, layers.BroadcastTo(biases, out))
}

// logitsPerSubpixel returns 1 (a Bernoulli logit) for binary images and
// the number of levels otherwise.
func logitsPerSubpixel(cfg Config) int {
	if cfg.levels() == 2 {
		return 1
	}
	return cfg.levels()
}

// scaleInput maps levels [batch, rows, width, channels] (float, 0..levels-1)
// to the network input: 0/1 for binary images, [-1, 1] for 256 levels.
func scaleInput(cfg Config, levels *Node) *Node {
	if cfg.levels() == 2 {
		return levels
	}
	return AddScalar(DivScalar(levels, 127.5), -1)
}

// Logits returns the logits for images given as levels [batch, rows,
// width, channels] (float32 in 0..levels-1): [batch, rows, width, channels,
// 1] for binary images (one Bernoulli logit) or [batch, rows, width,
// channels, 256].
func Logits(scope *model.Scope, cfg Config, levels *Node) *Node {
	return splitLogits(cfg, network(scope, cfg, scaleInput(cfg, levels), nil))
}

// WindowLogits returns the logits of the last row of a window of rows
// levels [batch, rows, width, channels], where valid [rows] marks the rows
// inside the image: [batch, width, channels, 1 or 256]. With rows =
// Receptive(cfg)+1 they equal the logits Logits gives for that row of the
// whole image.
func WindowLogits(scope *model.Scope, cfg Config, levels, valid *Node) *Node {
	out := splitLogits(cfg, network(scope, cfg, scaleInput(cfg, levels), valid))
	dims := out.Shape().Dimensions
	return Reshape(out, dims[0], dims[2], dims[3], dims[4])
}

// splitLogits turns the logits [batch, rows, width, channels*K] of network
// into [batch, rows, width, channels, K], K = logitsPerSubpixel(cfg).
func splitLogits(cfg Config, out *Node) *Node {
	dims := out.Shape().Dimensions
	k := logitsPerSubpixel(cfg)
	return Reshape(out, dims[0], dims[1], dims[2], dims[3]/k, k)
}

// NLL returns the negative log-likelihood in nats of every image,
// [batch], for logits from Logits and levels [batch, rows, width,
// channels].
func NLL(cfg Config, logits, levels *Node) *Node {
	var perSubpixel *Node
	if cfg.levels() == 2 {
		// Bernoulli: softplus(l) - x*l, with softplus(l) = max(l, 0) + log1p(exp(-|l|)).
		l := Squeeze(logits, -1)
		softplus := Add(Max(l, ZerosLike(l)), Log1p(Exp(Neg(Abs(l)))))
		perSubpixel = Sub(softplus, Mul(levels, l))
	} else {
		labels := ConvertDType(levels, dtypes.Int32)
		oneHot := OneHot(labels, cfg.levels(), logits.DType())
		perSubpixel = Neg(ReduceSum(Mul(LogSoftmax(logits, -1), oneHot), -1))
	}
	return ReduceSum(perSubpixel, 1, 2, 3)
}

// BitsPerDim converts a NLL in nats per image of dims subpixels to bits per
// subpixel.
func BitsPerDim(natsPerImage float64, dims int) float64 {
	return natsPerImage / (float64(dims) * math.Ln2)
}
