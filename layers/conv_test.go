package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/internal/testutil"
)

// randomTensor returns a float32 tensor of the given dimensions with standard normal values from rng.
func randomTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	size := 1
	for _, d := range dims {
		size *= d
	}
	data := make([]float32, size)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// convOutputAndGradients runs conv(x, kernel) on backend and returns its
// output and the gradients of sum(output * projection) with respect to x
// and kernel.
func convOutputAndGradients(backend compute.Backend, conv func(x, kernel *Node) *Node, x, kernel, projection *tensors.Tensor) []*tensors.Tensor {
	return MustExecOnceN(backend, func(x, kernel, projection *Node) []*Node {
		out := conv(x, kernel)
		grads := Gradient(ReduceAllSum(Mul(out, projection)), x, kernel)
		return []*Node{out, grads[0], grads[1]}
	}, x, kernel, projection)
}

func maxAbsDiff(t *testing.T, name string, got, want *tensors.Tensor) float64 {
	t.Helper()
	if !got.Shape().Equal(want.Shape()) {
		t.Fatalf("%s: shape %s, want %s", name, got.Shape(), want.Shape())
	}
	gotData := tensors.MustCopyFlatData[float32](got)
	wantData := tensors.MustCopyFlatData[float32](want)
	worst := 0.0
	for i := range gotData {
		worst = math.Max(worst, math.Abs(float64(gotData[i]-wantData[i])))
	}
	return worst
}

// TestConv2DMatchesGoMLX compares every implementation on the Go backend
// against GoMLX's own Convolve in the output and in the gradient with respect to the kernel, and
// against a loop reference in the gradient with respect to the input (see
// conv2DNative for why GoMLX's input gradient is not the reference), using
// sum(output * projection) with a random projection as the loss.
func TestConv2DMatchesGoMLX(t *testing.T) {
	testConv2DMatchesGoMLX(t, testutil.GoBackend(t), []ConvImpl{ConvIm2col, ConvShift, ConvGather, ConvHybrid, ConvNative})
}

// TestConv2DMatchesGoMLXOnXLA runs the same comparison on XLA, where
// ConvAuto picks ConvHybrid. It skips without an XLA plugin.
func TestConv2DMatchesGoMLXOnXLA(t *testing.T) {
	backend := testutil.XLABackend(t)
	if got := ConvAuto.resolve(NewGraph(backend, "resolve")); got != ConvHybrid {
		t.Errorf("ConvAuto on XLA's CPU plugin resolves to %s, want hybrid", got)
	}
	testConv2DMatchesGoMLX(t, backend, []ConvImpl{ConvIm2col, ConvHybrid, ConvNative})
}

// testConv2DMatchesGoMLX runs the comparison of TestConv2DMatchesGoMLX for
// each of impls on backend.
func testConv2DMatchesGoMLX(t *testing.T, backend compute.Backend, impls []ConvImpl) {
	cases := []struct {
		batch, height, width, inChannels, outChannels, kernel, stride, padding int
	}{
		{2, 8, 8, 3, 4, 4, 2, 1},   // discriminator block
		{2, 16, 16, 3, 5, 4, 2, 1}, // discriminator block, larger
		{2, 4, 4, 5, 1, 4, 1, 0},   // discriminator output
		{1, 6, 6, 4, 3, 3, 1, 1},   // up_conv and residual convolution
		{3, 7, 5, 2, 6, 3, 2, 1},   // odd, non-square sizes
		{2, 5, 5, 6, 4, 1, 1, 0},   // 1x1
		{1, 9, 9, 2, 2, 7, 1, 3},   // 7x7 as in PixelCNN's first layer
		{2, 6, 6, 3, 2, 2, 2, 0},   // no padding
		{1, 5, 5, 1, 1, 3, 3, 2},   // stride larger than padding
	}
	const tolerance = 1e-4
	for _, c := range cases {
		name := fmt.Sprintf("x%dx%dx%dx%d_k%d_s%d_p%d", c.batch, c.height, c.width, c.inChannels, c.kernel, c.stride, c.padding)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(c.kernel*100+c.stride*10+c.padding)))
			x := randomTensor(rng, c.batch, c.height, c.width, c.inChannels)
			kernel := randomTensor(rng, c.kernel, c.kernel, c.inChannels, c.outChannels)
			outHeight := ConvOutputSize(c.height, c.kernel, c.stride, c.padding)
			outWidth := ConvOutputSize(c.width, c.kernel, c.stride, c.padding)
			projection := randomTensor(rng, c.batch, outHeight, outWidth, c.outChannels)

			run := func(conv func(x, kernel *Node) *Node) []*tensors.Tensor {
				return convOutputAndGradients(backend, conv, x, kernel, projection)
			}
			gomlx := run(func(x, kernel *Node) *Node {
				return Convolve(x, kernel).
					Strides(c.stride).
					PaddingPerDim([][2]int{{c.padding, c.padding}, {c.padding, c.padding}}).
					Done()
			})
			wantInputGradient := tensors.FromFlatDataAndDimensions(
				referenceConvInputGradient([]int{c.batch, c.height, c.width}, tensors.MustCopyFlatData[float32](kernel),
					tensors.MustCopyFlatData[float32](projection), c.kernel, c.inChannels, c.outChannels,
					c.stride, c.padding, outHeight, outWidth),
				c.batch, c.height, c.width, c.inChannels)
			want := []*tensors.Tensor{gomlx[0], wantInputGradient, gomlx[2]}

			for _, impl := range impls {
				got := run(func(x, kernel *Node) *Node { return Conv2D(x, kernel, c.stride, c.padding, impl) })
				for i, what := range []string{"output", "gradient of x", "gradient of kernel"} {
					if diff := maxAbsDiff(t, what, got[i], want[i]); diff > tolerance {
						t.Errorf("%s: %s: max abs difference %g, want <= %g", impl, what, diff, tolerance)
					}
				}
			}
		})
	}
}

