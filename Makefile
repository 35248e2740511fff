# The one entry point for building and checking mcpsso; CI calls only these targets.
# `make` alone (or `make help`) lists them.

GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 10s
# go test's -timeout for each package's test binary: with margin over the slowest package
# (about 2 minutes under `make test` on 2 cores), so a hung test ends with a stack dump, not CI's
# own limit.
TEST_TIMEOUT ?= 8m
# Where `make test` keeps the raw `go test -json` stream (for per-test times).
TEST_JSON ?= $(BIN)/test.json
# Where `make test` and `make cover` write the coverage profile (`go tool cover -html` reads it).
COVER_OUT ?= $(BIN)/cover.out

.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

.PHONY: help build test test-short cover lint bench fuzz tidy-check ci images docs apidiff examples

# apidiff, pinned: it compares mcpssotest's API with the committed export of it (there is no
# release tag yet); run without a tool line in go.mod, whose x/tools it would upgrade.
APIDIFF ?= golang.org/x/exp/cmd/apidiff@v0.0.0-20261113113407-e3970619a1a4
API_BASELINE ?= mcpssotest/testdata/api.export
# The external modules under examples/ that test their MCP servers with mcpssotest.
EXAMPLES := $(wildcard examples/*/go.mod)

help: ## List the targets.
	@echo 'Usage: make TARGET [FUZZTIME=10s]'
	@echo
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-11s %s\n", $$1, $$2}'

build: ## Compile every package and build bin/mcpsso.
	$(GO) build ./...
	$(GO) build -ldflags '-X main.version=$(VERSION)' -o $(BIN)/mcpsso ./harness/cmd/mcpsso

# The kit image: the one static binary FROM scratch (internal/harness/containers.Dockerfile), built
# locally, no registry needed. Run the container topology from it with MCPSSO_IMAGE=mcpsso-kit:latest.
IMAGE ?= mcpsso-kit
images: ## Build the kit image $(IMAGE):$(VERSION) (and :latest) FROM scratch from a static mcpsso.
	@ctx="$$(mktemp -d)"; trap 'rm -rf "$$ctx"' EXIT; \
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags '-X main.version=$(VERSION)' -o "$$ctx/mcpsso" ./harness/cmd/mcpsso; \
	printf 'FROM scratch\nCOPY mcpsso /mcpsso\nUSER 0\nENTRYPOINT ["/mcpsso"]\n' > "$$ctx/Dockerfile"; \
	docker build -q -t $(IMAGE):$(VERSION) -t $(IMAGE):latest "$$ctx"

# The report (internal/testreport) prints failures in full, the packages by time, the slowest
# tests and every skip, and fails the run on a skip that a set MCPSSO_REQUIRE_* forbids or that
# names no such variable.
# The kit images of the container tests are built from one static binary compiled here, before
# the tests start, rather than by each test process side by side on the same cores (without
# -trimpath, like BuildStatic, so that it reuses what `go vet` compiled).
test: ## Run every test with the race detector; report times and skips, fail on a forbidden skip.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/testreport ./internal/testreport
	CGO_ENABLED=0 GOOS=linux $(GO) build -o $(BIN)/mcpsso-linux-static ./harness/cmd/mcpsso
	MCPSSO_BINARY="$${MCPSSO_BINARY:-$(abspath $(BIN)/mcpsso-linux-static)}" \
	  $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -coverprofile $(COVER_OUT) -json ./... 2>&1 \
	  | $(BIN)/testreport -json-out $(TEST_JSON) -cover-profile $(COVER_OUT)
	$(MAKE) apidiff examples

# Each example is a module of its own (go build/vet/test ./... of this one leave it out), using
# this checkout of mcpsso through its replace directive.
examples: ## Test the example modules (examples/*): their servers under mcpssotest, defects and all.
	@for mod in $(EXAMPLES); do dir="$$(dirname "$$mod")"; echo "examples: $$dir"; \
	  (cd "$$dir" && $(GO) vet ./... && $(GO) test -race -count=1 ./...); done

# An incompatible change (a name removed, a signature changed) fails; an addition passes. After
# a deliberate change, write the export again: $(GO) run $(APIDIFF) -w $(API_BASELINE) github.com/mcpsso/mcpsso/mcpssotest
apidiff: ## Fail on an incompatible change of the public package mcpssotest's API.
	@out="$$($(GO) run $(APIDIFF) -incompatible $(API_BASELINE) github.com/mcpsso/mcpsso/mcpssotest)"; \
	if [ -n "$$out" ]; then echo "apidiff: incompatible changes to mcpssotest's API:"; echo "$$out"; exit 1; fi

test-short: ## The edit-test loop: go test -short (no containers, browser, moto or binary builds).
	$(GO) test -short -count=1 -timeout 5m ./...

cover: ## Statement coverage of the -short tests, per package and in total ($(COVER_OUT)).
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/testreport ./internal/testreport
	$(GO) test -short -count=1 -timeout 5m -coverprofile $(COVER_OUT) -json ./... 2>&1 \
	  | $(BIN)/testreport -allow-short -cover-profile $(COVER_OUT)

# staticcheck and deadcode are pinned in go.mod's tool block (`go tool`). An Example without an
# Output comment is compiled and never run (go test's rule), so deadcode cannot reach it: it is
# documentation, not dead code, and is left out of the findings. deadcode -test counts
# what tests reach as used; it exits 0 whatever it finds, so any line it prints fails the target.
lint: ## Fail on gofmt, go vet, staticcheck (staticcheck.conf) or deadcode findings.
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt -w needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@dead="$$($(GO) tool deadcode -test ./...)"; \
	dead="$$(grep -Ev '_test\.go:[0-9]+:[0-9]+: unreachable func: Example[A-Za-z0-9_]*$$' <<<"$$dead" || true)"; \
	if [ -n "$$dead" ]; then echo "deadcode: unreachable functions (delete them, or test them if they are API):"; echo "$$dead"; exit 1; fi

bench: ## Run every benchmark once, with allocations.
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Fuzz targets are discovered, not listed, so a new one needs no edit here: a `func FuzzX(` in a
# _test.go file (found with grep, so that finding them compiles nothing); -fuzz takes one target
# in one package at a time. A crash always writes its input under testdata/ and fails the run;
# Go's fuzz engine can also stop with "context deadline exceeded" when the time runs out while
# it minimizes an input that did not fail, which is not a finding.
fuzz: ## Fuzz every fuzz target for FUZZTIME each (default 10s).
	@found=0; \
	for dir in $$(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . | xargs -r -n1 dirname | sort -u); do \
	  for target in $$(grep -hoE '^func Fuzz[A-Za-z0-9_]*' "$$dir"/*_test.go | sed 's/^func //'); do \
	    found=$$((found + 1)); \
	    echo "fuzz $$dir $$target for $(FUZZTIME)"; \
	    if ! out="$$($(GO) test -run '^$$' -fuzz "^$${target}\$$" -fuzztime $(FUZZTIME) "$$dir" 2>&1)"; then \
	      echo "$$out"; \
	      if grep -q 'Failing input written' <<<"$$out" || ! grep -q 'context deadline exceeded' <<<"$$out"; then exit 1; fi; \
	      echo "(the fuzz engine ran past -fuzztime while minimizing; no failing input: not a finding)"; \
	    fi; \
	  done; \
	done; \
	echo "fuzzed $$found target(s)"

# The CLI reference is generated from the cobra command tree; TestTheCLIReferenceIsUpToDate
# (harness/cmd/mcpsso) fails when docs/cli is out of date.
docs: ## Write the CLI reference (docs/cli) from the command tree.
	$(GO) run ./harness/cmd/mcpsso docs cli --dir docs/cli

tidy-check: ## Fail if go.mod or go.sum (this module's or an example's) is not tidy (changes nothing).
	$(GO) mod tidy -diff
	@for mod in $(EXAMPLES); do (cd "$$(dirname "$$mod")" && $(GO) mod tidy -diff); done

ci: lint tidy-check test ## Everything CI runs: lint, tidy-check, test, then a short fuzz pass.
	$(MAKE) fuzz FUZZTIME=5s
