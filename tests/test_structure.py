"""The shape of the code (DESIGN.md, "The shape of the code"), measured from the code's own files.

Who may import what is written as import contracts in pyproject.toml and checked by ``lint-imports`` (part of
``python3 dev.py lint``). These tests check the rest: sizes, each handler family's face, what ``commops run``
loads, import cycles, and that no module of bot/ or handlers/ escapes those contracts.
"""

from __future__ import annotations

import importlib
import itertools
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULES_IN_BOT = 12
MAX_LINES = 600
COMPOSITION_ROOT = {"bot.__main__", "bot.cli", "bot.app", "bot.serving"}
SHARED_HANDLER_PACKAGES = {"middleware", "ui"}  # every other package of handlers/ is a command family
MIGRATIONS = ("bot", "store", "migrations")  # Alembic's scripts: Alembic runs them from their files, none imports them


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def _layered(contract: dict[str, Any]) -> set[str]:
    return {name.strip() for layer in contract["layers"] for name in layer.replace(":", "|").split("|")}


def _bot_parts() -> set[str]:
    """The modules directly in bot/ and its packages, bot.devtools aside."""
    parts = {f"bot.{path.stem}" for path in (ROOT / "bot").glob("*.py") if path.stem != "__init__"}
    parts |= {f"bot.{path.parent.name}" for path in (ROOT / "bot").glob("*/__init__.py")}
    return parts - {"bot.devtools"}


def _families() -> list[str]:
    packages = {path.parent.name for path in (ROOT / "handlers").glob("*/__init__.py")}
    return sorted(packages - SHARED_HANDLER_PACKAGES)


def _python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in path.parts)


def test_few_modules_directly_in_bot() -> None:
    modules = sorted(path.name for path in (ROOT / "bot").glob("*.py"))
    assert len(modules) <= MAX_MODULES_IN_BOT, (
        f"DESIGN 'The shape of the code': bot/ holds the composition root and a handful of shared plumbing modules "
        f"(at most {MAX_MODULES_IN_BOT} .py files); it has {len(modules)}: {', '.join(modules)}. "
        "Put the new code in a feature package (bot/<feature>/).")


def test_no_module_over_600_lines() -> None:
    lengths = {path: len(path.read_text().splitlines()) for path in _python_files("bot", "handlers", "tests", "bench")}
    too_long = [f"{path.relative_to(ROOT)} ({count} lines)" for path, count in lengths.items() if count > MAX_LINES]
    assert not too_long, f"DESIGN 'No module over {MAX_LINES} lines'; split: {', '.join(too_long)}"


@pytest.mark.parametrize("family", _families())
def test_every_handler_family_has_register_and_routes(family: str) -> None:
    from handlers.families import FAMILIES
    from handlers.middleware.authorize import Routes

    package = importlib.import_module(f"handlers.{family}")
    assert callable(getattr(package, "register", None)), (
        f"DESIGN: handlers/{family}/ is a command family, so it exposes register(app, services)")
    assert isinstance(getattr(package, "ROUTES", None), Routes), (
        f"DESIGN: handlers/{family}/ is a command family, so it exposes ROUTES (the action of each route)")
    assert package in FAMILIES, f"handlers.{family} is not in handlers.families.FAMILIES, so it is never registered"


def test_commops_run_loads_no_devtools() -> None:
    """Import the production path as ``commops run`` would (and every other module outside bot/devtools), then
    look at what got loaded: neither bot.devtools nor the sandbox's web stack (the ``devtools`` extra)."""
    production = [path.relative_to(ROOT) for path in _python_files("bot", "handlers")]
    modules = sorted({"bot.cli", "bot.app", "bot.serving", "bot.services"} | {
        ".".join(path.with_suffix("").parts).removesuffix(".__init__") for path in production
        if path.parts[:2] != ("bot", "devtools") and path != Path("bot", "__main__.py")  # __main__ runs the CLI
        and path.parts[:3] != MIGRATIONS})
    probe = (f"import importlib, json, sys\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
             "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = sorted({name if name.startswith("bot.") else name.split(".")[0] for name in json.loads(done.stdout)
                     if name.split(".")[0] in ("starlette", "uvicorn") or name.split(".")[:2] == ["bot", "devtools"]})
    assert not loaded, f"the production path (commops run) loads what only devtools may: {', '.join(loaded)}"


def test_no_import_cycles() -> None:
    """Imports inside functions count; imports under ``if TYPE_CHECKING:`` do not (they never run)."""
    graph = grimp.build_graph("bot", "handlers", exclude_type_checking_imports=True, cache_dir=None)
    reaches = {module: graph.find_upstream_modules(module) for module in graph.modules}
    seen: set[str] = set()
    cycles = []
    for module in sorted(graph.modules):
        component = {module} | {other for other in reaches[module] if module in reaches[other]}
        if len(component) > 1 and module not in seen:
            seen |= component
            cycles.append(_describe_cycle(graph, module, component))
    assert not cycles, "DESIGN 'No import cycles':\n" + "\n".join(cycles)


def _describe_cycle(graph: grimp.ImportGraph, start: str, component: set[str]) -> str:
    """The shortest cycle through ``start``, each import with its line, and every module caught in it."""
    chains = [graph.find_shortest_chain(importer=step, imported=start)
              for step in graph.find_modules_directly_imported_by(start) & component]
    cycle = (start, *min((chain for chain in chains if chain), key=len))
    steps = []
    for importer, imported in itertools.pairwise(cycle):
        lines = sorted({detail["line_number"] for detail in graph.get_import_details(importer=importer,
                                                                                     imported=imported)})
        steps.append(f"{importer} (l.{', l.'.join(map(str, lines))})")
    text = "  " + " -> ".join([*steps, start])
    others = sorted(component - set(cycle))
    return text + (f"\n    (also caught in it: {', '.join(others)})" if others else "")


def test_every_module_is_in_the_import_contracts() -> None:
    """A new module or package of bot/, or a new handler family, must be placed in pyproject.toml's contracts."""
    contracts = _contracts()
    parts = _bot_parts()  # bot.devtools aside
    wanted = {
        "slack-free": (set(contracts["slack-free"]["source_modules"]), parts - COMPOSITION_ROOT),
        "no-devtools-in-production": (set(contracts["no-devtools-in-production"]["source_modules"]),
                                      parts | {"handlers"}),
        "layers": (_layered(contracts["layers"]), parts | {"handlers"}),
        "handler-families": (_layered(contracts["handler-families"]),
                             set(_families()) | SHARED_HANDLER_PACKAGES | {"families"}),
    }
    wrong = [f"contract {name} leaves out {sorted(expected - named)} and names {sorted(named - expected)}"
             for name, (named, expected) in wanted.items() if named != expected]
    assert not wrong, "pyproject.toml's import contracts do not match the tree:\n" + "\n".join(wrong)
