package backend

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestCreateRequestsOneCPUDevice creates the installed XLA plugin's backend,
// whose own default is 4 CPU devices, and checks that it has XLACPUDevices
// devices and computes.
func TestCreateRequestsOneCPUDevice(t *testing.T) {
	plugin := FindPlugin()
	if plugin == "" {
		t.Skip("no XLA CPU plugin installed (make setup installs one into .xla/)")
	}
	b, err := Create("xla:" + plugin)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if n := b.NumDevices(); n != XLACPUDevices {
		t.Errorf("NumDevices() = %d, want XLACPUDevices (%d)", n, XLACPUDevices)
	}
	got := graph.MustExecOnce(b, func(x *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Mul(x, x))
	}, []float32{1, 2, 3})
	if v := tensors.MustCopyFlatData[float32](got)[0]; v != 14 {
		t.Errorf("sum of squares of [1 2 3] = %g, want 14", v)
	}
}
