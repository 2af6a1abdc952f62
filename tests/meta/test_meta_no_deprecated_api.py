"""No package uses an API that Python 3.14 deprecates (issue 15).

Python 3.14 is not installed here, so running the suite with warnings as errors cannot
prove it: this walks the AST of every module under packages/*/src and looks for the
names themselves -- attribute accesses (``asyncio.get_event_loop_policy``) and imports
(``from asyncio import iscoroutinefunction``) alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "packages").glob("*/src/**/*.py"))

#: (module, name) -> why it must not be used.
DEPRECATED = {
    ("asyncio", "get_event_loop_policy"): "the policy system is deprecated in 3.14",
    ("asyncio", "set_event_loop_policy"): "the policy system is deprecated in 3.14",
    ("asyncio", "AbstractEventLoopPolicy"): "the policy system is deprecated in 3.14",
    ("asyncio", "DefaultEventLoopPolicy"): "the policy system is deprecated in 3.14",
    ("asyncio", "WindowsSelectorEventLoopPolicy"): "the policy system is deprecated in 3.14",
    ("asyncio", "WindowsProactorEventLoopPolicy"): "the policy system is deprecated in 3.14",
    ("asyncio", "iscoroutinefunction"): "deprecated in 3.14: use inspect.iscoroutinefunction",
    ("asyncio", "get_child_watcher"): "child watchers: deprecated 3.12, removed 3.14",
    ("asyncio", "set_child_watcher"): "child watchers: deprecated 3.12, removed 3.14",
    ("asyncio", "get_event_loop"): "no implicit loop: warns before 3.14, raises on 3.14",
    ("codecs", "open"): "deprecated in 3.14: use open()",
    ("typing", "no_type_check_decorator"): "deprecated in 3.13, removed in 3.15",
    ("locale", "getdefaultlocale"): "deprecated in 3.11, removed in 3.15",
    ("pkgutil", "find_loader"): "deprecated in 3.12, removed in 3.14",
    ("pkgutil", "get_loader"): "deprecated in 3.12, removed in 3.14",
}

#: Uses that are right where they are, with the reason.
ALLOWED = {
    # Guarded by sys.version_info >= (3, 14), where get_event_loop() neither creates a
    # loop nor warns: the public way to read the thread's current loop there.
    ("synchronaut/utils.py", "_current_loop", "get_event_loop"),
}


def _uses(tree: ast.Module) -> list[tuple[str, tuple[str, str], int]]:
    """(enclosing function, (module, name), line) for each deprecated use in ``tree``."""
    found: list[tuple[str, tuple[str, str], int]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in DEPRECATED
        ):
            found.append((function, (node.value.id, node.attr), node.lineno))
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                if (node.module, alias.name) in DEPRECATED:
                    found.append((function, (node.module, alias.name), node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


def test_sources_are_found() -> None:
    assert len(SOURCES) > 40  # the four packages' modules, not an empty glob


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT / "packages")))
def test_no_api_deprecated_in_314(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    src = next(parent for parent in path.parents if parent.name == "src")
    relative = path.relative_to(src).as_posix()
    bad = [
        f"{relative}:{line} in {function}: {module}.{name} ({DEPRECATED[module, name]})"
        for function, (module, name), line in _uses(tree)
        if (relative, function, name) not in ALLOWED
    ]
    assert not bad


def test_the_check_sees_a_deprecated_use() -> None:
    # The walker itself: an attribute access and an import, both found.
    tree = ast.parse(
        "import asyncio\n"
        "from asyncio import iscoroutinefunction\n"
        "def f():\n    return asyncio.get_event_loop_policy()\n"
    )
    assert _uses(tree) == [
        ("<module>", ("asyncio", "iscoroutinefunction"), 2),
        ("f", ("asyncio", "get_event_loop_policy"), 4),
    ]
