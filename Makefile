# GNU make. Targets: tools build sim run run-live check-live generate check-generate test test-unit fuzz-smoke fuzz bench
# bench-quick e2e
# validate-configs clean

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
CONFIGS      := config/demo.yaml config/cloudflare.yaml config/kafka.yaml
# Fuzz targets, as package:target; each runs FUZZTIME in `make fuzz`, FUZZSMOKE in `make test`.
FUZZ_TARGETS := .:FuzzMapAuditPage .:FuzzMemberDiff .:FuzzConfig ./internal/cloudflare:FuzzListLoginsResponse \
                ./internal/cloudflare:FuzzListLoginsV2Response
FUZZTIME     ?= 1m
FUZZSMOKE    ?= 5s

.PHONY: tools build sim run run-live check-live require-token generate check-generate test test-unit fuzz-smoke fuzz bench bench-quick e2e \
	validate-configs clean

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

## build: generate and compile the otelcol-cloudflare distribution into ./_build
build: tools
	@echo ">> building the collector distribution (builder-config.yaml)"
	@start=$$(date +%s); \
	  echo "$(BUILDER) --config builder-config.yaml"; \
	  $(BUILDER) --config builder-config.yaml; \
	  echo ">> collector binary: _build/otelcol-cloudflare (ocb took $$(( $$(date +%s) - start ))s)"

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

## test: unit tests, a short run of each fuzz target, then the end-to-end test of the built collector
test:
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory e2e

## test-unit: the generated files' check, go vet and the race-enabled unit tests of the module
test-unit:
	@$(MAKE) --no-print-directory check-generate
	@echo ">> go vet"
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	@echo ">> unit tests (race detector on)"
	$(GO) test -race -count=1 ./...

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

## clean: remove build output, tools and demo state
clean:
	rm -rf _build bin _storage
