// Package layers holds the convolution, upsampling and normalization layers
// shared by the catsynth models, built so that they train fast on both of
// GoMLX's backends.
//
// All images are channels-last: [batch, height, width, channels]. Kernels are
// [kernelHeight, kernelWidth, inChannels, outChannels].
//
// On CPUs, Conv2D avoids the backends' own strided convolutions. It lowers
// them to im2col (strided slices concatenated along the channels) followed
// by one MatMul, after space-to-depth for even kernels. The pure Go
// backend's own convolution is a serial loop, while its MatMul runs in
// parallel and, built with GOEXPERIMENT=simd, with AVX-512. On the pure Go
// backend the patches of stride-1 convolutions are copied by one
// GatherSlices, a kernel row of each window at a time (ConvGather), because
// its Slice copies one element at a time. On XLA,
// stride-1 convolutions use XLA's own (ConvHybrid), which measured faster
// than im2col there. Zero padding is built with Concatenate, which had a
// gradient before graph.Pad did (GoMLX v0.28.2). Crops use Pad on the pure
// Go backend (see cropAxes).
package layers

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// ConvImpl selects how Conv2D computes a convolution.
type ConvImpl int

const (
	// ConvAuto uses ConvNative on accelerators (a backend whose description
	// names CUDA, a GPU, ROCm or a TPU), ConvGather on the pure Go backend
	// and ConvHybrid elsewhere (XLA on CPU). On these 2-core CPUs the XLA DCGAN
	// step took 125 ms with ConvHybrid, 145 ms with ConvIm2col and about 400
	// ms with ConvNative, whose strided convolutions are slow. On the pure Go
	// backend ConvNative is a serial loop, about 10 times slower than im2col.
	ConvAuto ConvImpl = iota
	// ConvNative uses GoMLX's Convolve (the backend's ConvGeneral).
	ConvNative
	// ConvIm2col gathers the kernel's receptive fields into a matrix and
	// multiplies it by the reshaped kernel.
	ConvIm2col
	// ConvShift is ConvIm2col with the receptive fields of a stride-1
	// convolution gathered as row shifts of the flattened padded image
	// (see conv2DShift), and a custom input gradient built the same way.
	// Strided convolutions and 1x1 kernels are computed as with ConvIm2col.
	ConvShift
	// ConvHybrid runs stride-1 convolutions larger than 1x1 with the
	// backend's own convolution (see conv2DNativeStride1), and the others
	// as ConvIm2col: 1x1 kernels as one MatMul, stride-2 ones through
	// space-to-depth. Like ConvNative, it is for XLA and accelerators: on
	// the pure Go backend, whose convolution is a serial loop, a DCGAN step
	// took about 16 s.
	ConvHybrid
	// ConvGather is ConvIm2col with the receptive fields of a stride-1
	// convolution copied by one GatherSlices (see conv2DGather), and a
	// custom input gradient built the same way. Strided convolutions and
	// 1x1 kernels are computed as with ConvIm2col, and so are paddings
	// larger than the kernel less one.
	ConvGather
)

// String returns the name used in flags and benchmark tables.
func (impl ConvImpl) String() string {
	switch impl {
	case ConvAuto:
		return "auto"
	case ConvNative:
		return "native"
	case ConvIm2col:
		return "im2col"
	case ConvShift:
		return "shift"
	case ConvHybrid:
		return "hybrid"
	case ConvGather:
		return "gather"
	}
	return fmt.Sprintf("ConvImpl(%d)", int(impl))
}

// ParseConvImpl parses "auto", "native", "im2col", "shift", "gather" or
// "hybrid".
func ParseConvImpl(name string) (ConvImpl, error) {
	for _, impl := range []ConvImpl{ConvAuto, ConvNative, ConvIm2col, ConvShift, ConvGather, ConvHybrid} {
		if impl.String() == name {
			return impl, nil
		}
	}
	return ConvAuto, fmt.Errorf("layers: invalid convolution implementation %q: valid values are auto, native, im2col, shift, gather and hybrid", name)
}

