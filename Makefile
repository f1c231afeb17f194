# Entry points for setting up and running catsynth. Run `make help` for a list.
#
# Everything that `make setup` installs stays inside this checkout:
#   .venv/     Python virtual environment with Jupyter (requirements.txt),
#              and the "catsynth" kernel spec in .venv/share/jupyter/kernels/
#   .tools/    Go tools (gonb, gopls, goimports) in .tools/bin, stamp files
#   .jupyter/  Jupyter config, data and runtime directories
# The Go build cache (GOCACHE) is left at its default so that it stays warm
# between runs.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
GO ?= $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)
PYTHON ?= python3
VENV := $(REPO)/.venv
TOOLS_BIN := $(REPO)/.tools/bin
STAMPS := $(REPO)/.tools/stamps
KERNEL_JSON := $(VENV)/share/jupyter/kernels/catsynth/kernel.json
XLA_SCRIPT := $(wildcard $(REPO)/scripts/install-xla-cpu.sh)
XLA_PLUGIN_RECORD := $(REPO)/.tools/xla-plugin

# The GoNB version is read from go.mod, where gonb is a `tool` of this module,
# so that bumping it there rebuilds .tools/bin/gonb.
GONB_VERSION := $(shell awk '$$1 == "require" { $$1 = ""; $$0 = $$0 } $$1 == "github.com/janpfeifer/gonb" { print $$2; exit }' $(REPO)/go.mod)

# Settings of `make notebook`, `make run` and `make test`. PRESET and OUT
# have per-target defaults below.
NB ?= notebooks/dcgan.ipynb
CELL_TIMEOUT ?= 3600
TEST_TIMEOUT ?= 30m
TESTFLAGS ?= -count=1
LAB_PORT ?= 8888

# GoMLX v0.28.16 needs Go 1.27. The go command fetches the toolchain that
# go.mod names (its `toolchain` line) from the Go module proxy once, whatever
# Go is installed; `make GOTOOLCHAIN=...` picks another.
GO_TOOLCHAIN := $(shell awk '$$1 == "toolchain" { print $$2; exit }' $(REPO)/go.mod)
export GOTOOLCHAIN := $(GO_TOOLCHAIN)
# GOEXPERIMENT=simd makes the pure Go backend use AVX-512 (matrix
# multiplications, reductions, element-wise ops).
export GOEXPERIMENT := simd
export PATH := $(TOOLS_BIN):$(dir $(GO)):$(PATH)
export JUPYTER_CONFIG_DIR := $(REPO)/.jupyter/config
export JUPYTER_DATA_DIR := $(REPO)/.jupyter/data
export JUPYTER_RUNTIME_DIR := $(REPO)/.jupyter/runtime
export JUPYTER_PLATFORM_DIRS := 1
export CELL_TIMEOUT
ifdef CATSYNTH_DATA
export CATSYNTH_DATA
endif

# Rerun the XLA installer when the plugin it reported has since been removed.
XLA_PLUGIN_RECORDED := $(shell cat $(XLA_PLUGIN_RECORD) 2>/dev/null)
XLA_FORCE :=
ifneq ($(XLA_PLUGIN_RECORDED),)
ifeq ($(wildcard $(XLA_PLUGIN_RECORDED)),)
XLA_FORCE := FORCE
endif
endif

.PHONY: help setup kernel run test lab notebook bench clean-tools FORCE

help:
	@echo "Targets:"
	@echo "  make setup        install Jupyter into .venv, Go tools into .tools/bin, the catsynth kernel"
	@echo "  make run          check the data, then run notebooks/dcgan.ipynb with PRESET=quick into out/run-DATE/"
	@echo "  make test         go vet and go test ./..., notebooks included (CATSYNTH_NOTEBOOK_TEST=1)"
	@echo "  make lab          start JupyterLab on 127.0.0.1:$(LAB_PORT) with the catsynth kernel"
	@echo "  make notebook     run NB (a path or a name such as diffaugment; default $(NB)) with PRESET (default smoke) into OUT"
	@echo "  make bench        time every training step on each backend, update docs/benchmarks.md"
	@echo "  make clean-tools  remove .venv, .tools and .jupyter"
	@echo "Variables: CATSYNTH_DATA (image folder), CELL_TIMEOUT (seconds per cell, default $(CELL_TIMEOUT)),"
	@echo "  TEST_TIMEOUT (go test -timeout, default $(TEST_TIMEOUT)), LAB_PORT, GO, PYTHON"

setup: $(STAMPS)/venv $(STAMPS)/gonb-$(GONB_VERSION) $(TOOLS_BIN)/gopls $(TOOLS_BIN)/goimports $(STAMPS)/xla kernel
	@echo "setup: ready (.venv, .tools/bin, kernel 'catsynth')"

$(STAMPS)/venv: requirements.txt
	@echo "setup: installing Python packages from requirements.txt into .venv"
	@if [[ ! -x "$(VENV)/bin/python" ]]; then \
	  command -v "$(PYTHON)" >/dev/null || { echo "setup: $(PYTHON) not found; install Python 3.9+ or set PYTHON=/path/to/python3" >&2; exit 1; }; \
	  "$(PYTHON)" -m venv "$(VENV)"; \
	fi
	@"$(VENV)/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/gonb-$(GONB_VERSION):
	@if [[ -z "$(GONB_VERSION)" ]]; then echo "setup: github.com/janpfeifer/gonb is missing from go.mod; restore 'tool github.com/janpfeifer/gonb'" >&2; exit 1; fi
	@echo "setup: building gonb $(GONB_VERSION) into .tools/bin"
	@mkdir -p $(TOOLS_BIN) $(STAMPS)
	@env -u GOEXPERIMENT "$(GO)" build -o $(TOOLS_BIN)/gonb github.com/janpfeifer/gonb
	@rm -f $(STAMPS)/gonb-* && touch $@

