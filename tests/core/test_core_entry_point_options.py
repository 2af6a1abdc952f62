"""Every entry point takes the same options and rejects or routes them alike.

Issue 14, item 8: ``call_async(f, force_offload=True)`` passed ``force_offload`` on
to ``f``. The entry points are ``call_any``, ``call_sync``, ``call_async``,
``CallOptions`` (called, ``.sync``, ``.async_``) and the decorator (called,
``.sync``, ``.async_``); a search over entry points x option values proves that
each accepts and refuses the same values with the same error, and that an accepted
option never reaches the callee.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synchronaut_core import (
    CallAnyTimeout,
    CallOptions,
    call_any,
    call_async,
    call_sync,
    check_cancelled,
    synchronaut,
)


def keywords(**kwargs: Any) -> dict[str, Any]:
    """The keywords this callee received: never one of the options."""
    return kwargs


async def async_keywords(**kwargs: Any) -> dict[str, Any]:
    return kwargs


def _awaited(awaitable: Any) -> Any:
    async def main() -> Any:
        return await awaitable

    return asyncio.run(main())


#: Each entry point as ``(func, options) -> outcome``, called from plain sync code;
#: those giving an awaitable have it awaited on a fresh loop.
ENTRY_POINTS: dict[str, Callable[[Callable[..., Any], dict[str, Any]], Any]] = {
    "call_any": lambda f, o: call_any(f, **o),
    "call_sync": lambda f, o: call_sync(f, **o),
    "call_async": lambda f, o: _awaited(call_async(f, **o)),
    "CallOptions()": lambda f, o: CallOptions(**o)(f),
    "CallOptions.sync": lambda f, o: CallOptions(**o).sync(f),
    "CallOptions.async_": lambda f, o: _awaited(CallOptions(**o).async_(f)),
    "synchronaut()": lambda f, o: synchronaut(**o)(f)(),
    "synchronaut.sync": lambda f, o: synchronaut(**o)(f).sync(),
    "synchronaut.async_": lambda f, o: _awaited(synchronaut(**o)(f).async_()),
}

_POOL = ThreadPoolExecutor(2, thread_name_prefix="entry-points")


@pytest.fixture(scope="module", autouse=True)
def _shut_the_pool_down() -> Any:
    yield
    _POOL.shutdown(wait=True)


OPTION_VALUES: dict[str, list[Any]] = {
    "timeout": [None, 5, 2.5, 0, -1, math.nan, math.inf, 10**400, True, "1"],
    "executor": [None, _POOL, "pool", 3],
    "force_offload": [False, True, 0, 1, None, "yes"],
    "thread_sensitive": [False, True, 0, 1, None],
}


@st.composite
def option_sets(draw: st.DrawFn) -> dict[str, Any]:
    # Each option left out, or given one of its values (valid or not).
    options: dict[str, Any] = {}
    for name, values in OPTION_VALUES.items():
        if draw(st.booleans()):
            options[name] = draw(st.sampled_from(values))
    return options


def _outcome(entry: str, func: Callable[..., Any], options: dict[str, Any]) -> Any:
    try:
        return ("value", ENTRY_POINTS[entry](func, options))
    except (TypeError, ValueError) as exc:
        return (type(exc), str(exc))


@settings(max_examples=150, deadline=None)
@given(options=option_sets(), is_async=st.booleans())
def test_every_entry_point_accepts_and_refuses_the_same_options(
    options: dict[str, Any], is_async: bool
) -> None:
    func = async_keywords if is_async else keywords
    outcomes = {entry: _outcome(entry, func, options) for entry in ENTRY_POINTS}
    assert len(set(map(repr, outcomes.values()))) == 1, outcomes
    kind, value = next(iter(outcomes.values()))
    if kind == "value":
        assert value == {}  # accepted options are the engine's, never the callee's


def test_call_async_does_not_pass_force_offload_to_the_callee() -> None:
    # The case: keywords(force_offload=True) was called.
    assert _awaited(call_async(keywords, force_offload=True)) == {}
    assert _awaited(call_async(keywords, x=1, force_offload=False)) == {"x": 1}


@pytest.mark.parametrize("value", [0, 1, None, "yes", "no", 1.0])
@pytest.mark.parametrize("name", ["force_offload", "thread_sensitive"])
def test_flags_must_be_booleans(name: str, value: object) -> None:
    # A truthy string silently meant True, a falsy 0 or None silently meant False.
    with pytest.raises(TypeError, match=rf"{name} must be True or False, got {value!r}"):
        call_any(keywords, **{name: value})


# --- accepted options are routed alike: they reach the engine, from every entry point ---


def _stops_when_abandoned() -> str:
    for _ in range(1000):
        check_cancelled()
        time.sleep(0.01)
    return "finished"


async def _sleeps() -> str:
    await asyncio.sleep(10)
    return "finished"


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("func", [_stops_when_abandoned, _sleeps])
def test_every_entry_point_enforces_the_timeout(entry: str, func: Callable[..., Any]) -> None:
    with pytest.raises(CallAnyTimeout, match=r"timed out after 0\.05s"):
        ENTRY_POINTS[entry](func, {"timeout": 0.05})


#: The entry points that give the value in plain sync code.
SYNC_ENTRY_POINTS = ["call_any", "call_sync", "CallOptions()", "CallOptions.sync"]
SYNC_ENTRY_POINTS += ["synchronaut()", "synchronaut.sync"]


@pytest.mark.parametrize("entry", SYNC_ENTRY_POINTS)
def test_force_offload_moves_a_def_off_the_calling_thread_from_every_entry_point(
    entry: str,
) -> None:
    here = threading.get_ident()
    assert ENTRY_POINTS[entry](threading.get_ident, {}) == here
    assert ENTRY_POINTS[entry](threading.get_ident, {"force_offload": True}) != here


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_an_executor_runs_the_offloaded_call_from_every_entry_point(entry: str) -> None:
    def name() -> str:
        return threading.current_thread().name

    options = {"executor": _POOL, "force_offload": True}
    assert ENTRY_POINTS[entry](name, options).startswith("entry-points")


def test_thread_sensitive_reaches_the_same_thread_from_every_awaiting_entry_point() -> None:
    f = threading.get_ident
    sensitive = {"thread_sensitive": True}

    async def main() -> list[int]:
        return [
            await call_any(f, **sensitive),
            await call_async(f, **sensitive),
            await CallOptions(**sensitive)(f),
            await CallOptions(**sensitive).async_(f),
            await synchronaut(**sensitive)(f)(),
            await synchronaut(**sensitive)(f).async_(),
        ]

    idents = asyncio.run(main())
    assert len(set(idents)) == 1, idents
    assert idents[0] != threading.get_ident()