func TestZeroPad2D(t *testing.T) {
	backend := testutil.GoBackend(t)
	x := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4}, 1, 2, 2, 1)
	got := MustExecOnce(backend, func(x *Node) *Node {
		return ZeroPad2D(x, 1, 0, 0, 2)
	}, x)
	want := []float32{
		0, 0, 0, 0,
		1, 2, 0, 0,
		3, 4, 0, 0,
	}
	if dims := got.Shape().Dimensions; fmt.Sprint(dims) != "[1 3 4 1]" {
		t.Fatalf("ZeroPad2D shape %v, want [1 3 4 1]", dims)
	}
	gotData := tensors.MustCopyFlatData[float32](got)
	for i := range want {
		if gotData[i] != want[i] {
			t.Fatalf("ZeroPad2D = %v, want %v", gotData, want)
		}
	}
}

func TestUpsample2x(t *testing.T) {
	backend := testutil.GoBackend(t)
	// Two channels so that a wrong axis order would show.
	x := tensors.FromFlatDataAndDimensions([]float32{1, 10, 2, 20, 3, 30, 4, 40}, 1, 2, 2, 2)
	results := MustExecOnceN(backend, func(x *Node) []*Node {
		up := Upsample2x(x)
		grad := Gradient(ReduceAllSum(up), x)[0]
		return []*Node{up, grad}
	}, x)
	want := []float32{
		1, 10, 1, 10, 2, 20, 2, 20,
		1, 10, 1, 10, 2, 20, 2, 20,
		3, 30, 3, 30, 4, 40, 4, 40,
		3, 30, 3, 30, 4, 40, 4, 40,
	}
	got := tensors.MustCopyFlatData[float32](results[0])
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Upsample2x = %v, want %v", got, want)
		}
	}
	// Every input pixel feeds four outputs.
	for i, g := range tensors.MustCopyFlatData[float32](results[1]) {
		if g != 4 {
			t.Fatalf("gradient[%d] = %g, want 4", i, g)
		}
	}
}

func TestInstanceNormStatistics(t *testing.T) {
	backend := testutil.GoBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	x := randomTensor(rng, 2, 5, 6, 3)
	got := tensors.MustCopyFlatData[float32](MustExecOnce(backend, func(x *Node) *Node {
		return InstanceNorm(MulScalar(AddScalar(x, 3), 2))
	}, x))
	for b := range 2 {
		for c := range 3 {
			var sum, sumSquares float64
			for p := range 30 {
				v := float64(got[(b*30+p)*3+c])
				sum += v
				sumSquares += v * v
			}
			mean := sum / 30
			variance := sumSquares/30 - mean*mean
			if math.Abs(mean) > 1e-5 || math.Abs(variance-1) > 1e-3 {
				t.Errorf("sample %d channel %d: mean %g and variance %g, want 0 and 1", b, c, mean, variance)
			}
		}
	}
}

