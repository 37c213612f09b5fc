# provider-mcp — the two commands users need are `make run` and `make test`.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
CACHE     := $(CURDIR)/.cache
TOOLS_BIN := $(CACHE)/tools/bin
OUTPUT    := $(CURDIR)/_output
COVER_MIN ?= 80

export TOOLS_BIN

# The workspace's modules (go.work): the product (.), the plane and release
# tooling (cluster) and the tests (test). test/toolhive and the pinned tools
# under cluster/tools are modules of their own, run with GOWORK=off.
PKGS := ./... ./cluster/... ./test/...

.PHONY: all generate build lint test test-unit test-integration test-toolhive test-e2e goldens fuzz bench cover reviewable tools run-tools run stop status help xpkg publish

all: build

help:
	@echo "make run         build everything and start the local control plane with an example"
	@echo "make stop        stop the local control plane; make status shows it"
	@echo "make test        every test: unit, integration (real kube-apiserver + etcd), crossplane render goldens,"
	@echo "                 RunConfigs against ToolHive's own code, and the e2e"
	@echo "make generate    regenerate deepcopy code, CRDs, the function input CRD, the XRDs and docs/reference"
	@echo "make build       build the provider and function binaries into _output/bin"
	@echo "make lint        go vet, gofmt and golangci-lint"
	@echo "make goldens     rewrite render/*/rendered.yaml from crossplane render"
	@echo "make fuzz        every fuzz test for FUZZTIME (3m) each, 12 minutes in all"
	@echo "make bench       the Go benchmarks and the scale harness; writes _output/bench/report.md"
	@echo "make xpkg        the three packages for linux/amd64 and linux/arm64 into _output/xpkg (VERSION)"
	@echo "make publish     push them: REGISTRY=host/org VERSION=vX.Y.Z"
	@echo "make reviewable  generate, lint and test"

# generate also writes the API reference (docs/reference) from the same
# types, with the pinned crd-ref-docs; .ci/run fails when it drifts.
generate:
	$(GO) generate ./apis/... ./internal/function/input/...
	cluster/tools/build.sh crd-ref-docs
	$(TOOLS_BIN)/crd-ref-docs --log-level=WARN --renderer=markdown --config=hack/crd-ref-docs.yaml \
		--source-path=./apis --output-path=docs/reference/api.md
	$(TOOLS_BIN)/crd-ref-docs --log-level=WARN --renderer=markdown --config=hack/crd-ref-docs.yaml \
		--source-path=./internal/function/input --output-path=docs/reference/function-input.md

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(OUTPUT)/bin/provider ./cmd/provider
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(OUTPUT)/bin/function ./cmd/function
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(OUTPUT)/bin/crossmcp ./cmd/crossmcp
	CGO_ENABLED=0 $(GO) build -trimpath -o $(OUTPUT)/bin/local ./cluster/local
	CGO_ENABLED=0 $(GO) build -trimpath -o $(OUTPUT)/bin/mcpecho ./test/mcpecho

# A release's version: git describe's (the tag on this commit, or the last
# tag, commits since and the commit), else v0.1.0-dev.g<commit> before the
# first tag. Packages need a semantic version; configuration-mcp's
# dependency ranges take these prereleases.
VERSION   ?= $(shell git describe --tags --match 'v*' --abbrev=12 2>/dev/null || echo v0.1.0-dev.g$$(git rev-parse --short=12 HEAD))
REVISION  ?= $(shell git rev-parse HEAD)
REGISTRY  ?=
PLATFORMS := linux_amd64 linux_arm64

