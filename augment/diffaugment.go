// Package augment implements DiffAugment (Zhao et al. 2020, "Differentiable
// Augmentation for Data-Efficient GAN Training"). The augmentations apply to
// every image given to the discriminator, real and fake. They are built from
// graph ops that are differentiable with respect to the images, so the
// generator's gradient passes through them.
//
// A Policy is a list of operations parsed from a string such as
// "color,translation,cutout". Randomness is drawn per sample in Go, seeded,
// and passed to the graph as a [batch, RandomCount()] tensor of uniform
// values in [0, 1), so that a run is reproducible and resumable:
//
//   - color: brightness shift in [-0.5, 0.5), saturation scale in [0, 2) and
//     contrast scale in [0.5, 1.5), in that order (3 values);
//   - translation: a shift of up to 1/8 of the image size along each axis,
//     with zero fill (2 values);
//   - cutout: a square of half the image size, zeroed, centered anywhere in
//     the image (2 values).
package augment

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/layers"
)

// Operation names accepted in a policy.
const (
	Color       = "color"
	Translation = "translation"
	Cutout      = "cutout"
)

// Ratios of the image size, as in the DiffAugment paper.
const (
	translationRatio = 0.125
	cutoutRatio      = 0.5
)

// randomsPerOperation is the number of uniform values each operation uses
// per sample.
var randomsPerOperation = map[string]int{Color: 3, Translation: 2, Cutout: 2}

// Policy is the ordered list of operations to apply; an empty Policy is the
// identity.
type Policy []string

// Parse reads a comma-separated policy such as "color,translation,cutout".
// Spaces around names are ignored, and "" gives the empty policy. An
// unknown name is an error that lists the valid ones, and so is an empty
// name between commas, as in "color,", which a space after a comma on a
// command line leaves.
func Parse(policy string) (Policy, error) {
	if strings.TrimSpace(policy) == "" {
		return nil, nil
	}
	var p Policy
	for _, name := range strings.Split(policy, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("augment: empty operation in DiffAugment policy %q: separate the operations by single commas, such as %q, "+
				"and on a command line write no space after a comma", policy, Color+","+Translation)
		}
		if _, known := randomsPerOperation[name]; !known {
			return nil, fmt.Errorf("augment: unknown DiffAugment operation %q in policy %q: valid operations are %s, %s and %s",
				name, policy, Color, Translation, Cutout)
		}
		p = append(p, name)
	}
	return p, nil
}

// String returns the policy in the form Parse reads.
func (p Policy) String() string { return strings.Join(p, ",") }

// RandomCount returns the number of uniform values Apply needs per sample.
func (p Policy) RandomCount() int {
	count := 0
	for _, name := range p {
		count += randomsPerOperation[name]
	}
	return count
}

// Seed derives the seed of a run's DiffAugment draws from the run's seed.
// The run's other random streams use its seed itself, so the draws do not
// repeat them.
func Seed(runSeed int64) uint64 {
	return uint64(runSeed) ^ 0x9e3779b97f4a7c15
}

// Uniforms draws the [batch, RandomCount()] uniform values for one call of
// Apply, seeded by (seed, stream): use a new stream for every call, for
// example derived from the iteration and the call's place in it.
func (p Policy) Uniforms(seed, stream uint64, batch int) *tensors.Tensor {
	count := max(p.RandomCount(), 1)
	rng := rand.New(rand.NewPCG(seed, stream))
	values := make([]float32, batch*count)
	for i := range values {
		values[i] = rng.Float32()
	}
	return tensors.FromFlatDataAndDimensions(values, batch, count)
}

// Apply augments x [batch, height, width, channels] with the policy's
// operations in order, using uniforms [batch, RandomCount()] (see
// Uniforms). It returns a node of x's shape. It panics, as graph building
// functions do, on a uniforms tensor of the wrong shape.
func (p Policy) Apply(x, uniforms *Node) *Node {
	if len(p) == 0 {
		return x
	}
	batch := x.Shape().Dim(0)
	if uniforms.Rank() != 2 || uniforms.Shape().Dim(0) != batch || uniforms.Shape().Dim(1) < p.RandomCount() {
		panic(fmt.Sprintf("augment: uniforms must be [%d, %d] for policy %q, got %s", batch, p.RandomCount(), p, uniforms.Shape()))
	}
	uniforms = ConvertDType(uniforms, x.DType())
	column := 0
	take := func() *Node { // [batch, 1, 1, 1]
		u := Slice(uniforms, AxisRange(), AxisRange(column, column+1))
		column++
		return Reshape(u, batch, 1, 1, 1)
	}
	for _, name := range p {
		switch name {
		case Color:
			x = colorJitter(x, take(), take(), take())
		case Translation:
			x = translate(x, take(), take())
		case Cutout:
			x = cutout(x, take(), take())
		}
	}
	return x
}

