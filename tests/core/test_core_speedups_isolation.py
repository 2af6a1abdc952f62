"""The C accelerator's module state, reference ownership and the option names it is given.

Each test here failed against the single-phase module with static globals (issue 15):
a legacy subinterpreter replaced the main interpreter's fallbacks, the direct path
called a function it no longer owned, Trio without sniffio took the async fast path
where Python answers, and C kept its own list of call_any's options.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

import pytest
from support_process import run_python

from synchronaut_core import _accelerator, _call, _detect, call_any, synchronaut

pytestmark = pytest.mark.skipif(
    _accelerator._speedups is None, reason=f"C accelerator not loaded: {_accelerator._REASON}"
)


def _subinterpreter_runner() -> str | None:
    """The name of a way to run code in a legacy subinterpreter here, or None."""
    try:
        import _testcapi  # pyright: ignore[reportMissingImports]
    except ImportError:
        return None
    return "_testcapi" if hasattr(_testcapi, "run_in_subinterp") else None


@pytest.mark.skipif(
    _subinterpreter_runner() is None,
    reason="no legacy subinterpreter API here (_testcapi.run_in_subinterp is missing)",
)
def test_a_subinterpreter_import_leaves_the_main_interpreter_working() -> None:
    result = run_python(
        """
        import _testcapi
        import synchronaut_core
        from synchronaut_core import call_any, synchronaut

        assert synchronaut_core.ACCELERATED
        sub = '''
        import synchronaut_core
        from synchronaut_core import call_any, synchronaut
        assert synchronaut_core.ACCELERATED
        async def twice(x):
            return 2 * x
        assert call_any(twice, 2) == 4
        assert synchronaut()(lambda x: x + 1)(1) == 2
        '''
        assert _testcapi.run_in_subinterp(sub) == 0, "the subinterpreter's own calls failed"

        async def add_one(x):
            return x + 1

        @synchronaut()
        def double(x):
            return 2 * x

        # Before: NameError (the fallbacks of the dead subinterpreter were called).
        assert call_any(add_one, 41) == 42
        assert call_any(len, "abc") == 3
        assert double(21) == 42
        print("ok")
        """
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("_interpreters") is None,
    reason="no _interpreters module (3.13+); 3.12's isolated subinterpreters crash at exit "
    "even after only `import asyncio` (CPython 3.12.1), so they are not tried there",
)
def test_an_isolated_subinterpreter_with_its_own_gil_loads_it() -> None:
    # The module declares Py_MOD_PER_INTERPRETER_GIL_SUPPORTED: CPython refuses to
    # load an extension there otherwise. The main interpreter is unaffected.
    result = run_python(
        """
        import _interpreters
        import synchronaut_core
        from synchronaut_core import call_any

        interp = _interpreters.create()  # isolated: its own GIL and allocator
        failure = _interpreters.run_string(interp, '''
        import synchronaut_core
        from synchronaut_core import call_any, synchronaut
        assert synchronaut_core.ACCELERATED, synchronaut_core._accelerator._REASON
        assert call_any(len, "abc") == 3
        assert synchronaut()(lambda x: x + 1)(1) == 2
        ''')
        _interpreters.destroy(interp)
        assert failure is None, failure

        async def add_one(x):
            return x + 1

        assert call_any(add_one, 41) == 42
        print("ok")
        """
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_each_module_instance_has_its_own_state_and_type() -> None:
    # Multi-phase init: a second instance of the extension (what a subinterpreter
    # gets) is a new module with a DirectCall type and fallbacks of its own.
    spec = importlib.util.find_spec("synchronaut_core._speedups")
    assert spec is not None and spec.loader is not None
    other: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    assert other is not _accelerator._speedups
    assert other.DirectCall is not _accelerator._speedups.DirectCall

    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def fallback(*args: Any, **kwargs: Any) -> str:
        seen.append((args, kwargs))
        return "python"

    def add(a: int, b: int = 0) -> int:
        return a + b

    # The option names are whatever Python gives: C keeps no list of its own.
    fast = other.setup(
        _call._get_running_loop,  # pyright: ignore[reportPrivateUsage]
        fallback,
        _call._resolve_coroutine,  # pyright: ignore[reportPrivateUsage]
        _call._close_returned_if_unstarted,  # pyright: ignore[reportPrivateUsage]
        ("alpha",),
        _detect._COROUTINE_TYPES,  # pyright: ignore[reportPrivateUsage]
        "call_any(func, /, *args, alpha=None, **kwargs)\n--\n\nA test instance.",
    )
    assert fast(add, 1, b=2) == 3  # no option: the direct path
    assert fast(add, 1, alpha=5) == "python"  # an option named by Python: Python's path
    assert seen == [((add, 1), {"alpha": 5})]
    with pytest.raises(TypeError, match="timeout"):
        fast(add, 1, timeout=1)  # not an option of this instance: add's own TypeError
    assert call_any(add, 1, timeout=1) == 1  # the real call_any is untouched
    with pytest.raises(TypeError, match="tuple of str"):
        other.setup(len, len, len, len, (1,), {}, "")

    # Bound types are checked against the instance's own DirectCall.
    class Mine(other.DirectCall):
        pass

    class Theirs(_accelerator._speedups.DirectCall):
        pass

    wrapper = Mine()
    wrapper._bound_type = Mine
    with pytest.raises(TypeError, match="subclass of DirectCall"):
        wrapper._bound_type = Theirs


def test_the_c_path_is_given_the_python_option_names() -> None:
    # The names C sends to Python are call_any's keyword-only parameters, read from
    # the Python definition; every one of them routes the call to Python.
    import inspect

    kw_only = [
        name
        for name, parameter in inspect.signature(_call._call_any_py).parameters.items()  # pyright: ignore[reportPrivateUsage]
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert list(_call._OPTION_NAMES) == kw_only  # pyright: ignore[reportPrivateUsage]

    def add(a: int) -> int:
        return a

    for name in _call._OPTION_NAMES:  # pyright: ignore[reportPrivateUsage]
        # A bad value for each option: only Python's validation can refuse it.
        junk: dict[str, Any] = {name: object()}
        with pytest.raises((TypeError, ValueError)):
            call_any(add, 1, **junk)


def test_the_direct_path_owns_the_function_it_calls() -> None:
    # A fake sniffio whose thread-local read (run before the direct call) drops the
    # wrapper's last reference to its function. Before: a call of freed memory.
    result = run_python(
        """
        import gc, sys, types, weakref
        from synchronaut_core import _accelerator, _call  # _call sets the module up

        class Wrapper(_accelerator._speedups.DirectCall):
            def _call(self, *args, **kwargs):
                return "python"

        wrapper = Wrapper()
        freed = []

        def make():
            def target(x):
                assert not freed, "called after it was freed"
                return x + 1
            return target

        target = make()
        alive = weakref.ref(target, lambda _: freed.append(True))
        wrapper._direct_func = target
        wrapper._fast_kind = 1  # a def, called from sync code: the direct path
        del target

        class Local:
            @property
            def name(self):
                wrapper._direct_func = None  # the last reference
                gc.collect()
                return None

        sniffio = types.ModuleType("sniffio")
        sniffio.thread_local = Local()
        sys.modules["trio"] = types.ModuleType("trio")
        sys.modules["sniffio"] = sniffio
        print(wrapper(1), bool(freed))
        """
    )
    assert result.returncode == 0, result.stderr
    # The call ran on the function it started with, which lived until it returned.
    assert result.stdout.split() == ["2", "True"]


class _TrioWithoutSniffio:
    """``trio`` in sys.modules, ``sniffio`` not: Python asks Trio itself."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        trio = types.ModuleType("trio")
        lowlevel = types.ModuleType("trio.lowlevel")
        lowlevel.in_trio_run = lambda: False  # type: ignore[attr-defined]
        trio.lowlevel = lowlevel  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "trio", trio)
        monkeypatch.delitem(sys.modules, "sniffio", raising=False)


async def _plus_one(x: int) -> int:
    return x + 1


def test_trio_without_sniffio_is_decided_by_python(monkeypatch: pytest.MonkeyPatch) -> None:
    decorated = synchronaut()(_plus_one)
    _TrioWithoutSniffio(monkeypatch)
    # Before: the C path took Trio for running and returned a bare coroutine.
    assert _call._call_any_py(_plus_one, 1) == 2  # pyright: ignore[reportPrivateUsage]
    assert call_any(_plus_one, 1) == 2
    assert decorated(1) == 2
    assert call_any(len, "ab") == 2
