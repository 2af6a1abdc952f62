"""A callee's ContextVar changes reach its caller by identity, as with a direct call.

Found while fixing the batch's twin (tests/batch/test_batch_found_context_equal_values.py):
``_write_back`` skipped the write-back when the callee's context compared ``==`` to
the caller's, and contexts compare values with ``==``. A callee that set a variable
to an equal object left its caller the old one:

- ``1`` set to ``True`` or ``1.0``: the caller read an ``int`` after the call, a
  ``bool`` after a direct call;
- a fresh empty list (a per-request buffer) where the caller had an empty list: the
  caller kept appending to its own list, not the callee's;
- an object ``==`` to anything (``unittest.mock.ANY``, a loose proxy).

Now the test is by identity (``_context._same_bindings``): the contexts' shared
mapping when nothing was set, else value by value with ``is``. The search below
generates the callee's ``set``/``reset`` sequences over equal-but-distinct objects
and checks every bridge path against a direct call, with the mapping test and with
its value-by-value fallback (an interpreter whose ``gc.get_referents`` does not show
a context's mapping).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synchronaut_core import _context, call_any  # pyright: ignore[reportPrivateUsage]


class EqualsAnything:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


VARS = [contextvars.ContextVar[Any](f"VAR{i}") for i in range(3)]
UNSET = object()

#: Objects equal to one another but distinct: the cases ``==`` cannot tell apart.
POOL: list[Any] = [1, True, 1.0, EqualsAnything(), [], [], (), 2.5]

# One op: (kind, var index, pool index). kind: "set", "set+reset" (a set undone by
# its token), "reset-first" (undo the first set of the call, if any).
OPS = st.lists(
    st.tuples(
        st.sampled_from(["set", "set+reset", "reset-first"]),
        st.integers(0, len(VARS) - 1),
        st.integers(0, len(POOL) - 1),
    ),
    max_size=6,
)
# What the caller holds before the call: a pool index or UNSET per variable.
INITIAL = st.lists(
    st.one_of(st.none(), st.integers(0, len(POOL) - 1)), min_size=len(VARS), max_size=len(VARS)
)


def apply(ops: list[tuple[str, int, int]]) -> None:
    """The callee's body: the generated sets and resets, in its context."""
    first: dict[int, contextvars.Token[Any]] = {}
    for kind, var, obj in ops:
        if kind == "reset-first":
            token = first.pop(var, None)
            if token is not None:
                VARS[var].reset(token)
            continue
        token = VARS[var].set(POOL[obj])
        if kind == "set+reset":
            VARS[var].reset(token)
        else:
            first.setdefault(var, token)


def set_initial(initial: list[int | None]) -> None:
    for var, obj in zip(VARS, initial, strict=True):
        if obj is not None:
            var.set(POOL[obj])


def snapshot() -> list[Any]:
    return [var.get(UNSET) for var in VARS]


def direct(initial: list[int | None], ops: list[tuple[str, int, int]]) -> list[Any]:
    def run() -> list[Any]:
        set_initial(initial)
        apply(ops)
        return snapshot()

    return contextvars.copy_context().run(run)


def _on_asyncio(call: Callable[[], Any]) -> Callable[[list[int | None], Any], list[Any]]:
    def path(initial: list[int | None], ops: Any) -> list[Any]:
        async def main() -> list[Any]:
            set_initial(initial)
            await call()(ops)
            return snapshot()

        return asyncio.run(main())

    return path


def _on_trio(call: Callable[[], Any]) -> Callable[[list[int | None], Any], list[Any]]:
    def path(initial: list[int | None], ops: Any) -> list[Any]:
        async def main() -> list[Any]:
            set_initial(initial)
            await call()(ops)
            return snapshot()

        return trio.run(main)

    return path


def _in_sync(call: Callable[[], Any]) -> Callable[[list[int | None], Any], list[Any]]:
    def path(initial: list[int | None], ops: Any) -> list[Any]:
        def run() -> list[Any]:
            set_initial(initial)
            call()(ops)
            return snapshot()

        return contextvars.copy_context().run(run)

    return path


async def apply_async(ops: list[tuple[str, int, int]]) -> None:
    apply(ops)


def _bridge(func: Any, **options: Any) -> Callable[[], Any]:
    return lambda: lambda ops: call_any(func, ops, **options)


PATHS: dict[str, Callable[[list[int | None], Any], list[Any]]] = {
    "asyncio: def offloaded": _on_asyncio(_bridge(apply)),
    "asyncio: def thread_sensitive": _on_asyncio(_bridge(apply, thread_sensitive=True)),
    "asyncio: def with timeout": _on_asyncio(_bridge(apply, timeout=30)),
    "asyncio: async def with timeout": _on_asyncio(_bridge(apply_async, timeout=30)),
    "trio: def offloaded": _on_trio(_bridge(apply)),
    "trio: async def with timeout": _on_trio(_bridge(apply_async, timeout=30)),
    "sync: async def (background loop)": _in_sync(_bridge(apply_async)),
    "sync: async def with timeout": _in_sync(_bridge(apply_async, timeout=30)),
    "sync: def force_offload": _in_sync(_bridge(apply, force_offload=True)),
    "sync: def with timeout": _in_sync(_bridge(apply, timeout=30)),
}


@pytest.fixture(params=["mapping", "value-by-value"])
def identity_test(request: pytest.FixtureRequest) -> Iterator[str]:
    """Both routes of ``_same_bindings``: the shared mapping, and without it."""
    saved = _context._referents  # pyright: ignore[reportPrivateUsage]
    if request.param == "value-by-value":
        _context._referents = None  # pyright: ignore[reportPrivateUsage]
    else:
        _context._choose_referents()  # pyright: ignore[reportPrivateUsage]
        assert _context._referents is not None, "CPython shows a context's mapping"  # pyright: ignore[reportPrivateUsage]
    try:
        yield request.param
    finally:
        _context._referents = saved  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize("where", list(PATHS))
def test_the_caller_sees_the_callees_objects(where: str, identity_test: str) -> None:
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(initial=INITIAL, ops=OPS)
    def search(initial: list[int | None], ops: list[tuple[str, int, int]]) -> None:
        want = direct(initial, ops)
        got = PATHS[where](initial, ops)
        assert [type(value) for value in got] == [type(value) for value in want]
        assert all(g is w for g, w in zip(got, want, strict=True)), (got, want)

    search()


@pytest.mark.parametrize("where", list(PATHS))
def test_a_fresh_empty_list_replaces_the_callers(where: str) -> None:
    # The case that made it matter: a callee setting its own buffer.
    buffer_index = POOL.index([])
    got = PATHS[where]([buffer_index, None, None], [("set", 0, buffer_index + 1)])
    assert got[0] is POOL[buffer_index + 1]


def test_same_bindings_is_exact() -> None:
    def run() -> None:
        VARS[0].set(1)
        start = contextvars.copy_context()
        assert _context._same_bindings(contextvars.copy_context(), start)  # pyright: ignore[reportPrivateUsage]
        token = VARS[0].set(True)
        assert not _context._same_bindings(contextvars.copy_context(), start)  # pyright: ignore[reportPrivateUsage]
        VARS[0].reset(token)
        # Reset: another mapping, the same objects -- equal by identity.
        assert _context._same_bindings(contextvars.copy_context(), start)  # pyright: ignore[reportPrivateUsage]
        VARS[1].set(EqualsAnything())
        assert not _context._same_bindings(contextvars.copy_context(), start)  # pyright: ignore[reportPrivateUsage]

    contextvars.copy_context().run(run)
