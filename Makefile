# GNU make. `make help` lists the targets, from their `## target: ...` comments below.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO           ?= go
OCB_VERSION  := v0.165.0
BIN_DIR      := $(CURDIR)/bin
BUILDER      := $(BIN_DIR)/builder
MDATAGEN     := $(BIN_DIR)/mdatagen
SIM          := $(BIN_DIR)/cloudflare-sim
DEMO_CONSOLE := $(BIN_DIR)/demo-console
OTELCOL      := $(CURDIR)/_build/otelcol-cloudflare
# What the binaries are built from, so that make rebuilds them only when one of these changed (a second
# `make run` or `make build` does not run ocb again). The collector: the receiver's Go files (the module root
# and internal/, tests left out: they are not linked) with go.mod and go.sum, and the ocb manifest. The
# simulator and the demo console: their cmd/ directory and internal/ (over-inclusive: a change there only
# costs a rebuild).
GO_SOURCES    = $(shell find $(1) -name '*.go' ! -name '*_test.go' -not -path '*/testdata/*' 2>/dev/null)
OTELCOL_SRC  := builder-config.yaml go.mod go.sum $(wildcard *.go) $(call GO_SOURCES,./internal)
OTELCOL_SRC  := $(filter-out %_test.go,$(OTELCOL_SRC))
SIM_SRC      := go.mod go.sum $(call GO_SOURCES,./cmd/cloudflare-sim ./internal)
DEMO_CONSOLE_SRC := go.mod go.sum $(call GO_SOURCES,./cmd/demo-console ./internal)
CONFIGS      := config/demo.yaml config/cloudflare.yaml config/kafka.yaml config/kubernetes-ha.yaml \
                config/kubernetes-single.yaml
# The SIEM gateway (builder-config-siem.yaml: splunk_hec, elasticsearch), a distribution of its own at
# collector core v0.139.0, built by that release's ocb: its configs are validated by its binary.
SIEM_OCB_VERSION := v0.139.0
SIEM_BUILDER := $(BIN_DIR)/builder-$(SIEM_OCB_VERSION)
OTELCOL_SIEM := $(CURDIR)/_build-siem/otelcol-cloudflare-siem
SIEM_CONFIGS := config/splunk.yaml config/elasticsearch.yaml
# The checksum database available here does not know redisstorageextension (404), so its
# download skips that check (GONOSUMDB) and is checked against this hash instead, the one
# recorded when it was added to builder-config.yaml.
REDIS_STORAGE_MODULE := github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/redisstorageextension
REDIS_STORAGE_SUM    := $(REDIS_STORAGE_MODULE) v0.139.0 h1:kCzQaz8LMlOCIOKa3HWjww9Yup5Li+uT1DQnhEzKPuI=
# The container images of `make image` (scripts/build-image.sh): one per IMAGE_ARCHES, tagged $(IMAGE)-<arch>,
# the build host's arch also $(IMAGE), and (podman, buildah) the manifest list $(IMAGE)-multiarch of them all.
# VERSION is the distribution's (builder-config.yaml); the images' timestamps and labels are the commit's.
VERSION      := $(shell sed -n 's/^  version: *//p' builder-config.yaml)
IMAGE        ?= otelcol-cloudflare:$(VERSION)
IMAGE_ARCHES ?= amd64 arm64
IMAGE_SOURCE ?= https://github.com/otel-cloudflare/cloudflareidentityreceiver
# The CA bundle the image carries: the certificates of CA_CERTS_DIR (Debian's ca-certificates package: Mozilla's
# set) in byte order, i.e. /etc/ssl/certs/ca-certificates.crt of a Debian host without local CAs. Not the build
# host's /etc/ssl/certs bundle, which also holds any CA added under /usr/local/share/ca-certificates (a proxy's,
# a company's). Pinned: `make ca-bundle` fails, before the build, when its SHA-256 is none of CA_BUNDLE_SHA256:
# Debian 12's ca-certificates 20230311+deb12u1 (bookworm, 142 certificates) and 20250419~deb12u2
# (bookworm-security, 148), each computed from the package (apt-get download, dpkg-deb -x) as below.
CA_CERTS_DIR ?= /usr/share/ca-certificates/mozilla
CA_BUNDLE_SHA256 := a3413a37a8e09cc21b2c11c9ffb23d92d2fc9d1933c9e7617f5c4fba4f72d37d \
                    e9c7b63ee2623386e9b0a3ee32f499d01a8ea23dc83b8383ddff9f8e749543b7
