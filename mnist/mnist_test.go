package mnist

import (
	"strings"
	"testing"
)

func TestLoadRealFiles(t *testing.T) {
	tests := []struct {
		split string
		want  int
	}{
		{"train", 60000},
		{"test", 10000},
	}
	for _, tt := range tests {
		t.Run(tt.split, func(t *testing.T) {
			set, err := Load(tt.split)
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.split, err)
			}
			if set.N != tt.want {
				t.Errorf("N = %d, want %d", set.N, tt.want)
			}
			if got := len(set.Images); got != tt.want*28*28 {
				t.Errorf("len(Images) = %d, want %d", got, tt.want*28*28)
			}
			if got := len(set.Labels); got != tt.want {
				t.Errorf("len(Labels) = %d, want %d", got, tt.want)
			}
			var counts [10]int
			for i, label := range set.Labels {
				if label > 9 {
					t.Fatalf("label %d = %d, want 0..9", i, label)
				}
				counts[label]++
			}
			for digit, count := range counts {
				// Every digit makes up roughly a tenth of each split.
				if count < tt.want/20 {
					t.Errorf("digit %d appears %d times, want at least %d", digit, count, tt.want/20)
				}
			}
			var ink int
			for _, v := range set.Image(0) {
				if v > 0 {
					ink++
				}
			}
			if ink < 50 || ink > 400 {
				t.Errorf("image 0 has %d non-zero pixels, want a digit (50..400)", ink)
			}
		})
	}
}

func TestLoadFirstLabels(t *testing.T) {
	// The first labels of the standard files are well known.
	tests := []struct {
		split string
		want  []uint8
	}{
		{"train", []uint8{5, 0, 4, 1, 9}},
		{"test", []uint8{7, 2, 1, 0, 4}},
	}
	for _, tt := range tests {
		set, err := Load(tt.split)
		if err != nil {
			t.Fatalf("Load(%q): %v", tt.split, err)
		}
		for i, want := range tt.want {
			if got := set.Labels[i]; got != want {
				t.Errorf("%s label %d = %d, want %d", tt.split, i, got, want)
			}
		}
	}
}

func TestLoadUnknownSplit(t *testing.T) {
	_, err := Load("validation")
	if err == nil || !strings.Contains(err.Error(), "validation") {
		t.Errorf("Load(\"validation\") error = %v, want one naming the split", err)
	}
}

func TestBinarize(t *testing.T) {
	set := &Set{Images: []uint8{0, 127, 128, 255}, Labels: []uint8{0}, N: 1}
	got := set.Binarize()
	want := []uint8{0, 0, 1, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Binarize()[%d] (byte %d) = %d, want %d", i, set.Images[i], got[i], want[i])
		}
	}
}

func TestBinarizeSampled(t *testing.T) {
	images := make([]uint8, 20000)
	for i := range images {
		images[i] = []uint8{0, 64, 255}[i%3]
	}
	set := &Set{Images: images, N: 1}
	first, second := set.BinarizeSampled(7), set.BinarizeSampled(7)
	var ones [3]int
	for i := range images {
		if first[i] != second[i] {
			t.Fatalf("BinarizeSampled(7) differs between calls at %d", i)
		}
		ones[i%3] += int(first[i])
	}
	perLevel := len(images) / 3
	if ones[0] != 0 {
		t.Errorf("byte 0 gave %d ones, want 0", ones[0])
	}
	if ones[2] != perLevel {
		t.Errorf("byte 255 gave %d ones of %d, want all", ones[2], perLevel)
	}
	// Byte 64 is 1 with probability 64/255 (about 0.25).
	if frac := float64(ones[1]) / float64(perLevel); frac < 0.22 || frac > 0.28 {
		t.Errorf("byte 64 gave a fraction %.3f of ones, want about 0.251", frac)
	}
}