// resolve turns ConvAuto into the implementation for g's backend.
func (impl ConvImpl) resolve(g *Graph) ConvImpl {
	if impl != ConvAuto {
		return impl
	}
	description := strings.ToLower(g.Backend().Description())
	for _, accelerator := range []string{"cuda", "gpu", "rocm", "tpu"} {
		if strings.Contains(description, accelerator) {
			return ConvNative
		}
	}
	if onGoBackend(g) {
		return ConvGather
	}
	return ConvHybrid
}

// ConvOutputSize returns the output length of a convolution along one axis:
// (size + 2*padding - kernel) / stride + 1.
func ConvOutputSize(size, kernel, stride, padding int) int {
	return (size+2*padding-kernel)/stride + 1
}

// Conv2D convolves x [batch, height, width, inChannels] with kernel
// [kernelHeight, kernelWidth, inChannels, outChannels], moving by stride and
// padding every side with `padding` zeros (PyTorch's Conv2d semantics).
// It returns [batch, outHeight, outWidth, outChannels], with the output sizes
// given by ConvOutputSize. It panics, as graph building functions do, on
// mismatched shapes or stride < 1.
func Conv2D(x, kernel *Node, stride, padding int, impl ConvImpl) *Node {
	if x.Rank() != 4 || kernel.Rank() != 4 {
		panic(fmt.Sprintf("layers.Conv2D: x and kernel must be rank 4, got x %s and kernel %s", x.Shape(), kernel.Shape()))
	}
	if x.Shape().Dim(3) != kernel.Shape().Dim(2) {
		panic(fmt.Sprintf("layers.Conv2D: x has %d channels but kernel expects %d (x %s, kernel %s)",
			x.Shape().Dim(3), kernel.Shape().Dim(2), x.Shape(), kernel.Shape()))
	}
	if stride < 1 || padding < 0 {
		panic(fmt.Sprintf("layers.Conv2D: stride must be >= 1 and padding >= 0, got stride %d and padding %d", stride, padding))
	}
	if ConvOutputSize(x.Shape().Dim(1), kernel.Shape().Dim(0), stride, padding) < 1 ||
		ConvOutputSize(x.Shape().Dim(2), kernel.Shape().Dim(1), stride, padding) < 1 {
		panic(fmt.Sprintf("layers.Conv2D: kernel %s with padding %d does not fit input %s", kernel.Shape(), padding, x.Shape()))
	}
	resolved := impl.resolve(x.Graph())
	if resolved == ConvNative {
		if stride == 1 {
			taps := kernel.Shape().Dim(0) * kernel.Shape().Dim(1)
			return conv2DNativeStride1(x, kernel, padding, padding, padding, padding, taps, false)
		}
		return conv2DNative(x, kernel, stride, padding)
	}
	return conv2DIm2col(x, kernel, stride, padding, kernel.Shape().Dim(0)*kernel.Shape().Dim(1), resolved)
}

// Conv2DPadded is a stride-1 Conv2D whose zero padding can differ per side:
// top, bottom, left and right rows or columns (each >= 0). It returns
// [batch, height+top+bottom-kh+1, width+left+right-kw+1, outChannels].
func Conv2DPadded(x, kernel *Node, top, bottom, left, right int, impl ConvImpl) *Node {
	taps := 0
	if kernel.Rank() == 4 {
		taps = kernel.Shape().Dim(0) * kernel.Shape().Dim(1)
	}
	return Conv2DPaddedTaps(x, kernel, top, bottom, left, right, taps, impl)
}

