"""A callee's ContextVar changes are written back even when a value's ``==`` raises.

Found by review: ``_write_back`` first compares the callee's context with the
caller's, which compares every changed value with ``==``; a value whose ``==``
raises (a NumPy array or a DataFrame: "the truth value ... is ambiguous") made a
call that had succeeded raise that error instead of returning its value.
"""

from __future__ import annotations

import asyncio
import contextvars

from synchronaut_core import call_any, call_sync


class Unequal:
    """A value whose ``==`` raises, as a NumPy array's truth value does."""

    def __eq__(self, other: object) -> bool:
        raise ValueError("ambiguous")

    __hash__ = object.__hash__


VALUE: contextvars.ContextVar[object] = contextvars.ContextVar("VALUE")


def replace() -> str:
    VALUE.set(Unequal())
    return "done"


async def replace_async() -> str:
    VALUE.set(Unequal())
    return "done"


def _in_fresh_context(test: object) -> None:
    contextvars.copy_context().run(test)  # type: ignore[arg-type]


def test_offloaded_sync_callee() -> None:
    def run() -> None:
        VALUE.set(Unequal())
        before = VALUE.get()

        async def main() -> str:
            return await call_any(replace)

        assert asyncio.run(main()) == "done"
        # (asyncio.run runs main in a copy of this context: check inside instead)
        assert VALUE.get() is before

    _in_fresh_context(run)


def test_offloaded_sync_callee_changes_reach_the_caller() -> None:
    def run() -> None:
        async def main() -> None:
            VALUE.set(Unequal())
            before = VALUE.get()
            assert await call_any(replace) == "done"
            assert VALUE.get() is not before
            assert isinstance(VALUE.get(), Unequal)

        asyncio.run(main())

    _in_fresh_context(run)


def test_blocking_call_of_an_async_callee() -> None:
    def run() -> None:
        VALUE.set(Unequal())
        before = VALUE.get()
        assert call_sync(replace_async) == "done"
        assert VALUE.get() is not before
        assert isinstance(VALUE.get(), Unequal)

    _in_fresh_context(run)
