#!/usr/bin/env bash
# make generate / make check-generate: mdatagen (pinned in tools/go.mod) on metadata.yaml.
#
#   scripts/generate.sh          regenerate the files below in the repository
#   scripts/generate.sh --check  generate into a temporary copy and diff it with the repository;
#                                fails (and prints the diff) when they differ; leaves the tree alone
#
# Generated (do not edit by hand): internal/metadata/, internal/metadatatest/, documentation.md,
# generated_component_test.go, generated_package_test.go, README.md's status section.
#
# mdatagen names the Go package after the folder that holds metadata.yaml, and clones (CI's among
# them) may be in a folder of another name: it is run through a folder named cloudflareidentityreceiver.
# It knows the links of OpenTelemetry's own distributions only, so the link of ours
# (otelcol-cloudflare: builder-config.yaml) is filled in afterwards.
# Environment: MDATAGEN (the mdatagen binary, default bin/mdatagen).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

MDATAGEN=${MDATAGEN:-$root/bin/mdatagen}
GENERATED=(internal/metadata internal/metadatatest documentation.md
  generated_component_test.go generated_package_test.go README.md)
DISTRIBUTION_LINK='[otelcol-cloudflare]: builder-config.yaml'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
component=$tmp/cloudflareidentityreceiver

# generate DIR: mdatagen on DIR/metadata.yaml, then the distribution link in DIR/README.md.
generate() {
  "$MDATAGEN" "$1/metadata.yaml"
  local name=${DISTRIBUTION_LINK%%:*}
  awk -v name="$name" -v link="$DISTRIBUTION_LINK" \
    '$0 ~ "^\\" name ": *$" { print link; next } { print }' "$1/README.md" >"$tmp/README.md"
  cat "$tmp/README.md" >"$1/README.md"
}

case "${1:-}" in
  "")
    ln -s "$root" "$component"
    generate "$component"
    ;;
  --check)
    # A copy of mdatagen's inputs only (it asks `go list` for the package, hence go.mod and doc.go):
    # every generated file is written afresh, so a stale or hand-added one shows up as a difference too.
    mkdir "$component"
    cp metadata.yaml README.md go.mod doc.go "$component/"
    generate "$component"
    status=0
    for path in "${GENERATED[@]}"; do
      diff -ru "$path" "$component/$path" || status=1
    done
    if ((status)); then
      echo "check-generate: the files above differ from what mdatagen produces from metadata.yaml;" >&2
      echo "                run 'make generate' and commit the result (and edit metadata.yaml, not them)" >&2
      exit 1
    fi
    echo "check-generate: generated files are up to date with metadata.yaml"
    ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac
