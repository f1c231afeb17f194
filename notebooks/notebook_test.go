// Package notebooks_test executes every notebook in this folder with the
// "smoke" preset and checks what it shows, and checks that the committed
// notebooks are clean (no outputs, kernel "catsynth").
//
// Executing needs `make setup` (the .venv with Jupyter, the Go tools in
// .tools/bin and the catsynth kernel spec). Without them the execution part
// skips, unless CATSYNTH_NOTEBOOK_TEST=1 is set (as `make test` and CI do),
// in which case it fails. CATSYNTH_NOTEBOOK_DIR runs the notebooks of another
// folder; its parent must be a catsynth checkout, because the notebooks'
// first cell points the catsynth module at ${GONB_DIR}/.. .
package notebooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/catsynth/catsynth/cyclegan"
	"github.com/catsynth/catsynth/gan"
	"github.com/catsynth/catsynth/nbshow"
	"github.com/catsynth/catsynth/pixelcnn"
	"github.com/catsynth/catsynth/vae"
)

// kernelName is the Jupyter kernel every notebook must use.
const kernelName = "catsynth"

// testPreset is the notebook preset used by this test: the smallest run that
// still draws every picture and plot.
const testPreset = "smoke"

// requiredEnv makes missing tools a test failure instead of a skip.
const requiredEnv = "CATSYNTH_NOTEBOOK_TEST"

// notebookDirEnv points the test at another folder of notebooks.
const notebookDirEnv = "CATSYNTH_NOTEBOOK_DIR"

// notebook is the part of the nbformat 4 JSON that the checks read.
type notebook struct {
	Cells    []cell `json:"cells"`
	Metadata struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
}

type cell struct {
	CellType       string          `json:"cell_type"`
	Source         json.RawMessage `json:"source"`
	ExecutionCount *int            `json:"execution_count"`
	Outputs        []output        `json:"outputs"`
}

type output struct {
	OutputType string                     `json:"output_type"`
	Name       string                     `json:"name"`
	Text       json.RawMessage            `json:"text"`
	Data       map[string]json.RawMessage `json:"data"`
	Ename      string                     `json:"ename"`
	Evalue     string                     `json:"evalue"`
	Traceback  []string                   `json:"traceback"`
}

// multiline decodes an nbformat multi-line string, stored either as one
// string or as a list of lines.
func multiline(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var single string
	if err := json.Unmarshal(raw, &single); err == nil {
		return single
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err == nil {
		return strings.Join(lines, "")
	}
	return string(raw)
}

func readNotebook(t *testing.T, path string) *notebook {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatalf("%s is not valid notebook JSON: %v", path, err)
	}
	return &nb
}

// firstCodeLine returns the first line of a cell that is not blank or a
// GoNB "%%" marker, cut to 60 bytes, to name the cell in failure messages.
func firstCodeLine(c cell) string {
	for _, line := range strings.Split(multiline(c.Source), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "%%" {
			continue
		}
		if len(line) > 60 {
			return line[:57] + "..."
		}
		return line
	}
	return ""
}

func notebookDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(notebookDirEnv)
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("resolving %s=%q: %v", notebookDirEnv, dir, err)
	}
	return abs
}

func findNotebooks(t *testing.T) []string {
	t.Helper()
	dir := notebookDir(t)
	paths, err := filepath.Glob(filepath.Join(dir, "*.ipynb"))
	if err != nil {
		t.Fatalf("listing notebooks in %s: %v", dir, err)
	}
	if len(paths) == 0 {
		t.Skipf("no *.ipynb files in %s", dir)
	}
	return paths
}

// repoRoot returns the checkout that holds this test (its parent folder),
// where scripts/, .venv/ and .tools/ live.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatalf("resolving the repository root: %v", err)
	}
	return root
}

func TestCommittedNotebooksAreClean(t *testing.T) {
	for _, path := range findNotebooks(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			nb := readNotebook(t, path)
			if got := nb.Metadata.Kernelspec.Name; got != kernelName {
				t.Errorf("metadata.kernelspec.name = %q, want %q; select the %q kernel and save again", got, kernelName, kernelName)
			}
			for i, c := range nb.Cells {
				if c.CellType != "code" {
					continue
				}
				if len(c.Outputs) != 0 {
					t.Errorf("cell %d (%s) has %d outputs, want none; clear all outputs before committing", i, firstCodeLine(c), len(c.Outputs))
				}
				if c.ExecutionCount != nil {
					t.Errorf("cell %d (%s) has execution_count %d, want null; clear all outputs before committing", i, firstCodeLine(c), *c.ExecutionCount)
				}
			}
		})
	}
}

