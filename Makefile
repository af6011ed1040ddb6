# GNU make. Targets: tools build image sim run run-live check-live generate check-generate check-tidy test test-unit fuzz-smoke fuzz bench
# bench-quick e2e test-deploy test-image validate-configs clean

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO           ?= go
OCB_VERSION  := v0.165.0
BIN_DIR      := $(CURDIR)/bin
BUILDER      := $(BIN_DIR)/builder
MDATAGEN     := $(BIN_DIR)/mdatagen
SIM          := $(BIN_DIR)/cloudflare-sim
OTELCOL      := $(CURDIR)/_build/otelcol-cloudflare
CONFIGS      := config/demo.yaml config/cloudflare.yaml config/kafka.yaml config/kubernetes-ha.yaml \
                config/kubernetes-single.yaml
# The checksum database available here does not know redisstorageextension (404), so its
# download skips that check (GONOSUMDB) and is checked against this hash instead, the one
# recorded when it was added to builder-config.yaml.
REDIS_STORAGE_MODULE := github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/redisstorageextension
REDIS_STORAGE_SUM    := $(REDIS_STORAGE_MODULE) v0.139.0 h1:kCzQaz8LMlOCIOKa3HWjww9Yup5Li+uT1DQnhEzKPuI=
# The container image of `make image`, and the CA bundle it carries (Debian's ca-certificates).
IMAGE        ?= otelcol-cloudflare:0.1.0
CA_BUNDLE    ?= /etc/ssl/certs/ca-certificates.crt
# Fuzz targets, as package:target; each runs FUZZTIME in `make fuzz`, FUZZSMOKE in `make test`.
FUZZ_TARGETS := .:FuzzMapAuditPage .:FuzzMemberDiff .:FuzzConfig ./internal/cloudflare:FuzzListLoginsResponse \
                ./internal/cloudflare:FuzzListLoginsV2Response
FUZZTIME     ?= 1m
# A count, not a duration: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" when a -fuzztime duration expires with a call in
# flight (go.dev/issue/75804); a count has no deadline to race.
FUZZSMOKE    ?= 300x

.PHONY: tools build image sim run run-live check-live require-token generate check-generate check-tidy test test-unit fuzz-smoke fuzz bench \
	bench-quick e2e test-deploy test-image validate-configs clean

## tools: install the pinned collector builder (ocb) into ./bin, only when missing
tools: $(BUILDER)

$(BUILDER):
	@echo ">> installing ocb $(OCB_VERSION) into $(BIN_DIR)"
	GOBIN=$(BIN_DIR) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

# mdatagen, pinned in tools/go.mod (its own module: its collector versions stay out of go.mod);
# rebuilt when tools/go.mod changes.
$(MDATAGEN): tools/go.mod tools/go.sum
	@echo ">> building mdatagen (tools/go.mod) into $(BIN_DIR)"
	cd tools && $(GO) build -o $(MDATAGEN) go.opentelemetry.io/collector/cmd/mdatagen

## generate: internal/metadata, internal/metadatatest, documentation.md, generated_*_test.go and README's
##           status section, from metadata.yaml with mdatagen
generate: $(MDATAGEN)
	MDATAGEN=$(MDATAGEN) ./scripts/generate.sh

## check-generate: fail when the generated files differ from what mdatagen produces (leaves the tree alone)
check-generate: $(MDATAGEN)
	MDATAGEN=$(MDATAGEN) ./scripts/generate.sh --check

## build: generate and compile the otelcol-cloudflare distribution into ./_build (static: CGO_ENABLED=0, the
##        image has no libc). Reproducible: the same commit and Go toolchain give the same bytes, in any directory
##        (ocb builds with -trimpath; Go's build IDs are content hashes); -buildvcs=false keeps the checkout's state
##        (vcs.modified, vcs.time) out of the binary even when GOFLAGS asks for it (Go's default does not stamp _build).
build: tools
	@echo ">> building the collector distribution (builder-config.yaml)"
	@start=$$(date +%s); \
	  echo "$(BUILDER) --config builder-config.yaml"; \
	  CGO_ENABLED=0 GOFLAGS="$${GOFLAGS:+$$GOFLAGS }-buildvcs=false" GONOSUMDB=$(REDIS_STORAGE_MODULE) \
	    $(BUILDER) --config builder-config.yaml; \
	  grep -qxF '$(REDIS_STORAGE_SUM)' _build/go.sum \
	    || { echo "_build/go.sum: $(REDIS_STORAGE_MODULE) is not the pinned one (REDIS_STORAGE_SUM)" >&2; exit 1; }; \
	  echo ">> collector binary: _build/otelcol-cloudflare (ocb took $$(( $$(date +%s) - start ))s)"

## image: the container image of Containerfile (IMAGE, default otelcol-cloudflare:0.1.0) from the binary of
##        make build, with podman, docker or buildah, whichever is installed
image: build
	@engine=$$(command -v podman || command -v docker || command -v buildah || true); \
	  [[ -n "$$engine" ]] || { echo "make image: needs podman, docker or buildah" >&2; exit 1; }; \
	  [[ -s "$(CA_BUNDLE)" ]] || { echo "make image: no CA bundle at $(CA_BUNDLE) (apt-get install ca-certificates)" >&2; exit 1; }; \
	  rm -rf _build/image && mkdir -p _build/image; \
	  cp _build/otelcol-cloudflare image/passwd image/group _build/image/; \
	  cp "$(CA_BUNDLE)" _build/image/ca-certificates.crt; \
	  echo "$$engine build -f Containerfile -t $(IMAGE) _build/image"; \
	  "$$engine" build -q -f Containerfile -t $(IMAGE) _build/image

## sim: build the Cloudflare API simulator
sim:
	$(GO) build -o $(SIM) ./cmd/cloudflare-sim

