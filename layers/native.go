package layers

import (
	. "github.com/gomlx/gomlx/core/graph"
)

// conv2DNativeStride1 computes a stride-1 convolution of x [batch, height,
// width, in] with kernel [kh, kw, in, out], zero padded by top, bottom,
// left and right, with the backend's own convolution (GoMLX's Convolve).
// It returns [batch, height+top+bottom-kh+1, width+left+right-kw+1, out].
//
// The input gradient is built here rather than by GoMLX, whose gradient is
// shifted for even kernels (see conv2DNative). It is the convolution of
// the output gradient with the kernel flipped in both spatial axes and its
// channel axes swapped, padded by kh-1-top above, kh-1-bottom below,
// kw-1-left and kw-1-right. So even kernels, such as PixelCNN's masked
// [4, 7] and [2, 3] and the 2x2 kernels after space-to-depth, need no
// extra row or column of zeros. GoMLX's kernel gradient is correct and is
// used as is.
func conv2DNativeStride1(x, kernel *Node, top, bottom, left, right int) *Node {
	kernelHeight, kernelWidth := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	convolve := func(x *Node) *Node {
		// The padding is built outside Convolve: with it inside, GoMLX fails
		// to build its own (unused) input gradient for some even kernels.
		return Convolve(ZeroPad2D(x, top, bottom, left, right), kernel).Done()
	}
	inputGradient := func(_, v *Node) *Node {
		flipped := TransposeAllAxes(Reverse(kernel, 0, 1), 0, 1, 3, 2) // [kh, kw, out, in]
		return Convolve(v, flipped).
			PaddingPerDim([][2]int{
				{kernelHeight - 1 - top, kernelHeight - 1 - bottom},
				{kernelWidth - 1 - left, kernelWidth - 1 - right},
			}).
			Done()
	}
	return withInputGradient(x, convolve, inputGradient)
}
