package layers

import (
	. "github.com/gomlx/gomlx/core/graph"
)

// conv2DNativeStride1 computes a stride-1 convolution of x [batch, height,
// width, in] with the first taps taps (row-major) of kernel [kh, kw, in,
// out], zero padded by top, bottom, left and right, with the backend's own
// convolution (GoMLX's Convolve). The later taps count as zero and get a
// zero gradient. It returns [batch, height+top+bottom-kh+1,
// width+left+right-kw+1, out].
//
// The input gradient is built here rather than by GoMLX, whose gradient is
// shifted for even kernels (see conv2DNative). It is the convolution of
// the output gradient with the kernel flipped in both spatial axes and its
// channel axes swapped, padded by kh-1-top above, kh-1-bottom below,
// kw-1-left and kw-1-right. So even kernels, such as PixelCNN's masked
// [4, 7] and [2, 3] and the 2x2 kernels after space-to-depth, need no
// extra row or column of zeros.
//
// With patchGradient, the kernel gradient is built here too, from the
// input's patches (see kernelGradientFromPatches). Otherwise GoMLX's
// kernel gradient, which is correct, is used as is.
func conv2DNativeStride1(x, kernel *Node, top, bottom, left, right, taps int, patchGradient bool) *Node {
	kernelHeight, kernelWidth := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	used := zeroTapsFrom(kernel, taps)
	convolve := func(x, kernel *Node) *Node {
		// The padding is built outside Convolve: with it inside, GoMLX fails
		// to build its own (unused) input gradient for some even kernels.
		return Convolve(ZeroPad2D(x, top, bottom, left, right), kernel).Done()
	}
	inputGradient := func(_, v *Node) *Node {
		flipped := TransposeAllAxes(Reverse(used, 0, 1), 0, 1, 3, 2) // [kh, kw, out, in]
		return Convolve(v, flipped).
			PaddingPerDim([][2]int{
				{kernelHeight - 1 - top, kernelHeight - 1 - bottom},
				{kernelWidth - 1 - left, kernelWidth - 1 - right},
			}).
			Done()
	}
	inChannels, outChannels := kernel.Shape().Dim(2), kernel.Shape().Dim(3)
	if !patchGradient || taps*inChannels < patchGradientMinSide || outChannels < patchGradientMinSide {
		return withInputGradient(x, func(x *Node) *Node { return convolve(x, used) }, inputGradient)
	}
	kernelGradient := func(_, v *Node) *Node {
		// The barrier ties x to v, so that XLA cuts the patches during
		// backpropagation. Without it, XLA cut every layer's patches early
		// and held them. The PixelCNN 32x32x3 step's peak resident memory
		// then reached 2216 MiB (3 runs), against 1767 to 1780 MiB with
		// the barrier and about 1740 MiB before patches.
		barrier := OptimizationBarriers(x, v)
		input, outputGradient := barrier[0], barrier[1]
		return kernelGradientFromPatches(ZeroPad2D(input, top, bottom, left, right), outputGradient, kernelHeight, kernelWidth, taps)
	}
	return withInputGradient(x, func(x *Node) *Node {
		return withInputGradient(kernel, func(kernel *Node) *Node {
			return convolve(x, zeroTapsFrom(kernel, taps))
		}, kernelGradient)
	}, inputGradient)
}

// patchGradientMinSide is the fewest rows and columns that the kernel
// gradient [taps*in, out] must have for conv2DNativeStride1 to build it
// from patches. In PixelCNN 28x28x1 h64, whose masked 3x3 convolutions
// give [160, 32] and whose 7x7 input layer gives [24, 64], patches for
// every convolution made the step slower on XLA (medians of 151.6 against
// 119.5 ms, 6 runs of each).
const patchGradientMinSide = 64

// kernelGradientFromPatches returns the gradient [kh, kw, in, out] of a
// stride-1 convolution's kernel, for the padded input padded [batch,
// paddedHeight, paddedWidth, in] and the output gradient v [batch,
// outHeight, outWidth, out], with the taps from index taps on zero. It
// computes weightGradient of tapColumns (the im2col matrix of the first
// `taps` taps) and v: one product a^T @ v that contracts the pixels, which
// XLA runs through oneDNN (see backend.OneDNNFlag).
//
// XLA's own kernel gradient first transposes both operands, then runs a
// convolution whose window is the whole image, and computes the zero taps
// too. In a PixelCNN 32x32x3 h128 step on XLA, where the 15 masked 3x3
// convolutions and the 7x7 input layer take these patches, stopping the
// masked 3x3 kernels' gradients alone saved about 30% of the step. With
// the patches the step took 486.9 against 567.7 ms (medians of 6 runs of
// each in ABBA order, on 2 cores), and 0.86 and 0.92 of the old step in two
// earlier sets. With the optimization barrier of conv2DNativeStride1, it
// took 427.3 against 551.6 ms (6 runs of each).
//
// Only Conv2DPaddedTaps with taps below kh*kw requests it (PixelCNN's
// masked convolutions). The other models' stride-1 convolutions keep XLA's
// gradient: with patches for them too, CycleGAN's step on a loaded host
// was 0.996, 1.22 and 1.02 of the old step in three sets, within the
// noise.
func kernelGradientFromPatches(padded, v *Node, kernelHeight, kernelWidth, taps int) *Node {
	batch, outHeight, outWidth, outChannels := v.Shape().Dim(0), v.Shape().Dim(1), v.Shape().Dim(2), v.Shape().Dim(3)
	inChannels := padded.Shape().Dim(3)
	columns := tapColumns(padded, kernelWidth, taps, outHeight, outWidth)
	gradient := weightGradient(columns, Reshape(v, batch*outHeight*outWidth, outChannels)) // [taps*in, out]
	gradient = padAxis(Reshape(gradient, taps, inChannels, outChannels), 0, 0, kernelHeight*kernelWidth-taps)
	return Reshape(gradient, kernelHeight, kernelWidth, inChannels, outChannels)
}
