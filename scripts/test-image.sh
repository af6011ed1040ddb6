#!/usr/bin/env bash
# The container image's test (make test-image, after make image): reads the filesystem of IMAGE
# (podman image mount, or buildah mount) without running a container, and checks that
#   - it holds only /otelcol-cloudflare, the CA bundle, /etc/passwd and /etc/group;
#   - the binary is static (the image has no libc);
#   - the binary validates every shipped config (make validate-configs with OTELCOL set to it);
#   - the CA bundle is CA_BUNDLE, the build host's;
#   - the image runs as a numeric non-root user that /etc/passwd names.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${IMAGE:?IMAGE names the image to test}" "${CA_BUNDLE:?CA_BUNDLE is the CA bundle the image should carry}"

fail() {
  echo "test-image: FAIL: $*" >&2
  exit 1
}

start=$SECONDS
if command -v podman >/dev/null; then
  mnt=$(podman image mount "$IMAGE")
  trap 'podman image unmount "$IMAGE" >/dev/null' EXIT
  user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
else
  ctr=$(buildah from "$IMAGE")
  trap 'buildah rm "$ctr" >/dev/null' EXIT
  mnt=$(buildah mount "$ctr")
  user=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$IMAGE")
fi
echo ">> $IMAGE mounted at $mnt"

files=$(cd "$mnt" && find . -type f | sort | tr '\n' ' ')
want="./etc/group ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./otelcol-cloudflare "
[[ "$files" == "$want" ]] || fail "the image holds: $files; want: $want"

# A dynamically linked binary names its loader (PT_INTERP); the image has none.
! grep -qa -e '/lib64/ld-linux' -e '/lib/ld-linux' "$mnt/otelcol-cloudflare" || fail "/otelcol-cloudflare is not static"
make --no-print-directory validate-configs OTELCOL="$mnt/otelcol-cloudflare"

cmp -s "$mnt/etc/ssl/certs/ca-certificates.crt" "$CA_BUNDLE" || fail "/etc/ssl/certs/ca-certificates.crt is not $CA_BUNDLE"
grep -q 'BEGIN CERTIFICATE' "$mnt/etc/ssl/certs/ca-certificates.crt" || fail "the CA bundle holds no certificate"

[[ "$user" =~ ^([0-9]+):([0-9]+)$ ]] || fail "USER is \"$user\", want numeric uid:gid (runAsNonRoot checks it)"
uid=${BASH_REMATCH[1]} gid=${BASH_REMATCH[2]}
((uid != 0)) || fail "the image runs as root"
awk -F: -v uid="$uid" -v gid="$gid" '$3 == uid && $4 == gid { found = 1 } END { exit !found }' "$mnt/etc/passwd" ||
  fail "/etc/passwd has no user $uid with group $gid"
awk -F: -v gid="$gid" '$3 == gid { found = 1 } END { exit !found }' "$mnt/etc/group" || fail "/etc/group has no group $gid"

echo ">> test-image: ok ($IMAGE: user $user, CA bundle, validate on the shipped configs) in $((SECONDS - start))s"
