"""Functions stay short enough to read top to bottom: none over :data:`MAX_LINES` lines.

Compiled kernels (numba's ``njit``/``jit``) are exempt: a kernel is one loop that the compiler
needs whole, and splitting it would cost speed. A function is measured from its ``def`` line to
its last line, docstring included, decorators not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "agents", "scenarios", "preflight", "experiments")
MAX_LINES = 60
#: "path::function" -> why it is longer for now
ALLOWED = {
}
COMPILERS = {"njit", "jit"}


def is_compiled(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Decorated with numba's ``njit`` or ``jit`` (bare, called, or as ``numba.njit``)."""
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in COMPILERS:
            return True
    return False


def long_functions(source: str, path: str, limit: int = MAX_LINES) -> list[str]:
    """``path::name (n lines)`` of every function (methods and nested ones too) over ``limit`` lines
    that is not a compiled kernel."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not is_compiled(node):
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                out.append(f"{path}::{node.name} ({lines} lines)")
    return out


def test_no_function_is_over_the_limit():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            found += [f for f in long_functions(path.read_text(), rel) if f.split(" (")[0] not in ALLOWED]
    assert found == [], "split these functions:\n" + "\n".join(found)


def _function(lines: int, decorator: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 1))
    return f"{decorator}\ndef f():\n{body}"


@pytest.mark.parametrize("source, flagged", [
    (_function(MAX_LINES), False),
    (_function(MAX_LINES + 1), True),
    (_function(MAX_LINES + 1, "@njit(cache=True)"), False),
    (_function(MAX_LINES + 1, "@numba.jit"), False),
    (_function(MAX_LINES + 1, "@functools.lru_cache"), True),
    ("class A:\n" + "\n".join("    " + line for line in _function(MAX_LINES + 1).splitlines()), True),
])
def test_the_check_measures_functions_and_spares_kernels(source, flagged):
    assert bool(long_functions(source, "x.py")) == flagged
