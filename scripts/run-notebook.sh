#!/usr/bin/env bash
# Executes a notebook headless with the "catsynth" GoNB kernel and exports it.
#
# Usage: scripts/run-notebook.sh NOTEBOOK PRESET OUTDIR
#
# Writes OUTDIR/NAME.ipynb (the executed notebook), OUTDIR/NAME.html and
# OUTDIR/NAME.log (nbconvert's and the kernel's messages), and prints the
# paths and the elapsed time. The notebook reads PRESET from the
# environment variable CATSYNTH_PRESET and writes its checkpoints and samples
# under CATSYNTH_OUT (set to the absolute OUTDIR). When OUTDIR already
# contains NAME.ipynb, NAME.html or NAME.log from an earlier run, they are
# kept as NAME.previous-N.* with the first free N.
#
# A cell error does not stop the export: the executed notebook and the HTML
# are still written, then the script prints each failing cell's error and
# exits 1. A kernel that dies or a cell that times out also exits 1, and then
# nbconvert writes no notebook.
#
# Environment:
#   CELL_TIMEOUT  seconds one cell may run (default 3600)
#   VENV          the virtual environment made by `make setup` (default REPO/.venv)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
cell_timeout="${CELL_TIMEOUT:-3600}"

if [[ $# -ne 3 ]]; then
  echo "usage: scripts/run-notebook.sh NOTEBOOK PRESET OUTDIR" >&2
  exit 2
fi
notebook="$1"
preset="$2"
outdir="$3"

fail() {
  echo "run-notebook: $*" >&2
  exit 1
}

[[ -f "$notebook" ]] || fail "notebook '$notebook' not found"
[[ "$notebook" == *.ipynb ]] || fail "'$notebook' is not a .ipynb file"
[[ -n "$preset" ]] || fail "PRESET is empty; give a preset name such as smoke or quick"
# The presets that every model package has (gan.PresetNames and the others;
# notebooks/notebook_test.go compares them).
presets="quick report smoke"
[[ " $presets " == *" $preset "* ]] || fail "unknown PRESET '$preset': valid presets are ${presets// /, }"
[[ "$cell_timeout" =~ ^[0-9]+$ ]] || fail "CELL_TIMEOUT='$cell_timeout' is not a whole number of seconds"
[[ -x "$venv/bin/jupyter" ]] || fail "$venv/bin/jupyter not found; run 'make setup'"
[[ -f "$venv/share/jupyter/kernels/catsynth/kernel.json" ]] ||
  fail "kernel spec $venv/share/jupyter/kernels/catsynth/kernel.json not found; run 'make setup'"
for tool in gonb goimports gopls; do
  [[ -x "$repo/.tools/bin/$tool" ]] || fail "$repo/.tools/bin/$tool not found; run 'make setup'"
done

# GoNB needs go, goimports and gopls on the PATH of the process that starts
# the kernel. The kernel spec adds them as well, so this matters only for an
# older spec.
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null || fail "go not found on PATH; install Go or add its bin folder to PATH"
export PATH="$repo/.tools/bin:$PATH"

# Keep Jupyter's files inside the checkout, as `make` does.
export JUPYTER_CONFIG_DIR="${JUPYTER_CONFIG_DIR:-$repo/.jupyter/config}"
export JUPYTER_DATA_DIR="${JUPYTER_DATA_DIR:-$repo/.jupyter/data}"
export JUPYTER_RUNTIME_DIR="${JUPYTER_RUNTIME_DIR:-$repo/.jupyter/runtime}"
export JUPYTER_PLATFORM_DIRS=1
export GOEXPERIMENT="${GOEXPERIMENT:-simd}"
# An older installed Go fetches the toolchain that go.mod names.
if [[ -z "${GOTOOLCHAIN:-}" ]]; then
  GOTOOLCHAIN="$(awk '$1 == "toolchain" { print $2; exit }' "$repo/go.mod")"
  export GOTOOLCHAIN
fi

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
name="$(basename "$notebook" .ipynb)"
executed="$outdir/$name.ipynb"
html="$outdir/$name.html"
export CATSYNTH_PRESET="$preset"
export CATSYNTH_OUT="$outdir"

log="$outdir/$name.log"
# A rerun into the same folder keeps the earlier outputs as NAME.previous-N.*.
if [[ -e "$executed" || -e "$html" || -e "$log" ]]; then
  n=1
  while compgen -G "$outdir/$name.previous-$n.*" >/dev/null; do
    n=$((n + 1))
  done
  for file in "$executed" "$html" "$log"; do
    if [[ -e "$file" ]]; then
      mv "$file" "$outdir/$name.previous-$n.${file##*.}"
    fi
  done
  echo "run-notebook: the earlier outputs in $outdir are kept as $name.previous-$n.*"
fi
echo "run-notebook: executing $notebook with PRESET=$preset (cell timeout ${cell_timeout}s)"
echo "run-notebook: kernel and nbconvert messages go to $log"
start=$SECONDS
# nbconvert starts the kernel in the notebook's folder, which GoNB reports to
# the cells as GONB_DIR.
if ! "$venv/bin/jupyter" nbconvert --to notebook --execute --allow-errors \
  --ExecutePreprocessor.kernel_name=catsynth \
  --ExecutePreprocessor.timeout="$cell_timeout" \
  --output-dir "$outdir" --output "$name.ipynb" "$notebook" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  fail "nbconvert failed on $notebook after $((SECONDS - start)) s (the kernel died or a cell ran past CELL_TIMEOUT=${cell_timeout}s); the full log is $log"
fi
elapsed=$((SECONDS - start))

if ! "$venv/bin/jupyter" nbconvert --to html --output-dir "$outdir" --output "$name.html" "$executed" >>"$log" 2>&1; then
  tail -n 20 "$log" >&2
  fail "HTML export of $executed failed; the full log is $log"
fi

echo "run-notebook: notebook $executed"
echo "run-notebook: html     $html"
# The notebooks write their training runs (samples, losses, checkpoints)
# under CATSYNTH_OUT.
for run in "$outdir"/*/; do
  if [[ -d "$run" ]]; then
    echo "run-notebook: run      ${run%/}"
  fi
done
echo "run-notebook: executed in ${elapsed} s"

# Report failed cells. GoNB reports compile errors as "error" outputs. For a
# cell program that panics or exits non-zero, GoNB v0.11.3 only appended
# "exit status N" (or "signal: killed") to the cell's stderr, and v0.11.5
# adds an "error" output as well. Each counts as a failure here. ANSI colour codes are removed so that
# CI logs stay readable.
"$venv/bin/python" - "$executed" <<'PY'
import json
import re
import sys

path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    notebook = json.load(f)

ansi = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
program_failed = re.compile(r"^(exit status [0-9]+|signal: .+)$", re.MULTILINE)


def text_of(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def panic_lines(stderr):
    """Returns the panic message in a cell's stderr, or its last lines."""
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("panic:"):
            return lines[i : i + 3]
    return lines[-40:]


def report(index, cell, lines):
    code_lines = [line for line in text_of(cell.get("source")).splitlines() if line.strip() not in ("", "%%")]
    first_line = code_lines[0].strip() if code_lines else ""
    print(f"run-notebook: cell {index} failed ({first_line}):", file=sys.stderr)
    for line in lines:
        print("  " + ansi.sub("", line).rstrip("\n").replace("\n", "\n  "), file=sys.stderr)


failed = 0
for index, cell in enumerate(notebook.get("cells", [])):
    outputs = cell.get("outputs", [])
    errors = [output for output in outputs if output.get("output_type") == "error"]
    stderr = "".join(
        text_of(output.get("text"))
        for output in outputs
        if output.get("output_type") == "stream" and output.get("name") == "stderr"
    )
    if errors:
        failed += 1
        lines = []
        for output in errors:
            lines.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
            lines.extend(output.get("traceback", []))
        if stderr.strip():
            lines.extend(panic_lines(stderr))
        report(index, cell, lines)
    elif program_failed.search(stderr):
        failed += 1
        report(index, cell, panic_lines(stderr))

if failed:
    print(f"run-notebook: {failed} failed cell(s) in {path}", file=sys.stderr)
    sys.exit(1)
PY
