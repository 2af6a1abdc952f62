"""Python is the specification: generated calls give the same outcome on the C path.

Each case is a callable kind x a context x an option x an argument shape (x whether the
callee raises). Its outcome -- the value (awaited or iterated to the end), or the
exception's type and message, the callee frames in its traceback and its
``__cause__``/``__context__``, plus the warnings emitted -- must be the same whether
``call_any`` is the C one or the pure-Python one (``_call._call_any_py``, what the C
path falls back to) in the same process. Decorated functions have their own C call
(``DirectCall``): those cases also run in a fresh interpreter with
``SYNCHRONAUT_NO_EXTENSIONS=1``, where everything is Python, and must agree with the
C-accelerated outcomes here.

Run as a script (``python this_file.py`` with cases as JSON on stdin) it prints the
outcomes as JSON: that is the pure interpreter's side.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import os
import subprocess
import sys
import threading
import types
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synchronaut_core import _accelerator, _call, call_any, synchronaut

HAS_TRIO = importlib.util.find_spec("trio") is not None
#: "no_sniffio": plain sync code with a module named trio imported but no sniffio (a
#: state C once read as "inside Trio").
CONTEXTS = ["sync", "thread", "no_sniffio", "asyncio"] + (["trio"] if HAS_TRIO else [])
OPTIONS = ["none", "timeout", "force_offload", "thread_sensitive", "executor"]
GOOD_SHAPES = ["positional", "keyword", "mixed", "star_args", "star_kwargs"]
BAD_SHAPES = ["too_many", "unknown_kw"]


class Boom(Exception):
    """What a raising callee raises (chained from a KeyError)."""


def _result(a: int, b: int, raises: bool) -> int:
    if raises:
        try:
            {}["missing"]
        except KeyError as exc:
            raise Boom(f"boom {a} {b}") from exc
    return a * 10 + b


# The callees: each takes (a, b, raises=False); their names start with "callee_", which
# is how their frames are found in tracebacks.
def callee_def(a: int, b: int = 0, raises: bool = False) -> int:
    return _result(a, b, raises)


async def callee_async(a: int, b: int = 0, raises: bool = False) -> int:
    await asyncio.sleep(0) if not _in_trio() else None
    return _result(a, b, raises)


def callee_gen(a: int, b: int = 0, raises: bool = False) -> Iterator[int]:
    yield a
    yield _result(a, b, raises)


async def callee_agen(a: int, b: int = 0, raises: bool = False) -> AsyncIterator[int]:
    yield a
    yield _result(a, b, raises)


def callee_variadic(*args: Any, **kwargs: Any) -> int:
    return callee_def(*args, **kwargs)


def callee_returns_coroutine(a: int, b: int = 0, raises: bool = False) -> Any:
    return callee_async(a, b, raises)


class CalleeClass:
    def callee_method(self, a: int, b: int = 0, raises: bool = False) -> int:
        return _result(a, b, raises)

    @classmethod
    def callee_classmethod(cls, a: int, b: int = 0, raises: bool = False) -> int:
        return _result(a, b, raises)

    @staticmethod
    def callee_staticmethod(a: int, b: int = 0, raises: bool = False) -> int:
        return _result(a, b, raises)

    async def callee_async_method(self, a: int, b: int = 0, raises: bool = False) -> int:
        return _result(a, b, raises)


class CalleeAsyncCallable:
    async def __call__(self, a: int, b: int = 0, raises: bool = False) -> int:
        return _result(a, b, raises)


def _in_trio() -> bool:
    sniffio = sys.modules.get("sniffio")
    return sniffio is not None and sniffio.thread_local.name == "trio"


callee_decorated_def = synchronaut(callee_def)
callee_decorated_async = synchronaut(callee_async)

KINDS: dict[str, Callable[..., Any]] = {
    "def": callee_def,
    "async_def": callee_async,
    "lambda": lambda a, b=0, raises=False: _result(a, b, raises),
    "partial": functools.partial(callee_def, 1),
    "bound_method": CalleeClass().callee_method,
    "async_bound_method": CalleeClass().callee_async_method,
    "classmethod": CalleeClass.callee_classmethod,
    "staticmethod": CalleeClass.callee_staticmethod,
    "async_callable_object": CalleeAsyncCallable(),
    "builtin": divmod,
    "decorated_def": callee_decorated_def,
    "decorated_async": callee_decorated_async,
    "generator": callee_gen,
    "async_generator": callee_agen,
    "variadic": callee_variadic,
    "returns_coroutine": callee_returns_coroutine,
}
DECORATED = {"decorated_def", "decorated_async"}

_executor: ThreadPoolExecutor | None = None


def _options(option: str) -> dict[str, Any]:
    global _executor
    if option == "none":
        return {}
    if option == "timeout":
        return {"timeout": 30.0}
    if option == "executor":
        if _executor is None:
            _executor = ThreadPoolExecutor(2, thread_name_prefix="differential")
        return {"executor": _executor}
    return {option: True}


def _arguments(shape: str, raises: bool) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if shape == "positional":
        return (3, 4, raises), {}
    if shape == "keyword":
        return (), {"a": 3, "b": 4, "raises": raises}
    if shape == "mixed":
        return (3,), {"b": 4, "raises": raises}
    if shape == "star_args":
        return tuple([3, 4, raises][: 1 + raises * 2]), {}
    if shape == "star_kwargs":
        return (3,), dict({"raises": raises}, **({"b": 5} if raises else {}))
    if shape == "too_many":
        return (3, 4, raises, 5), {}
    return (3,), {"c": 1, "raises": raises}


def _exception(exc: BaseException) -> dict[str, Any]:
    frames: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_name
        if name.startswith("callee_") or name == "_result":
            frames.append(name)
        tb = tb.tb_next

    def link(other: BaseException | None) -> list[str] | None:
        return None if other is None else [type(other).__name__, str(other)]

    return {
        "raised": type(exc).__name__,
        "message": str(exc),
        "frames": frames,
        "cause": link(exc.__cause__),
        "context": link(exc.__context__),
    }


async def _settle_async(value: Any) -> Any:
    if hasattr(value, "__anext__"):
        return ["async-iterated", [item async for item in value]]
    if hasattr(value, "__await__"):
        return ["awaited", await value]
    return _settle(value)


def _settle(value: Any) -> Any:
    if hasattr(value, "__next__"):
        return ["iterated", list(value)]
    return ["value", value]


def _in_context(context: str, call: Callable[[], Any]) -> Any:
    """``call()`` in ``context``; what it gave, settled (awaited, iterated) there."""
    if context == "sync":
        return _settle(call())
    if context == "no_sniffio":
        saved = {name: sys.modules.pop(name, None) for name in ("trio", "sniffio")}
        trio = types.ModuleType("trio")
        trio.lowlevel = types.SimpleNamespace(in_trio_run=lambda: False)  # type: ignore[attr-defined]
        sys.modules["trio"] = trio
        try:
            return _settle(call())
        finally:
            del sys.modules["trio"]
            sys.modules.update({k: v for k, v in saved.items() if v is not None})
    if context == "thread":
        box: list[Any] = []

        def worker() -> None:
            try:
                box.append(("ok", _settle(call())))
            except BaseException as exc:  # handed to the caller, re-raised below
                box.append(("error", exc))

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(60)
        kind, value = box[0]
        if kind == "error":
            raise value
        return value

    async def main() -> Any:
        return await _settle_async(call())

    if context == "asyncio":
        return asyncio.run(main())
    import trio

    return trio.run(main)


def run_case(impl: Callable[..., Any], case: list[Any]) -> dict[str, Any]:
    """The outcome of one case (kind, context, option, shape, raises) with ``impl``."""
    kind, context, option, shape, raises = case
    func = KINDS[kind]
    args, kwargs = _arguments(shape, raises)
    options = _options(option)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome: dict[str, Any] = {
                "returned": _in_context(context, lambda: impl(func, *args, **options, **kwargs))
            }
        except Exception as exc:
            outcome = _exception(exc)
    outcome["warnings"] = sorted(f"{w.category.__name__}: {w.message}" for w in caught)
    return outcome


@pytest.fixture(autouse=True, scope="module")
def _shut_the_executor_down() -> Iterator[None]:
    yield
    if _executor is not None:
        _executor.shutdown()


cases = st.tuples(
    st.sampled_from(sorted(KINDS)),
    st.sampled_from(CONTEXTS),
    st.just("none") | st.sampled_from(OPTIONS),  # no option: where C has paths of its own
    st.sampled_from(GOOD_SHAPES) | st.sampled_from(BAD_SHAPES),
    st.booleans(),
).map(list)

requires_accelerator = pytest.mark.skipif(
    _accelerator._speedups is None, reason=f"C accelerator not loaded: {_accelerator._REASON}"
)


@requires_accelerator
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_c_and_python_call_any_agree(case: list[Any]) -> None:
    assert call_any is not _call._call_any_py
    expected = run_case(_call._call_any_py, case)
    assert run_case(call_any, case) == expected, case


@requires_accelerator
def test_every_hot_path_agrees() -> None:
    # Beside the search: every kind in every context without options (the calls the C
    # path takes itself), each argument shape, raising or not.
    mismatches = [
        case
        for kind in sorted(KINDS)
        for context in CONTEXTS
        for shape in ("positional", "keyword", "too_many")
        for raises in (False, True)
        if run_case(call_any, case := [kind, context, "none", shape, raises])
        != run_case(_call._call_any_py, case)
    ]
    assert mismatches == []


@requires_accelerator
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(cases, min_size=40, max_size=40))
def test_c_agrees_with_a_pure_interpreter(batch: list[list[Any]]) -> None:
    # Decorated functions included: their C call (DirectCall) against the Python one.
    batch = [
        [kind if i % 3 else sorted(DECORATED)[i % 2], *rest]
        for i, (kind, *rest) in enumerate(batch)
    ]
    environ = dict(os.environ, SYNCHRONAUT_NO_EXTENSIONS="1")
    pure = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps(batch),
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    expected = json.loads(pure.stdout)
    for case, outcome in zip(batch, expected, strict=True):
        assert run_case(call_any, case) == outcome, case


if __name__ == "__main__":
    assert _accelerator._speedups is None, "run with SYNCHRONAUT_NO_EXTENSIONS=1"
    print(json.dumps([run_case(call_any, case) for case in json.load(sys.stdin)]))
    if _executor is not None:
        _executor.shutdown()
