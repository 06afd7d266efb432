"""Every workspace package declares, in its own pyproject.toml, each distribution its code
imports: directly, not through another package's dependencies (which may drop it).

The runtime half of this rule is test_service_environments.py (each service's environment
built as its image builds it); this is the static half, for every package, fast.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = sorted(
    path.parent
    for pattern in ("protos", "libs/*", "services/*", "cli", "tools", "emulator")
    for path in ROOT.glob(f"{pattern}/pyproject.toml")
)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return normalize(match.group(0))


def project(member: Path) -> dict:  # type: ignore[type-arg]
    return tomllib.loads((member / "pyproject.toml").read_text())


def top_level_modules(member: Path) -> set[str]:
    """The import names a workspace package provides (its wheel's packages)."""
    packages = project(member)["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return {Path(package).name for package in packages}


def imported_modules(member: Path) -> set[str]:
    found: set[str] = set()
    for path in member.rglob("*.py"):
        if "migrations" in path.parts or "/python/" in str(path.relative_to(ROOT)) + "/":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def providers() -> dict[str, set[str]]:
    """import name -> the distributions that provide it: the workspace's own packages and
    what the developers' environment has installed."""
    provided = {
        module: {normalize(distribution) for distribution in distributions}
        for module, distributions in importlib.metadata.packages_distributions().items()
    }
    for member in MEMBERS:
        for module in top_level_modules(member):
            provided[module] = {normalize(project(member)["project"]["name"])}
    return provided


@pytest.mark.parametrize("member", MEMBERS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_imported_distribution_is_declared_directly(member: Path) -> None:
    metadata = project(member)["project"]
    extras = metadata.get("optional-dependencies", {}).values()
    declared = {
        requirement_name(dep)
        for dep in [*metadata["dependencies"], *(d for e in extras for d in e)]
    }
    own = top_level_modules(member)
    provided = providers()
    undeclared = []
    for module in sorted(imported_modules(member) - own - set(sys.stdlib_module_names)):
        distributions = provided.get(module)
        assert distributions, f"{member.name}: nothing installed provides {module!r}"
        if not distributions & declared:
            undeclared.append(f"{module} ({', '.join(sorted(distributions))})")
    assert not undeclared, f"{project(member)['project']['name']} imports without declaring: " + (
        ", ".join(undeclared)
    )
