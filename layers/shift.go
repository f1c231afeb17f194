package layers

import (
	. "github.com/gomlx/gomlx/core/graph"
)

// conv2DShift computes a stride-1 convolution of x [batch, height, width,
// in] with the first taps taps of kernel [kh, kw, in, out] (see
// Conv2DPaddedTaps), after zero padding of top, bottom, left and right, as
// ConvShift describes. It returns [batch, height+top+bottom-kh+1,
// width+left+right-kw+1, out].
//
// The padded images are flattened into one column of pixels, [batch*hp*wp,
// in] for the padded sizes hp and wp. In that column, tap (i, j) of every
// output pixel is the pixel i*wp+j rows further down, so each tap's patch
// matrix is the column shifted by a whole number of rows. A shift is a
// Concatenate with a block of zeros, which the pure Go backend runs as a few
// large copies, unlike the element-by-element Slice of plain im2col.
//
// Output row p holds the window whose last tap is padded pixel p. The rows
// of windows that cross an image's border are computed and dropped by one
// crop at the end. The input gradient is a convolution of the output
// gradient built the same way (see shiftInputGradient). So each direction
// runs one crop instead of one Slice per tap.
func conv2DShift(x, kernel *Node, top, bottom, left, right, taps int) *Node {
	dims := x.Shape().Dimensions
	batch, height, width, inChannels := dims[0], dims[1], dims[2], dims[3]
	kernelHeight, kernelWidth := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	outChannels := kernel.Shape().Dim(3)
	paddedHeight, paddedWidth := height+top+bottom, width+left+right
	canvas := paddedHeight * paddedWidth // rows per image in the column
	lastTap := (kernelHeight-1)*paddedWidth + kernelWidth - 1
	weights := tapWeights(kernel, taps)

	var v *Node // gradient of the product, [(batch+1)*canvas, out], set during backpropagation
	xWithGradient := IdentityWithCustomGradient(x, func(_, _ *Node) *Node {
		return shiftInputGradient(v, weights, batch, inChannels, kernelWidth, paddedHeight, paddedWidth, lastTap,
			top, left, height, width)
	})
	column := Reshape(ZeroPad2D(xWithGradient, top, bottom, left, right), batch*canvas, inChannels)
	shifted := make([]*Node, 0, taps)
	for tap := range taps {
		offset := tapOffset(tap, kernelWidth, paddedWidth)
		// Row p of this block is column row p - lastTap + offset. The block
		// has one image more than the column, (batch+1)*canvas rows, so
		// that the output reshapes into whole images.
		shifted = append(shifted, padAxis(column, 0, lastTap-offset, canvas-lastTap+offset))
	}
	patches := Concatenate(shifted, -1) // [(batch+1)*canvas, taps*in], column order (i, j, c)
	out := patchProduct(patches, weights, &v)
	out = Reshape(out, batch+1, paddedHeight, paddedWidth, outChannels)
	return cropAxes(out, map[int][2]int{0: {0, batch}, 1: {kernelHeight - 1, paddedHeight}, 2: {kernelWidth - 1, paddedWidth}})
}

// maxShiftOverhead bounds the extra MatMul rows that conv2DShift may
// compute: the rows of windows that cross a border, and one image more.
// With bounds of 1.15 (few layers qualify), 1.3, 1.6 and 3 (every layer,
// 4x4 ones included), the DCGAN step on the Go backend of gomlx/compute
// v0.1.2 took 411, 377, 380 and 411 ms, and the PixelCNN 28x28x1 step 577,
// 479, 472 and 520 ms. With v0.1.14, 1.3 and 1.6 gave 238 and 248 ms for
// DCGAN, and 98 and 111 ms for the VAE.
//
// Layers just above the bound, such as CycleGAN's residual blocks
// (16x16x64 outputs, 1.34), once used shifts too, while im2col's crops
// were differentiated through Slices. Since they are differentiated
// through Pad (see cropsOf and concatenate), im2col is the faster of the
// two for them: CycleGAN's step took 520 to 550 ms against 534 to 565 in
// alternating runs on the Go backend.
const maxShiftOverhead = 1.3

// shiftPays reports whether conv2DShift is worth its extra MatMul rows for
// padded images of paddedHeight x paddedWidth and outputs of outHeight x
// outWidth. It is when the rows are at most maxShiftOverhead times those
// of plain im2col. Small images have mostly border windows: 4x4 outputs of
// a 3x3 kernel cost (17*36)/(16*16) = 2.4 times the rows.
func shiftPays(batch, paddedHeight, paddedWidth, outHeight, outWidth int) bool {
	rows := float64((batch + 1) * paddedHeight * paddedWidth)
	return rows <= maxShiftOverhead*float64(batch*outHeight*outWidth)
}

// shiftInputGradient returns the gradient of conv2DShift with respect to
// its unpadded input, [batch, height, width, in], given v, the gradient of
// the product [(batch+1)*canvas, out], and the weights [taps*in, out].
//
// It is itself a convolution: column row q collects v at row q + lastTap -
// offset of every tap, times that tap's weights transposed. v is shifted
// once per tap, as in the forward pass, and one MatMul sums the taps.
func shiftInputGradient(v, weights *Node, batch, inChannels, kernelWidth, paddedHeight, paddedWidth, lastTap,
	top, left, height, width int) *Node {
	canvas := paddedHeight * paddedWidth
	outChannels := weights.Shape().Dim(1)
	taps := weights.Shape().Dim(0) / inChannels
	shifted := make([]*Node, 0, taps)
	for tap := range taps {
		offset := tapOffset(tap, kernelWidth, paddedWidth)
		// Row canvas + q of this block is v's row q + lastTap - offset, so
		// column row q lands one image further down, in [(batch+2)*canvas, out].
		shifted = append(shifted, padAxis(v, 0, canvas-lastTap+offset, lastTap-offset))
	}
	patches := Concatenate(shifted, -1) // [(batch+2)*canvas, taps*out]
	transposed := TransposeAllAxes(Reshape(weights, taps, inChannels, outChannels), 0, 2, 1)
	grad := MatMul(patches, Reshape(transposed, taps*outChannels, inChannels)) // [(batch+2)*canvas, in]
	grad = Reshape(grad, batch+2, paddedHeight, paddedWidth, inChannels)
	return cropGradient(grad, map[int][2]int{0: {1, batch + 1}, 1: {top, top + height}, 2: {left, left + width}})
}

// tapOffset returns the distance from a kernel's first tap to its tap
// number tap (row-major, kernelWidth taps per row), in pixels of the
// flattened padded image, whose rows are paddedWidth pixels long.
func tapOffset(tap, kernelWidth, paddedWidth int) int {
	return (tap/kernelWidth)*paddedWidth + tap%kernelWidth
}
