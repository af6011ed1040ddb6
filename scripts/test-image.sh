#!/usr/bin/env bash
# The container image's test (make test-image). Runs make image twice and checks that
#   - both builds give the same image ID for each arch of IMAGE_ARCHES (reproducible: the second build stages,
#     links and commits everything again; --layers=false, so no layer of the first is reused);
#   - each image carries the OCI labels source, revision (HEAD, -dirty with uncommitted changes), version and
#     created (the commit's time, as is the image's creation time), and its config names linux/<arch>;
#   - with podman, IMAGE-multiarch is a manifest list of exactly these images, by digest;
# then reads each image's filesystem (podman image mount, or buildah mount) without running a container:
#   - it holds only /otelcol-cloudflare, the CA bundle, /etc/passwd and /etc/group;
#   - the binary is an ELF executable for the image's arch (e_machine: x86-64 for amd64, AArch64 for arm64)
#     and static (the image has no libc);
#   - the host arch's binary validates every shipped config (make validate-configs with OTELCOL set to it;
#     the others cannot run here without emulation);
#   - the CA bundle's SHA-256 is one of the pinned CA_BUNDLE_SHA256;
#   - the image runs as a numeric non-root user that /etc/passwd names.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${IMAGE:?IMAGE names the image to test}" "${IMAGE_ARCHES:?}" "${IMAGE_SOURCE:?}" "${VERSION:?}"
: "${CA_BUNDLE_SHA256:?CA_BUNDLE_SHA256 is the pinned SHA-256s of the CA bundle}"
GO=${GO:-go}

fail() {
  echo "test-image: FAIL: $*" >&2
  exit 1
}

if command -v podman >/dev/null; then engine=podman; else engine=buildah; fi
# inspect IMAGE PODMAN-TEMPLATE BUILDAH-TEMPLATE
inspect() {
  if [[ $engine == podman ]]; then
    podman image inspect --format "$2" "$1"
  else
    buildah inspect --type image --format "$3" "$1"
  fi
}
label() { inspect "$1" "{{index .Labels \"$2\"}}" "{{index .OCIv1.Config.Labels \"$2\"}}"; }

start=$SECONDS
declare -A first second
for build in 1 2; do
  t=$SECONDS
  ENGINE=$engine make --no-print-directory image
  for arch in $IMAGE_ARCHES; do
    id=$(inspect "$IMAGE-$arch" '{{.Id}}' '{{.FromImageID}}')
    if ((build == 1)); then first[$arch]=$id; else second[$arch]=$id; fi
  done
  echo ">> test-image: build $build took $((SECONDS - t))s"
done
for arch in $IMAGE_ARCHES; do
  echo ">> $IMAGE-$arch: build 1 ${first[$arch]}, build 2 ${second[$arch]}"
  [[ "${first[$arch]}" == "${second[$arch]}" ]] || fail "$IMAGE-$arch: two builds of the same tree gave different image IDs"
done

epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$epoch" +%Y-%m-%dT%H:%M:%SZ)
revision=${IMAGE_REVISION:-$(git rev-parse HEAD)}
[[ -n "${IMAGE_REVISION:-}" || -z "$(git status --porcelain)" ]] || revision+=-dirty
declare -A want_labels=(
  [org.opencontainers.image.source]=$IMAGE_SOURCE
  [org.opencontainers.image.revision]=$revision
  [org.opencontainers.image.version]=$VERSION
  [org.opencontainers.image.created]=$created
)
# ELF e_machine (offset 18, little-endian) per GOARCH.
declare -A machine=([amd64]=62 [arm64]=183)
hostarch=$($GO env GOHOSTARCH)

mnt= ctr=
cleanup() {
  if [[ -n "$mnt" && $engine == podman ]]; then podman image unmount "$IMAGE-$arch" >/dev/null || true; fi
  if [[ -n "$ctr" ]]; then buildah rm "$ctr" >/dev/null || true; fi
  mnt= ctr=
}
trap cleanup EXIT

