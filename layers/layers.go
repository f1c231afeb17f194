package layers

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// ParamConvImpl is the store hyperparameter that selects the convolution
// implementation for every layer built under a scope: "auto" (default),
// "native", "im2col", "shift", "gather" or "hybrid" (see ParseConvImpl).
const ParamConvImpl = "conv_impl"

// Norm names accepted by Normalize.
const (
	NormInstance = "instance"
	NormBatch    = "batch"
	NormNone     = "none"
)

// normEpsilon is added to the variance in instance and batch norm, as in
// PyTorch's defaults.
const normEpsilon = 1e-5

// convImplFromScope reads ParamConvImpl, panicking on an invalid value.
func convImplFromScope(scope *model.Scope) ConvImpl {
	name := model.GetParamOr(scope, ParamConvImpl, ConvAuto.String())
	impl, err := ParseConvImpl(name)
	if err != nil {
		panic(err)
	}
	return impl
}

// uniformInit draws from U(-bound, bound) with bound = 1/sqrt(fanIn), the
// default initialization of PyTorch's Conv2d and Linear weights and biases.
func uniformInit(scope *model.Scope, fanIn int) model.VariableInitializer {
	bound := 1 / math.Sqrt(float64(fanIn))
	return initializer.RandomUniformFn(scope, -bound, bound)
}

// Conv applies a 2D convolution with a learned kernel
// [kernel, kernel, inChannels, outChannels] and, when bias is true, a learned
// bias [outChannels], to x [batch, height, width, inChannels]. The variables
// are "weights" and "biases" in scope.
// It returns [batch, outHeight, outWidth, outChannels] (see ConvOutputSize).
func Conv(scope *model.Scope, x *Node, outChannels, kernel, stride, padding int, bias bool) *Node {
	inChannels := x.Shape().Dim(-1)
	fanIn := kernel * kernel * inChannels
	init := uniformInit(scope, fanIn)
	weightsVar := scope.WithInitializer(init).
		VariableWithShape("weights", shapes.Make(x.DType(), kernel, kernel, inChannels, outChannels))
	out := Conv2D(x, weightsVar.NodeValue(x.Graph()), stride, padding, convImplFromScope(scope))
	if bias {
		biasVar := scope.WithInitializer(init).VariableWithShape("biases", shapes.Make(x.DType(), outChannels))
		out = Add(out, BroadcastTo(biasVar.NodeValue(x.Graph()), out))
	}
	return out
}

// UpConv doubles the spatial size of x [batch, height, width, inChannels] by
// nearest-neighbor upsampling and then applies a kernel x kernel convolution
// with stride 1 and "same" padding (kernel must be odd). It returns
// [batch, 2*height, 2*width, outChannels].
func UpConv(scope *model.Scope, x *Node, outChannels, kernel int, bias bool) *Node {
	if kernel%2 != 1 {
		panic(fmt.Sprintf("layers.UpConv: kernel must be odd to keep the size, got %d", kernel))
	}
	if kernel != 3 {
		return Conv(scope, Upsample2x(x), outChannels, kernel, 1, kernel/2, bias)
	}
	inChannels := x.Shape().Dim(-1)
	init := uniformInit(scope, kernel*kernel*inChannels)
	weightsVar := scope.WithInitializer(init).
		VariableWithShape("weights", shapes.Make(x.DType(), kernel, kernel, inChannels, outChannels))
	out := UpConv2D(x, weightsVar.NodeValue(x.Graph()), convImplFromScope(scope))
	if bias {
		biasVar := scope.WithInitializer(init).VariableWithShape("biases", shapes.Make(x.DType(), outChannels))
		out = Add(out, BroadcastTo(biasVar.NodeValue(x.Graph()), out))
	}
	return out
}

// Dense applies x [batch, inFeatures] @ weights [inFeatures, outFeatures]
// (+ biases [outFeatures] when bias is true), returning [batch, outFeatures].
func Dense(scope *model.Scope, x *Node, outFeatures int, bias bool) *Node {
	inFeatures := x.Shape().Dim(-1)
	init := uniformInit(scope, inFeatures)
	weightsVar := scope.WithInitializer(init).VariableWithShape("weights", shapes.Make(x.DType(), inFeatures, outFeatures))
	out := matMul(x, weightsVar.NodeValue(x.Graph()))
	if bias {
		biasVar := scope.WithInitializer(init).VariableWithShape("biases", shapes.Make(x.DType(), outFeatures))
		out = Add(out, BroadcastTo(biasVar.NodeValue(x.Graph()), out))
	}
	return out
}

