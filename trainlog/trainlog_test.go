package trainlog

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var columns = []string{"d_loss", "g_loss"}

// writeRows opens path, appends one row per step with values (step/10, -step), and closes it.
func writeRows(t *testing.T, path string, steps ...int) {
	t.Helper()
	w, err := Open(path, columns)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for _, step := range steps {
		if err := w.Append(step, float64(step)/10, -float64(step)); err != nil {
			t.Fatalf("Append(%d): %v", step, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "losses.csv")
	w, err := Open(path, []string{"a", "b", "c"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rows := [][]float64{
		{0.1, 1e-300, -2.5},
		{math.NaN(), math.Inf(1), math.Inf(-1)},
		{1.0 / 3, 123456789.125, 0},
	}
	for i, row := range rows {
		if err := w.Append(i*100, row...); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := strings.SplitN(readFile(t, path), "\n", 2)[0], "step,a,b,c"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}

	table, err := Read(path)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(table.Columns, want) {
		t.Errorf("Columns = %q, want %q", table.Columns, want)
	}
	if want := []int{0, 100, 200}; !reflect.DeepEqual(table.Steps, want) {
		t.Errorf("Steps = %v, want %v", table.Steps, want)
	}
	for c := range 3 {
		for i, row := range rows {
			got, want := table.Values[c][i], row[c]
			if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("Values[%d][%d] = %v, want %v", c, i, got, want)
			}
		}
	}
}

func TestAppendAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "losses.csv")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	writeRows(t, path, 1, 2)
	writeRows(t, path, 3)

	want := "step,d_loss,g_loss\n1,0.1,-1\n2,0.2,-2\n3,0.3,-3\n"
	if got := readFile(t, path); got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
}

func TestHeaderMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "losses.csv")
	writeRows(t, path, 1)
	_, err := Open(path, []string{"d_loss", "g_loss", "cycle_loss"})
	if err == nil {
		t.Fatalf("Open with other columns succeeded, want an error")
	}
	for _, want := range []string{path, `"step,d_loss,g_loss"`, `"step,d_loss,g_loss,cycle_loss"`, "another output folder", "move"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if got, want := readFile(t, path), "step,d_loss,g_loss\n1,0.1,-1\n"; got != want {
		t.Errorf("file after the failed Open = %q, want it unchanged %q", got, want)
	}
}

func TestTruncateAfter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "losses.csv")
	writeRows(t, path, 1, 2, 3, 4)

	w, err := Open(path, columns)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// Rows 5 and 6 are still buffered, so TruncateAfter must flush them first.
	for _, step := range []int{5, 6} {
		if err := w.Append(step, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.TruncateAfter(2); err != nil {
		t.Fatalf("TruncateAfter: %v", err)
	}
	if err := w.Append(3, 9, 9); err != nil {
		t.Fatalf("Append after TruncateAfter: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	want := "step,d_loss,g_loss\n1,0.1,-1\n2,0.2,-2\n3,9,9\n"
	if got := readFile(t, path); got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder has %d entries, want only the log (no temporary files)", len(entries))
	}
}

func TestTruncateAfterKeepsAllEarlierRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "losses.csv")
	writeRows(t, path, 1, 2, 3)
	w, err := Open(path, columns)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before := readFile(t, path)
	for _, step := range []int{3, 100} {
		if err := w.TruncateAfter(step); err != nil {
			t.Fatalf("TruncateAfter(%d): %v", step, err)
		}
		if got := readFile(t, path); got != before {
			t.Errorf("TruncateAfter(%d) changed the file to %q, want %q", step, got, before)
		}
	}
	if err := w.TruncateAfter(0); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, path), "step,d_loss,g_loss\n"; got != want {
		t.Errorf("after TruncateAfter(0) file = %q, want only the header %q", got, want)
	}
}

func TestTruncateAfterMalformedRowLeavesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "losses.csv")
	content := "step,d_loss,g_loss\n1,0.1,-1\nx,0.2,-2\n3,0.3,-3\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Open(path, columns)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.TruncateAfter(1)
	if err == nil || !strings.Contains(err.Error(), path+":3") {
		t.Errorf("TruncateAfter error = %v, want one naming %s:3", err, path)
	}
	if got := readFile(t, path); got != content {
		t.Errorf("file = %q, want it unchanged", got)
	}
}

