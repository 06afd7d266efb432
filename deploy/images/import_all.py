"""Imports every module of a package: `python import_all.py PACKAGE`.

Run inside an image (and by tests/packaging in a service's own environment): a module that
only some code path imports, or a shared library a wheel links (greenlet needs libstdc++),
must be there too, not only what `--help` happens to load. Standard library only.
"""

import importlib
import sys
from pathlib import Path


def main(name: str) -> int:
    package = importlib.import_module(name)
    # Every .py file, folders without __init__.py (namespace packages) included, which
    # pkgutil.walk_packages would skip.
    modules = sorted(
        ".".join((name, *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        for root in map(Path, package.__path__)
        for path in root.rglob("*.py")
    )
    for module in modules:
        importlib.import_module(module)
    print(f"{name}: {len(modules)} modules imported")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
