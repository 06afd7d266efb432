#!/usr/bin/env bash
# buf breaking: protos/ as it is here against protos/ on another branch (default main), so a
# change that would break a deployed caller (a renamed field, a changed response) fails
# `make lint`. Usage: scripts/proto-breaking.sh BUF [BRANCH]
set -euo pipefail
buf=$1
against=${2:-main}
if ! git rev-parse --verify --quiet "$against^{commit}" >/dev/null; then
  echo "buf breaking: there is no '$against' here to compare with (BUF_AGAINST=<branch>)" >&2
  exit 1
fi
if ! git cat-file -e "$against:protos/buf.yaml" 2>/dev/null; then
  # The protos before buf: the renames STANDARD lint asked for are the one accepted break.
  echo "buf breaking: '$against' has no protos/buf.yaml yet; checked from the next change on"
  exit 0
fi
baseline=$(mktemp -d)
trap 'rm -rf "$baseline"' EXIT
git archive "$against" protos | tar -x -C "$baseline"
"$buf" breaking protos --against "$baseline/protos"
echo "buf breaking: protos/ is compatible with '$against'"
