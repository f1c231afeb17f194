package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"

	"github.com/catsynth/catsynth/internal/testutil"
)

// TestMatMulGradients compares the value and the gradients of matMul with
// those of GoMLX's MatMul. It covers a weight matrix narrower and one wider
// than its input, the two branches of weightGradientByTranspose, and checks
// that branch against the dot product that other backends get. With 2048
// rows, transpose2D multiplies by the identity instead of transposing. A
// single output column takes the element-wise weight gradient.
func TestMatMulGradients(t *testing.T) {
	backend := testutil.GoBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dims := range [][3]int{{37, 24, 5}, {37, 5, 24}, {2048, 24, 5}, {2048, 5, 24}, {37, 24, 1}, {2048, 64, 1}} {
		m, k, n := dims[0], dims[1], dims[2]
		a, b, w := randomTensor(rng, m, k), randomTensor(rng, k, n), randomTensor(rng, m, n)
		outputs := MustExecOnceN(backend, func(a, b, w *Node) []*Node {
			// A weighted sum makes the output's gradient w, not a constant.
			ours := matMul(a, b)
			theirs := MatMul(a, b)
			oursGrads := Gradient(ReduceAllSum(Mul(ours, w)), a, b)
			theirsGrads := Gradient(ReduceAllSum(Mul(theirs, w)), a, b)
			dotGeneral := DotGeneral(a, []int{0}, nil, w, []int{0}, nil)
			byTranspose := weightGradientByTranspose(a, w)
			return []*Node{ours, theirs, oursGrads[0], theirsGrads[0], oursGrads[1], theirsGrads[1], byTranspose, dotGeneral}
		}, a, b, w)
		names := []string{"output", "gradient of a", "gradient of b", "weightGradientByTranspose"}
		for i, name := range names {
			if diff := maxAbsDiff(t, name, outputs[2*i], outputs[2*i+1]); diff > 1e-4*math.Sqrt(float64(m)) {
				t.Errorf("m, k, n = %d, %d, %d: %s differs by %g", m, k, n, name, diff)
			}
		}
	}
}

// TestTranspose2DIsExact checks that transpose2D gives x's transpose
// exactly, both for row counts that use Transpose and for those that
// multiply by the identity.
func TestTranspose2DIsExact(t *testing.T) {
	backend := testutil.GoBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, rows := range []int{1000, 1024, 3072} {
		x := randomTensor(rng, rows, 48)
		outputs := MustExecOnceN(backend, func(x *Node) []*Node {
			return []*Node{transpose2D(x), Transpose(x, 0, 1)}
		}, x)
		if diff := maxAbsDiff(t, "transpose2D", outputs[0], outputs[1]); diff != 0 {
			t.Errorf("%d rows: transpose2D differs from Transpose by %g", rows, diff)
		}
	}
}