for arch in $IMAGE_ARCHES; do
  image=$IMAGE-$arch
  for key in "${!want_labels[@]}"; do
    got=$(label "$image" "$key")
    [[ "$got" == "${want_labels[$key]}" ]] || fail "$image: label $key is \"$got\", want \"${want_labels[$key]}\""
  done
  platform=$(inspect "$image" '{{.Os}}/{{.Architecture}} {{.Created.Unix}}' '{{.OCIv1.OS}}/{{.OCIv1.Architecture}} {{.OCIv1.Created.Unix}}')
  [[ "$platform" == "linux/$arch $epoch" ]] || fail "$image: platform and creation time \"$platform\", want \"linux/$arch $epoch\""
  user=$(inspect "$image" '{{.Config.User}}' '{{.OCIv1.Config.User}}')

  if [[ $engine == podman ]]; then
    mnt=$(podman image mount "$image")
  else
    ctr=$(buildah from --arch "$arch" "$image")
    mnt=$(buildah mount "$ctr")
  fi
  bin=$mnt/otelcol-cloudflare

  files=$(cd "$mnt" && find . -type f | sort | tr '\n' ' ')
  want="./etc/group ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./otelcol-cloudflare "
  [[ "$files" == "$want" ]] || fail "$image holds: $files; want: $want"

  [[ "$(head -c 4 "$bin" | od -An -c | tr -d ' ')" == '177ELF' ]] || fail "$image: /otelcol-cloudflare is not ELF"
  got=$(od -An -t u2 -j 18 -N 2 --endian=little "$bin" | tr -d ' ')
  [[ -n "${machine[$arch]:-}" ]] || fail "no ELF machine known for $arch (add it to the machine table)"
  [[ "$got" == "${machine[$arch]}" ]] || fail "$image: /otelcol-cloudflare has ELF machine $got, want ${machine[$arch]} ($arch)"
  # A dynamically linked binary names its loader (PT_INTERP); the image has none.
  ! grep -qa -e '/lib64/ld-linux' -e '/lib/ld-linux' "$bin" || fail "$image: /otelcol-cloudflare is not static"
  if [[ $arch == "$hostarch" ]]; then
    make --no-print-directory validate-configs OTELCOL="$bin"
  fi

  sum=$(sha256sum "$mnt/etc/ssl/certs/ca-certificates.crt" | cut -d' ' -f1)
  [[ " $CA_BUNDLE_SHA256 " == *" $sum "* ]] || fail "$image: the CA bundle's SHA-256 is $sum, want one of the pinned $CA_BUNDLE_SHA256"
  grep -q 'BEGIN CERTIFICATE' "$mnt/etc/ssl/certs/ca-certificates.crt" || fail "$image: the CA bundle holds no certificate"

  [[ "$user" =~ ^([0-9]+):([0-9]+)$ ]] || fail "$image: USER is \"$user\", want numeric uid:gid (runAsNonRoot checks it)"
  uid=${BASH_REMATCH[1]} gid=${BASH_REMATCH[2]}
  ((uid != 0)) || fail "$image runs as root"
  awk -F: -v uid="$uid" -v gid="$gid" '$3 == uid && $4 == gid { found = 1 } END { exit !found }' "$mnt/etc/passwd" ||
    fail "$image: /etc/passwd has no user $uid with group $gid"
  awk -F: -v gid="$gid" '$3 == gid { found = 1 } END { exit !found }' "$mnt/etc/group" || fail "$image: /etc/group has no group $gid"

  elf=$(command -v file >/dev/null && file -b "$bin" | cut -d, -f1-2 || echo "ELF machine $got")
  cleanup
  echo ">> $image: linux/$arch, $elf, labels, user $user, CA bundle ok"
done

if [[ $engine == podman ]]; then
  list=$(podman manifest inspect "$IMAGE-multiarch" | grep -o '"\(digest\|architecture\)": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | paste -d' ' - - | sort)
  want=$(for arch in $IMAGE_ARCHES; do echo "$(inspect "$IMAGE-$arch" '{{.Digest}}' '') $arch"; done | sort)
  [[ "$list" == "$want" ]] || fail "$IMAGE-multiarch lists: $list; want: $want"
  echo ">> $IMAGE-multiarch: manifest list of $(echo $IMAGE_ARCHES)"
fi

echo ">> test-image: ok ($IMAGE, $(echo $IMAGE_ARCHES): same image IDs twice, labels, ELF arch, files, CA bundle, user; validate on the shipped configs) in $((SECONDS - start))s"
