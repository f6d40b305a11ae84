"""The code's layers import one way (README, "How the code is laid out").

From the bottom: the core ``sim`` (clock, store, streams, mechanics, metrics, the typed config and
the data-only metric registry); the model and its agents, ``agents``; the levers, ``scenarios``,
acting on the model through its extension points; the application layer ``preflight`` (compose,
run, files, provenance) and the experiments on top of it; the command line last (``preflight.cli``,
with its help texts ``preflight.cli_help`` and listings ``preflight.cli_lists``).
A module may import its own layer and the layers below, never one above. Imports inside ``if
TYPE_CHECKING:`` are type hints only (a mechanic annotates the ``Site`` it is given) and are
allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: (layer name, module prefixes), lowest first; the most specific prefix decides
LAYERS = (
    ("core", ("sim",)),
    ("model", ("agents",)),
    ("levers", ("scenarios",)),
    ("application", ("preflight",)),
    ("experiments", ("experiments",)),
    ("command line", ("preflight.cli", "preflight.cli_help", "preflight.cli_lists")),
)
PACKAGES = ("sim", "agents", "scenarios", "preflight", "experiments")


def layer_of(module: str) -> int | None:
    """Index in :data:`LAYERS` of a module of the project (None for third-party modules)."""
    best, length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = index, len(prefix)
    return best


def runtime_imports(source: str) -> list[tuple[int, str]]:
    """``(line, module)`` of every import outside ``if TYPE_CHECKING:`` blocks."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def back_edges(module: str, source: str) -> list[str]:
    """Imports of ``module`` (given its source) that reach a layer above its own."""
    mine = layer_of(module)
    out = []
    for line, target in runtime_imports(source):
        theirs = layer_of(target)
        if mine is not None and theirs is not None and theirs > mine:
            out.append(f"{module}:{line} imports {target} ({LAYERS[mine][0]} -> {LAYERS[theirs][0]})")
    return sorted(set(out))


def project_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def test_no_module_imports_a_layer_above_its_own():
    edges = [edge for module, path in project_modules() for edge in back_edges(module, path.read_text())]
    assert edges == [], "\n".join(edges)


@pytest.mark.parametrize("module, source, bad", [
    ("sim.config", "from scenarios.lever import build_levers", True),  # core -> levers
    ("sim.metrics", "import agents.model", True),
    ("agents.model", "def f():\n    from preflight.run import simulate", True),  # a deferred import counts
    ("experiments.compare", "from preflight.cli import main", True),  # experiments -> command line
    ("preflight.run", "from experiments.compare import compare", True),
    ("sim.removal", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from agents.model import Site", False),
    ("preflight.cli", "from experiments.compare import run_comparison", False),
    ("preflight.cli_lists", "from experiments.compare import guardrails_of", False),
    ("preflight.run", "from preflight.cli_lists import whatifs", True),  # application -> command line
    ("experiments.compare", "from preflight.run import simulate\nimport numpy", False),
])
def test_the_check_catches_a_back_edge(module, source, bad):
    assert bool(back_edges(module, source)) == bad


def test_every_package_module_has_a_layer():
    assert all(layer_of(module) is not None for module, _ in project_modules())