CA_BUNDLE    := _build/ca-certificates.crt
IMAGE_ENV     = GO="$(GO)" IMAGE="$(IMAGE)" IMAGE_ARCHES="$(IMAGE_ARCHES)" IMAGE_SOURCE="$(IMAGE_SOURCE)" \
                VERSION="$(VERSION)" CA_BUNDLE="$(CA_BUNDLE)" CA_BUNDLE_SHA256="$(strip $(CA_BUNDLE_SHA256))"
# Fuzz targets, as package:target; each runs FUZZTIME in `make fuzz`, FUZZSMOKE in `make test`.
FUZZ_TARGETS := .:FuzzMapAuditPage .:FuzzMemberDiff .:FuzzConfig ./internal/cloudflare:FuzzListLoginsResponse \
                ./internal/cloudflare:FuzzListLoginsV2Response
FUZZTIME     ?= 1m
# A count, not a duration: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" when a -fuzztime duration expires with a call in
# flight (go.dev/issue/75804); a count has no deadline to race.
FUZZSMOKE    ?= 300x

.PHONY: help tools build build-siem ca-bundle image sim run run-live check-live require-token generate check-generate check-tidy test test-unit \
	fuzz-smoke fuzz bench bench-quick e2e test-deploy test-image validate-configs clean

## help: list these targets (from their `## target:` comments in the Makefile)
help:
	@awk '/^## [a-z0-9][a-z0-9-]*:/ { sub(/^## /, ""); t = $$0; sub(/:.*/, "", t); sub(/^[^:]*: */, ""); \
	       printf "  %-16s %s\n", t, $$0; next } \
	     /^##  +/ { sub(/^## +/, ""); printf "  %-16s %s\n", "", $$0 }' $(MAKEFILE_LIST)

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

## build: the otelcol-cloudflare distribution in ./_build, compiled with ocb only when one of its sources changed
##        (the receiver's Go files, go.mod, go.sum, builder-config.yaml). Static (CGO_ENABLED=0: the image has no
##        libc) and reproducible: the same commit and Go toolchain give the same bytes in any directory (ocb's
##        -trimpath, content-hash build IDs, and -buildvcs=false, which keeps the checkout's state (vcs.modified,
##        vcs.time) out of the binary even when GOFLAGS asks for it).
build: $(OTELCOL)
	@echo ">> _build/otelcol-cloudflare is up to date with its sources"

# The binary is a real target: rebuilt only when a source is newer. ocb's `go build` leaves an unchanged
# binary untouched, so it is touched here to record that it is up to date.
$(OTELCOL): $(OTELCOL_SRC) | $(BUILDER)
	@echo ">> building the collector distribution (builder-config.yaml): newer than the binary: $(or $(wordlist 1,5,$?),none)"
	@start=$$(date +%s); \
	  echo "$(BUILDER) --config builder-config.yaml"; \
	  CGO_ENABLED=0 GOFLAGS="$${GOFLAGS:+$$GOFLAGS }-buildvcs=false" GONOSUMDB=$(REDIS_STORAGE_MODULE) \
	    $(BUILDER) --config builder-config.yaml; \
	  grep -qxF '$(REDIS_STORAGE_SUM)' _build/go.sum \
	    || { rm -f $@; echo "_build/go.sum: $(REDIS_STORAGE_MODULE) is not the pinned one (REDIS_STORAGE_SUM)" >&2; exit 1; }; \
	  touch $@; \
	  echo ">> built _build/otelcol-cloudflare (ocb took $$(( $$(date +%s) - start ))s)"