// checkTools skips or fails the test when `make setup` has not run.
func checkTools(t *testing.T, root string) {
	t.Helper()
	required := []string{
		filepath.Join(root, ".venv", "bin", "jupyter"),
		filepath.Join(root, ".venv", "share", "jupyter", "kernels", kernelName, "kernel.json"),
		filepath.Join(root, ".tools", "bin", "gonb"),
		filepath.Join(root, ".tools", "bin", "gopls"),
		filepath.Join(root, ".tools", "bin", "goimports"),
	}
	var missing []string
	for _, path := range required {
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, path)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("notebook tools missing (%s); run `make setup` in %s", strings.Join(missing, ", "), root)
	if os.Getenv(requiredEnv) == "1" {
		t.Fatalf("%s (%s=1 makes this a failure)", msg, requiredEnv)
	}
	t.Skipf("%s, or set %s=1 to make this a failure", msg, requiredEnv)
}

// tailLines returns the last n lines of the file at path, or why it could
// not be read.
func tailLines(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runNotebook executes path with scripts/run-notebook.sh into outDir and
// returns the executed notebook. A failing script is reported but the
// executed notebook is still returned when it was written, so that the output
// checks can name the failing cells.
func runNotebook(t *testing.T, root, path, outDir string) *notebook {
	t.Helper()
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		// Leave time to report the failure before `go test` kills the binary.
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		defer cancel()
	}
	script := filepath.Join(root, "scripts", "run-notebook.sh")
	cmd := exec.CommandContext(ctx, "bash", script, path, testPreset, outDir)
	cmd.Dir = root
	var combined bytes.Buffer
	cmd.Stdout = &combined
	cmd.Stderr = &combined
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s ran in %s:\n%s", filepath.Base(path), time.Since(start).Round(time.Second), combined.String())
	if err != nil {
		// outDir is removed after the test, so show the end of the kernel log here.
		logPath := filepath.Join(outDir, strings.TrimSuffix(filepath.Base(path), ".ipynb")+".log")
		t.Errorf("scripts/run-notebook.sh %s %s failed: %v\nlast lines of %s:\n%s", path, testPreset, err, logPath, tailLines(logPath, 40))
	}

	executed := filepath.Join(outDir, filepath.Base(path))
	if _, statErr := os.Stat(executed); statErr != nil {
		t.Fatalf("executed notebook %s was not written: %v", executed, statErr)
	}
	return readNotebook(t, executed)
}

func TestNotebooksRun(t *testing.T) {
	paths := findNotebooks(t)
	root := repoRoot(t)
	checkTools(t, root)
	if testing.Short() && os.Getenv(requiredEnv) != "1" {
		t.Skip("executing notebooks takes minutes; skipped in -short mode")
	}

	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			nb := runNotebook(t, root, path, t.TempDir())

			var pngs, plots int
			for i, c := range nb.Cells {
				for _, out := range c.Outputs {
					if out.OutputType == "error" {
						t.Errorf("cell %d (%s) raised %s: %s\n%s", i, firstCodeLine(c), out.Ename, out.Evalue, strings.Join(out.Traceback, "\n"))
					}
					if text := multiline(out.Text); out.OutputType == "stream" && strings.Contains(text, nbshow.NotWrittenYet) {
						t.Errorf("cell %d (%s) shows a picture or log that its run did not write:\n%s", i, firstCodeLine(c), text)
					}
					if _, ok := out.Data["image/png"]; ok {
						pngs++
					}
					if _, ok := out.Data["image/svg+xml"]; ok {
						plots++
					} else if html, ok := out.Data["text/html"]; ok && strings.Contains(multiline(html), "<svg") {
						plots++
					}
				}
			}
			if pngs == 0 {
				t.Errorf("no cell displayed an image/png output; images must be shown with gonbui and followed by gonbui.Sync() so that headless runs keep them")
			}
			if plots == 0 {
				t.Errorf("no cell displayed a plot (image/svg+xml, or text/html with <svg>); plots must be shown with gonbui and followed by gonbui.Sync()")
			}
		})
	}
}

// TestRunNotebookPresetsMatchPackages checks that the presets which
// scripts/run-notebook.sh accepts are those of every model package.
func TestRunNotebookPresetsMatchPackages(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "run-notebook.sh"))
	if err != nil {
		t.Fatal(err)
	}
	match := regexp.MustCompile(`(?m)^presets="([^"]*)"$`).FindSubmatch(script)
	if match == nil {
		t.Fatal(`scripts/run-notebook.sh has no line presets="..."`)
	}
	accepted := strings.Fields(string(match[1]))
	slices.Sort(accepted)
	for name, presets := range map[string][]string{
		"gan": gan.PresetNames(), "cyclegan": cyclegan.PresetNames(),
		"pixelcnn": pixelcnn.PresetNames(), "vae": vae.PresetNames(),
	} {
		if !slices.Equal(presets, accepted) {
			t.Errorf("%s.PresetNames() = %v, but scripts/run-notebook.sh accepts %v", name, presets, accepted)
		}
	}
}

// TestRunNotebookRejectsUnknownPreset runs scripts/run-notebook.sh with a
// preset that no notebook has and checks that it stops before creating the
// output folder, with a message that lists the valid presets.
func TestRunNotebookRejectsUnknownPreset(t *testing.T) {
	root := repoRoot(t)
	outDir := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run-notebook.sh"), filepath.Join(root, "notebooks", "vae.ipynb"), "bogus", outDir)
	cmd.Dir = root
	output, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("run-notebook.sh accepted the preset bogus:\n%s", output)
	}
	if want := "unknown PRESET 'bogus': valid presets are quick, report, smoke"; !strings.Contains(string(output), want) {
		t.Errorf("output %q does not contain %q", output, want)
	}
	if _, err := os.Stat(outDir); err == nil {
		t.Errorf("run-notebook.sh created %s for an invalid preset", outDir)
	}
}

