"""A value a call sets that is ``==`` to the batch's starting one reaches the next calls.

Found by review of 8518b9c (open, documented in ``_context``): a worker tells
whether a call changed its context by comparing it with its starting copy, and
contexts compare their values with ``==``. A call that sets a variable to another
object that compares equal leaves the worker running calls directly, so the next
calls of that worker read the call's object, not the caller's:

- ``1`` set to ``True`` or ``1.0``: the next calls read a bool, a float -- another
  type, other ``repr``, other JSON;
- a value whose ``__eq__`` answers ``True`` to anything (``unittest.mock.ANY``, a
  loose proxy, a NumPy-like 1-element array): the next calls read the call's object;
- a fresh empty list (a per-call buffer) where the caller had an empty list: the
  next calls append to the first call's list, which a task it started still reads.

With a task per call (``asyncio.gather``) none of them can happen. Fixed: the test is
by identity (``synchronaut_core._context._same_bindings``: the context's shared
mapping, one ``is`` when nothing was set; else value by value, by ``is``). The core's
write-back had the same ``==`` test (a callee's equal value never reached its
caller): see tests/core/test_core_found_context_equal_values.py.
"""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
from batch_helpers import Mode

from synchronaut_batch import parallel_map

VAR: contextvars.ContextVar[Any] = contextvars.ContextVar("VAR")

COUNT = 5


class EqualsAnything:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


async def sets_true(i: int) -> str:
    seen = type(VAR.get()).__name__
    VAR.set(True)  # == 1
    return seen


async def sets_float(i: int) -> str:
    seen = type(VAR.get()).__name__
    VAR.set(1.0)  # == 1
    return seen


async def sets_equals_anything(i: int) -> str:
    seen = type(VAR.get()).__name__
    VAR.set(EqualsAnything())
    return seen


def run_batch(mode: Mode, func: Any) -> list[str]:
    def start() -> Any:
        VAR.set(1)
        # One worker: every call after the first runs where the first one ran.
        return parallel_map([(func, (i,), {}, None) for i in range(COUNT)], max_concurrency=1)

    return contextvars.copy_context().run(mode.call, start)


@pytest.mark.parametrize(
    "func", [sets_true, sets_float, sets_equals_anything], ids=["True", "float", "eq-anything"]
)
def test_every_call_reads_the_callers_object(mode: Mode, func: Any) -> None:
    assert run_batch(mode, func) == ["int"] * COUNT


buffers: list[list[str]] = []


async def fresh_buffer(i: int) -> int:
    # The caller's list is shared by every call, as with tasks; a call that wants
    # its own sets a fresh one -- equal to the caller's while both are empty.
    if i == 0:
        own: list[str] = []
        buffers.append(own)
        VAR.set(own)
        return 0
    VAR.get().append(f"call {i}")
    return len(VAR.get())


def test_a_fresh_buffer_stays_the_calls_own(mode: Mode) -> None:
    buffers.clear()
    caller_list: list[str] = []

    def start() -> Any:
        VAR.set(caller_list)
        return parallel_map([(fresh_buffer, (i,), {}, None) for i in range(3)], max_concurrency=1)

    contextvars.copy_context().run(mode.call, start)
    assert buffers == [[]]  # the first call's buffer: nobody else wrote to it
    assert caller_list == ["call 1", "call 2"]
