"""Public names loaded on first use (PEP 562) behave as eagerly imported ones (issue 15).

``synchronaut_core``, ``synchronaut_batch`` and ``synchronaut`` load each public name
from its module the first time it is asked for, so that importing a package costs
almost nothing; what ``from X import name`` then loads is what that name needs. These
tests check that the three lists naming the public API agree (``__all__``, the
``_LAZY`` table, the ``TYPE_CHECKING`` imports type checkers read), that each name
is the object its module defines, and -- in fresh interpreters, where nothing has
been loaded yet -- that the 0.3 paths and each slower path's first use work.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from types import ModuleType

import pytest
from support_process import run_python

import synchronaut
import synchronaut_batch
import synchronaut_core

LAZY_PACKAGES = [synchronaut_core, synchronaut_batch, synchronaut]


def _type_checking_names(package: ModuleType) -> set[str]:
    """The names bound under ``if TYPE_CHECKING:`` in the package's ``__init__``."""
    tree = ast.parse(inspect.getsource(package))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom):
                    names |= {alias.asname or alias.name for alias in inner.names}
                elif isinstance(inner, ast.AnnAssign) and isinstance(inner.target, ast.Name):
                    names.add(inner.target.id)
    return names


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda p: p.__name__)
def test_all_lazy_table_and_type_checking_imports_agree(package: ModuleType) -> None:
    public = set(package.__all__)
    lazy: dict[str, str] = package._LAZY  # pyright: ignore[reportAttributeAccessIssue]
    assert set(lazy) == public, f"_LAZY and __all__ differ: {sorted(set(lazy) ^ public)}"
    assert _type_checking_names(package) == public, (
        f"TYPE_CHECKING imports and __all__ differ: "
        f"{sorted(_type_checking_names(package) ^ public)}"
    )
    assert public <= set(dir(package))


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda p: p.__name__)
def test_each_name_is_the_object_its_module_defines(package: ModuleType) -> None:
    lazy: dict[str, str] = package._LAZY  # pyright: ignore[reportAttributeAccessIssue]
    for name, module_name in lazy.items():
        if name == "ACCELERATED":
            continue  # a value, checked below
        # "_call" is one of the package's own modules; "synchronaut_core" another part.
        relative = module_name.startswith("_")
        target = f"{package.__name__}.{module_name}" if relative else module_name
        assert getattr(package, name) is getattr(importlib.import_module(target), name), name


def test_accelerated_says_whether_the_c_path_is_in_use() -> None:
    from synchronaut_core import _accelerator

    assert synchronaut_core.ACCELERATED is (_accelerator._speedups is not None)
    assert synchronaut.ACCELERATED is synchronaut_core.ACCELERATED


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda p: p.__name__)
def test_an_unknown_name_is_an_attribute_error(package: ModuleType) -> None:
    with pytest.raises(AttributeError, match=f"module '{package.__name__}' has no attribute"):
        package.no_such_name
    with pytest.raises(ImportError):
        exec(f"from {package.__name__} import no_such_name", {})


