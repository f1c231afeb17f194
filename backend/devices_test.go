package backend

import "testing"

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
	checkSumOfSquares(t, b)
}
