"""Move every gRPC service's modules into their role folders and rewrite every reference.

    .venv/bin/python -m alooba_dev.restructure          # from the repository's root

The role folders are HOUSE-STYLE's (`api/`, `app/`, `store/`, `outbound/`, `jobs/`; `server.py`,
`config.py`, `__main__.py` stay at the root); the map below is ROLE-MOVES.md with the files it
left out placed by the same rules. The move is a script rather than a hand edit because other
branches change these files at the same time: it is re-run on the merged main, so it

- is idempotent: a second run moves nothing and rewrites nothing;
- tolerates a mapped file that is missing (printed as skipped);
- leaves alone a module another branch added in the old flat layout, and prints it as
  "unmapped, left in place" so that someone decides where it belongs (then add it here).

References are rewritten in every tracked text file (services, tests, tools, cli, emulator,
migrations, pyproject, Makefile, docs, deploy): `from assessments.emails import ...`,
`import assessments.emails`, `from assessments import emails`, "assessments.emails..." strings
(monkeypatch targets, logger names) and `assessments/emails.py` paths. Touched Python files get
ruff's import sorting and formatting so the result passes `make lint` as it did before.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# Each service's package root, and where each of its modules goes (paths relative to it).
SERVICES: dict[str, tuple[str, dict[str, str]]] = {
    "assessments": (
        "services/assessments/src/assessments",
        {
            "servicer.py": "api/servicer.py",
            "access.py": "api/access.py",
            "service.py": "app/service.py",
            "lifecycle.py": "app/lifecycle.py",
            "webhooks.py": "app/webhooks.py",
            "keys.py": "app/keys.py",
            "key_cache.py": "app/key_cache.py",
            "states.py": "store/states.py",  # the status column's values: store and app read them
            "greenhouse.py": "app/greenhouse.py",
            "notifications.py": "app/notifications.py",
            "receipts.py": "app/receipts.py",
            "setup_check.py": "app/setup_check.py",
            "sweeper.py": "jobs/sweeper.py",
            "reencrypt.py": "jobs/reencrypt.py",
            "callback.py": "outbound/callback.py",
            "clients.py": "outbound/clients.py",
            "emails.py": "outbound/emails.py",
            "harvest.py": "outbound/harvest.py",
            "mailer.py": "outbound/mailer.py",
            "models.py": "store/models.py",
            "repository.py": "store/repository.py",
            "send_path.py": "store/send_path.py",  # send_test's and test_status's Core SQL
        },
    ),
    "candidates": (
        "services/candidates/src/candidates",
        {
            "servicer.py": "api/servicer.py",
            "access.py": "api/access.py",
            "service.py": "app/service.py",
            "events.py": "app/events.py",
            "models.py": "store/models.py",
            "repository.py": "store/repository.py",
            "status_path.py": "store/status_path.py",  # a status webhook's Core SQL
            "upsert.py": "store/upsert.py",  # send_test's registration upsert
            "cancellations.py": "outbound/cancellations.py",  # an erasure's call to assessments
        },
    ),
    "harvest_sync": (
        "services/harvest-sync/src/harvest_sync",
        {
            "servicer.py": "api/servicer.py",
            "access.py": "api/access.py",
            "connections.py": "app/connections.py",
            "push.py": "app/push.py",
            "fields.py": "app/fields.py",
            "push_kinds.py": "app/push_kinds.py",
            "checks.py": "app/checks.py",
            # The Harvest API as the rules need it (a port) and what Greenhouse is known to
            # serve: read by the rules and by config, so app, not outbound. Its errors and the
            # rate budget's rules are read by the store too (the shared budget), so domain.
            "harvest/api.py": "app/harvest_api.py",
            "harvest/errors.py": "domain/harvest_errors.py",
            "harvest/contract.py": "app/harvest_contract.py",
            "harvest/unconfirmed.py": "app/harvest_unconfirmed.py",
            "harvest/ratelimit.py": "domain/harvest_ratelimit.py",
            "clients.py": "outbound/clients.py",
            "harvest/client.py": "outbound/harvest/client.py",
            "harvest/tokens.py": "outbound/harvest/tokens.py",
            "harvest/transport.py": "outbound/harvest/transport.py",
            "harvest/v1.py": "outbound/harvest/v1.py",
            "harvest/v3.py": "outbound/harvest/v3.py",
            "reencrypt.py": "jobs/reencrypt.py",
            "models.py": "store/models.py",
            "credentials.py": "store/credentials.py",
            "budgets.py": "store/budgets.py",
            "locks.py": "store/locks.py",
            "token_store.py": "store/token_store.py",
        },
    ),
    # The console serves pages, so aiohttp's vocabulary stays at its root (app.py, routes.py,
    # middlewares.py, handlers/, pages.py, clients.py, keys.py, templates/, static/; pages.py
    # is what middlewares and handlers share, so not a handler) and so do its use
    # cases (accounts.py, sessions.py: an `app/` folder would collide with app.py); its gRPC
    # face, its SQL and its outbox handler take the gRPC services' folders.
    "console": (
        "services/console/src/console",
        {
            "servicer.py": "api/servicer.py",
            "access.py": "api/access.py",
            "emails.py": "outbound/emails.py",
            "models.py": "store/models.py",
            "store.py": "store/repository.py",
        },
    ),
}

# Modules that stay at a package's root: the composition root and what every layer reads.
ROOT_MODULES = {"__init__.py", "__main__.py", "config.py", "server.py", "metrics.py"}
CONSOLE_ROOT_MODULES = {
    *("app.py", "routes.py", "middlewares.py", "clients.py", "keys.py"),
    *("pages.py", "accounts.py", "sessions.py"),
}

# What each role folder is, written into the __init__.py the script creates.
ROLE_DOCS = {
    "api": "Servicers: protobuf in, domain calls, protobuf out; and who may call each RPC.",
    "app": "Use cases and rules: they own their transactions, hold no SQL, declare their ports.",
    "store": "Models and repositories: the service's SQL.",
    "outbound": "Outbox handlers and clients of what is outside: other services, SMTP, Greenhouse.",
    "jobs": "Sweepers, periodic and maintenance work.",
    "domain": "Types and rules every layer may read, the store too: errors, budget rules, tokens.",
    "outbound/harvest": "Greenhouse's Harvest API over HTTP: v1, v3, tokens, transport.",
}

TEXT_SUFFIXES = {
    ".py", ".pyi", ".md", ".toml", ".ini", ".cfg", ".yaml", ".yml", ".txt", ".sh", ".mako",
    ".json", ".j2", ".html", ".rst", ".env",
}  # fmt: skip
TEXT_NAMES = {"Makefile", "Dockerfile", "Containerfile"}
SKIP_PREFIXES = ("protos/python/", "bench/results/")
SKIP_FILES = {"uv.lock", "tools/src/alooba_dev/restructure.py"}


@dataclass(frozen=True)
class Move:
    """One module's move: its old and new path, and the dotted names of both."""

    old_path: str
    new_path: str
    old_module: str
    new_module: str