// Conv2DPaddedTaps is Conv2DPadded with only the kernel's first taps taps,
// in row-major (row, column) order, 1 <= taps <= kh*kw. The later taps
// count as zero and get a zero gradient. A causal kernel, such as a
// PixelCNN masked kernel cut below its centre row, is zero right of the
// centre in its last row, so a prefix holds all its nonzero taps. The im2col
// and row-shift implementations then gather and multiply only those taps:
// 5 of 6 for a masked 3x3 kernel, 24 or 25 of 28 for a masked 7x7 one.
func Conv2DPaddedTaps(x, kernel *Node, top, bottom, left, right, taps int, impl ConvImpl) *Node {
	if min(top, bottom, left, right) < 0 {
		panic(fmt.Sprintf("layers.Conv2DPadded: padding must be >= 0, got top %d, bottom %d, left %d, right %d", top, bottom, left, right))
	}
	if x.Rank() != 4 || kernel.Rank() != 4 || x.Shape().Dim(3) != kernel.Shape().Dim(2) {
		panic(fmt.Sprintf("layers.Conv2DPadded: x [batch, height, width, in] and kernel [kh, kw, in, out] do not match: x %s, kernel %s", x.Shape(), kernel.Shape()))
	}
	kernelTaps := kernel.Shape().Dim(0) * kernel.Shape().Dim(1)
	if taps < 1 || taps > kernelTaps {
		panic(fmt.Sprintf("layers.Conv2DPaddedTaps: taps must be in [1, %d] for kernel %s, got %d", kernelTaps, kernel.Shape(), taps))
	}
	paddedHeight, paddedWidth := x.Shape().Dim(1)+top+bottom, x.Shape().Dim(2)+left+right
	outHeight, outWidth := paddedHeight-kernel.Shape().Dim(0)+1, paddedWidth-kernel.Shape().Dim(1)+1
	if outHeight < 1 || outWidth < 1 {
		panic(fmt.Sprintf("layers.Conv2DPadded: kernel %s does not fit input %s with padding %d, %d, %d, %d", kernel.Shape(), x.Shape(), top, bottom, left, right))
	}
	oneByOne := kernelTaps == 1
	resolved := impl.resolve(x.Graph())
	switch {
	case resolved == ConvNative || (resolved == ConvHybrid && !oneByOne):
		return conv2DNativeStride1(x, kernel, top, bottom, left, right, taps, resolved == ConvHybrid && taps < kernelTaps)
	case resolved == ConvShift && !oneByOne &&
		shiftPays(x.Shape().Dim(0), paddedHeight, paddedWidth, outHeight, outWidth):
		return conv2DShift(x, kernel, top, bottom, left, right, taps)
	case resolved == ConvGather && !oneByOne &&
		gatherFits(kernel.Shape().Dim(0), kernel.Shape().Dim(1), top, bottom, left, right):
		return conv2DGather(x, kernel, top, bottom, left, right, taps)
	}
	return conv2DIm2col(ZeroPad2D(x, top, bottom, left, right), kernel, 1, 0, taps, resolved)
}

// tapWeights returns the first taps taps of kernel [kh, kw, in, out] as the
// MatMul weights [taps*in, out], rows in (row, column, in) order.
func tapWeights(kernel *Node, taps int) *Node {
	dims := kernel.Shape().Dimensions
	weights := Reshape(kernel, dims[0]*dims[1]*dims[2], dims[3])
	if taps == dims[0]*dims[1] {
		return weights
	}
	return Slice(weights, AxisRange(0, taps*dims[2]))
}

// zeroTapsFrom returns kernel [kh, kw, in, out] with its taps from index
// taps on (row-major) replaced by zeros.
func zeroTapsFrom(kernel *Node, taps int) *Node {
	dims := kernel.Shape().Dimensions
	if taps == dims[0]*dims[1] {
		return kernel
	}
	prefix := Reshape(tapWeights(kernel, taps), taps, dims[2], dims[3])
	return Reshape(padAxis(prefix, 0, 0, dims[0]*dims[1]-taps), dims...)
}

// conv2DNative computes Conv2D with GoMLX's Convolve. With ConvNative,
// Conv2D uses it for strides above 1, and conv2DNativeStride1 otherwise.
//
// NOTE: in GoMLX v0.28.2 the gradient of Convolve with respect to its input
// is shifted by one pixel for even kernel sizes (convVJPWrtX pads the reverse
// convolution by (k-1)/2 twice, where k-1 is needed). An even kernel is
// therefore extended by one row or column of zeros at its end, with one more
// row or column of padding at the end of the input. The output is the same,
// and the odd kernel gets a correct gradient.
func conv2DNative(x, kernel *Node, stride, padding int) *Node {
	paddings := [][2]int{{padding, padding}, {padding, padding}}
	for axis := range 2 {
		if kernel.Shape().Dim(axis)%2 == 0 {
			kernel = padAxis(kernel, axis, 0, 1)
			paddings[axis][1]++
		}
	}
	return Convolve(x, kernel).
		Strides(stride).
		PaddingPerDim(paddings).
		Done()
}

