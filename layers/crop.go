package layers

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph"
)

// cropAxes keeps x[start:end] along each axis of ranges, a map from an axis
// to its {start, end}, with end exclusive. Other axes are kept whole.
//
// On the pure Go backend it copies with a Pad of negative amounts. That
// Pad copies contiguous blocks, while Slice copies one element at a time.
// In a test graph of 20 crops of [17, 18, 18, 64] inputs, each with an
// add and a sum, Slice took 7.0 ms and Pad 1.8 ms. The gradient pads the
// output gradient back with zeros, again one Pad.
//
// NOTE: GoMLX v0.28.16 builds a wrong-shaped gradient for a Pad with
// negative amounts and panics, even where a custom gradient replaces it.
// So the Pad reads a StopGradient copy of x, and a zero computed from one
// element of x is added to the result, which gives backpropagation its
// path to x's custom gradient. The sum costs one pass over the output, at
// AVX-512 speed. Other backends get a plain Slice.
func cropAxes(x *Node, ranges map[int][2]int) *Node {
	return cropsOf(x, []map[int][2]int{ranges})[0]
}

// cropsOf returns one cropAxes of x per entry of ranges. On the pure Go
// backend x gets one custom gradient for all the crops, the sum of their
// output gradients padded back. One cropAxes per crop would wrap x in one
// identity per crop, and the pure Go backend copies x for each identity but
// the last, since x is still read by the others.
func cropsOf(x *Node, ranges []map[int][2]int) []*Node {
	crops := make([]*Node, len(ranges))
	if !onGoBackend(x.Graph()) {
		for i, r := range ranges {
			crops[i] = Slice(x, axisRanges(x, r)...)
		}
		return crops
	}

	fill := padFill(x)
	gradients := make([]*Node, len(ranges)) // of each crop, set during backpropagation
	uncrops := make([][]PadAxis, len(ranges))
	xWithGradient := IdentityWithCustomGradient(x, func(_, _ *Node) *Node {
		var sum *Node
		for i, v := range gradients {
			if v == nil {
				continue
			}
			padded := Pad(v, fill, uncrops[i]...)
			if sum == nil {
				sum = padded
			} else {
				sum = Add(sum, padded)
			}
		}
		if sum == nil {
			return ZerosLike(x)
		}
		return sum
	})

	// As in cropAxes, each Pad reads a StopGradient copy, and a zero
	// computed from one element gives backpropagation its path to x.
	first := make([]SliceAxisSpec, x.Rank())
	for axis := range first {
		first[axis] = AxisElem(0)
	}
	element := Slice(xWithGradient, first...)
	// Where with a constant true condition gives exactly 0, even when x
	// holds NaN or Inf, and still has a gradient path to x.
	link := Reshape(Where(Const(x.Graph(), true), ZerosLike(element), element))

	for i, r := range ranges {
		crop, uncrop := cropConfigs(x, r)
		uncrops[i] = uncrop
		// Backpropagation reaches this identity before xWithGradient, its
		// input's input, so gradients[i] is set when x's gradient is built.
		crops[i] = IdentityWithCustomGradient(Add(Pad(StopGradient(xWithGradient), fill, crop...), link),
			func(_, outputGrad *Node) *Node {
				gradients[i] = outputGrad
				return outputGrad
			})
	}
	return crops
}

// cropGradient crops v as cropAxes does, in graphs that are not
// differentiated, such as the gradients built by hand in this package. It
// is a Pad of negative amounts on the pure Go backend and a Slice elsewhere.
func cropGradient(v *Node, ranges map[int][2]int) *Node {
	if !onGoBackend(v.Graph()) {
		return Slice(v, axisRanges(v, ranges)...)
	}
	crop, _ := cropConfigs(v, ranges)
	return Pad(v, padFill(v), crop...)
}

// padFill returns the value that the pure Go backend's Pads here fill with,
// a zero of x's dtype: negative zero for floats, else 0.
//
// gomlx/compute v0.1.14 fills a Pad's output before it copies the operand
// in. For a fill value whose bytes are all zero it stores one element at a
// time, for any other value it copies with memmove. Those stores took 9% of
// the CPU time of CycleGAN's step on the Go backend. In a test graph on a
// 2-core Intel Xeon, a crop of [16, 18, 18, 64] to [16, 16, 16, 64] took
// 134 µs with negative zero against 225 to 271 µs with zero. Padding it
// back took 230 to 277 µs against 328 to 349 µs.
//
// A crop overwrites every element it filled, so its fill value does not
// matter. Where a Pad pads (in the crop gradients, and the images and
// gradients that conv2DGather pads), negative zero equals zero in every
// comparison and sum, so results can only differ in the sign of some
// zeros.
func padFill(x *Node) *Node {
	if !x.DType().IsFloat() {
		return ScalarZero(x.Graph(), x.DType())
	}
	return ConstAsDType(x.Graph(), x.DType(), math.Copysign(0, -1))
}

// cropConfigs returns the Pad configurations that crop x to ranges and
// that pad the result back to x's shape.
func cropConfigs(x *Node, ranges map[int][2]int) (crop, uncrop []PadAxis) {
	crop = make([]PadAxis, x.Rank())
	uncrop = make([]PadAxis, x.Rank())
	for axis, r := range ranges {
		before, after := r[0], x.Shape().Dim(axis)-r[1]
		crop[axis] = PadAxis{Start: -before, End: -after}
		uncrop[axis] = PadAxis{Start: before, End: after}
	}
	return crop, uncrop
}

// axisRanges turns ranges into Slice specifications for every axis of x.
func axisRanges(x *Node, ranges map[int][2]int) []SliceAxisSpec {
	specs := make([]SliceAxisSpec, x.Rank())
	for axis := range specs {
		specs[axis] = AxisRange()
		if r, found := ranges[axis]; found {
			specs[axis] = AxisRange(r[0], r[1])
		}
	}
	return specs
}
