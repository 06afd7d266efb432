#!/usr/bin/env bash
# The unit tests on every Python this machine can run: the host's (.venv, 3.11) and, in a
# container from Debian trixie's packages, Python 3.13 (uv cannot download interpreters here).
# What `make test-pythons` runs. Needs docker or podman, and mmdebstrap for the trixie base
# (make container-tools).
#
#   scripts/test-pythons.sh [PYTEST_ARGS...]      (default: tests/unit -q)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source deploy/images/engine.sh
engine=$(pick_engine)
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(tests/unit -q)
uv_version=$(sed -n 's/^UV_VERSION := //p' Makefile)

echo "== Python $(.venv/bin/python -c 'import platform; print(platform.python_version())') (host, .venv)"
.venv/bin/pytest -p no:cacheprovider "${args[@]}"

base=localhost/alooba/python-build:trixie
image_exists "$engine" "$base" || deploy/images/base-image.sh "$engine" trixie localhost/alooba/python
ca=${BUILD_CA_FILE-/etc/ssl/certs/ca-certificates.crt}
mounts=(-v "$root:/src:ro")
[[ -n $ca && -s $ca ]] && mounts+=(-v "$ca:/etc/alooba-build-ca.crt:ro")
mkdir -p "${XDG_CACHE_HOME:-$HOME/.cache}/uv"
mounts+=(-v "${XDG_CACHE_HOME:-$HOME/.cache}/uv:/root/.cache/uv")
# The whole workspace and its dev group from the lock file, into a venv outside the
# read-only source tree; then the same tests.
"$engine" run --rm --network host "${mounts[@]}" -w /src \
  -e PYTHONDONTWRITEBYTECODE=1 -e UV_PROJECT_ENVIRONMENT=/tmp/venv -e UV_PYTHON_DOWNLOADS=never \
  -e UV_LINK_MODE=copy -e UV_VERSION="$uv_version" -e HYPOTHESIS_STORAGE_DIRECTORY=/tmp/hypothesis \
  "$base" sh -euc '
    if [ -s /etc/alooba-build-ca.crt ]; then
      export SSL_CERT_FILE=/etc/alooba-build-ca.crt PIP_CERT=/etc/alooba-build-ca.crt
    fi
    python3 -m venv /opt/tools
    /opt/tools/bin/pip install -q --disable-pip-version-check "uv==$UV_VERSION"
    /opt/tools/bin/uv sync -q --frozen --all-packages --python python3
    echo "== Python $(/tmp/venv/bin/python -c "import platform; print(platform.python_version())") (Debian trixie, container)"
    /tmp/venv/bin/pytest -p no:cacheprovider "$@"
  ' sh "${args[@]}"
