package trainloop

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/catsynth/catsynth/backend"
)

// TestReadVariablesEachCall compiles a graph that multiplies its input by a
// variable, sets the variable, and runs the graph again, on the pure Go
// backend. Without ReadVariablesEachCall the second call on that backend
// returns the first call's product.
func TestReadVariablesEachCall(t *testing.T) {
	goBackend, err := backend.Create("go")
	if err != nil {
		t.Fatal(err)
	}
	defer goBackend.Finalize()
	store := model.NewStore()
	weight := store.RootScope().VariableWithValue("weight", []float32{1, 2})
	exec, err := model.NewExec(goBackend, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		ReadVariablesEachCall(scope, x.Graph())
		return graph.Mul(x, weight.NodeValue(x.Graph()))
	})
	if err != nil {
		t.Fatal(err)
	}
	call := func() []float32 {
		t.Helper()
		out, err := exec.Exec([]float32{10, 10})
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](out[0])
	}
	if got := call(); !slices.Equal(got, []float32{10, 20}) {
		t.Fatalf("first call = %v, want [10 20]", got)
	}
	if err := weight.SetValue(tensors.FromValue([]float32{3, 4})); err != nil {
		t.Fatal(err)
	}
	if got := call(); !slices.Equal(got, []float32{30, 40}) {
		t.Errorf("after setting the variable to [3 4]: %v, want [30 40], so the compiled graph kept the old value", got)
	}
}