# xpkg builds the runtime binaries for every platform and the package files
# (a provider and a function file per platform, the configuration once).
xpkg:
	@for p in $(PLATFORMS); do \
		for b in provider function; do \
			echo "go build $$b for $$p"; \
			CGO_ENABLED=0 GOOS=$${p%_*} GOARCH=$${p#*_} $(GO) build -trimpath -ldflags="-s -w" -o $(OUTPUT)/bin/$$p/$$b ./cmd/$$b || exit 1; \
		done; \
	done
	rm -rf $(OUTPUT)/xpkg
	$(GO) run ./cluster/release --out=$(OUTPUT)/xpkg --version=$(VERSION) --revision=$(REVISION) build --bin=$(OUTPUT)/bin

# publish pushes what make xpkg built: each package as one multi-platform
# index, $(REGISTRY)/<package>:$(VERSION).
publish: xpkg
	@if [ -z "$(REGISTRY)" ]; then echo "REGISTRY is not set: make publish REGISTRY=host/org VERSION=vX.Y.Z"; exit 1; fi
	$(GO) run ./cluster/release --out=$(OUTPUT)/xpkg --version=$(VERSION) push --registry=$(REGISTRY)

lint:
	$(GO) vet $(PKGS)
	$(GO) vet -tags integration,e2e ./test/...
	cd test/toolhive && GOWORK=off $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needs to run on:"; echo "$$out"; exit 1; fi
	cluster/tools/build.sh golangci-lint
	$(TOOLS_BIN)/golangci-lint run $(PKGS)

# The pinned tools the tests and the local control plane need, built from Go
# modules into $(TOOLS_BIN).
# make run needs the plane's tools only (it builds and installs the
# packages itself); the tests also the crossplane CLI, kubectl, uptest and
# chainsaw. build.sh prints each tool's build time and the total.
RUN_TOOLS   := etcd kube-apiserver kube-controller-manager kube-scheduler crossplane-core thv-proxyrunner
PLANE_TOOLS := $(RUN_TOOLS) crossplane kubectl uptest chainsaw
tools:
	cluster/tools/build.sh $(PLANE_TOOLS)

run-tools:
	cluster/tools/build.sh $(RUN_TOOLS)

# test runs unit and integration tests in one go so that coverage of
# internal/ counts both, enforces the floor, then runs the e2e on the
# embedded control plane. It is deterministic: fuzz tests run their seed
# corpora only (testdata/fuzz and f.Add), as plain go test does; exploring
# new inputs is make fuzz's job.
test: tools
	@mkdir -p $(OUTPUT)
	KUBEBUILDER_ASSETS=$(TOOLS_BIN) $(GO) test -tags integration -count=1 \
		-coverpkg=./internal/... -coverprofile=$(OUTPUT)/cover.out $(PKGS)
	@$(MAKE) --no-print-directory cover
	@$(MAKE) --no-print-directory test-toolhive
	@$(MAKE) --no-print-directory test-e2e

# test-toolhive checks every RunConfig the function renders with ToolHive's
# own reader and builder (v0.48.0), in a module of its own so that ToolHive
# stays out of the product's go.mod.
test-toolhive:
	cd test/toolhive && GOWORK=off $(GO) test -count=1 ./...

# test-e2e starts its own control plane (state in _output/e2e-plane) in a
# network namespace of its own, so it runs beside a make run plane.
# It installs what make xpkg built, pushed to the plane's registry by make
# publish's command: the packages users get.
test-e2e: tools build xpkg
	$(GO) test -c -tags e2e -o $(OUTPUT)/e2e.test ./test/e2e
	cd test/e2e && ../../hack/isolated.sh $(OUTPUT)/e2e.test -test.v -test.timeout 30m

test-unit:
	$(GO) test -count=1 $(PKGS)

test-integration: tools
	KUBEBUILDER_ASSETS=$(TOOLS_BIN) $(GO) test -tags integration -count=1 ./test/integration/...

# goldens rewrites render/*/rendered.yaml with what crossplane render gives
# now; review the diff before committing it.
goldens: tools
	KUBEBUILDER_ASSETS=$(TOOLS_BIN) $(GO) test -tags integration -count=1 ./test/integration/ -run 'TestRenderGoldens' -args -update

# fuzz explores new inputs for every fuzz test, FUZZTIME each: run it at
# full length before a change to parsing or rendering lands. A crasher is
# written to the package's testdata/fuzz and from then on runs as a seed in
# every go test (make test included): commit it with the fix.
FUZZTIME ?= 3m
fuzz:
	@for t in FuzzRunFunction:./internal/function FuzzParseMetadata:./internal/oauth FuzzParseErrorResponse:./internal/oauth FuzzClassifyResponse:./internal/oauth; do \
		echo ">> $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) "$${t#*:}" || exit 1; \
	done

# bench runs the Go benchmarks, then the scale harness on a control plane
# of its own (state in _output/bench-plane), and writes
# _output/bench/report.md and report.json. BENCH_CONFIGS=1000 for the large
# run; BENCH_FLAGS passes more flags to test/scale (see its --help).
BENCH_CONFIGS ?= 200
bench: tools build
	@mkdir -p $(OUTPUT)/bench
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... | tee $(OUTPUT)/bench/micro.txt
	$(GO) build -o $(OUTPUT)/bin/scale ./test/scale
	hack/isolated.sh $(OUTPUT)/bin/scale --micro=$(OUTPUT)/bench/micro.txt --out=$(OUTPUT)/bench --configs=$(BENCH_CONFIGS) $(BENCH_FLAGS)

cover:
	@total=$$($(GO) tool cover -func=$(OUTPUT)/cover.out | awk '/^total:/ {sub("%","",$$3); print $$3}'); \
	echo "coverage of internal/: $${total}% (floor $(COVER_MIN)%)"; \
	awk -v t="$$total" -v m="$(COVER_MIN)" 'BEGIN { exit !(t+0 >= m+0) }' || { echo "coverage below $(COVER_MIN)%"; exit 1; }

reviewable: generate lint test
	@if [ -n "$$(git status --porcelain -- apis package)" ]; then \
		echo "note: generated files changed; commit them"; git status --short -- apis package; fi

# run starts the embedded control plane (cluster/local), installs the three
# packages, applies examples/complete and prints what runs. Safe to repeat.
run: run-tools build
	$(OUTPUT)/bin/local up

stop:
	@if [ -x $(OUTPUT)/bin/local ]; then $(OUTPUT)/bin/local stop; else $(GO) run ./cluster/local stop; fi

status:
	@$(OUTPUT)/bin/local status