func TestReadMalformed(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"empty file", "", "is empty"},
		{"bad header", "time,loss\n1,2\n", ":1: invalid header"},
		{"header without columns", "step\n1\n", ":1: invalid header"},
		{"too few fields", "step,a,b\n1,2,3\n2,3\n", ":3: got 2 fields, want 3"},
		{"bad step", "step,a\n1,2\n1.5,3\n", `:3: invalid step "1.5"`},
		{"bad value", "step,a,b\n1,2,3\n2,3,abc\n", `:3: invalid value "abc" in column "b"`},
		{"blank line", "step,a\n1,2\n\n3,4\n", ":3: got 1 fields, want 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "losses.csv")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read error = %v, want one naming %s and containing %q", err, path, tt.want)
			}
		})
	}
}

func TestUnfinishedLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "losses.csv")
	if err := os.WriteFile(path, []byte("step,d_loss,g_loss\n1,0.1,-1\n2,0.2"), 0o644); err != nil {
		t.Fatal(err)
	}
	table, err := Read(path)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if want := []int{1}; !reflect.DeepEqual(table.Steps, want) {
		t.Errorf("Steps = %v, want %v (the unfinished row ignored)", table.Steps, want)
	}

	writeRows(t, path, 2)
	if got, want := readFile(t, path), "step,d_loss,g_loss\n1,0.1,-1\n2,0.2,-2\n"; got != want {
		t.Errorf("file after Open and Append = %q, want %q (the unfinished row removed)", got, want)
	}
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	badColumns := []struct {
		columns []string
		want    string
	}{
		{nil, "no columns"},
		{[]string{"a", ""}, "empty column name"},
		{[]string{"step"}, `invalid column name "step"`},
		{[]string{"a,b"}, `invalid column name "a,b"`},
		{[]string{"a", "a"}, `duplicate column name "a"`},
	}
	for _, tt := range badColumns {
		if _, err := Open(filepath.Join(dir, "x.csv"), tt.columns); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) error = %v, want one containing %q", tt.columns, err, tt.want)
		}
	}

	w, err := Open(filepath.Join(dir, "losses.csv"), columns)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(1, 0.5); err == nil || !strings.Contains(err.Error(), "got 1 values, want 2") {
		t.Errorf("Append with 1 value: error = %v, want a count mismatch", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if err := w.Append(2, 1, 2); err == nil {
		t.Errorf("Append after Close succeeded, want an error")
	}
}

func TestTableSeries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "losses.csv")
	writeRows(t, path, 10, 20)
	table, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := table.Series("g_loss")
	if err != nil {
		t.Fatalf("Series: %v", err)
	}
	if s.Name != "g_loss" || !reflect.DeepEqual(s.X, []float64{10, 20}) || !reflect.DeepEqual(s.Y, []float64{-10, -20}) {
		t.Errorf("Series = %+v, want g_loss with X [10 20] and Y [-10 -20]", s)
	}
	if _, err := table.Series("cycle_loss"); err == nil || !strings.Contains(err.Error(), "d_loss, g_loss") {
		t.Errorf("Series(unknown) error = %v, want one listing the columns", err)
	}
}

// TestOpenAtCutsBack writes five rows, opens the log again at step 3 as a
// resumed run does, and checks that only the rows up to 3 remain before the
// new ones.
func TestOpenAtCutsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "losses.csv")
	w, err := Open(path, []string{"loss"})
	if err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 5; step++ {
		if err := w.Append(step, float64(step)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	resumed, err := OpenAt(path, []string{"loss"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Append(4, 40); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Close(); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "step,loss\n1,1\n2,2\n3,3\n4,40\n"; string(data) != want {
		t.Errorf("log after OpenAt at 3 = %q, want %q", data, want)
	}
	if _, err := OpenAt(path, []string{"other"}, 3); err == nil {
		t.Error("OpenAt accepted a log with other columns")
	}
}