## build-siem: the SIEM gateway distribution otelcol-cloudflare-siem (builder-config-siem.yaml) into ./_build-siem
build-siem: $(SIEM_BUILDER)
	@echo ">> building the SIEM gateway distribution (builder-config-siem.yaml)"
	CGO_ENABLED=0 GOFLAGS="$${GOFLAGS:+$$GOFLAGS }-buildvcs=false" $(SIEM_BUILDER) --config builder-config-siem.yaml

$(SIEM_BUILDER):
	@echo ">> installing ocb $(SIEM_OCB_VERSION) into $(SIEM_BUILDER)"
	tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install go.opentelemetry.io/collector/cmd/builder@$(SIEM_OCB_VERSION) \
	  && mkdir -p $(BIN_DIR) && mv $$tmp/builder $(SIEM_BUILDER) && rmdir $$tmp

## ca-bundle: _build/ca-certificates.crt, the image's CA bundle, from CA_CERTS_DIR; fails unless its SHA-256 is
##            CA_BUNDLE_SHA256 (the error says how to update the pin)
ca-bundle:
	@certs=$$(LC_ALL=C ls -1 $(CA_CERTS_DIR)/*.crt 2>/dev/null) \
	  || { echo "make ca-bundle: no certificates in $(CA_CERTS_DIR) (apt-get install ca-certificates)" >&2; exit 1; }; \
	  mkdir -p _build && cat $$certs > $(CA_BUNDLE); \
	  sum=$$(sha256sum $(CA_BUNDLE) | cut -d' ' -f1); \
	  if [[ " $(strip $(CA_BUNDLE_SHA256)) " != *" $$sum "* ]]; then \
	    rm -f $(CA_BUNDLE); \
	    echo "make ca-bundle: the CA bundle of $(CA_CERTS_DIR) ($$(wc -l <<<"$$certs") certificates, ca-certificates" \
	      "$$(dpkg-query -W -f '$${Version}' ca-certificates 2>/dev/null || echo '?')) has SHA-256 $$sum;" \
	      "the Makefile pins CA_BUNDLE_SHA256 := $(strip $(CA_BUNDLE_SHA256)). If this bundle is the one to ship (ca-certificates" \
	      "was updated), add $$sum to CA_BUNDLE_SHA256 in the Makefile and commit it: the image changes with it." >&2; \
	    exit 1; \
	  fi; \
	  echo ">> CA bundle: $(CA_BUNDLE) from $(CA_CERTS_DIR), SHA-256 $$sum (pinned)"

## image: the container images of Containerfile, built reproducibly (scripts/build-image.sh): the CA bundle
##        checked first (ca-bundle), then make build, the binary for each IMAGE_ARCHES (default amd64 arm64,
##        cross-compiled), one image per arch tagged $(IMAGE)-<arch>, the host's arch also $(IMAGE) (default
##        otelcol-cloudflare:$(VERSION)), with podman or buildah the manifest list $(IMAGE)-multiarch; timestamps
##        and OCI labels from the commit. Podman, docker or buildah, whichever is installed (ENGINE=... to choose).
image: ca-bundle build
	@$(IMAGE_ENV) ./scripts/build-image.sh

## sim: build the Cloudflare API simulator into ./bin (when its sources changed)
sim: $(SIM)

$(SIM): $(SIM_SRC)
	$(GO) build -o $@ ./cmd/cloudflare-sim

$(DEMO_CONSOLE): $(DEMO_CONSOLE_SRC)
	$(GO) build -o $@ ./cmd/demo-console

## run: the demo: the simulator on 127.0.0.1:8787 plus the collector on config/demo.yaml, one line per record
##      and per poll on the console (Ctrl-C stops both); builds only what changed
run: $(OTELCOL) $(SIM) $(DEMO_CONSOLE)
	@OTELCOL=$(OTELCOL) SIM=$(SIM) DEMO_CONSOLE=$(DEMO_CONSOLE) ./scripts/run-demo.sh

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

# Checked before the build, so that a missing token fails at once. The permissions depend on who owns the
# token (docs/token.md, "Token setup"): an account-owned token has account permissions only.
require-token:
	@if [[ -z "$${CLOUDFLARE_API_TOKEN:-}" ]]; then \
	  echo "make $(MAKECMDGOALS): CLOUDFLARE_API_TOKEN is not set. Create a read-only Cloudflare API token (docs/token.md):" >&2; \
	  echo "  - account-owned (recommended; Manage Account > Account API Tokens): Account Settings: Read;" >&2; \
	  echo "  - or a user token (My Profile > API Tokens): Account Settings: Read, Memberships: Read and User Details: Read." >&2; \
	  echo "Then: CLOUDFLARE_API_TOKEN=... make $(MAKECMDGOALS)" >&2; \
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

## validate-configs: every config/*.yaml must pass `otelcol-cloudflare validate` (dummy env values), the SIEM
##                   gateway's (SIEM_CONFIGS) `otelcol-cloudflare-siem validate`
validate-configs:
	@for f in $(CONFIGS); do \
	  CLOUDFLARE_API_TOKEN=dummy-token OTLP_ENDPOINT=http://localhost:4318 KAFKA_BROKERS=localhost:9092 \
	  REDIS_ENDPOINT=localhost:6379 REDIS_PASSWORD= POD_NAME=validate POD_NAMESPACE=default \
	    $(OTELCOL) validate --config $$f >/dev/null \
	    && echo "ok    $$f" || { echo "FAIL  $$f"; exit 1; }; \
	done
	@if [[ ! -x $(OTELCOL_SIEM) ]]; then \
	  echo "SKIP  $(SIEM_CONFIGS): no $(OTELCOL_SIEM) (make build-siem; make e2e builds it)"; exit 0; fi; \
	for f in $(SIEM_CONFIGS); do \
	  SPLUNK_HEC_ENDPOINT=https://localhost:8088/services/collector SPLUNK_HEC_TOKEN=dummy-token \
	  ELASTICSEARCH_ENDPOINT=https://localhost:9200 ELASTICSEARCH_API_KEY=dummy-key \
	    $(OTELCOL_SIEM) validate --config $$f >/dev/null \
	    && echo "ok    $$f (otelcol-cloudflare-siem)" || { echo "FAIL  $$f (otelcol-cloudflare-siem)"; exit 1; }; \
	done

## e2e: build the collector, validate the shipped configs, run the end-to-end tests against the binary
##      (also the demo script, the YAML blocks and ocb manifest of the .md files, with the pinned ocb)
e2e: build build-siem
	@echo ">> validating config/*.yaml with the built collector"
	@$(MAKE) --no-print-directory validate-configs
	@echo ">> end-to-end test (simulator + collector subprocess + OTLP/HTTP sink)"
	OTELCOL_BINARY=$(OTELCOL) OTELCOL_SIEM_BINARY=$(OTELCOL_SIEM) OCB_BINARY=$(BUILDER) $(GO) test -tags e2e -count=1 -v ./e2e/...

## test-deploy: decode deploy/kubernetes/ strictly into Kubernetes API types and check their cross-references,
##              the ConfigMaps' configs validated by the built collector; parse deploy/monitoring/'s alert rules
##              and dashboard with Prometheus's parsers and check their metrics against the built collector's
##              (deploy/ is a module of its own)
test-deploy: build
	@echo ">> Kubernetes manifests (deploy/)"
	cd deploy && $(GO) vet ./... && OTELCOL_BINARY=$(OTELCOL) $(GO) test -count=1 ./...

## test-image: make image twice and compare the image IDs (reproducible), then check each arch's image: OCI
##             labels, architecture, the binary's ELF machine, static, only the expected files, the pinned CA bundle,
##             the non-root user; the host's binary validates config/*.yaml. Skipped, saying why, without podman or
##             buildah (.ci/run installs podman).
test-image:
	@if ! command -v podman >/dev/null && ! command -v buildah >/dev/null; then \
	  echo ">> test-image SKIPPED: neither podman nor buildah is installed (.ci/run installs podman)"; \
	else \
	  $(IMAGE_ENV) ./scripts/test-image.sh; \
	fi

## clean: remove build output, tools and demo state
clean:
	rm -rf _build _build-siem bin _storage
