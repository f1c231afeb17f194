package augment

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/catsynth/catsynth/dataset"
	"github.com/catsynth/catsynth/internal/testutil"
)

// counting returns a [1, size, size, 1] image whose pixel (i, j) is
// 1 + i*size + j, so that every pixel is distinct and none is zero.
func counting(size int) *tensors.Tensor {
	data := make([]float32, size*size)
	for i := range data {
		data[i] = float32(i + 1)
	}
	return tensors.FromFlatDataAndDimensions(data, 1, size, size, 1)
}

func apply(t *testing.T, policy string, x, uniforms *tensors.Tensor) []float32 {
	t.Helper()
	p, err := Parse(policy)
	if err != nil {
		t.Fatal(err)
	}
	// The product by 1 keeps the output a node of its own: GoMLX v0.28.2's
	// executor fails when a graph returns one of its parameters unchanged.
	out := MustExecOnce(testutil.GoBackend(t), func(x, u *Node) *Node { return MulScalar(p.Apply(x, u), 1) }, x, uniforms)
	if !slices.Equal(out.Shape().Dimensions, x.Shape().Dimensions) {
		t.Fatalf("policy %q: output shape %v, want %v", policy, out.Shape().Dimensions, x.Shape().Dimensions)
	}
	return tensors.MustCopyFlatData[float32](out)
}

func TestParse(t *testing.T) {
	p, err := Parse(" color, translation ,cutout")
	if err != nil || p.String() != "color,translation,cutout" || p.RandomCount() != 7 {
		t.Errorf("Parse = %v (%d randoms), %v; want color,translation,cutout with 7", p, p.RandomCount(), err)
	}
	if p, err := Parse(""); err != nil || len(p) != 0 {
		t.Errorf("Parse(\"\") = %v, %v; want the empty policy", p, err)
	}
	for _, policy := range []string{"color,", ",color", "color,,cutout"} {
		if _, err := Parse(policy); err == nil || !strings.Contains(err.Error(), "empty operation") {
			t.Errorf("Parse(%q) error = %v, want one about an empty operation", policy, err)
		}
	}
	_, err = Parse("color,flip")
	if err == nil {
		t.Fatal("Parse(\"color,flip\") returned no error")
	}
	for _, want := range []string{`"flip"`, Color, Translation, Cutout} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestEmptyPolicyIsIdentity(t *testing.T) {
	x := counting(4)
	got := apply(t, "", x, tensors.FromFlatDataAndDimensions([]float32{0}, 1, 1))
	if want := tensors.MustCopyFlatData[float32](x); !slices.Equal(got, want) {
		t.Errorf("empty policy changed the image: %v, want %v", got, want)
	}
}

// TestTranslationMovesPixels shifts an 8x8 image by one row down and one
// column left (the largest shift for 8 pixels is 1).
func TestTranslationMovesPixels(t *testing.T) {
	const size = 8
	// floor(u*3) - 1: 0.9 gives +1, 0.1 gives -1.
	got := apply(t, "translation", counting(size), tensors.FromFlatDataAndDimensions([]float32{0.9, 0.1}, 1, 2))
	for i := range size {
		for j := range size {
			from, fromCol := i-1, j+1
			want := float32(0)
			if from >= 0 && fromCol < size {
				want = float32(1 + from*size + fromCol)
			}
			if v := got[i*size+j]; v != want {
				t.Fatalf("pixel (%d, %d) = %g, want %g (from (%d, %d))", i, j, v, want, from, fromCol)
			}
		}
	}
}

// TestCutoutZeroesSquare checks the zeroed area on an image of ones: an
// 8x8 image gets a 4x4 square, centered at (4, 4) for u = 0.5, and a
// square clipped to 2x4 at the top for uy = 0.
func TestCutoutZeroesSquare(t *testing.T) {
	const size = 8
	ones := make([]float32, size*size)
	for i := range ones {
		ones[i] = 1
	}
	cases := []struct {
		uy, ux                         float32
		rowFrom, rowTo, colFrom, colTo int
	}{
		{0.5, 0.5, 2, 6, 2, 6},
		{0, 0.5, 0, 2, 2, 6},
	}
	for _, c := range cases {
		x := tensors.FromFlatDataAndDimensions(slices.Clone(ones), 1, size, size, 1)
		got := apply(t, "cutout", x, tensors.FromFlatDataAndDimensions([]float32{c.uy, c.ux}, 1, 2))
		for i := range size {
			for j := range size {
				want := float32(1)
				if i >= c.rowFrom && i < c.rowTo && j >= c.colFrom && j < c.colTo {
					want = 0
				}
				if v := got[i*size+j]; v != want {
					t.Fatalf("u=(%g, %g): pixel (%d, %d) = %g, want %g", c.uy, c.ux, i, j, v, want)
				}
			}
		}
	}
}

func TestColorKeepsMeanForNeutralDraws(t *testing.T) {
	// brightness u=0.5 adds 0, saturation u=0.5 scales by 1, contrast u=0.5 by 1.
	x := counting(4)
	got := apply(t, "color", x, tensors.FromFlatDataAndDimensions([]float32{0.5, 0.5, 0.5}, 1, 3))
	want := tensors.MustCopyFlatData[float32](x)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("neutral color draw changed pixel %d: %g, want %g", i, got[i], want[i])
		}
	}
}