// TestNormsMatchAutodiff compares standardize over the axes of InstanceNorm
// and of BatchNorm, and InstanceNorm itself (a transposed copy on the Go
// backend), with the plain formula (x - mean) / sqrt(variance + 1e-5) and
// GoMLX's gradient of it. The loss is sum(output * projection) with a
// random projection.
func TestNormsMatchAutodiff(t *testing.T) {
	backend := testutil.GoBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	x := randomTensor(rng, 3, 5, 4, 2)
	projection := randomTensor(rng, 3, 5, 4, 2)
	for _, c := range []struct {
		name string
		axes []int
		norm func(x *Node) *Node
	}{
		{"standardize over height and width", []int{1, 2}, func(x *Node) *Node { return standardize(x, 1, 2) }},
		{"standardize over batch, height and width", []int{0, 1, 2}, func(x *Node) *Node { return standardize(x, 0, 1, 2) }},
		{"InstanceNorm", []int{1, 2}, InstanceNorm},
	} {
		results := MustExecOnceN(backend, func(x, projection *Node) []*Node {
			mean := ReduceAndKeep(x, ReduceMean, c.axes...)
			centered := Sub(x, mean)
			variance := ReduceAndKeep(Square(centered), ReduceMean, c.axes...)
			plain := Div(centered, Sqrt(AddScalar(variance, normEpsilon)))
			ours := c.norm(x)
			plainGrad := Gradient(ReduceAllSum(Mul(plain, projection)), x)[0]
			oursGrad := Gradient(ReduceAllSum(Mul(ours, projection)), x)[0]
			return []*Node{ours, plain, oursGrad, plainGrad}
		}, x, projection)
		if d := maxAbsDiff(t, "output", results[0], results[1]); d > 1e-5 {
			t.Errorf("%s: output differs from the formula by %g", c.name, d)
		}
		if d := maxAbsDiff(t, "gradient", results[2], results[3]); d > 1e-4 {
			t.Errorf("%s: input gradient differs from GoMLX's by %g", c.name, d)
		}
	}
}

func TestParseConvImpl(t *testing.T) {
	for _, impl := range []ConvImpl{ConvAuto, ConvNative, ConvIm2col, ConvShift, ConvGather, ConvHybrid} {
		got, err := ParseConvImpl(impl.String())
		if err != nil || got != impl {
			t.Errorf("ParseConvImpl(%q) = %v, %v; want %v", impl.String(), got, err, impl)
		}
	}
	if _, err := ParseConvImpl("winograd"); err == nil {
		t.Error("ParseConvImpl(\"winograd\") returned no error")
	}
}

// TestConvAutoOnGoBackend checks that ConvAuto picks ConvGather on the pure
// Go backend and leaves explicit choices alone.
func TestConvAutoOnGoBackend(t *testing.T) {
	g := NewGraph(testutil.GoBackend(t), "resolve")
	if got := ConvAuto.resolve(g); got != ConvGather {
		t.Errorf("ConvAuto on the Go backend resolves to %s, want gather", got)
	}
	for _, impl := range []ConvImpl{ConvNative, ConvIm2col, ConvShift, ConvGather, ConvHybrid} {
		if got := impl.resolve(g); got != impl {
			t.Errorf("%s resolves to %s, want itself", impl, got)
		}
	}
}

// referenceConvInputGradient computes, with plain loops, the gradient of
// sum(Conv2D(x, kernel) * projection) with respect to x.
func referenceConvInputGradient(xDims []int, kernel, projection []float32, kernelSize, inChannels, outChannels, stride, padding, outHeight, outWidth int) []float32 {
	batch, height, width := xDims[0], xDims[1], xDims[2]
	grad := make([]float32, batch*height*width*inChannels)
	for b := range batch {
		for oh := range outHeight {
			for ow := range outWidth {
				for i := range kernelSize {
					for j := range kernelSize {
						h, w := oh*stride-padding+i, ow*stride-padding+j
						if h < 0 || h >= height || w < 0 || w >= width {
							continue
						}
						for ci := range inChannels {
							var sum float32
							for co := range outChannels {
								sum += projection[((b*outHeight+oh)*outWidth+ow)*outChannels+co] *
									kernel[((i*kernelSize+j)*inChannels+ci)*outChannels+co]
							}
							grad[((b*height+h)*width+w)*inChannels+ci] += sum
						}
					}
				}
			}
		}
	}
	return grad
}