// conv2DIm2col computes Conv2D as one MatMul over the gathered patches of
// the kernel's first taps taps (see Conv2DPaddedTaps). Strides above 1 need
// taps = kh*kw. impl is ConvIm2col, ConvShift, ConvGather or ConvHybrid, which change
// how stride-1 convolutions larger than 1x1 are computed (see each).
func conv2DIm2col(x, kernel *Node, stride, padding, taps int, impl ConvImpl) *Node {
	batch := x.Shape().Dim(0)
	kernelHeight, kernelWidth := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	inChannels, outChannels := kernel.Shape().Dim(2), kernel.Shape().Dim(3)
	outHeight := ConvOutputSize(x.Shape().Dim(1), kernelHeight, stride, padding)
	outWidth := ConvOutputSize(x.Shape().Dim(2), kernelWidth, stride, padding)

	if kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 {
		// A 1x1 convolution is a MatMul over the channels.
		flat := Reshape(x, batch*outHeight*outWidth, inChannels)
		out := matMul(flat, Reshape(kernel, inChannels, outChannels))
		return Reshape(out, batch, outHeight, outWidth, outChannels)
	}

	if padding == 0 && taps == kernelHeight*kernelWidth &&
		kernelHeight == x.Shape().Dim(1) && kernelWidth == x.Shape().Dim(2) {
		// The kernel covers the whole image once, as the DCGAN
		// discriminator's last layer does: each image is one patch.
		flat := Reshape(x, batch, kernelHeight*kernelWidth*inChannels)
		out := matMul(flat, Reshape(kernel, kernelHeight*kernelWidth*inChannels, outChannels))
		return Reshape(out, batch, 1, 1, outChannels)
	}
	if stride == 2 && kernelHeight%2 == 0 && kernelWidth%2 == 0 {
		return conv2DSpaceToDepth(x, kernel, padding, outHeight, outWidth, impl)
	}
	if stride == 1 && impl == ConvHybrid {
		return conv2DNativeStride1(x, kernel, padding, padding, padding, padding, taps, false)
	}
	if stride == 1 && impl == ConvGather && gatherFits(kernelHeight, kernelWidth, padding, padding, padding, padding) {
		return conv2DGather(x, kernel, padding, padding, padding, padding, taps)
	}
	if stride == 1 && impl == ConvShift && shiftPays(batch, x.Shape().Dim(1)+2*padding, x.Shape().Dim(2)+2*padding, outHeight, outWidth) {
		return conv2DShift(x, kernel, padding, padding, padding, padding, taps)
	}

	padded := ZeroPad2D(x, padding, padding, padding, padding)
	var columns *Node // [batch*outHeight*outWidth, taps*inChannels]
	if stride == 1 {
		columns = tapColumns(padded, kernelWidth, taps, outHeight, outWidth)
	} else {
		patches := make([]*Node, taps)
		for tap := range taps {
			i, j := tap/kernelWidth, tap%kernelWidth
			rows := AxisRange(i, i+stride*(outHeight-1)+1).Stride(stride)
			cols := AxisRange(j, j+stride*(outWidth-1)+1).Stride(stride)
			patches[tap] = Slice(padded, AxisRange(), rows, cols, AxisRange())
		}
		// Column order (i, j, c) matches the row-major flattening of the kernel.
		columns = Reshape(concatenate(patches, 3), batch*outHeight*outWidth, taps*inChannels)
	}
	out := matMul(columns, tapWeights(kernel, taps)) // [batch*outHeight*outWidth, outChannels]
	return Reshape(out, batch, outHeight, outWidth, outChannels)
}