def dotted(package: str, relative: str) -> str:
    """`harvest/api.py` in `harvest_sync` → `harvest_sync.harvest.api`."""
    return ".".join([package, *relative.removesuffix(".py").split("/")])


def all_moves() -> list[Move]:
    """Every move of every service, longest old module name first (so that a package's
    name never rewrites inside one of its modules' names)."""
    moves = [
        Move(f"{root}/{old}", f"{root}/{new}", dotted(pkg, old), dotted(pkg, new))
        for pkg, (root, table) in SERVICES.items()
        for old, new in table.items()
    ]
    return sorted(moves, key=lambda m: len(m.old_module), reverse=True)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["git", *args],  # noqa: S607 - git from PATH, as make uses it
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def ensure_package(repo: Path, root: str, folder: str) -> None:
    """Create `root/folder/` as a package (an __init__.py saying what the folder is)."""
    parts = folder.split("/")
    for depth in range(1, len(parts) + 1):
        sub = "/".join(parts[:depth])
        init = repo / root / sub / "__init__.py"
        if init.exists():
            continue
        init.parent.mkdir(parents=True, exist_ok=True)
        doc = ROLE_DOCS.get(sub, f"{sub}.")
        init.write_text(f'"""{doc}"""\n')
        git(repo, "add", str(init.relative_to(repo)))
        print(f"  created {init.relative_to(repo)}")


