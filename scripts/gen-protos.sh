#!/usr/bin/env bash
# Regenerates protos/python from protos/alooba/**.proto: messages, gRPC stubs and
# typed stubs (mypy-protobuf). The output is committed; `make proto-check` fails
# when regenerating changes it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=protos/python
rm -rf "$out/alooba"
mkdir -p "$out"
mapfile -t files < <(cd protos && find alooba -name '*.proto' | sort)
(cd protos && python -m grpc_tools.protoc -I . \
    --python_out=python --grpc_python_out=python \
    --mypy_out=python --mypy_grpc_out=python \
    "${files[@]}")
find "$out/alooba" -type d -exec touch {}/__init__.py \;