// InstanceNorm normalizes x [batch, height, width, channels] over height and
// width, separately for every sample and channel:
// (x - mean) / sqrt(variance + 1e-5). It has no learned scale or offset, as
// PyTorch's InstanceNorm2d by default.
//
// On the pure Go backend it normalizes a [pixels, batch*channels] copy of x.
// In x's layout the statistics, [batch, 1, 1, channels], broadcast over the
// middle axes, which gomlx/compute v0.1.14 runs element by element: 2.2 ns
// per element against 0.2 ns for a broadcast over leading axes. In the
// transposed copy they broadcast and reduce over the leading axis, both
// with AVX-512. The two transposes each way cost less than they save:
// CycleGAN's step went from 654 to 559 ms in alternating runs.
func InstanceNorm(x *Node) *Node {
	if !onGoBackend(x.Graph()) {
		return standardize(x, 1, 2)
	}
	dims := x.Shape().Dimensions
	batch, height, width, channels := dims[0], dims[1], dims[2], dims[3]
	pixels := TransposeAllAxes(Reshape(x, batch, height*width, channels), 1, 0, 2) // [pixels, batch, channels]
	pixels = standardize(Reshape(pixels, height*width, batch*channels), 0)
	pixels = TransposeAllAxes(Reshape(pixels, height*width, batch, channels), 1, 0, 2)
	return Reshape(pixels, batch, height, width, channels)
}

// standardize returns (x - mean) / sqrt(variance + 1e-5), with the mean and
// variance taken over axes, in the shape of x.
//
// Its gradient is built directly: for y the output and v its gradient, the
// input gradient is (v - mean(v) - y*mean(v*y)) / sqrt(variance + 1e-5),
// with the means over axes. GoMLX's own gradient of the formula divides the
// full tensor several times, and the pure Go backend's Div has no SIMD
// path: it took a tenth of CycleGAN's step. Here the only full-size ops are
// multiplications, subtractions and the two means.
func standardize(x *Node, axes ...int) *Node {
	var y, inverseStd *Node
	return withInputGradient(x, func(x *Node) *Node {
		mean := BroadcastTo(ReduceAndKeep(x, ReduceMean, axes...), x)
		centered := Sub(x, mean)
		variance := ReduceAndKeep(Square(centered), ReduceMean, axes...)
		inverseStd = BroadcastTo(Reciprocal(Sqrt(AddScalar(variance, normEpsilon))), x)
		y = Mul(centered, inverseStd)
		return y
	}, func(_, v *Node) *Node {
		meanV := BroadcastTo(ReduceAndKeep(v, ReduceMean, axes...), v)
		meanVY := BroadcastTo(ReduceAndKeep(Mul(v, y), ReduceMean, axes...), v)
		return Mul(Sub(Sub(v, meanV), Mul(y, meanVY)), inverseStd)
	})
}

// BatchNorm normalizes x [batch, height, width, channels] with the mean and
// variance of each channel over the batch and both spatial axes, then
// applies a learned "scale" and "offset" [channels] (initialized to 1 and 0).
//
// NOTE: it always uses the statistics of the current batch, also when
// sampling, as GAN code commonly does with fixed-size sample batches. It
// keeps no running averages.
func BatchNorm(scope *model.Scope, x *Node) *Node {
	channels := x.Shape().Dim(-1)
	normalized := standardize(x, 0, 1, 2)
	scale := scope.WithInitializer(initializer.One).VariableWithShape("scale", shapes.Make(x.DType(), channels))
	offset := scope.WithInitializer(initializer.Zero).VariableWithShape("offset", shapes.Make(x.DType(), channels))
	normalized = Mul(normalized, BroadcastTo(scale.NodeValue(x.Graph()), normalized))
	return Add(normalized, BroadcastTo(offset.NodeValue(x.Graph()), normalized))
}

// Normalize applies the norm named by kind: NormInstance, NormBatch or
// NormNone. It panics on any other value, naming the valid ones.
func Normalize(scope *model.Scope, x *Node, kind string) *Node {
	switch kind {
	case NormInstance:
		return InstanceNorm(x)
	case NormBatch:
		return BatchNorm(scope.In("batch_norm"), x)
	case NormNone:
		return x
	}
	panic(fmt.Sprintf("layers: invalid norm %q: valid values are %q, %q and %q", kind, NormInstance, NormBatch, NormNone))
}

// CheckNorm returns an error unless kind is a norm that Normalize accepts.
func CheckNorm(kind string) error {
	switch kind {
	case NormInstance, NormBatch, NormNone:
		return nil
	}
	return fmt.Errorf("layers: invalid norm %q: valid values are %q, %q and %q", kind, NormInstance, NormBatch, NormNone)
}

