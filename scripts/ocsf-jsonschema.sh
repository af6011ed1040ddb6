#!/usr/bin/env bash
# Regenerates testdata/ocsf/schema-1.8.0/: the JSON Schemas (draft-07) of the OCSF classes that
# `format: ocsf` emits, produced by the OCSF project's own tools, not by code of this repository:
#
#   1. ocsf-schema at tag 1.8.0 (the schema's source files),
#   2. compiled by ocsf-schema-compiler (the compiler the OCSF server needs since its version 4) in
#      browser mode, without platform extensions (-i -b),
#   3. exported by the OCSF server's JSON Schema encoder (lib/schema/json_schema.ex) and repository
#      (lib/schema.ex, lib/schema/single_repo.ex, lib/schema/utils.ex), the code behind
#      https://schema.ocsf.io/schema/classes/CLASS?profiles=cloud, run without the web server by
#      scripts/ocsf/export.exs. The server's other dependencies (Phoenix, ...) are not needed for
#      these modules; Jason (its JSON library, at the version of its mix.lock) is compiled from source.
#
# The tests read the output (ocsf_schema_test.go, e2e/ocsf_test.go); CI does not run this script.
# Needs: git, python3 >= 3.13 (the compiler declares 3.14 and runs on 3.13), elixir >= 1.14
# (Debian 12: apt-get install elixir). The four sources are git directories (clones or mirrors):
#
#   OCSF_SCHEMA_GIT=... OCSF_COMPILER_GIT=... OCSF_SERVER_GIT=... JASON_GIT=... scripts/ocsf-jsonschema.sh
#   ... scripts/ocsf-jsonschema.sh --check   # regenerate into a temporary directory and diff
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

SCHEMA_REF=1.8.0                                         # ocsf/ocsf-schema release tag
COMPILER_REF=b348bd0be3628de3b9bb1492f700c0b68b906852    # ocsf/ocsf-schema-compiler 0.9.2
SERVER_REF=62e08aea67dd53435344e10d8d117c23f3afc4ff      # ocsf/ocsf-server main, 2026-06-23 (4.3.0)
JASON_REF=v1.4.4                                         # michalmuskala/jason, as in the server's mix.lock
PROFILES=cloud
CLASSES=(authentication account_change user_inventory iam_analysis_finding base_event)
PYTHON=${PYTHON:-python3}
OUT=testdata/ocsf/schema-$SCHEMA_REF

: "${OCSF_SCHEMA_GIT:?the git directory of ocsf/ocsf-schema}" "${OCSF_COMPILER_GIT:?the git directory of ocsf/ocsf-schema-compiler}"
: "${OCSF_SERVER_GIT:?the git directory of ocsf/ocsf-server}" "${JASON_GIT:?the git directory of michalmuskala/jason}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
extract() { # extract GIT_DIR REF DEST PATH...
  local git=$1 ref=$2 dest=$3
  shift 3
  mkdir -p "$dest"
  git --git-dir="$git" archive "$ref" "$@" | tar -x -C "$dest"
}
extract "$OCSF_SCHEMA_GIT" "$SCHEMA_REF" "$tmp/schema"
extract "$OCSF_COMPILER_GIT" "$COMPILER_REF" "$tmp/compiler" src LICENSE NOTICE
extract "$OCSF_SERVER_GIT" "$SERVER_REF" "$tmp/server" lib/schema.ex lib/schema/utils.ex \
  lib/schema/single_repo.ex lib/schema/json_schema.ex
extract "$JASON_GIT" "$JASON_REF" "$tmp/jason" lib

version=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$tmp/schema/version.json")
[[ $version == "$SCHEMA_REF" ]] || { echo "ocsf-schema $SCHEMA_REF says version $version" >&2; exit 1; }

echo ">> compiling ocsf-schema $SCHEMA_REF (ocsf-schema-compiler, browser mode, no platform extensions)"
(cd "$tmp/compiler/src" && "$PYTHON" -m ocsf_schema_compiler -i -b --log-level WARNING "$tmp/schema") >"$tmp/compiled.json"

echo ">> compiling the OCSF server's schema modules and Jason"
mkdir -p "$tmp/ebin"
elixirc --ignore-module-conflict -o "$tmp/ebin" "$tmp"/jason/lib/*.ex >/dev/null
# Schema.Generator and Schema.Helper (sample events, enrichment) are not compiled: elixirc warns
# that they are undefined; the export does not call them.
elixirc -pa "$tmp/ebin" -o "$tmp/ebin" "$tmp/server/lib/schema.ex" "$tmp"/server/lib/schema/*.ex 2>/dev/null

echo ">> exporting ${CLASSES[*]} with profiles $PROFILES"
mkdir -p "$tmp/out"
elixir -pa "$tmp/ebin" scripts/ocsf/export.exs "$tmp/compiled.json" "$tmp/out" "$PROFILES" "${CLASSES[@]}" 2>/dev/null
cp "$tmp/schema/LICENSE" "$tmp/out/LICENSE"
cp "$tmp/schema/NOTICE" "$tmp/out/NOTICE"
cat >"$tmp/out/VERSION" <<EOF
OCSF schema $SCHEMA_REF (ocsf/ocsf-schema tag $SCHEMA_REF, commit $(git --git-dir="$OCSF_SCHEMA_GIT" rev-parse "$SCHEMA_REF^{commit}"))
compiled by ocsf/ocsf-schema-compiler $COMPILER_REF (0.9.2) with -i -b
exported by ocsf/ocsf-server $SERVER_REF lib/schema/json_schema.ex (JSON Schema draft-07), profiles: $PROFILES
classes: ${CLASSES[*]}
generator: scripts/ocsf-jsonschema.sh
EOF

if [[ ${1:-} == --check ]]; then
  diff -r "$OUT" "$tmp/out" && echo ">> $OUT is what the generator produces"
  exit
fi
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
cp -r "$tmp/out" "$OUT"
echo ">> wrote $OUT: $(ls "$OUT" | tr '\n' ' ')"
