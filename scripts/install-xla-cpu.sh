#!/usr/bin/env bash
# Installs XLA's PJRT CPU plugin into <repo>/.xla/ so that GoMLX can run on
# the "xla" backend without go-xla's own download from GitHub.
#
# Usage: scripts/install-xla-cpu.sh [--strict] [--verify] [REPO_ROOT]
#
#   REPO_ROOT  the checkout to install into (default: the folder above this
#              script's folder)
#   --strict   exit 1 when the plugin can't be had (default: print one line
#              on stderr, print GOMLX_BACKEND=go and exit 0, so the project
#              keeps working on the pure Go backend)
#   --verify   recompute the sha256 of an already installed plugin instead
#              of trusting its size and stamp file
#
# The plugin comes from the PyPI wheel lammps-jax-pjrt-cpu, which packages
# XLA's CPU plugin as built for jaxlib. It reports PJRT C API 0.115.
# go-xla v0.4.1 and v0.4.13 are built against 0.104, and both were tested to
# load it and to run matmul, convolution and gradients with it. Only `pip download` is used, so nothing
# is installed into any Python environment.
#
# Output on stdout (stderr carries progress and errors):
#   /abs/path/.xla/pjrt_c_api_cpu_plugin.so
#   GOMLX_BACKEND=xla:/abs/path/.xla/pjrt_c_api_cpu_plugin.so
# or, without a plugin:
#   GOMLX_BACKEND=go
#
# go-xla skips its GitHub download when GOMLX_BACKEND names the plugin by
# absolute path. The file name pjrt_c_api_cpu_plugin.so is also the one that
# go-xla's search of PJRT_PLUGIN_LIBRARY_PATH recognizes (as plugin "cpu"),
# so PJRT_PLUGIN_LIBRARY_PATH=<repo>/.xla GOMLX_NO_AUTO_INSTALL=1
# GOMLX_BACKEND=xla:cpu works as well.
set -euo pipefail

readonly PACKAGE=lammps-jax-pjrt-cpu
readonly VERSION=0.11.2
readonly WHEEL=lammps_jax_pjrt_cpu-0.11.2-py3-none-manylinux_2_27_x86_64.whl
readonly WHEEL_SHA256=1319390d948b39f69f7dade496b7c385149d9ca6097a6b62114da113216d9ad1
readonly MEMBER=lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so
readonly PLUGIN_NAME=pjrt_c_api_cpu_plugin.so
readonly PLUGIN_SHA256=ad1309ac822b1b24d51b7f9947c7c9fa9ef5d67f390584cbc3d1fa2428fed9c2
readonly PLUGIN_SIZE=201600336

strict=0
verify=0
root=""
for arg in "$@"; do
  case "$arg" in
    --strict) strict=1 ;;
    --verify) verify=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    -*)
      echo "install-xla-cpu: invalid option '$arg' (see --help)" >&2
      exit 2
      ;;
    *)
      if [[ -n "$root" ]]; then
        echo "install-xla-cpu: invalid arguments, two REPO_ROOT values given: '$root' and '$arg'" >&2
        exit 2
      fi
      root="$arg"
      ;;
  esac
done

if [[ -z "$root" ]]; then
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
else
  root="$(cd "$root" && pwd -P)"
fi
dest_dir="$root/.xla"
plugin="$dest_dir/$PLUGIN_NAME"
stamp="$plugin.sha256"

# Prints MESSAGE as one line on stderr and exits: 1 with --strict, otherwise 0
# after printing the fallback GOMLX_BACKEND=go on stdout.
no_plugin() {
  if ((strict)); then
    echo "install-xla-cpu: $1" >&2
    exit 1
  fi
  echo "install-xla-cpu: $1. No XLA plugin installed, so GoMLX keeps the pure Go backend." >&2
  echo "GOMLX_BACKEND=go"
  exit 0
}

print_result() {
  echo "$plugin"
  echo "GOMLX_BACKEND=xla:$plugin"
}