// LeakyReLU returns max(x, slope*x) for slope in [0, 1). Its gradient is
// v where x > 0 and slope*v elsewhere (see ReLU).
func LeakyReLU(x *Node, slope float64) *Node {
	return withInputGradient(x, func(x *Node) *Node { return Max(x, MulScalar(x, slope)) }, func(x, v *Node) *Node {
		return Where(GreaterThan(x, ScalarZero(x.Graph(), x.DType())), v, MulScalar(v, slope))
	})
}

// ReLU returns max(x, 0). Its gradient is v where x > 0 and 0 elsewhere.
//
// On a backend with a fused activation and its gradient (the pure Go
// backend of gomlx/compute v0.1.14, which runs both with AVX-512), it uses
// those (see fusedReLU). Elsewhere the gradient is built directly: GoMLX
// v0.28 differentiates Max through two Sign ops and five other element-wise
// passes. A comparison, its conversion to float and a product took 12% of
// the PixelCNN 28x28x1 step on the Go backend, and the fused gradient is
// one pass.
func ReLU(x *Node) *Node {
	if hasFusedReLU(x.Graph()) {
		relu, _ := fusedReLU(x, false)
		return relu
	}
	return withInputGradient(x, func(x *Node) *Node { return Max(x, ZerosLike(x)) }, func(x, v *Node) *Node {
		return Mul(v, ConvertDType(GreaterThan(x, ScalarZero(x.Graph(), x.DType())), x.DType()))
	})
}

// ReLUAndInput returns ReLU(x) and x, for a caller that reads x again, such
// as a residual sum. The caller must read the returned input instead of x,
// and must use it in the value it differentiates: on the pure Go backend
// the ReLU's gradient reaches x only through it (see fusedReLU). There x's
// buffer then has one reader and is not copied.
func ReLUAndInput(x *Node) (relu, input *Node) {
	if hasFusedReLU(x.Graph()) {
		return fusedReLU(x, true)
	}
	return ReLU(x), x
}

// hasFusedReLU reports whether g's backend runs a fused activation and its
// gradient.
func hasFusedReLU(g *Graph) bool {
	ops := g.Backend().Capabilities().Operations
	return ops[compute.OpTypeFusedActivation] && ops[compute.OpTypeFusedActivationVJP]
}

// fusedReLU returns the backend's fused ReLU of x and the identity of x
// that carries its gradient. With shared, that identity may have readers
// of its own, and their gradients are added to the ReLU's.
//
// The gradient reads the ReLU's input rather than its output: the two are
// positive at the same places. GoMLX's own gradient of the fused op reads
// the output, and the pure Go backend copies a buffer that two ops read
// when one of them is a Reshape or an Identity, as the next layer's MatMul
// input is. So that output had been copied once per layer. In the
// PixelCNN 28x28x1 step, Reshape copies took 414 ms of op time over 13
// steps, and 215 ms with the input read instead. The step took 289 to 325
// ms against 301 to 344 in alternating runs.
//
// With shared, the output's identity passes no gradient on, so GoMLX does
// not build its own gradient of the fused op. The ReLU's gradient is added
// when backpropagation reaches the input's identity through its other
// readers.
func fusedReLU(x *Node, shared bool) (relu, input *Node) {
	config := compute.ActivationConfig{Type: compute.ActivationRelu}
	var v *Node // gradient of the ReLU's output, set during backpropagation
	input = IdentityWithCustomGradient(x, func(_, outputGrad *Node) *Node {
		if v == nil {
			return outputGrad // the ReLU's output gets no gradient
		}
		grad := BackendFusedActivationVJP(input, input, v, config)
		if shared {
			grad = Add(grad, outputGrad)
		}
		return grad
	})
	// Backpropagation reaches this identity before input's, so v is set
	// when input's gradient is built.
	relu = IdentityWithCustomGradient(BackendFusedActivation(input, config), func(_, outputGrad *Node) *Node {
		v = outputGrad
		if shared {
			return nil
		}
		return outputGrad
	})
	return relu, input
}

// withInputGradient returns f(x), whose gradient with respect to x is
// gradient(x, v) for the gradient v of f(x). GoMLX still builds its own
// gradient of f, but no output uses it.
func withInputGradient(x *Node, f func(x *Node) *Node, gradient func(x, v *Node) *Node) *Node {
	var v *Node // gradient of f(x), set during backpropagation
	xWithGradient := IdentityWithCustomGradient(x, func(_, _ *Node) *Node { return gradient(x, v) })
	// Backpropagation reaches this identity before xWithGradient, so v is
	// set when x's gradient is built.
	return IdentityWithCustomGradient(f(xWithGradient), func(_, outputGrad *Node) *Node {
		v = outputGrad
		return outputGrad
	})
}
