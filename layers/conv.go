// Package layers holds the convolution, upsampling and normalization layers
// shared by the catsynth models, built so that they train fast on both of
// GoMLX's backends.
//
// All images are channels-last: [batch, height, width, channels]. Kernels are
// [kernelHeight, kernelWidth, inChannels, outChannels].
//
// GoMLX's native convolution is fast under XLA, but on the pure Go backend it
// is a direct loop without parallelism. There, Conv2D lowers the convolution
// to im2col (strided slices concatenated along the channels) followed by one
// MatMul, which the Go backend runs in parallel and, built with
// GOEXPERIMENT=simd, with AVX-512. Zero padding is built with Concatenate
// because graph.Pad has no gradient in GoMLX v0.28.2.
package layers

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// ConvImpl selects how Conv2D computes a convolution.
type ConvImpl int

const (
	// ConvAuto uses ConvIm2col on the pure Go backend ("go") and ConvNative
	// on every other backend.
	ConvAuto ConvImpl = iota
	// ConvNative uses GoMLX's Convolve (the backend's ConvGeneral).
	ConvNative
	// ConvIm2col gathers the kernel's receptive fields into a matrix and
	// multiplies it by the reshaped kernel.
	ConvIm2col
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
	}
	return fmt.Sprintf("ConvImpl(%d)", int(impl))
}

// ParseConvImpl parses "auto", "native" or "im2col".
func ParseConvImpl(name string) (ConvImpl, error) {
	for _, impl := range []ConvImpl{ConvAuto, ConvNative, ConvIm2col} {
		if impl.String() == name {
			return impl, nil
		}
	}
	return ConvAuto, fmt.Errorf("layers: invalid convolution implementation %q: valid values are auto, native and im2col", name)
}

// resolve turns ConvAuto into the implementation for g's backend.
func (impl ConvImpl) resolve(g *Graph) ConvImpl {
	if impl != ConvAuto {
		return impl
	}
	if g.Backend().String() == "go" {
		return ConvIm2col
	}
	return ConvNative
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
	if impl.resolve(x.Graph()) == ConvNative {
		return conv2DNative(x, kernel, stride, padding)
	}
	return conv2DIm2col(x, kernel, stride, padding)
}

// conv2DNative computes Conv2D with GoMLX's Convolve.
//
// NOTE: in GoMLX v0.28.2 the gradient of Convolve with respect to its input
// is shifted by one pixel for even kernel sizes (convVJPWrtX pads the reverse
// convolution by (k-1)/2 twice, where k-1 is needed). An even kernel is
// therefore extended by one row or column of zeros at its end, with one more
// row or column of padding at the end of the input: the output is the same,
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

// conv2DIm2col computes Conv2D as one MatMul over the gathered patches.
func conv2DIm2col(x, kernel *Node, stride, padding int) *Node {
	batch := x.Shape().Dim(0)
	kernelHeight, kernelWidth := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	inChannels, outChannels := kernel.Shape().Dim(2), kernel.Shape().Dim(3)
	outHeight := ConvOutputSize(x.Shape().Dim(1), kernelHeight, stride, padding)
	outWidth := ConvOutputSize(x.Shape().Dim(2), kernelWidth, stride, padding)

	if kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 {
		// A 1x1 convolution is a MatMul over the channels.
		flat := Reshape(x, batch*outHeight*outWidth, inChannels)
		out := MatMul(flat, Reshape(kernel, inChannels, outChannels))
		return Reshape(out, batch, outHeight, outWidth, outChannels)
	}

	padded := ZeroPad2D(x, padding, padding, padding, padding)
	patches := make([]*Node, 0, kernelHeight*kernelWidth)
	for i := range kernelHeight {
		for j := range kernelWidth {
			rows := AxisRange(i, i+stride*(outHeight-1)+1).Stride(stride)
			cols := AxisRange(j, j+stride*(outWidth-1)+1).Stride(stride)
			patches = append(patches, Slice(padded, AxisRange(), rows, cols, AxisRange()))
		}
	}
	// Column order (i, j, c) matches the row-major flattening of the kernel.
	columns := Concatenate(patches, -1) // [batch, outHeight, outWidth, kh*kw*inChannels]
	columns = Reshape(columns, batch*outHeight*outWidth, kernelHeight*kernelWidth*inChannels)
	weights := Reshape(kernel, kernelHeight*kernelWidth*inChannels, outChannels)
	out := MatMul(columns, weights) // [batch*outHeight*outWidth, outChannels]
	return Reshape(out, batch, outHeight, outWidth, outChannels)
}

// ZeroPad2D pads the two spatial axes of x [batch, height, width, channels]
// with zeros: top, bottom, left and right give the number of rows or columns
// added on each side. It is differentiable, unlike graph.Pad in GoMLX v0.28.2.
func ZeroPad2D(x *Node, top, bottom, left, right int) *Node {
	x = padAxis(x, 1, top, bottom)
	return padAxis(x, 2, left, right)
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