// colorJitter shifts brightness by u-0.5, scales saturation (the distance to
// each pixel's channel mean) by 2u, and scales contrast (the distance to the
// image mean) by u+0.5. Each u is [batch, 1, 1, 1].
func colorJitter(x, brightness, saturation, contrast *Node) *Node {
	x = Add(x, AddScalar(brightness, -0.5))
	pixelMean := layers.BroadcastTo(ReduceAndKeep(x, ReduceMean, 3), x)
	x = Add(Mul(Sub(x, pixelMean), MulScalar(saturation, 2)), pixelMean)
	imageMean := ReduceAndKeep(x, ReduceMean, 1, 2, 3)
	return Add(Mul(Sub(x, imageMean), AddScalar(contrast, 0.5)), imageMean)
}

// maxShift returns the largest translation along an axis of length size.
func maxShift(size int) int {
	return int(float64(size)*translationRatio + 0.5)
}

// shiftFromUniform maps u in [0, 1) to an integer shift in
// [-maxShift, maxShift], as a float [batch, 1, 1, 1].
func shiftFromUniform(u *Node, size int) *Node {
	limit := maxShift(size)
	return AddScalar(Floor(MulScalar(u, float64(2*limit+1))), -float64(limit))
}

// translate moves each image by (dy, dx) pixels, drawn from uniforms uy and
// ux, filling the uncovered border with zeros. It multiplies by 0/1 shift
// matrices, so it is differentiable with respect to x (graph.Pad has no
// gradient in GoMLX v0.28.2).
func translate(x, uy, ux *Node) *Node {
	dims := x.Shape().Dimensions
	batch, height, width := dims[0], dims[1], dims[2]
	rows := shiftMatrix(x.Graph(), x.DType(), shiftFromUniform(uy, height), batch, height) // [batch, height, height]
	cols := shiftMatrix(x.Graph(), x.DType(), shiftFromUniform(ux, width), batch, width)   // [batch, width, width]
	x = Einsum("bij,bjwc->biwc", rows, x)
	return Einsum("bkw,biwc->bikc", cols, x)
}

// shiftMatrix returns [batch, size, size] matrices S with S[b, i, j] = 1
// when j = i - shift[b] and 0 elsewhere, so that S @ v moves v by shift
// positions towards higher indices, with zero fill.
func shiftMatrix(g *Graph, dtype dtypes.DType, shift *Node, batch, size int) *Node {
	shape := shapes.Make(dtype, batch, size, size)
	i := Iota(g, shape, 1)
	j := Iota(g, shape, 2)
	s := Reshape(shift, batch, 1, 1)
	return ConvertDType(Equal(Sub(i, s), j), dtype)
}

// cutout zeroes, in each image, the square of side height/2 by width/2
// centered at (cy, cx). The center is drawn uniformly from [0, height] x
// [0, width] by uniforms uy and ux, and the square is clipped at the border.
func cutout(x, uy, ux *Node) *Node {
	dims := x.Shape().Dimensions
	batch, height, width := dims[0], dims[1], dims[2]
	g := x.Graph()
	inside := func(u *Node, size, axis int) *Node { // [batch, height, width, 1]
		half := int(float64(size)*cutoutRatio+0.5) / 2
		center := Floor(MulScalar(u, float64(size+1)))
		position := Iota(g, shapes.Make(x.DType(), batch, height, width, 1), axis)
		return LogicalAnd(GreaterOrEqual(position, AddScalar(center, -float64(half))), LessThan(position, AddScalar(center, float64(half))))
	}
	zeroed := LogicalAnd(inside(uy, height, 1), inside(ux, width, 2))
	keep := ConvertDType(LogicalNot(zeroed), x.DType())
	return Mul(x, layers.BroadcastTo(keep, x))
}

// Preview applies the policy to a batch of images outside training, to show
// the images a discriminator receives. pixels holds n images [n, height, width,
// channels] flattened, and the result has the same layout. The draws come
// from Uniforms(seed, 0, n). The empty policy returns a copy of pixels.
func (p Policy) Preview(backend compute.Backend, pixels []float32, n, height, width, channels int, seed uint64) (out []float32, err error) {
	if n < 1 || height < 1 || width < 1 || channels < 1 || len(pixels) != n*height*width*channels {
		return nil, fmt.Errorf("augment: preview of %d values as [%d, %d, %d, %d] images: the sizes must be positive and multiply to the length", len(pixels), n, height, width, channels)
	}
	if len(p) == 0 {
		return slices.Clone(pixels), nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("augment: preview of policy %q: %v", p, r)
		}
	}()
	x := tensors.FromFlatDataAndDimensions(slices.Clone(pixels), n, height, width, channels)
	// MulScalar keeps the output a new node even where the policy leaves x
	// unchanged, which GoMLX's executor requires.
	result := MustExecOnce(backend, func(x, u *Node) *Node { return MulScalar(p.Apply(x, u), 1) }, x, p.Uniforms(seed, 0, n))
	return tensors.MustCopyFlatData[float32](result), nil
}

// Names returns the valid operation names, sorted.
func Names() []string {
	names := make([]string, 0, len(randomsPerOperation))
	for name := range randomsPerOperation {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