## run: the demo — simulator on 127.0.0.1:8787 plus the collector on config/demo.yaml (Ctrl-C stops both)
run: build sim
	OTELCOL=$(OTELCOL) SIM=$(SIM) ./scripts/run-demo.sh

## run-live: the collector on config/cloudflare.yaml against the real Cloudflare API
run-live: require-token build
	@if [[ -z "$${OTLP_ENDPOINT:-}" ]]; then \
	  echo ">> OTLP_ENDPOINT is not set: sending to http://localhost:4318 (OTLP/HTTP). Set OTLP_ENDPOINT to change it."; \
	fi
	OTLP_ENDPOINT="$${OTLP_ENDPOINT:-http://localhost:4318}" $(OTELCOL) --config config/cloudflare.yaml

## check-live: the preflight check against the real Cloudflare API (at most 60 requests): what the token reads
##             and which logins.source carries your logins. CHECK_ARGS="-since 7d -json" passes flags.
check-live: require-token
	$(GO) run ./cmd/cloudflare-identity-check $(CHECK_ARGS)

# Checked before the build, so that a missing token fails at once.
require-token:
	@if [[ -z "$${CLOUDFLARE_API_TOKEN:-}" ]]; then \
	  echo "$(MAKECMDGOALS): CLOUDFLARE_API_TOKEN is not set. Create a Cloudflare API token with Account Settings:Read," >&2; \
	  echo "          Memberships:Read and User Details:Read, then: CLOUDFLARE_API_TOKEN=... make $(MAKECMDGOALS)" >&2; \
	  exit 2; \
	fi

## test: unit tests, a short run of each fuzz target, the end-to-end test of the built collector, the
##       Kubernetes manifests' test and the container image's test
test:
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory test-deploy
	@$(MAKE) --no-print-directory test-image

## test-unit: the generated files' check, go.mod tidiness, go vet and the race-enabled unit tests of the module
test-unit:
	@$(MAKE) --no-print-directory check-generate
	@$(MAKE) --no-print-directory check-tidy
	@echo ">> go vet"
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	@echo ">> unit tests (race detector on)"
	$(GO) test -race -count=1 ./...

## check-tidy: fail when `go mod tidy` would change go.mod or go.sum of any of the three modules (leaves them alone)
check-tidy:
	@echo ">> go mod tidy -diff (., deploy, tools)"
	@for m in . deploy tools; do (cd $$m && $(GO) mod tidy -diff) || { echo "$$m: go.mod is not tidy: run go mod tidy there" >&2; exit 1; }; done

## fuzz-smoke: each fuzz target for FUZZSMOKE (its seed corpus in testdata/fuzz runs in test-unit too)
fuzz-smoke:
	@echo ">> fuzzing each target for $(FUZZSMOKE)"
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZSMOKE)

## fuzz: each fuzz target for FUZZTIME (default 1m), e.g. FUZZTIME=10m make fuzz
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*} target=$${t##*:}; \
	  echo ">> $$target ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## bench: the benchmarks of BENCHMARKS.md (per-record cost, backfill, steady state, latency, ...); rewrites BENCHMARKS.md
bench:
	./scripts/bench.sh

## bench-quick: one run of a reduced set of the same benchmarks (under 3 minutes), for development;
##              writes BENCHMARKS-quick.md (not committed), never BENCHMARKS.md
bench-quick:
	BENCH_QUICK=1 BENCH_OUT=BENCHMARKS-quick.md ./scripts/bench.sh

## validate-configs: every config/*.yaml must pass `otelcol-cloudflare validate` (dummy env values)
validate-configs:
	@for f in $(CONFIGS); do \
	  CLOUDFLARE_API_TOKEN=dummy-token OTLP_ENDPOINT=http://localhost:4318 KAFKA_BROKERS=localhost:9092 \
	  REDIS_ENDPOINT=localhost:6379 REDIS_PASSWORD= POD_NAME=validate POD_NAMESPACE=default \
	    $(OTELCOL) validate --config $$f >/dev/null \
	    && echo "ok    $$f" || { echo "FAIL  $$f"; exit 1; }; \
	done

## e2e: build the collector, validate the shipped configs, run the end-to-end tests against the binary
##      (also the demo script, README's YAML blocks and ocb manifest, with the pinned ocb)
e2e: build
	@echo ">> validating config/*.yaml with the built collector"
	@$(MAKE) --no-print-directory validate-configs
	@echo ">> end-to-end test (simulator + collector subprocess + OTLP/HTTP sink)"
	OTELCOL_BINARY=$(OTELCOL) OCB_BINARY=$(BUILDER) $(GO) test -tags e2e -count=1 -v ./e2e/...

## test-deploy: decode deploy/kubernetes/ strictly into Kubernetes API types and check their cross-references,
##              the ConfigMaps' configs validated by the built collector (deploy/ is a module of its own)
test-deploy: build
	@echo ">> Kubernetes manifests (deploy/)"
	cd deploy && $(GO) vet ./... && OTELCOL_BINARY=$(OTELCOL) $(GO) test -count=1 ./...

## test-image: build the image (make image) and check its filesystem: the binary validates config/*.yaml, the CA
##             bundle, the non-root user; skipped, saying why, without podman or buildah (.ci/run installs podman)
test-image:
	@if ! command -v podman >/dev/null && ! command -v buildah >/dev/null; then \
	  echo ">> test-image SKIPPED: neither podman nor buildah is installed (.ci/run installs podman)"; \
	else \
	  $(MAKE) --no-print-directory image && IMAGE=$(IMAGE) CA_BUNDLE=$(CA_BUNDLE) ./scripts/test-image.sh; \
	fi

## clean: remove build output, tools and demo state
clean:
	rm -rf _build bin _storage
