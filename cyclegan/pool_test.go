package cyclegan

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// constantImages returns n images, image i filled with the value first+i.
func constantImages(n int, first float32) []float32 {
	pixels := make([]float32, n*imageLength)
	for i := range n {
		for j := range imageLength {
			pixels[i*imageLength+j] = first + float32(i)
		}
	}
	return pixels
}

// imageValues returns the constant value of each image of pixels.
func imageValues(pixels []float32) []float32 {
	values := make([]float32, len(pixels)/imageLength)
	for i := range values {
		values[i] = pixels[i*imageLength]
	}
	return values
}

func TestFakePoolFillsThenSwaps(t *testing.T) {
	pool := newFakePool(3)
	rng := rand.New(rand.NewPCG(1, 2))

	first := constantImages(2, 0) // images 0, 1
	if got := imageValues(pool.query(first, 2, rng)); !slices.Equal(got, []float32{0, 1}) {
		t.Errorf("while filling, query returned %v, want the fakes [0 1]", got)
	}
	if pool.count != 2 {
		t.Errorf("pool count %d after 2 fakes, want 2", pool.count)
	}

	sawNew, sawStored := false, false
	for round := range 20 {
		fakes := constantImages(2, float32(10+2*round))
		// A shown image is the new fake, one stored before this call, or an
		// earlier fake of this call that was stored on the way.
		allowed := imageValues(pool.images[:pool.count*imageLength])
		shown := imageValues(pool.query(fakes, 2, rng))
		for i, v := range shown {
			fresh := float32(10 + 2*round + i)
			if v == fresh {
				sawNew = true
			} else if slices.Contains(allowed, v) {
				sawStored = true
			} else {
				t.Fatalf("round %d: shown %v, neither the new fake %v nor one of %v", round, v, fresh, allowed)
			}
			allowed = append(allowed, fresh)
		}
		if pool.count != 3 {
			t.Fatalf("round %d: pool count %d, want the capacity 3", round, pool.count)
		}
	}
	if !sawNew || !sawStored {
		t.Errorf("over 40 fakes: showed new fakes %v, stored fakes %v; want both", sawNew, sawStored)
	}
}

func TestFakePoolSeedDeterminesChoices(t *testing.T) {
	run := func(seed uint64) []float32 {
		pool := newFakePool(4)
		rng := rand.New(rand.NewPCG(seed, 0))
		var shown []float32
		for round := range 10 {
			shown = append(shown, imageValues(pool.query(constantImages(3, float32(3*round)), 3, rng))...)
		}
		return shown
	}
	if a, b := run(7), run(7); !slices.Equal(a, b) {
		t.Errorf("seed 7 gave %v and %v, want equal", a, b)
	}
	if a, b := run(7), run(8); slices.Equal(a, b) {
		t.Errorf("seeds 7 and 8 both gave %v, want different choices", a)
	}
}

func TestFakePoolQueryKeepsInput(t *testing.T) {
	pool := newFakePool(1)
	rng := rand.New(rand.NewPCG(3, 4))
	pool.query(constantImages(1, 5), 1, rng)
	fakes := constantImages(4, 20)
	before := slices.Clone(fakes)
	pool.query(fakes, 4, rng)
	if !slices.Equal(fakes, before) {
		t.Error("query modified its input fakes")
	}
}