file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
file_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# Quick path: the stamp file is written only after a full sha256 check, so a
# plugin of the right size next to a stamp with the pinned hash is accepted.
if [[ -f "$plugin" && ! -L "$plugin" ]] &&
  [[ "$(file_size "$plugin")" == "$PLUGIN_SIZE" ]] &&
  [[ "$(cat "$stamp" 2>/dev/null || true)" == "$PLUGIN_SHA256" ]]; then
  if ((verify)) && [[ "$(file_sha256 "$plugin")" != "$PLUGIN_SHA256" ]]; then
    echo "install-xla-cpu: $plugin failed the sha256 check, so it is downloaded again" >&2
  else
    echo "install-xla-cpu: $PACKAGE $VERSION plugin already installed" >&2
    print_result
    exit 0
  fi
fi

if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
  no_plugin "$PACKAGE $VERSION has a wheel for Linux x86_64 only, this is $(uname -s)/$(uname -m)"
fi

python=""
for candidate in python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -m pip --version >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
[[ -n "$python" ]] || no_plugin "python3 with pip not found, and pip is needed to download $PACKAGE==$VERSION"

mkdir -p "$dest_dir"
work="$(mktemp -d "$dest_dir/.download.XXXXXX")"
# On any exit, drop the download folder, and .xla too if it is left empty.
trap 'rm -rf "$work"; rmdir "$dest_dir" 2>/dev/null || true' EXIT

# --require-hashes makes pip check the wheel against WHEEL_SHA256.
printf '%s==%s --hash=sha256:%s\n' "$PACKAGE" "$VERSION" "$WHEEL_SHA256" >"$work/requirements.txt"
echo "install-xla-cpu: downloading $PACKAGE==$VERSION from PyPI (63 MB)" >&2
if ! "$python" -m pip download --disable-pip-version-check --quiet \
  --no-deps --only-binary=:all: --require-hashes \
  --timeout 30 --retries 2 \
  -r "$work/requirements.txt" -d "$work" >"$work/pip.log" 2>&1; then
  no_plugin "pip failed to download $PACKAGE==$VERSION ($(grep -m1 -E 'ERROR|error' "$work/pip.log" || tail -n1 "$work/pip.log"))"
fi
[[ -f "$work/$WHEEL" ]] || no_plugin "$WHEEL not found after pip download"

# Extract only the plugin, checking it against the wheel's RECORD as well as
# against the pinned hash and size.
if ! "$python" - "$work/$WHEEL" "$MEMBER" "$work/$PLUGIN_NAME" "$PLUGIN_SHA256" "$PLUGIN_SIZE" <<'PY' >&2; then
import base64, csv, hashlib, io, os, sys, zipfile

wheel, member, out, want_sha, want_size = sys.argv[1:6]
with zipfile.ZipFile(wheel) as zf:
    record_name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
    rows = csv.reader(io.TextIOWrapper(zf.open(record_name), encoding="utf-8"))
    record = {row[0]: row[1:] for row in rows if row}
    algo, _, digest = record[member][0].partition("=")
    if algo != "sha256":
        sys.exit(f"invalid RECORD entry for {member}: hash {algo!r}, expected sha256")
    record_sha = base64.urlsafe_b64decode(digest + "=" * (-len(digest) % 4)).hex()
    hasher = hashlib.sha256()
    with zf.open(member) as src, open(out, "wb") as dst:
        while chunk := src.read(1 << 20):
            hasher.update(chunk)
            dst.write(chunk)
got_sha, got_size = hasher.hexdigest(), os.path.getsize(out)
if got_sha != record_sha or got_sha != want_sha or got_size != int(want_size):
    sys.exit(f"{member}: sha256 {got_sha} size {got_size}, RECORD has {record_sha}, "
             f"expected {want_sha} size {want_size}")
os.chmod(out, 0o755)
PY
  no_plugin "the plugin in $WHEEL failed verification (sha256 or size mismatch)"
fi

# Put the file in place with a rename, so that a reader never sees half of it.
mv -f "$work/$PLUGIN_NAME" "$plugin"
echo "$PLUGIN_SHA256" >"$stamp"
echo "install-xla-cpu: installed $PACKAGE $VERSION plugin" >&2
print_result
