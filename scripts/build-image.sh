#!/usr/bin/env bash
# The container images of `make image` (after make ca-bundle and make build), reproducibly: the same commit
# gives the same image IDs. For each arch of IMAGE_ARCHES:
#   - the binary, cross-compiled from ocb's sources in _build with ocb's flags (-trimpath -ldflags='-s -w',
#     CGO_ENABLED=0, -buildvcs=false; a static binary needs no emulation); the host's must be the very bytes of
#     make build's _build/otelcol-cloudflare;
#   - a build context _build/image/<arch> with fixed file modes (COPY keeps them), the pinned CA bundle;
#   - the image IMAGE-<arch> (--platform linux/<arch>), every timestamp (config, history, files in the layer)
#     set to SOURCE_DATE_EPOCH, the commit's time (--timestamp), no layer cache (--layers=false: a cached
#     layer of another build would bring its own time), no builder version label (--identity-label=false), and
#     the OCI labels source, revision, version, created.
# The host's arch is also tagged IMAGE; with podman or buildah the manifest list IMAGE-multiarch names them all.
# Docker gets the same inputs (SOURCE_DATE_EPOCH as a build argument, which BuildKit uses for the config's
# times), but its image IDs are not checked here (make test-image uses podman or buildah).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${IMAGE:?}" "${IMAGE_ARCHES:?}" "${IMAGE_SOURCE:?}" "${VERSION:?}" "${CA_BUNDLE:?}"
GO=${GO:-go}

fail() {
  echo "make image: $*" >&2
  exit 1
}

engine=${ENGINE:-$(command -v podman || command -v docker || command -v buildah || true)}
[[ -n "$engine" ]] || fail "needs podman, docker or buildah"
kind=$(basename "$engine")
[[ -s "$CA_BUNDLE" ]] || fail "no CA bundle at $CA_BUNDLE (make ca-bundle makes it)"
[[ -x _build/otelcol-cloudflare ]] || fail "no _build/otelcol-cloudflare (make build makes it)"

# The commit's time and revision, unless given (SOURCE_DATE_EPOCH: reproducible-builds.org's convention).
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null) ||
    fail "not a git checkout: set SOURCE_DATE_EPOCH (seconds) and IMAGE_REVISION"
fi
if [[ -z "${IMAGE_REVISION:-}" ]]; then
  IMAGE_REVISION=$(git rev-parse HEAD)
  # Uncommitted changes are not the commit: say so in the label (and the image differs from the commit's).
  if [[ -n "$(git status --porcelain)" ]]; then
    IMAGE_REVISION+=-dirty
    echo ">> warning: the working tree has uncommitted changes: revision label $IMAGE_REVISION" >&2
  fi
fi
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
labels=(
  --label "org.opencontainers.image.source=$IMAGE_SOURCE"
  --label "org.opencontainers.image.revision=$IMAGE_REVISION"
  --label "org.opencontainers.image.version=$VERSION"
  --label "org.opencontainers.image.created=$created"
)

hostarch=$($GO env GOHOSTARCH)
[[ " $IMAGE_ARCHES " == *" $hostarch "* ]] || fail "IMAGE_ARCHES ($IMAGE_ARCHES) must include the host's arch, $hostarch: $IMAGE is its image"

rm -rf _build/image
declare -A ids
for arch in $IMAGE_ARCHES; do
  ctx=_build/image/$arch
  mkdir -p "$ctx"
  start=$SECONDS
  # ocb's go build (cmd/builder internal/builder.Compile), for GOOS=linux GOARCH=$arch.
  (cd _build && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" \
    "$GO" build -trimpath -ldflags='-s -w' -gcflags= -o "image/$arch/otelcol-cloudflare" .)
  if [[ "$arch" == "$hostarch" && "$($GO env GOHOSTOS)" == linux ]]; then
    cmp -s "$ctx/otelcol-cloudflare" _build/otelcol-cloudflare ||
      fail "the $arch binary differs from make build's _build/otelcol-cloudflare: did ocb's go build flags change (internal/builder.Compile), or GOAMD64/GOFLAGS between the two?"
  fi
  chmod 0755 "$ctx/otelcol-cloudflare"
  install -m 0644 image/passwd image/group "$ctx/"
  install -m 0644 "$CA_BUNDLE" "$ctx/ca-certificates.crt"
  gobuild=$((SECONDS - start))

  start=$SECONDS
  tag=$IMAGE-$arch
  case "$kind" in
  podman | buildah)
    echo "$kind build --layers=false --identity-label=false --timestamp $SOURCE_DATE_EPOCH --platform linux/$arch <labels> -f Containerfile -t $tag $ctx"
    id=$("$engine" build -q --layers=false --identity-label=false --timestamp "$SOURCE_DATE_EPOCH" \
      --platform "linux/$arch" "${labels[@]}" -f Containerfile -t "$tag" "$ctx" | tail -1)
    ;;
  *)
    echo "$kind build --platform linux/$arch --build-arg SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH <labels> -f Containerfile -t $tag $ctx"
    id=$(SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH "$engine" build -q --platform "linux/$arch" \
      --build-arg "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH" "${labels[@]}" -f Containerfile -t "$tag" "$ctx" | tail -1)
    ;;
  esac
  ids[$arch]=${id#sha256:}
  echo ">> $tag: image ID ${id#sha256:} (go build ${gobuild}s, image $((SECONDS - start))s)"
done

"$engine" tag "$IMAGE-$hostarch" "$IMAGE"
echo ">> $IMAGE: the $hostarch image"
case "$kind" in
podman | buildah)
  list=$IMAGE-multiarch
  "$engine" manifest rm "$list" >/dev/null 2>&1 || true
  "$engine" manifest create "$list" >/dev/null
  for arch in $IMAGE_ARCHES; do
    "$engine" manifest add "$list" "containers-storage:${ids[$arch]}" >/dev/null
  done
  echo ">> $list: manifest list of $IMAGE_ARCHES (push: $kind manifest push --all $list docker://REGISTRY/NAME:TAG)"
  ;;
esac
