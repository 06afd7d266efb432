#!/usr/bin/env bash
# Builds the two local base images the Dockerfile takes when no registry is reachable, from
# Debian's own packages with mmdebstrap (about 20 s each), and imports them into the engine:
#
#   <name>:<suite>        runtime: Debian's python3, CA certificates and the C++ runtime that
#                         manylinux wheels may link (greenlet does), nothing else (no apt, no
#                         docs); the images' final stage
#   <name>-build:<suite>  the same plus python3-venv (to install uv) and binutils (strip);
#                         the images' builder stage
#
#   deploy/images/base-image.sh ENGINE SUITE NAME      e.g. podman bookworm localhost/alooba/python
#
# Both come from one Debian mirror state, so the builder's python3 is the runtime's, at the same
# path (/usr/bin/python3): the venv built in one runs in the other. bookworm gives Python 3.11,
# trixie 3.13. Needs root (or fakeroot/unshare, see mmdebstrap(1)) and mmdebstrap.
set -euo pipefail

engine=${1:?engine (docker or podman)}
suite=${2:?Debian suite (bookworm, trixie)}
name=${3:?image name, e.g. localhost/alooba/python}

command -v mmdebstrap >/dev/null || {
  echo "base-image: mmdebstrap is missing: apt-get install -y mmdebstrap (or: make container-tools)" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Essential packages only (no apt), merged /usr without the usrmerge package (which pulls in
# perl), and no documentation, manual pages or translations (licences stay).
common=(
  --variant=essential
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --customize-hook='rm -rf "$1"/var/cache/* "$1"/var/lib/apt/lists/*'
)
path_env='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

build() {  # build TAG PACKAGES
  local tag=$1 packages=$2
  echo "base-image: $tag ($packages)"
  mmdebstrap --quiet "${common[@]}" --include="$packages" "$suite" "$work/rootfs.tar" \
    >"$work/mmdebstrap.log" 2>&1 || { cat "$work/mmdebstrap.log" >&2; exit 1; }
  "$engine" import --change "$path_env" --change 'CMD ["python3"]' \
    "$work/rootfs.tar" "$tag" >/dev/null
  rm -f "$work/rootfs.tar"
}

runtime=python3,ca-certificates,libstdc++6
build "$name:$suite" "$runtime"
build "$name-build:$suite" "$runtime,python3-venv,binutils"