def move_files(repo: Path) -> list[Move]:
    """git mv each mapped module; the moves that happened (or had already happened)."""
    done: list[Move] = []
    for move in all_moves():
        old, new = repo / move.old_path, repo / move.new_path
        if new.exists():
            if old.exists():
                print(f"  CONFLICT both exist, left as is: {move.old_path} and {move.new_path}")
            done.append(move)
            continue
        if not old.exists():
            print(f"  skipped (not in this tree): {move.old_path}")
            continue
        root = next(r for r, _ in SERVICES.values() if move.new_path.startswith(r + "/"))
        folder = str(Path(move.new_path).parent.relative_to(root))
        ensure_package(repo, root, folder)
        git(repo, "mv", move.old_path, move.new_path)
        print(f"  moved {move.old_path} -> {move.new_path}")
        done.append(move)
    return done


def remove_emptied_folders(repo: Path) -> None:
    """Old folders left with nothing tracked (harvest-sync's `harvest/`) go, caches and all."""
    for _pkg, (root, table) in SERVICES.items():
        for old in table:
            folder = (repo / root / old).parent
            if folder == repo / root or not folder.exists():
                continue
            leftovers = [p for p in folder.rglob("*") if "__pycache__" not in p.parts]
            if not leftovers:
                shutil.rmtree(folder)
                print(f"  removed emptied folder {folder.relative_to(repo)}")


def report_unmapped(repo: Path) -> list[str]:
    """Modules still in a flat layout that the map does not know: added by other work."""
    roles = {"api", "app", "domain", "store", "outbound", "jobs"}
    unmapped: list[str] = []
    for pkg, (root, table) in SERVICES.items():
        keep = ROOT_MODULES | (CONSOLE_ROOT_MODULES if pkg == "console" else set())
        base = repo / root
        for found in sorted(base.rglob("*.py")):
            rel = found.relative_to(base)
            if "__pycache__" in rel.parts or rel.parts[0] in roles:
                continue
            if pkg == "console" and rel.parts[0] == "handlers":
                continue
            if len(rel.parts) == 1 and rel.name in keep:
                continue
            if str(rel) in table:  # mapped but its target exists too: reported as CONFLICT
                continue
            unmapped.append(f"{root}/{rel}")
    for path in unmapped:
        print(f"  unmapped, left in place: {path}")
    return unmapped


def _module_maps(moves: Iterable[Move]) -> dict[str, str]:
    return {m.old_module: m.new_module for m in moves}


FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from (?P<package>[A-Za-z_][\w.]*) import "
    r"(?P<names>\([^)]*\)|[^\n#]*?)(?P<comment>[ \t]*#[^\n]*)?$",
    re.MULTILINE,
)


def rewrite_from_imports(text: str, modules: dict[str, str]) -> str:
    """`from harvest_sync.harvest import contract, unconfirmed` names modules that moved to
    different packages: one `from <new package> import <module> [as <old name>]` line each."""

    def replace(match: re.Match[str]) -> str:
        package = match["package"]
        names = [n.strip() for n in match["names"].strip("()").replace("\n", " ").split(",")]
        names = [n for n in names if n]
        kept: list[str] = []
        lines: list[str] = []
        for name in names:
            imported, _, alias = name.partition(" as ")
            imported, alias = imported.strip(), alias.strip()
            target = modules.get(f"{package}.{imported}")
            if target is None:
                kept.append(name)
                continue
            parent, leaf = target.rsplit(".", 1)
            bound = alias or imported
            suffix = f" as {bound}" if bound != leaf else ""
            lines.append(f"{match['indent']}from {parent} import {leaf}{suffix}")
        if not lines:
            return match[0]
        if kept:
            lines.insert(0, f"{match['indent']}from {package} import {', '.join(kept)}")
        lines[-1] += match["comment"] or ""
        return "\n".join(lines)

    return FROM_IMPORT.sub(replace, text)