// TestUpConv2DMatchesUpsampleThenConv checks the phase formulation against
// nearest upsampling followed by GoMLX's Convolve, in value and gradients.
func TestUpConv2DMatchesUpsampleThenConv(t *testing.T) {
	backend := testutil.GoBackend(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dims := range [][4]int{{2, 4, 4, 3}, {1, 3, 5, 6}} {
		x := randomTensor(rng, dims[0], dims[1], dims[2], dims[3])
		kernel := randomTensor(rng, 3, 3, dims[3], 5)
		projection := randomTensor(rng, dims[0], 2*dims[1], 2*dims[2], 5)
		run := func(conv func(x, kernel *Node) *Node) []*tensors.Tensor {
			return convOutputAndGradients(backend, conv, x, kernel, projection)
		}
		want := run(func(x, kernel *Node) *Node {
			return Convolve(Upsample2x(x), kernel).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
		})
		for _, impl := range []ConvImpl{ConvIm2col, ConvShift, ConvGather, ConvHybrid, ConvNative} {
			got := run(func(x, kernel *Node) *Node { return UpConv2D(x, kernel, impl) })
			for i, what := range []string{"output", "gradient of x", "gradient of kernel"} {
				if diff := maxAbsDiff(t, what, got[i], want[i]); diff > 1e-4 {
					t.Errorf("%s, input %v: %s: max abs difference %g, want <= 1e-4", impl, dims, what, diff)
				}
			}
		}
	}
}

// TestConv2DPaddedUnevenPadding compares Conv2DPaddedTaps with every
// implementation against im2col of the explicitly padded input with the
// kernel's later taps multiplied by zero, in the output and both gradients,
// for the uneven paddings and tap prefixes of PixelCNN's masked
// convolutions.
func TestConv2DPaddedUnevenPadding(t *testing.T) {
	testConv2DPaddedUnevenPadding(t, testutil.GoBackend(t), []ConvImpl{ConvIm2col, ConvShift, ConvGather, ConvHybrid, ConvNative})
}

// TestConv2DPaddedUnevenPaddingOnXLA runs the same comparison on XLA,
// where ConvHybrid builds the kernel gradient of the wide cases from
// patches (kernelGradientFromPatches). It skips without an XLA plugin.
func TestConv2DPaddedUnevenPaddingOnXLA(t *testing.T) {
	testConv2DPaddedUnevenPadding(t, testutil.XLABackend(t), []ConvImpl{ConvIm2col, ConvHybrid, ConvNative})
}

// testConv2DPaddedUnevenPadding runs the comparison of
// TestConv2DPaddedUnevenPadding for each of impls on backend.
func testConv2DPaddedUnevenPadding(t *testing.T, backend compute.Backend, impls []ConvImpl) {
	rng := rand.New(rand.NewPCG(9, 10))
	cases := []struct {
		dims                      [4]int // batch, height, width, in
		kernelHeight, kernelWidth int
		top, bottom, left, right  int
		taps, out                 int
	}{
		{[4]int{2, 6, 5, 3}, 4, 7, 3, 0, 3, 3, 25, 3}, // PixelCNN's first layer: the top 4 rows of a 7x7 kernel
		{[4]int{2, 6, 5, 1}, 4, 7, 3, 0, 3, 3, 24, 3}, // the same with one colour group: no centre tap
		{[4]int{3, 4, 4, 2}, 2, 3, 1, 0, 1, 1, 5, 3},  // a residual block's 3x3, top 2 rows
		{[4]int{1, 5, 3, 4}, 2, 3, 0, 0, 1, 1, 5, 3},  // no top padding (window mode)
		{[4]int{2, 3, 3, 1}, 3, 2, 2, 1, 0, 2, 6, 3},  // every side different, every tap
		// Wide enough for patches on XLA (patchGradientMinSide): 25*3 and 5*16 rows, 64 columns.
		{[4]int{2, 6, 5, 3}, 4, 7, 3, 0, 3, 3, 25, 64},
		{[4]int{2, 5, 6, 16}, 2, 3, 1, 0, 1, 1, 5, 64},
	}
	for _, c := range cases {
		x := randomTensor(rng, c.dims[0], c.dims[1], c.dims[2], c.dims[3])
		kernel := randomTensor(rng, c.kernelHeight, c.kernelWidth, c.dims[3], c.out)
		outHeight := c.dims[1] + c.top + c.bottom - c.kernelHeight + 1
		outWidth := c.dims[2] + c.left + c.right - c.kernelWidth + 1
		projection := randomTensor(rng, c.dims[0], outHeight, outWidth, c.out)
		tapMask := make([]float32, c.kernelHeight*c.kernelWidth)
		for tap := range c.taps {
			tapMask[tap] = 1
		}
		run := func(conv func(x, kernel *Node) *Node) []*tensors.Tensor {
			return convOutputAndGradients(backend, conv, x, kernel, projection)
		}
		want := run(func(x, kernel *Node) *Node {
			mask := Const(x.Graph(), tensors.FromFlatDataAndDimensions(tapMask, c.kernelHeight, c.kernelWidth, 1, 1))
			return Conv2D(ZeroPad2D(x, c.top, c.bottom, c.left, c.right), Mul(kernel, mask), 1, 0, ConvIm2col)
		})
		for _, impl := range impls {
			got := run(func(x, kernel *Node) *Node {
				return Conv2DPaddedTaps(x, kernel, c.top, c.bottom, c.left, c.right, c.taps, impl)
			})
			for i, what := range []string{"output", "gradient of x", "gradient of kernel"} {
				if diff := maxAbsDiff(t, what, got[i], want[i]); diff > 1e-4 {
					t.Errorf("%s: input %v, kernel %dx%dx%d, %d taps, padding %d/%d/%d/%d: %s: max abs difference %g, want <= 1e-4",
						impl, c.dims, c.kernelHeight, c.kernelWidth, c.out, c.taps, c.top, c.bottom, c.left, c.right, what, diff)
				}
			}
		}
	}
}

// TestActivationGradients checks ReLU and LeakyReLU values and their
// gradients against the definitions, element by element, on the Go backend,
// where ReLU uses the backend's fused activation.
func TestActivationGradients(t *testing.T) {
	testActivationGradients(t, testutil.GoBackend(t))
}

// TestActivationGradientsOnXLA runs the same checks on XLA, where ReLU
// builds its own gradient. It skips without an XLA plugin.
func TestActivationGradientsOnXLA(t *testing.T) {
	testActivationGradients(t, testutil.XLABackend(t))
}

func testActivationGradients(t *testing.T, backend compute.Backend) {
	rng := rand.New(rand.NewPCG(11, 12))
	x := randomTensor(rng, 3, 5, 7)
	projection := randomTensor(rng, 3, 5, 7)
	const slope = 0.2
	xs := tensors.MustCopyFlatData[float32](x)
	ps := tensors.MustCopyFlatData[float32](projection)
	for _, c := range []struct {
		name     string
		apply    func(*Node) *Node
		positive float32 // the derivative where x > 0
		slope    float32 // the derivative where x <= 0
	}{
		{"ReLU", ReLU, 1, 0},
		{"LeakyReLU", func(x *Node) *Node { return LeakyReLU(x, slope) }, 1, slope},
		// relu(x) + slope*x as max(x, 0) + input*slope: the input's
		// gradient adds slope wherever x is.
		{"ReLUAndInput", func(x *Node) *Node {
			relu, input := ReLUAndInput(x)
			return Add(relu, MulScalar(input, slope))
		}, 1 + slope, slope},
	} {
		got := MustExecOnceN(backend, func(x, projection *Node) []*Node {
			y := c.apply(x)
			return []*Node{y, Gradient(ReduceAllSum(Mul(y, projection)), x)[0]}
		}, x, projection)
		values := tensors.MustCopyFlatData[float32](got[0])
		grads := tensors.MustCopyFlatData[float32](got[1])
		for i, xi := range xs {
			derivative := c.positive
			if xi <= 0 {
				derivative = c.slope
			}
			wantValue, wantGrad := derivative*xi, derivative*ps[i]
			if math.Abs(float64(values[i]-wantValue)) > 1e-6 {
				t.Errorf("%s(%g) = %g, want %g", c.name, xi, values[i], wantValue)
			}
			if math.Abs(float64(grads[i]-wantGrad)) > 1e-6 {
				t.Errorf("%s: gradient at x=%g with upstream %g is %g, want %g", c.name, xi, ps[i], grads[i], wantGrad)
			}
		}
	}
}
