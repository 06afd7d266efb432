"""Validate rendered manifests offline; called by validate.sh.

Built-in kinds go to `kubernetes-validate --strict` (the schemas it bundles per Kubernetes
version). It only warns about a kind it has no schema for, which would let a typo in an
apiVersion through, so here a warning fails too. Custom resources are validated against
schemas/<kind>-<group's first label>-<version>.json instead.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import yaml


def custom_resource_schema(doc: dict[str, Any], schemas: Path) -> Path | None:
    """The shipped schema for a custom resource, or None for a built-in kind."""
    api_version = str(doc.get("apiVersion", ""))
    if "/" not in api_version or "." not in api_version.split("/")[0]:
        return None  # core (v1) or a k8s.io-less built-in group (apps/v1, batch/v1, ...)
    group, version = api_version.split("/", 1)
    if group.endswith(".k8s.io"):
        return None
    return schemas / f"{str(doc.get('kind', '')).lower()}-{group.split('.')[0]}-{version}.json"


def check_file(path: Path, kubernetes_version: str, schemas: Path) -> bool:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    ok = True
    builtin: list[dict[str, Any]] = []
    custom = 0
    for doc in docs:
        schema_path = custom_resource_schema(doc, schemas)
        if schema_path is None:
            builtin.append(doc)
            continue
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if not schema_path.is_file():
            print(f"ERROR {path.name}: {name}: no schema {schema_path.name} in {schemas}")
            ok = False
            continue
        custom += 1
        validator = jsonschema.Draft202012Validator(yaml.safe_load(schema_path.read_text()))
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            where = ".".join(str(part) for part in error.path) or "(root)"
            print(f"ERROR {path.name}: {name}: {where}: {error.message}")
            ok = False

    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as builtin_file:
        yaml.safe_dump_all(builtin, builtin_file)
        builtin_file.flush()
        result = subprocess.run(  # noqa: S603 (our interpreter, our temp file)
            [
                sys.executable,
                "-m",
                "kubernetes_validate",
                "--strict",
                "--quiet",
                "-k",
                kubernetes_version,
                builtin_file.name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    output = (result.stdout + result.stderr).replace(builtin_file.name, path.name).strip()
    if output:
        print(output)
    if result.returncode != 0 or "WARN" in output:
        ok = False
    verdict = "valid" if ok else "INVALID"
    print(
        f"{path.name}: {verdict}: {len(builtin)} resources against Kubernetes "
        f"{kubernetes_version} (strict), {custom} custom resources against {schemas.name}/"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubernetes-version", required=True)
    parser.add_argument("--schemas", type=Path, required=True)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    results = [check_file(path, args.kubernetes_version, args.schemas) for path in args.files]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
