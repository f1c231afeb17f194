package layers

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// matMul returns a [m, k] @ b [k, n] as [m, n], like GoMLX's MatMul, but
// with gradients built as dot products whose outputs already have the
// layout of a and b: dA = v [m, n] contracted with b [k, n] over n, and dB
// as weightGradient gives it.
//
// NOTE: GoMLX v0.28.2 ends DotGeneral's gradient with a TransposeAllAxes
// even when the permutation is the identity, and the pure Go backend
// executes it as a full copy through a generic index iterator. In the DCGAN
// step, Transpose ops took 30% of the CPU time. GoMLX still builds its own
// gradient nodes for the inner MatMul, but nothing uses them, so neither
// backend runs them.
//
// On the pure Go backend, a single output column (n = 1, such as the
// Bernoulli logit of PixelCNN on binarized MNIST) gets its weight gradient
// as a sum of element-wise products instead. The backend ran a^T v, with
// its one output column, at 0.4 GFLOP/s: for m, k = 12544, 64 it took 4 ms
// per PixelCNN 28x28x1 step, against 0.3 ms for the product and the sum.
func matMul(a, b *Node) *Node {
	var v *Node // the gradient of the output, set during backpropagation
	aGrad := IdentityWithCustomGradient(a, func(_, _ *Node) *Node {
		return DotGeneral(v, []int{1}, nil, b, []int{1}, nil)
	})
	// The weight gradient reads the identity's output rather than a: with
	// a read only by the identity, the pure Go backend hands a's buffer on
	// instead of copying it.
	bGrad := IdentityWithCustomGradient(b, func(_, _ *Node) *Node {
		if onGoBackend(b.Graph()) && b.Shape().Dim(1) == 1 {
			// BroadcastTo guards the backend's row-wise broadcasts (see its NOTE).
			return Reshape(ReduceSum(Mul(aGrad, BroadcastTo(v, aGrad)), 0), b.Shape().Dimensions...)
		}
		return weightGradient(aGrad, v)
	})
	// Backpropagation reaches this identity before aGrad and bGrad, which
	// are its inputs' inputs, so v is set when their gradients are built.
	return IdentityWithCustomGradient(MatMul(aGrad, bGrad), func(_, outputGrad *Node) *Node {
		v = outputGrad
		return outputGrad
	})
}

// patchProduct returns patches [rows, k] @ weights [k, out] for a
// convolution that builds its own input gradient. The weights' gradient is
// weightGradient(patches, v), for v the gradient of the product, and
// backpropagation stores v in *v for the caller's input gradient. GoMLX's
// own gradients of the MatMul and of the ops that built the patches are
// built too, but no output uses them.
func patchProduct(patches, weights *Node, v **Node) *Node {
	weightsWithGradient := IdentityWithCustomGradient(weights, func(_, _ *Node) *Node {
		return weightGradient(patches, *v)
	})
	// Backpropagation reaches this identity before weightsWithGradient and
	// before the caller's input, so *v is set when their gradients are
	// built.
	return IdentityWithCustomGradient(MatMul(patches, weightsWithGradient), func(_, outputGrad *Node) *Node {
		*v = outputGrad
		return outputGrad
	})
}

// weightGradient returns a^T @ v, [k, n], for a [m, k] and v [m, n].
//
// The pure Go backend multiplies a left operand laid out as [cross,
// contracted] by a right one laid out either way. a^T @ v has the
// contracted axis first on both sides, so the backend would transpose both
// operands, m*(k+n) values. Transposing only one of them by hand saves one
// of those copies: a, or v followed by the product, (v^T @ a)^T.
//
// Other backends (XLA) get the dot product as it is, and choose its layout
// themselves.
func weightGradient(a, v *Node) *Node {
	if !onGoBackend(a.Graph()) {
		return DotGeneral(a, []int{0}, nil, v, []int{0}, nil)
	}
	return weightGradientByTranspose(a, v)
}

// weightGradientByTranspose is weightGradient for the pure Go backend.
//
// It transposes whichever side moves fewer values: v, and then the [n, k]
// product, m*n + n*k values, or a, m*k values. Ties go to v: for m = k =
// 1024 and n = 512 that took 8.5 against 12.7 ms, since transpose2D
// multiplies by the identity for 1024 rows. Comparing n with k alone, as
// this did before, transposed v for the DCGAN shapes m, k, n = 400, 1024,
// 512 (4.8 ms, against 2.9 ms for transposing a) and 64, 1024, 512 (2.7
// against 0.7 ms), in a test graph on a 2-core Intel Xeon.
func weightGradientByTranspose(a, v *Node) *Node {
	m, k, n := a.Shape().Dim(0), a.Shape().Dim(1), v.Shape().Dim(1)
	if m*n+n*k <= m*k {
		return Transpose(MatMul(transpose2D(v), a), 0, 1)
	}
	return MatMul(transpose2D(a), v)
}

// transpose2D returns x [rows, columns] transposed, [columns, rows].
//
// The pure Go backend of gomlx/compute v0.1.14 transposes in 32x32 tiles
// and writes each tile's rows at a stride of rows*4 bytes. When rows is a
// multiple of 1024, that stride is a multiple of 4 KiB and every row of a
// tile falls in the same cache set. Such transposes then take 4 to 8 times
// longer per value than for nearby sizes (16384x64: 4.5 ms, 12544x64: 0.47
// ms, on a 2-core Intel Xeon). For those sizes it multiplies the identity
// [columns, columns] by x laid out as the transposed right operand of a
// MatMul, which the MatMul's packing reads in order: 1.1 ms for 16384x64,
// 3.3 against 9.1 ms for 16384x128. The products are exact, as long as x
// holds no Inf or NaN.
func transpose2D(x *Node) *Node {
	rows, columns := x.Shape().Dim(0), x.Shape().Dim(1)
	if rows%1024 != 0 {
		return Transpose(x, 0, 1)
	}
	identity := make([]float32, columns*columns)
	for i := range columns {
		identity[i*columns+i] = 1
	}
	eye := ConvertDType(Const(x.Graph(), tensors.FromFlatDataAndDimensions(identity, columns, columns)), x.DType())
	return DotGeneral(eye, []int{1}, nil, x, []int{1}, nil)
}
