package layers

import (
	. "github.com/gomlx/gomlx/core/graph"
)

// simdLanes is the number of float32 values in one AVX-512 register.
const simdLanes = 16

// onGoBackend reports whether g runs on GoMLX's pure Go backend, whose ops
// several layers here build differently.
func onGoBackend(g *Graph) bool {
	return g.Backend().String() == "go"
}

// BroadcastTo returns v, whose shape broadcasts to x's, ready for a binary
// op with x. Examples are biases [channels] against [batch, height, width,
// channels], and [batch, height, width, 1] against [batch, height, width,
// 3]. v is expanded to x's rank. On the pure Go backend it is also
// broadcast to x's full shape when the op would run in rows whose length
// is not a multiple of 16 (see rowLength).
//
// NOTE: gomlx/compute v0.1.14 adds, multiplies or subtracts such a
// broadcast row by row with AVX-512, and loads each row's last partial
// vector with Go 1.27.3's simd/archsimd LoadFloat32x16Part. That function
// loads all 16 values and masks them afterwards, so it reads past the end
// of the row. For the last row it reads past the end of the buffer, and a
// CycleGAN step crashed with a segmentation fault there (adding the
// 3-channel output layer's biases). With v broadcast first, the op runs on
// two operands of the same shape, and only the buffer's own end can be a
// partial vector. The broadcast must start from a lower rank than x's (see
// broadcastFromLowerRank). From x's rank, the backend removed it, and a
// CycleGAN test crashed the same way.
func BroadcastTo(v, x *Node) *Node {
	v = ExpandLeftToRank(v, x.Rank())
	if !onGoBackend(x.Graph()) || v.Shape().Equal(x.Shape()) || v.Shape().Size() == 1 {
		return v
	}
	if rowLength(v, x)%simdLanes == 0 {
		return v
	}
	return broadcastFromLowerRank(v, x)
}

// broadcastFromLowerRank returns v [x's rank] broadcast to x's shape by
// one BroadcastInDim from v without its broadcast axes. The Go backend's
// ImplicitBroadcastFusion pass hands a BroadcastInDim's operand straight to
// the binary op that reads it when the two have the same rank, which
// would undo a broadcast of v itself. From a lower rank it keeps the
// broadcast.
func broadcastFromLowerRank(v, x *Node) *Node {
	var keptDims, expanded []int
	for axis := range x.Rank() {
		if v.Shape().Dim(axis) == x.Shape().Dim(axis) {
			keptDims = append(keptDims, v.Shape().Dim(axis))
		} else {
			expanded = append(expanded, axis)
		}
	}
	return ExpandAndBroadcast(Reshape(v, keptDims...), x.Shape().Dimensions, expanded)
}

// rowLength returns the length of the rows in which the backend combines x
// with v. When v's last axis matches x's, a row spans x's last axes where v
// matches x. Otherwise it spans x's last axes along which v repeats.
func rowLength(v, x *Node) int {
	last := x.Rank() - 1
	matches := v.Shape().Dim(last) == x.Shape().Dim(last)
	length := 1
	for axis := last; axis >= 0; axis-- {
		same := v.Shape().Dim(axis) == x.Shape().Dim(axis)
		if same != matches || (!matches && v.Shape().Dim(axis) != 1) {
			break
		}
		length *= x.Shape().Dim(axis)
	}
	return length
}