# gopls and goimports live in separate modules because gopls v0.23.0 fails to
# build next to golang.org/x/tools v0.53.0 in one module.
$(TOOLS_BIN)/gopls: tools/gopls/go.mod tools/gopls/go.sum
	@echo "setup: building gopls into .tools/bin (about a minute with a cold build cache)"
	@mkdir -p $(TOOLS_BIN)
	@cd tools/gopls && env -u GOEXPERIMENT GOBIN=$(TOOLS_BIN) "$(GO)" install tool
	@touch $@

$(TOOLS_BIN)/goimports: tools/goimports/go.mod tools/goimports/go.sum
	@echo "setup: building goimports into .tools/bin"
	@mkdir -p $(TOOLS_BIN)
	@cd tools/goimports && env -u GOEXPERIMENT GOBIN=$(TOOLS_BIN) "$(GO)" install tool
	@touch $@

# scripts/install-xla-cpu.sh is optional. It exits 0 when no plugin can be
# had, and its last output line that names an existing file is the plugin.
$(STAMPS)/xla: $(XLA_SCRIPT) $(XLA_FORCE) | $(STAMPS)/venv
	@mkdir -p $(STAMPS)
	@if [[ -n "$(XLA_SCRIPT)" ]]; then \
	  echo "setup: running scripts/install-xla-cpu.sh"; \
	  bash "$(XLA_SCRIPT)" | tee $(STAMPS)/xla.log; \
	  plugin=""; \
	  while IFS= read -r line; do \
	    if [[ "$$line" == /* && -f "$$line" ]]; then plugin="$$line"; fi; \
	  done < $(STAMPS)/xla.log; \
	  printf '%s\n' "$$plugin" > $(XLA_PLUGIN_RECORD); \
	  if [[ -n "$$plugin" ]]; then echo "setup: XLA plugin $$plugin"; else echo "setup: no XLA plugin; the kernel uses the pure Go backend"; fi; \
	else \
	  : > $(XLA_PLUGIN_RECORD); \
	fi
	@touch $@

# install.sh rewrites kernel.json only when its content changes, so running it
# on every setup is cheap and picks up a moved checkout or Go installation.
kernel: $(STAMPS)/venv $(STAMPS)/gonb-$(GONB_VERSION) $(TOOLS_BIN)/gopls $(TOOLS_BIN)/goimports $(STAMPS)/xla
	@plugin="$$(cat $(XLA_PLUGIN_RECORD) 2>/dev/null || true)"; \
	VENV="$(VENV)" GO="$(GO)" bash kernels/install.sh $${plugin:+--xla-plugin "$$plugin"}

run: setup
	@if [[ ! -d cmd/checkdata ]]; then echo "run: cmd/checkdata is missing from this checkout" >&2; exit 1; fi
	@"$(GO)" run ./cmd/checkdata
	@out="$(OUT)"; [[ -n "$$out" ]] || out="out/run-$$(date +%Y%m%d-%H%M%S)"; \
	bash scripts/run-notebook.sh notebooks/dcgan.ipynb "$(or $(PRESET),quick)" "$$out"

notebook: setup
	@nb="$(NB)"; \
	if [[ ! -f "$$nb" ]]; then \
	  for candidate in "notebooks/$$nb" "notebooks/$$nb.ipynb"; do [[ -f "$$candidate" ]] && nb="$$candidate" && break; done; \
	fi; \
	if [[ ! -f "$$nb" ]]; then echo "make notebook: no notebook $$nb; choose one of: $$(ls notebooks/*.ipynb | tr '\n' ' ')" >&2; exit 2; fi; \
	"$(GO)" run ./cmd/checkdata && \
	name="$$(basename "$$nb" .ipynb)" && \
	out="$(OUT)" && { [[ -n "$$out" ]] || out="out/$$name-$(or $(PRESET),smoke)-$$(date +%Y%m%d-%H%M%S)"; } && \
	bash scripts/run-notebook.sh "$$nb" "$(or $(PRESET),smoke)" "$$out"

test: setup
	"$(GO)" vet ./...
	CATSYNTH_NOTEBOOK_TEST=1 "$(GO)" test $(TESTFLAGS) -timeout $(TEST_TIMEOUT) ./...

lab: setup
	"$(VENV)/bin/jupyter" lab --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) \
	  --ServerApp.root_dir="$(REPO)" $(if $(filter 0,$(shell id -u)),--allow-root)

# The PyTorch peer runs in the same benchmark when its script is next to
# the checkout and Python can import torch.
PEER_SCRIPT := $(wildcard $(REPO)/../shared/bench/torch_reference.py)

bench:
	"$(GO)" run ./cmd/bench $(if $(PEER_SCRIPT),-torch "$(PEER_SCRIPT)") -write docs/benchmarks.md $(BENCH_ARGS)

clean-tools:
	rm -rf "$(VENV)" "$(REPO)/.tools" "$(REPO)/.jupyter"