def _not_inside(old: str, moves: list[Move]) -> str:
    """A lookahead that keeps `old` from matching the start of a new name: `console.store`
    (a module that became the package of `console.store.repository` and `.models`)."""
    children = sorted(
        {
            m.new_module[len(old) + 1 :].split(".")[0]
            for m in moves
            if m.new_module.startswith(old + ".")
        }
    )
    if not children:
        return ""
    return rf"(?!\.(?:{'|'.join(map(re.escape, children))})(?!\w))"


def _substitute(pattern: re.Pattern[str], replacement: str) -> Callable[[str], str]:
    return lambda text: pattern.sub(lambda _: replacement, text)


def reference_rewriters(moves: list[Move]) -> list[Callable[[str], str]]:
    """Dotted names and file paths, old → new, each matched whole."""
    rewriters: list[Callable[[str], str]] = []
    for move in moves:
        old, new = move.old_module, move.new_module
        pattern = re.compile(rf"(?<![\w.]){re.escape(old)}(?!\w){_not_inside(old, moves)}")
        rewriters.append(_substitute(pattern, new))
        # Paths, from the package folder on: `assessments/emails.py`, whatever precedes it.
        pkg = old.split(".", 1)[0]
        root = SERVICES[pkg][0]
        old_rel = move.old_path.removeprefix(root + "/")
        new_rel = move.new_path.removeprefix(root + "/")
        path_pattern = re.compile(rf"(?<![\w.-]){re.escape(f'{pkg}/{old_rel}')}(?![\w])")
        rewriters.append(_substitute(path_pattern, f"{pkg}/{new_rel}"))
    return rewriters


def candidate_files(repo: Path) -> list[Path]:
    files: list[Path] = []
    for line in git(repo, "ls-files", "-z").split("\0"):
        if not line or line in SKIP_FILES or line.startswith(SKIP_PREFIXES):
            continue
        path = repo / line
        if not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
            files.append(path)
    return files


def rewrite_references(repo: Path, moves: list[Move]) -> list[Path]:
    """Rewrite every reference to a moved module; the files that changed."""
    modules = _module_maps(moves)
    rewriters = reference_rewriters(moves)
    changed: list[Path] = []
    for path in candidate_files(repo):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        new = rewrite_from_imports(text, modules) if path.suffix in {".py", ".pyi"} else text
        for rewrite in rewriters:
            new = rewrite(new)
        if new != text:
            path.write_text(new)
            changed.append(path)
            print(f"  rewrote {path.relative_to(repo)}")
    return changed


def tidy(repo: Path, files: list[Path]) -> None:
    """Sort the rewritten imports and format, as `make fmt` would, the touched files only."""
    python = [str(p.relative_to(repo)) for p in files if p.suffix == ".py"]
    ruff = repo / ".venv" / "bin" / "ruff"
    if not python:
        return
    if not ruff.exists():
        print("  ruff not installed (make install): imports left unsorted")
        return
    sort = [str(ruff), "check", "--select", "I", "--fix", "-q", *python]
    subprocess.run(sort, cwd=repo, check=False)  # noqa: S603 - our own ruff, our own files
    subprocess.run([str(ruff), "format", "-q", *python], cwd=repo, check=True)  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="repository root")
    args = parser.parse_args(argv)
    repo: Path = args.repo.resolve()
    if not (repo / "services").is_dir():
        print(f"{repo} is not the repository's root", file=sys.stderr)
        return 2
    print("moves:")
    moves = move_files(repo)
    remove_emptied_folders(repo)
    print("references:")
    changed = rewrite_references(repo, moves)
    tidy(repo, changed)
    print("left for a person:")
    unmapped = report_unmapped(repo)
    print(f"done: {len(moves)} modules in place, {len(changed)} files rewritten, "
          f"{len(unmapped)} unmapped")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
