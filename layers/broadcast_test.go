package layers

import (
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/internal/testutil"
)

// TestBroadcastToShapes checks which operands BroadcastTo broadcasts in full
// on the Go backend: those combined in rows whose length is not a multiple
// of 16.
func TestBroadcastToShapes(t *testing.T) {
	backend := testutil.GoBackend(t)
	for _, c := range []struct {
		name string
		v, x []int
		want []int
	}{
		{"biases of 3 channels", []int{3}, []int{2, 4, 4, 3}, []int{2, 4, 4, 3}},
		{"biases of 32 channels", []int{32}, []int{2, 4, 4, 32}, []int{1, 1, 1, 32}},
		{"pixel mean of 3 channels", []int{2, 4, 4, 1}, []int{2, 4, 4, 3}, []int{2, 4, 4, 3}},
		{"per-image value", []int{2, 1, 1, 1}, []int{2, 4, 4, 3}, []int{2, 1, 1, 1}},
		{"scalar", []int{1, 1, 1, 1}, []int{2, 4, 4, 3}, []int{1, 1, 1, 1}},
	} {
		got := broadcastShape(t, backend, c.v, c.x)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: BroadcastTo(%v, %v) has shape %v, want %v", c.name, c.v, c.x, got, c.want)
		}
	}
}

// TestBroadcastToAddsLikeImplicitBroadcast compares x + BroadcastTo(v, x)
// with GoMLX's own broadcast of v, for 3-channel biases.
func TestBroadcastToAddsLikeImplicitBroadcast(t *testing.T) {
	backend := testutil.GoBackend(t)
	x := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 1, 2, 2, 3)
	biases := tensors.FromValue([]float32{100, 200, 300})
	outputs := MustExecOnceN(backend, func(x, v *Node) []*Node {
		return []*Node{Add(x, BroadcastTo(v, x)), Add(x, ExpandLeftToRank(v, 4))}
	}, x, biases)
	got, want := tensors.MustCopyFlatData[float32](outputs[0]), tensors.MustCopyFlatData[float32](outputs[1])
	if !slices.Equal(got, want) {
		t.Errorf("x + BroadcastTo(biases, x) = %v, want %v", got, want)
	}
}

func broadcastShape(t *testing.T, backend compute.Backend, v, x []int) []int {
	t.Helper()
	out := MustExecOnceN(backend, func(v, x *Node) []*Node {
		// MulScalar makes the output a new node where v is returned as it is.
		return []*Node{MulScalar(BroadcastTo(v, x), 1)}
	}, tensors.FromShape(shapes.Make(dtypes.Float32, v...)), tensors.FromShape(shapes.Make(dtypes.Float32, x...)))
	return out[0].Shape().Dimensions
}

// TestBroadcastToKeepsLowerRankOperand checks that a full broadcast is one
// BroadcastInDim from an operand of lower rank than x. The Go backend's
// ImplicitBroadcastFusion pass removes a BroadcastInDim from an operand of
// x's rank, and the binary op then reads v row by row past its end.
func TestBroadcastToKeepsLowerRankOperand(t *testing.T) {
	backend := testutil.GoBackend(t)
	for _, c := range []struct {
		name string
		v, x []int
	}{
		{"biases of 3 channels", []int{3}, []int{2, 4, 4, 3}},
		{"pixel mean of 3 channels", []int{2, 4, 4, 1}, []int{2, 4, 4, 3}},
	} {
		g := NewGraph(backend, c.name)
		v := Parameter(g, "v", shapes.Make(dtypes.Float32, c.v...))
		x := Parameter(g, "x", shapes.Make(dtypes.Float32, c.x...))
		out := BroadcastTo(v, x)
		if out.Type() != NodeTypeBroadcastInDim {
			t.Errorf("%s: BroadcastTo returned a %s node, want BroadcastInDim", c.name, out.Type())
			continue
		}
		if rank := out.Inputs()[0].Rank(); rank >= x.Rank() {
			t.Errorf("%s: BroadcastInDim from rank %d, want below %d", c.name, rank, x.Rank())
		}
		g.Finalize()
	}
}
