#!/usr/bin/env bash
# Installs the "catsynth" Jupyter kernel: renders kernels/catsynth/kernel.json.in
# with this checkout's absolute paths into the venv's Jupyter data directory
# (.venv/share/jupyter/kernels/catsynth/). Running it again with the same
# inputs changes nothing and prints nothing.
#
# Usage: kernels/install.sh [--xla-plugin /abs/path/to/pjrt_plugin.so]
#
# Environment:
#   VENV                    the virtual environment (default: REPO/.venv)
#   GO                      the go command (default: go on PATH)
#   CATSYNTH_GOMLX_BACKEND  when set, written into the kernel spec as
#                           GOMLX_BACKEND (for example "go")
#
# Without CATSYNTH_GOMLX_BACKEND the spec sets no GOMLX_BACKEND, so the
# catsynth backend package picks one: the XLA plugin when it finds one
# (CATSYNTH_XLA_PLUGIN, .xla/), else the pure Go backend. A GOMLX_BACKEND set
# by the process that starts Jupyter then still reaches the kernel.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
go_cmd="${GO:-go}"
template="$repo/kernels/catsynth/kernel.json.in"
xla_plugin=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --xla-plugin)
      if [[ $# -lt 2 ]]; then
        echo "kernels/install.sh: --xla-plugin is missing its value; give the absolute path of a PJRT plugin .so file" >&2
        exit 2
      fi
      xla_plugin="$2"
      shift 2
      ;;
    -h | --help)
      sed -n '2,/^set -euo pipefail/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *)
      echo "kernels/install.sh: invalid argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
done

fail() {
  echo "kernels/install.sh: $*" >&2
  exit 1
}

[[ -f "$template" ]] || fail "template $template is missing; restore it from git"
[[ -x "$venv/bin/python" ]] || fail "$venv/bin/python not found; run 'make setup' to create the virtual environment"
for tool in gonb goimports gopls; do
  [[ -x "$repo/.tools/bin/$tool" ]] || fail "$repo/.tools/bin/$tool not found; run 'make setup' to build the Go tools"
done
command -v "$go_cmd" >/dev/null || fail "go command '$go_cmd' not found; put Go on PATH or set GO=/path/to/go"
# The kernel runs go with the toolchain that go.mod names, so that a machine
# with an older Go still builds the notebooks.
toolchain="$(awk '$1 == "toolchain" { print $2; exit }' "$repo/go.mod")"
[[ -n "$toolchain" ]] || fail "$repo/go.mod has no toolchain line; restore 'toolchain go1.27.3'"
goroot="$(GOTOOLCHAIN="$toolchain" "$go_cmd" env GOROOT)"

if [[ -n "$xla_plugin" ]]; then
  [[ "$xla_plugin" == /* ]] || fail "--xla-plugin must be an absolute path, got '$xla_plugin'"
  [[ -f "$xla_plugin" ]] || fail "XLA plugin '$xla_plugin' not found; rerun scripts/install-xla-cpu.sh"
fi

kernel_dir="$venv/share/jupyter/kernels/catsynth"
mkdir -p "$kernel_dir"

# Render with Python's json module so that paths with quotes or backslashes
# stay valid JSON. The XLA and GOMLX_BACKEND entries are added only when
# given.
rendered="$(
  REPO="$repo" GOROOT_DIR="$goroot" GO_TOOLCHAIN="$toolchain" XLA_PLUGIN="$xla_plugin" \
    BACKEND_OVERRIDE="${CATSYNTH_GOMLX_BACKEND:-}" \
    "$venv/bin/python" - "$template" <<'PY'
import json
import os
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    spec = json.load(f)

plugin = os.environ["XLA_PLUGIN"]
backend = os.environ["BACKEND_OVERRIDE"]
values = {
    "@REPO@": os.environ["REPO"],
    "@GOROOT@": os.environ["GOROOT_DIR"],
    "@GOTOOLCHAIN@": os.environ["GO_TOOLCHAIN"],
}


def fill(value):
    if isinstance(value, str):
        for key, replacement in values.items():
            value = value.replace(key, replacement)
        return value
    if isinstance(value, list):
        return [fill(item) for item in value]
    if isinstance(value, dict):
        return {key: fill(item) for key, item in value.items()}
    return value


spec = fill(spec)
if plugin:
    spec["env"]["PJRT_PLUGIN_LIBRARY_PATH"] = os.path.dirname(plugin)
    spec["env"]["CATSYNTH_XLA_PLUGIN"] = plugin
if backend:
    spec["env"]["GOMLX_BACKEND"] = backend
print(json.dumps(spec, indent=2))
PY
)"

kernel_json="$kernel_dir/kernel.json"
if [[ ! -f "$kernel_json" ]] || [[ "$(cat "$kernel_json")" != "$rendered" ]]; then
  printf '%s\n' "$rendered" >"$kernel_json.tmp"
  mv "$kernel_json.tmp" "$kernel_json"
  echo "kernels/install.sh: wrote $kernel_json (XLA plugin: ${xla_plugin:-none}${CATSYNTH_GOMLX_BACKEND:+, GOMLX_BACKEND=$CATSYNTH_GOMLX_BACKEND})"
fi

# GoNB embeds its Go gopher logo. Copy it from the module cache when it is
# there so that JupyterLab's launcher shows an icon, and skip it otherwise.
gonb_dir="$(cd "$repo" && "$go_cmd" list -m -f '{{.Dir}}' github.com/janpfeifer/gonb 2>/dev/null || true)"
logo="$gonb_dir/internal/kernel/Go_gopher_favicon.svg"
if [[ -n "$gonb_dir" && -f "$logo" ]] && ! cmp -s "$logo" "$kernel_dir/logo-svg.svg"; then
  cp "$logo" "$kernel_dir/logo-svg.svg"
  chmod 644 "$kernel_dir/logo-svg.svg"
fi