func TestGradientsFiniteAndNonZero(t *testing.T) {
	backend := testutil.GoBackend(t)
	x := tensors.FromFlatDataAndDimensions(make([]float32, 2*16*16*3), 2, 16, 16, 3)
	data := tensors.MustCopyFlatData[float32](x)
	for i := range data {
		data[i] = float32(math.Sin(float64(i)))
	}
	x = tensors.FromFlatDataAndDimensions(data, 2, 16, 16, 3)
	for _, policy := range []string{Color, Translation, Cutout, "color,translation,cutout"} {
		p, _ := Parse(policy)
		uniforms := p.Uniforms(1, 2, 2)
		grad := MustExecOnce(backend, func(x, u *Node) *Node {
			out := p.Apply(x, u)
			weights := Sin(Iota(x.Graph(), out.Shape(), 1))
			return Gradient(ReduceAllSum(Mul(out, weights)), x)[0]
		}, x, uniforms)
		nonZero := 0
		for _, g := range tensors.MustCopyFlatData[float32](grad) {
			if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
				t.Fatalf("%s: gradient %g is not finite", policy, g)
			}
			if g != 0 {
				nonZero++
			}
		}
		if nonZero == 0 {
			t.Errorf("%s: the gradient with respect to the images is all zero", policy)
		}
	}
}

func TestUniformsSeeded(t *testing.T) {
	p, _ := Parse("color,translation,cutout")
	a := tensors.MustCopyFlatData[float32](p.Uniforms(3, 10, 4))
	b := tensors.MustCopyFlatData[float32](p.Uniforms(3, 10, 4))
	c := tensors.MustCopyFlatData[float32](p.Uniforms(3, 11, 4))
	if !slices.Equal(a, b) {
		t.Error("the same seed and stream gave different draws")
	}
	if slices.Equal(a, c) {
		t.Error("another stream gave the same draws")
	}
	if len(a) != 4*7 {
		t.Errorf("%d draws, want 4*7", len(a))
	}
	for _, v := range a {
		if v < 0 || v >= 1 {
			t.Fatalf("draw %g outside [0, 1)", v)
		}
	}
}

// TestPreviewOnRealCats augments four real Grumpy cats with cutout. Every
// image must get at least the 16x16 corner of its square zeroed. No pixel of
// the images is exactly 0 before, because 0 is level 127.5 of 0..255. The
// same seed must repeat the result, and another seed must change it.
func TestPreviewOnRealCats(t *testing.T) {
	root, err := dataset.Root("")
	if err != nil {
		t.Skipf("no cat data: %v", err)
	}
	images, err := dataset.Load(filepath.Join(root, dataset.GrumpyDir), 64)
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 4, 64
	per := size * size * 3
	pixels := images.Pixels[:n*per]
	b := testutil.GoBackend(t)

	none, err := Policy(nil).Preview(b, pixels, n, size, size, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(none, pixels) || &none[0] == &pixels[0] {
		t.Error("the empty policy's preview is not an equal copy of the images")
	}

	cut, err := Policy{Cutout}.Preview(b, pixels, n, size, size, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		zeros := 0
		for _, v := range cut[i*per : (i+1)*per] {
			if v == 0 {
				zeros++
			}
		}
		if zeros < 16*16*3 {
			t.Errorf("image %d: %d zeroed values after cutout, want at least %d", i, zeros, 16*16*3)
		}
	}
	again, err := Policy{Cutout}.Preview(b, pixels, n, size, size, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Policy{Cutout}.Preview(b, pixels, n, size, size, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, cut) {
		t.Error("the same seed gave another preview")
	}
	if slices.Equal(other, cut) {
		t.Error("seeds 1 and 2 gave the same preview")
	}

	if _, err := (Policy{Color}).Preview(b, pixels, n, size, size, 4, 1); err == nil || !strings.Contains(err.Error(), "[4, 64, 64, 4]") {
		t.Errorf("preview with a wrong channel count: %v, want an error giving the shape", err)
	}
}