// tapColumns returns the im2col matrix [batch*outHeight*outWidth, taps*in]
// of a stride-1 convolution over padded [batch, height, width, in]. Each
// row contains, for one output pixel, the input under the first `taps`
// kernel taps in row-major order (kernelWidth taps per kernel row). The
// columns follow the row-major flattening of the kernel, (row, column, in).
func tapColumns(padded *Node, kernelWidth, taps, outHeight, outWidth int) *Node {
	windows := make([]map[int][2]int, taps)
	for tap := range taps {
		i, j := tap/kernelWidth, tap%kernelWidth
		windows[tap] = map[int][2]int{1: {i, i + outHeight}, 2: {j, j + outWidth}}
	}
	batch, inChannels := padded.Shape().Dim(0), padded.Shape().Dim(3)
	return Reshape(concatenate(cropsOf(padded, windows), 3), batch*outHeight*outWidth, taps*inChannels)
}

// conv2DSpaceToDepth computes a stride-2 convolution with an even kernel as
// a stride-1 convolution: every 2x2 block of the padded input becomes one
// pixel with 4x the channels, and the kernel [kh, kw, in, out] becomes
// [kh/2, kw/2, 4*in, out]. The gathered patches are the same size as in
// plain im2col. Their gradient, though, is 4 patches padded by one pixel
// instead of kh*kw patches padded back to the full input, and that padding
// was most of the discriminator's time on the Go backend.
func conv2DSpaceToDepth(x, kernel *Node, padding, outHeight, outWidth int, impl ConvImpl) *Node {
	batch, height, width := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	kernelHeight, kernelWidth := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	inChannels, outChannels := kernel.Shape().Dim(2), kernel.Shape().Dim(3)

	// Pad to even sizes; an extra row or column is cropped from the output.
	extraRow := (height + 2*padding) % 2
	extraCol := (width + 2*padding) % 2
	padded := ZeroPad2D(x, padding, padding+extraRow, padding, padding+extraCol)
	blocksHigh, blocksWide := (height+2*padding+extraRow)/2, (width+2*padding+extraCol)/2

	blocks := Reshape(padded, batch, blocksHigh, 2, blocksWide, 2, inChannels)
	blocks = TransposeAllAxes(blocks, 0, 1, 3, 2, 4, 5) // [batch, blocksHigh, blocksWide, 2, 2, in]
	blocks = Reshape(blocks, batch, blocksHigh, blocksWide, 4*inChannels)

	blockKernel := Reshape(kernel, kernelHeight/2, 2, kernelWidth/2, 2, inChannels, outChannels)
	blockKernel = TransposeAllAxes(blockKernel, 0, 2, 1, 3, 4, 5) // [kh/2, kw/2, 2, 2, in, out]
	blockKernel = Reshape(blockKernel, kernelHeight/2, kernelWidth/2, 4*inChannels, outChannels)

	out := conv2DIm2col(blocks, blockKernel, 1, 0, kernelHeight*kernelWidth/4, impl)
	if out.Shape().Dim(1) != outHeight || out.Shape().Dim(2) != outWidth {
		out = cropAxes(out, map[int][2]int{1: {0, outHeight}, 2: {0, outWidth}})
	}
	return out
}

// ZeroPad2D pads the two spatial axes of x [batch, height, width, channels]
// with zeros: top, bottom, left and right give the number of rows or columns
// added on each side. It is built with Concatenate (see the package
// documentation). On the pure Go backend its gradient is one crop of the
// output gradient (cropGradient): GoMLX's own gradient of Concatenate is a
// Slice per part, which that backend copies one element at a time.
func ZeroPad2D(x *Node, top, bottom, left, right int) *Node {
	pad := func(x *Node) *Node {
		return padAxis(padAxis(x, 1, top, bottom), 2, left, right)
	}
	if !onGoBackend(x.Graph()) || top+bottom+left+right == 0 {
		return pad(x)
	}
	original := map[int][2]int{1: {top, top + x.Shape().Dim(1)}, 2: {left, left + x.Shape().Dim(2)}}
	return withInputGradient(x, pad, func(_, v *Node) *Node {
		return cropGradient(v, original)
	})
}

