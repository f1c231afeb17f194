package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/internal/testutil"
)

// TestCropsMatchSlice checks cropsOf on the pure Go backend, where it crops
// with Pads, against GoMLX's Slice: the crops must be equal, and so must the
// gradient of a weighted sum of two overlapping crops.
func TestCropsMatchSlice(t *testing.T) {
	backend := testutil.GoBackend(t)
	rng := rand.New(rand.NewPCG(7, 8))
	x := randomTensor(rng, 3, 6, 5, 4)
	ranges := []map[int][2]int{{1: {0, 4}, 2: {1, 4}}, {1: {2, 6}, 2: {0, 3}}}
	w0, w1 := randomTensor(rng, 3, 4, 3, 4), randomTensor(rng, 3, 4, 3, 4)
	outputs := MustExecOnceN(backend, func(x, w0, w1 *Node) []*Node {
		ours := cropsOf(x, ranges)
		theirs := []*Node{Slice(x, axisRanges(x, ranges[0])...), Slice(x, axisRanges(x, ranges[1])...)}
		loss := func(crops []*Node) *Node {
			return Add(ReduceAllSum(Mul(crops[0], w0)), ReduceAllSum(Mul(crops[1], w1)))
		}
		return []*Node{ours[0], theirs[0], ours[1], theirs[1],
			Gradient(loss(ours), x)[0], Gradient(loss(theirs), x)[0]}
	}, x, w0, w1)
	for i, name := range []string{"first crop", "second crop", "gradient"} {
		if diff := maxAbsDiff(t, name, outputs[2*i], outputs[2*i+1]); diff > 1e-6 {
			t.Errorf("%s differs from Slice's by %g", name, diff)
		}
	}
}

// TestPadFillIsNegativeZero checks the fill value of the Go backend's Pads:
// negative zero for floats, whose bytes are not all zero, and zero for
// integers.
func TestPadFillIsNegativeZero(t *testing.T) {
	backend := testutil.GoBackend(t)
	outputs := MustExecOnceN(backend, func(x *Node) []*Node {
		return []*Node{padFill(x), padFill(ConvertDType(x, dtypes.Int32))}
	}, tensors.FromValue([]float32{1, 2}))
	fill := tensors.ToScalar[float32](outputs[0])
	if fill != 0 || !math.Signbit(float64(fill)) {
		t.Errorf("float32 fill is %g (sign bit %v), want negative zero", fill, math.Signbit(float64(fill)))
	}
	if got := tensors.ToScalar[int32](outputs[1]); got != 0 {
		t.Errorf("int32 fill is %d, want 0", got)
	}
}
