package layers

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// gatherFits reports whether conv2DGather can compute a convolution with
// this kernel size and padding: its input gradient pads the output gradient
// by kernel-1-padding on each side, so no padding may exceed kernel-1.
func gatherFits(kernelHeight, kernelWidth, top, bottom, left, right int) bool {
	return max(top, bottom) <= kernelHeight-1 && max(left, right) <= kernelWidth-1
}

// conv2DGather computes a stride-1 convolution of x [batch, height, width,
// in] with the first taps taps of kernel [kh, kw, in, out] (see
// Conv2DPaddedTaps), after zero padding of top, bottom, left and right. It
// returns [batch, height+top+bottom-kh+1, width+left+right-kw+1, out].
// gatherFits must hold.
//
// Its patch matrix has one row per output pixel. Within a window, the kw
// taps of a kernel row are kw consecutive pixels of the padded image, so
// one GatherSlices copies each window as kh blocks of kw*in values (see
// windowRows). Row shifts (conv2DShift) and crops (im2col) copy every value
// twice, once into a shifted or cropped image and once into the patches,
// in blocks of in values. The taps after the first taps are multiplied as
// zeros: a masked 3x3 kernel cut below its centre row gathers 6 taps, one
// of them zero, where conv2DShift gathers 5.
//
// In a test graph on a 2-core Intel Xeon, the patches of PixelCNN's masked
// 3x3 layers ([16, 28, 28, 32]) took 1.7 to 2.9 ms, against 3.4 to 6.1 ms
// with row shifts or crops. Those of CycleGAN's residual blocks ([16, 16,
// 16, 64]) took 1.9 to 3.4 ms, against 4.6 to 6.3 ms.
//
// The input gradient is the same kind of convolution of the output
// gradient, with the kernel flipped (see gatherInputGradient).
func conv2DGather(x, kernel *Node, top, bottom, left, right, taps int) *Node {
	dims := x.Shape().Dimensions
	batch, height, width, inChannels := dims[0], dims[1], dims[2], dims[3]
	kernelHeight, kernelWidth := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	outChannels := kernel.Shape().Dim(3)
	outHeight := height + top + bottom - kernelHeight + 1
	outWidth := width + left + right - kernelWidth + 1
	kernel = zeroTapsFrom(kernel, taps)

	var v *Node // gradient of the product, [batch*outHeight*outWidth, out], set during backpropagation
	xWithGradient := IdentityWithCustomGradient(x, func(_, _ *Node) *Node {
		outputGrad := Reshape(v, batch, outHeight, outWidth, outChannels)
		return gatherInputGradient(outputGrad, kernel, top, bottom, left, right)
	})
	// Every axis gets a PadAxis: GoMLX v0.28.16 builds a wrong-shaped
	// gradient for a Pad that leaves its last axes out.
	padded := Pad(xWithGradient, padFill(x), PadAxis{}, PadAxis{Start: top, End: bottom}, PadAxis{Start: left, End: right}, PadAxis{})
	patches := windowRows(padded, kernelHeight, kernelWidth, outHeight, outWidth)
	weights := Reshape(kernel, kernelHeight*kernelWidth*inChannels, outChannels)
	out := patchProduct(patches, weights, &v)
	return Reshape(out, batch, outHeight, outWidth, outChannels)
}

// gatherInputGradient returns the gradient with respect to x of
// conv2DGather(x, kernel, top, bottom, left, right, ...), given v [batch,
// outHeight, outWidth, out], the gradient of its output: [batch, height,
// width, in].
//
// Input pixel (y, x) received v(y+top-i, x+left-j) times tap (i, j). With v
// padded by kh-1-top rows on top, kh-1-bottom below, kw-1-left columns on
// the left and kw-1-right on the right, that is the window at (y, x) times
// the kernel flipped in both axes, with in and out swapped.
func gatherInputGradient(v, kernel *Node, top, bottom, left, right int) *Node {
	kernelHeight, kernelWidth := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	inChannels, outChannels := kernel.Shape().Dim(2), kernel.Shape().Dim(3)
	padded := Pad(v, padFill(v), PadAxis{},
		PadAxis{Start: kernelHeight - 1 - top, End: kernelHeight - 1 - bottom},
		PadAxis{Start: kernelWidth - 1 - left, End: kernelWidth - 1 - right}, PadAxis{})
	batch := v.Shape().Dim(0)
	height := padded.Shape().Dim(1) - kernelHeight + 1
	width := padded.Shape().Dim(2) - kernelWidth + 1
	patches := windowRows(padded, kernelHeight, kernelWidth, height, width)
	// The flipped kernel is the product's right operand, laid out [in,
	// kh*kw*out]. Its transpose keeps the last axis in place, which the pure
	// Go backend copies in blocks. Swapping in and out would move the last
	// axis, which it copies one element at a time.
	flipped := TransposeAllAxes(Reverse(kernel, 0, 1), 2, 0, 1, 3) // [in, kh, kw, out]
	flipped = Reshape(flipped, inChannels, kernelHeight*kernelWidth*outChannels)
	grad := DotGeneral(patches, []int{1}, nil, flipped, []int{1}, nil)
	return Reshape(grad, batch, height, width, inChannels)
}

// windowRows returns the patch matrix of the stride-1 windows of kh x kw
// pixels of padded [batch, hp, wp, c] whose top-left corners are the first
// outHeight rows and outWidth columns: [batch*outHeight*outWidth,
// kh*kw*c], columns in (row, column, channel) order. It is one
// GatherSlices over the flattened image, [batch*hp*wp, c]: for each window
// and kernel row, kw consecutive pixels.
func windowRows(padded *Node, kernelHeight, kernelWidth, outHeight, outWidth int) *Node {
	dims := padded.Shape().Dimensions
	batch, paddedHeight, paddedWidth, channels := dims[0], dims[1], dims[2], dims[3]
	column := Reshape(padded, batch*paddedHeight*paddedWidth, channels)
	starts := make([]int32, 0, batch*outHeight*outWidth*kernelHeight)
	for b := range batch {
		for h := range outHeight {
			for w := range outWidth {
				for i := range kernelHeight {
					starts = append(starts, int32((b*paddedHeight+h+i)*paddedWidth+w))
				}
			}
		}
	}
	start := Const(padded.Graph(), tensors.FromFlatDataAndDimensions(starts, batch*outHeight*outWidth, kernelHeight, 1))
	windows := GatherSlices(column, []int{0}, start, []int{kernelWidth}, true) // [rows, kh, kw, c]
	return Reshape(windows, batch*outHeight*outWidth, kernelHeight*kernelWidth*channels)
}
