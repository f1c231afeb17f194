package backend

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestFileContainsAcrossBlocks puts the flag's name across the boundary of
// fileContains's 4 MiB blocks, at the start and at the end of a file.
func TestFileContainsAcrossBlocks(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	filler := make([]byte, 9<<20)
	for i := range filler {
		filler[i] = byte('a' + i%7)
	}

	boundary := append([]byte(nil), filler...)
	copy(boundary[4<<20-10:], oneDNNFlagName)
	atEnd := append(append([]byte(nil), filler...), oneDNNFlagName...)
	almost := append(append([]byte(nil), filler...), oneDNNFlagName[:len(oneDNNFlagName)-1]...)

	cases := []struct {
		name string
		data []byte
		want bool
	}{
		{"boundary", boundary, true},
		{"start", append([]byte(oneDNNFlagName), filler...), true},
		{"end", atEnd, true},
		{"prefix only", almost, false},
		{"none", filler, false},
		{"empty", nil, false},
	}
	for _, c := range cases {
		got, err := fileContains(write(c.name, c.data), oneDNNFlagName)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: fileContains = %v, want %v", c.name, got, c.want)
		}
	}

	if _, err := fileContains(filepath.Join(dir, "missing.so"), oneDNNFlagName); err == nil {
		t.Error("fileContains of a missing file returned no error")
	}
}

// TestEnableOneDNNKeepsUserFlags checks when enableOneDNN adds the flag to
// XLA_FLAGS: for a plugin that contains its name, after the user's flags,
// and never over a setting of the user's.
func TestEnableOneDNNKeepsUserFlags(t *testing.T) {
	dir := t.TempDir()
	withFlag := filepath.Join(dir, "knows.so")
	if err := os.WriteFile(withFlag, []byte("flags: "+oneDNNFlagName+", others"), 0o644); err != nil {
		t.Fatal(err)
	}
	withoutFlag := filepath.Join(dir, "older.so")
	if err := os.WriteFile(withoutFlag, []byte("flags: xla_cpu_use_thunk_runtime"), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		plugin, flags, want string
	}{
		{withFlag, "", OneDNNFlag},
		{withFlag, "--xla_dump_to=/tmp/x", "--xla_dump_to=/tmp/x " + OneDNNFlag},
		{withFlag, "--" + oneDNNFlagName + "=false", "--" + oneDNNFlagName + "=false"},
		{withoutFlag, "--xla_dump_to=/tmp/x", "--xla_dump_to=/tmp/x"},
		{filepath.Join(dir, "missing.so"), "", ""},
	}
	for _, c := range cases {
		t.Setenv("XLA_FLAGS", c.flags)
		enableOneDNN(c.plugin)
		if got := os.Getenv("XLA_FLAGS"); got != c.want {
			t.Errorf("plugin %s, XLA_FLAGS %q: got %q, want %q", filepath.Base(c.plugin), c.flags, got, c.want)
		}
	}
}

// TestOneDNNWeightGradient runs, on the installed XLA plugin with the flag,
// the kind of dot product that the flag sends to oneDNN, a^T @ v, and
// checks it against a float64 sum.
func TestOneDNNWeightGradient(t *testing.T) {
	plugin := FindPlugin()
	if plugin == "" {
		t.Skip("no XLA CPU plugin installed (make setup installs one into .xla/)")
	}
	supported, err := fileContains(plugin, oneDNNFlagName)
	if err != nil {
		t.Fatal(err)
	}
	if !supported {
		t.Skipf("plugin %s does not know %s", plugin, oneDNNFlagName)
	}

	t.Setenv("XLA_FLAGS", "")
	b, err := Create("xla:" + plugin)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if got := os.Getenv("XLA_FLAGS"); !strings.Contains(got, OneDNNFlag) {
		t.Errorf("XLA_FLAGS after Create = %q, want it to contain %s", got, OneDNNFlag)
	}

	const m, k, n = 1000, 24, 9
	rng := rand.New(rand.NewPCG(1, 2))
	a, v := make([]float32, m*k), make([]float32, m*n)
	for i := range a {
		a[i] = rng.Float32()*2 - 1
	}
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}

	out := graph.MustExecOnce(b, func(a, v *graph.Node) *graph.Node {
		return graph.DotGeneral(a, []int{0}, nil, v, []int{0}, nil)
	}, tensors.FromFlatDataAndDimensions(a, m, k), tensors.FromFlatDataAndDimensions(v, m, n))
	got := tensors.MustCopyFlatData[float32](out)
	for i := range k {
		for j := range n {
			want := 0.0
			for r := range m {
				want += float64(a[r*k+i]) * float64(v[r*n+j])
			}
			if diff := math.Abs(float64(got[i*n+j]) - want); diff > 1e-3 {
				t.Fatalf("(a^T v)[%d, %d] = %g, want %g", i, j, got[i*n+j], want)
			}
		}
	}
}