// padAxis concatenates zero blocks before and after x along axis.
func padAxis(x *Node, axis, before, after int) *Node {
	if before == 0 && after == 0 {
		return x
	}
	parts := make([]*Node, 0, 3)
	zerosOfLength := func(n int) *Node {
		dims := x.Shape().Clone().Dimensions
		dims[axis] = n
		return Zeros(x.Graph(), shapes.Make(x.DType(), dims...))
	}
	if before > 0 {
		parts = append(parts, zerosOfLength(before))
	}
	parts = append(parts, x)
	if after > 0 {
		parts = append(parts, zerosOfLength(after))
	}
	return Concatenate(parts, axis)
}

// Upsample2x repeats every pixel of x [batch, height, width, channels] into a
// 2x2 block (nearest-neighbor upsampling), giving
// [batch, 2*height, 2*width, channels].
func Upsample2x(x *Node) *Node {
	dims := x.Shape().Dimensions
	batch, height, width, channels := dims[0], dims[1], dims[2], dims[3]
	expanded := Reshape(x, batch, height, 1, width, 1, channels)
	expanded = BroadcastToDims(expanded, batch, height, 2, width, 2, channels)
	return Reshape(expanded, batch, 2*height, 2*width, channels)
}

// UpConv2D doubles the spatial size of x [batch, height, width, inChannels]
// by nearest-neighbor upsampling and convolves the result with kernel
// [3, 3, inChannels, outChannels], stride 1 and padding 1. It returns
// [batch, 2*height, 2*width, outChannels].
//
// Unless impl is ConvNative it never builds the upsampled image. Output
// pixel (2i+a, 2j+b), of phase (a, b), reads only the 2x2 input pixels at
// rows i-1+a..i+a and columns j-1+b..j+b, because the upsampled 3x3 window
// covers each of them once or twice. So one 2x2 convolution of x padded by
// 1 gives all four phases, with a kernel [2, 2, inChannels, 4*outChannels]
// that sums the taps landing on the same input pixel. Phase (a, b) of
// output (i, j) is its output (i+a, j+b). That is 4 multiply-adds per
// output value and input channel instead of the 9 of the upsampled
// convolution.
func UpConv2D(x, kernel *Node, impl ConvImpl) *Node {
	if kernel.Shape().Dim(0) != 3 || kernel.Shape().Dim(1) != 3 {
		panic(fmt.Sprintf("layers.UpConv2D: kernel must be 3x3, got %s", kernel.Shape()))
	}
	resolved := impl.resolve(x.Graph())
	if resolved == ConvNative {
		return Conv2D(Upsample2x(x), kernel, 1, 1, impl)
	}
	dims := x.Shape().Dimensions
	batch, height, width := dims[0], dims[1], dims[2]
	inChannels, outChannels := kernel.Shape().Dim(2), kernel.Shape().Dim(3)

	// tapMap[a][e][r] is 1 when kernel row r of output phase a reads row e
	// of its 2x2 window: phase 0 reads rows (i-1, i, i) and phase 1 rows
	// (i, i, i+1) for kernel rows (0, 1, 2). Columns work the same way.
	tapMap := [2][2][3]float32{
		{{1, 0, 0}, {0, 1, 1}},
		{{1, 1, 0}, {0, 0, 1}},
	}
	// sums[(e, f, a, b), (r, c)] = tapMap[a][e][r] * tapMap[b][f][c], so
	// that sums times the kernel [9, in*out] is the phase kernel with axes
	// (e, f, a, b, in, out). One constant product replaces two Einsums,
	// whose gradients the pure Go backend ran as transposes that move the
	// last axis, one element at a time.
	sums := make([]float32, 16*9)
	for row := range 16 {
		e, f, a, b := row>>3, row>>2&1, row>>1&1, row&1
		for tap := range 9 {
			r, c := tap/3, tap%3
			sums[row*9+tap] = tapMap[a][e][r] * tapMap[b][f][c]
		}
	}
	tapSums := ConvertDType(Const(x.Graph(), tensors.FromFlatDataAndDimensions(sums, 16, 9)), x.DType())
	phaseKernel := MatMul(tapSums, Reshape(kernel, 9, inChannels*outChannels))
	phaseKernel = Reshape(phaseKernel, 2, 2, 2, 2, inChannels, outChannels)
	phaseKernel = TransposeAllAxes(phaseKernel, 0, 1, 4, 2, 3, 5)       // [2, 2, in, 2, 2, out]
	phaseKernel = Reshape(phaseKernel, 2, 2, inChannels, 4*outChannels) // [2, 2, in, 4*out]

	windows := conv2DIm2col(x, phaseKernel, 1, 1, 4, resolved) // [batch, height+1, width+1, 4*out]
	windows = Reshape(windows, batch, height+1, width+1, 2, 2, outChannels)
	ranges := make([]map[int][2]int, 0, 4)
	for a := range 2 {
		for b := range 2 {
			ranges = append(ranges, map[int][2]int{1: {a, a + height}, 2: {b, b + width}, 3: {a, a + 1}, 4: {b, b + 1}})
		}
	}
	crops := cropsOf(windows, ranges)
	phases := [2][2]*Node{{crops[0], crops[1]}, {crops[2], crops[3]}}
	return interleavePhases(phases)
}