// TestFailedCallShowsMessageOnly executes the setup and settings cells of
// dcgan.ipynb with an unknown preset in the real kernel. The settings cell's
// must call fails, and the cell must show the package's error message and
// end with exit status 1, not with a Go panic and its stack trace. The other
// notebooks must define the same init_errors function that makes it so.
// The kernel must also keep GoNB's informational log out of its stderr.
func TestFailedCallShowsMessageOnly(t *testing.T) {
	root := repoRoot(t)
	dir := notebookDir(t)
	initErrors := func(path string) string {
		for _, c := range readNotebook(t, path).Cells {
			source := multiline(c.Source)
			if start := strings.Index(source, "func init_errors()"); start >= 0 {
				end := strings.Index(source[start:], "\n}\n")
				if end < 0 {
					t.Fatalf("%s: init_errors has no closing brace at the start of a line", path)
				}
				return source[start : start+end+3]
			}
		}
		t.Errorf("%s defines no init_errors function in any cell; failed calls would panic with a stack trace", path)
		return ""
	}
	want := initErrors(filepath.Join(dir, "dcgan.ipynb"))
	for _, path := range findNotebooks(t) {
		if got := initErrors(path); got != want {
			t.Errorf("%s: init_errors is\n%s\nwant the one of dcgan.ipynb:\n%s", path, got, want)
		}
	}

	checkTools(t, root)
	if testing.Short() && os.Getenv(requiredEnv) != "1" {
		t.Skip("executing a notebook takes seconds; skipped in -short mode")
	}
	const preset = "no-such-preset"
	_, presetErr := gan.PresetConfig(preset)
	if presetErr == nil {
		t.Fatalf("gan.PresetConfig(%q) returned no error", preset)
	}

	// A notebook of the first cells, up to the settings cell, with the
	// module replacement pointing at this checkout from a temporary folder.
	raw, err := os.ReadFile(filepath.Join(dir, "dcgan.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	cells, _ := doc["cells"].([]any)
	settings := -1
	for i, c := range readNotebook(t, filepath.Join(dir, "dcgan.ipynb")).Cells {
		if c.CellType == "code" && strings.Contains(multiline(c.Source), "nbshow.Preset(") {
			settings = i
			break
		}
	}
	if settings < 0 || settings >= len(cells) {
		t.Fatal("dcgan.ipynb has no settings cell (one that calls nbshow.Preset)")
	}
	cells = cells[:settings+1]
	for _, c := range cells {
		fields := c.(map[string]any)
		if source, ok := fields["source"].([]any); ok {
			for i, line := range source {
				source[i] = strings.ReplaceAll(line.(string), "${GONB_DIR}/..", root)
			}
		}
	}
	doc["cells"] = cells
	work := t.TempDir()
	short := filepath.Join(work, "settings.ipynb")
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(short, data, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(filepath.Join(root, ".venv", "bin", "jupyter"), "nbconvert", "--to", "notebook", "--execute",
		"--allow-errors", "--ExecutePreprocessor.kernel_name="+kernelName, "--ExecutePreprocessor.timeout=600",
		"--output-dir", work, "--output", "executed.ipynb", short)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "CATSYNTH_PRESET="+preset, "CATSYNTH_OUT="+filepath.Join(work, "runs"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(work, "runtime"), "JUPYTER_PLATFORM_DIRS=1")
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nbconvert failed: %v\n%s", err, output)
	}
	// The kernel spec keeps GoNB's informational log lines, among them a
	// stack trace at each shutdown, out of the kernel's stderr.
	if strings.Contains(string(output), "killing gopls") {
		t.Errorf("the kernel's log shows GoNB's informational lines; check the logging flags in kernels/catsynth/kernel.json.in:\n%s", output)
	}
	executed := readNotebook(t, filepath.Join(work, "executed.ipynb"))
	var stderr strings.Builder
	for _, out := range executed.Cells[settings].Outputs {
		if out.OutputType == "stream" && out.Name == "stderr" {
			stderr.WriteString(multiline(out.Text))
		}
	}
	cellStderr := stderr.String()
	if !strings.Contains(cellStderr, presetErr.Error()) {
		t.Errorf("the settings cell's stderr does not contain the error %q:\n%s", presetErr, cellStderr)
	}
	if !strings.Contains(cellStderr, "exit status 1") {
		t.Errorf("the settings cell's stderr does not end the program with exit status 1:\n%s", cellStderr)
	}
	for _, trace := range []string{"panic:", "goroutine "} {
		if strings.Contains(cellStderr, trace) {
			t.Errorf("the settings cell shows a Go stack trace (%q):\n%s", trace, cellStderr)
		}
	}
}