def _fresh(code: str) -> str:
    result = run_python(code, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_the_03_submodule_synchronaut_synchronaut_never_shadows_the_decorator() -> None:
    # Importing the submodule first (nothing loaded yet) binds it on the package: the
    # decorator must stay what `synchronaut.synchronaut` and `from synchronaut import
    # synchronaut` give, as in 0.3 where the package imported it eagerly.
    out = _fresh(
        """
        import types
        import synchronaut.synchronaut
        import synchronaut
        from synchronaut import synchronaut as deco
        from synchronaut.synchronaut import synchronaut as deco2
        import synchronaut_core
        print(isinstance(synchronaut.synchronaut, types.ModuleType),
              deco is deco2 is synchronaut.synchronaut is synchronaut_core.synchronaut)
        """
    )
    assert out == "False True\n"


def test_first_use_of_each_slower_path_in_a_fresh_interpreter() -> None:
    # Each path works on its first use in an interpreter where the names were loaded
    # by `from synchronaut_core import ...` (__getattr__) and nothing else ran: from sync
    # code, from asyncio, and decorated, with every option.
    out = _fresh(
        """
        import asyncio
        from synchronaut_core import call_any
        from synchronaut_core import (
            call_async, call_sync, sync_iter, async_iter, synchronaut, CallAnyTimeout,
            shutdown,
        )

        async def add(a, b):
            return a + b

        async def agen():
            yield 1
            yield 2

        def gen():
            yield 3

        def plain(x):
            return x * 10

        @synchronaut
        async def deco_async(x):
            return x + 100

        @synchronaut(timeout=5)
        def deco_sync(x):
            return x - 1

        results = [
            call_any(add, 1, 2),
            call_any(plain, 2, timeout=5),
            call_any(plain, 3, force_offload=True),
            call_any(plain, 4, thread_sensitive=True),
            list(call_any(agen)),
            list(call_any(agen, timeout=5)),
            call_any(lambda: add(2, 2)),
            deco_async(1),
            deco_sync(1),
        ]

        async def main():
            out = [await call_any(plain, 5), await call_any(add, 3, 4)]
            out.append(await call_any(plain, 6, thread_sensitive=True))
            out.append([x async for x in call_any(agen, timeout=5)])
            out.append([x async for x in call_any(gen)])
            out.append(await deco_async(2))
            out.append(await deco_sync.async_(5))
            return out

        results += asyncio.run(main())
        print(results)
        shutdown()
        """
    )
    assert out == ("[3, 20, 30, 40, [1, 2], [1, 2], 4, 101, 0, 50, 7, 60, [1, 2], [3], 102, 4]\n")


def test_an_interrupt_during_the_first_use_import_is_raised_after_it_completes() -> None:
    # A Ctrl-C landing while the first blocking call imports the machinery: the import
    # finishes anyway (a program interrupted often would otherwise never get past it),
    # the interrupt is raised at the start of the path -- the coroutine closed, never
    # "never awaited" -- and the next call runs on the same modules.
    out = _fresh(
        """
        import gc, sys, warnings
        from synchronaut_core import _first_use, call_any

        real = _first_use.import_module
        fired = []

        def interrupting(name):
            if not fired:
                fired.append(name)
                raise KeyboardInterrupt
            return real(name)

        _first_use.import_module = interrupting

        async def add(a, b):
            return a + b

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                call_any(add, 1, 2)
            except KeyboardInterrupt:
                print("interrupted")
            gc.collect()
        blocking = sys.modules["synchronaut_core._blocking"]
        print(fired, _first_use._loaded, [str(w.message) for w in caught])
        print(call_any(add, 1, 2), sys.modules["synchronaut_core._blocking"] is blocking)
        """
    )
    assert out == "interrupted\n['synchronaut_core._blocking'] True []\n3 True\n"


def test_first_use_of_inline_mode_in_a_fresh_interpreter() -> None:
    # Inline mode is not loaded by the imports (``_inline`` comes with the machinery,
    # greenlet only when the ``inline=`` option is first given: not by the calls
    # before); that first inline call, the decorated one and an inline generator then
    # work, a bridge call inside each awaited by the task.
    pytest.importorskip("greenlet")
    out = _fresh(
        """
        import asyncio, sys
        from synchronaut_core import call_any, synchronaut

        def loaded():
            names = ("synchronaut_core._inline", "synchronaut_core._blocking", "greenlet")
            return [name for name in names if name in sys.modules]

        async def af(x):
            await asyncio.sleep(0)
            return x + 1

        def body(x):
            return call_any(af, x) * 10

        def gen():
            yield call_any(af, 1)
            yield call_any(af, 2)

        async def main():
            before = [await call_any(af, 0), "greenlet" in sys.modules]
            first = await call_any(body, 1, inline=True)
            deco = synchronaut(inline=True)(body)
            items = call_any(gen, inline=True)
            return [*before, first, await deco(2), type(items).__name__, [x async for x in items]]

        print(loaded(), asyncio.run(main()), loaded())
        """
    )
    assert out == (
        "[] [1, False, 20, 30, 'InlineIterator', [2, 3]] "
        "['synchronaut_core._inline', 'synchronaut_core._blocking', 'greenlet']\n"
    )