// interleavePhases returns [batch, 2*height, 2*width, out] whose pixel
// (2i+a, 2j+b) is pixel (i, j) of phases[a][b], each [batch, height, width,
// 1, 1, out].
//
// The gradient of each phase is the matching crop of the output gradient,
// viewed as [batch, height, 2, width, 2, out]. GoMLX's own gradient of the
// Concatenates slices element by element on the pure Go backend.
func interleavePhases(phases [2][2]*Node) *Node {
	dims := phases[0][0].Shape().Dimensions
	batch, height, width, outChannels := dims[0], dims[1], dims[2], dims[5]
	var v *Node // gradient of the output, [batch, 2*height, 2*width, out], set during backpropagation
	rows := make([]*Node, 2)
	for a := range 2 {
		columns := make([]*Node, 2)
		for b := range 2 {
			phase := IdentityWithCustomGradient(phases[a][b], func(_, _ *Node) *Node {
				grid := Reshape(v, batch, height, 2, width, 2, outChannels)
				return Reshape(cropGradient(grid, map[int][2]int{2: {a, a + 1}, 4: {b, b + 1}}), batch, height, width, 1, 1, outChannels)
			})
			columns[b] = Reshape(phase, batch, height, width, 1, outChannels)
		}
		// Columns 2j and 2j+1 side by side: [batch, height, 1, 2*width, out].
		rows[a] = Reshape(Concatenate(columns, 3), batch, height, 1, 2*width, outChannels)
	}
	out := Reshape(Concatenate(rows, 2), batch, 2*height, 2*width, outChannels)
	// Backpropagation reaches this identity before the phases' identities,
	// so v is set when their gradients are built.
	return IdentityWithCustomGradient(out, func(_, outputGrad *Node) *Node {
		v = outputGrad
		return outputGrad
	})
}

// concatenate is Concatenate(parts, axis) whose gradient reaches each part
// as a crop of the output gradient (cropGradient), where GoMLX's own
// gradient is one Slice per part. axis must be >= 0.
func concatenate(parts []*Node, axis int) *Node {
	if !onGoBackend(parts[0].Graph()) {
		return Concatenate(parts, axis)
	}
	var v *Node // gradient of the output, set during backpropagation
	withGradients := make([]*Node, len(parts))
	start := 0
	for i, part := range parts {
		partRange := map[int][2]int{axis: {start, start + part.Shape().Dim(axis)}}
		start += part.Shape().Dim(axis)
		withGradients[i] = IdentityWithCustomGradient(part, func(_, _ *Node) *Node {
			return cropGradient(v, partRange)
		})
	}
	// Backpropagation reaches this identity before the parts' identities,
	// so v is set when their gradients are built.
	return IdentityWithCustomGradient(Concatenate(withGradients, axis), func(_, outputGrad *Node) *Node {
		v = outputGrad
		return outputGrad
	})
}
