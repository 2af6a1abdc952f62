"""Typing checks for call_sync, call_async and CallOptions, run by pyright in CI (not
collected by pytest).

The ``# pyright: ignore[...]`` lines are the negative cases: pyright must report an
error there, and ``reportUnnecessaryTypeIgnoreComment`` (on for tests/typing) fails the
check if it stops doing so.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Generator

from typing_extensions import assert_type

from synchronaut_core import (
    BlockingIterator,
    CallOptions,
    ThreadIterator,
    call_async,
    call_sync,
)


def sync_fn(x: int, *, name: str = "a") -> str:
    return name * x


async def async_fn(x: int) -> float:
    return x / 2


async def agen(n: int) -> AsyncGenerator[bytes, None]:
    yield bytes(n)


def gen(n: int) -> Generator[int, None, None]:
    yield n


class Service:
    def get(self, key: int) -> str:
        return str(key)

    async def aget(self, key: int) -> list[int]:
        return [key]


def check_call_sync() -> None:
    # A coroutine function gives its value, a def its value, an async generator function
    # a blocking iterator, a sync generator function the generator itself.
    assert_type(call_sync(async_fn, 1), float)
    assert_type(call_sync(sync_fn, 2, name="b"), str)
    assert_type(call_sync(agen, 3), BlockingIterator[bytes])
    assert_type(call_sync(gen, 4), Generator[int, None, None])
    assert_type(call_sync(Service().aget, 5), list[int])
    # With options: the value's type still, the callee's arguments unchecked.
    assert_type(call_sync(async_fn, 1, timeout=1.0), float)
    assert_type(call_sync(sync_fn, 1, force_offload=True), str)
    assert_type(call_sync(agen, 1, timeout=2), BlockingIterator[bytes])


def check_call_async() -> None:
    # A def gives an awaitable of its value, as a coroutine function does.
    assert_type(call_async(sync_fn, 2), Awaitable[str])
    assert_type(call_async(async_fn, 1), Awaitable[float])
    assert_type(call_async(agen, 3), AsyncIterator[bytes])
    assert_type(call_async(gen, 4), ThreadIterator[int])
    assert_type(call_async(Service().get, 5), Awaitable[str])
    assert_type(call_async(sync_fn, 2, thread_sensitive=True), Awaitable[str])
    assert_type(call_async(gen, 4, timeout=1.0), ThreadIterator[int])
    # inline=True: the value's type; a generator function gives an async iterator.
    assert_type(call_async(sync_fn, 2, inline=True), Awaitable[str])
    assert_type(call_async(async_fn, 2, inline=True), Awaitable[float])
    assert_type(call_async(gen, 4, inline=True), AsyncIterator[int])
    assert_type(call_sync(sync_fn, 1, inline=True), str)
    call_async(sync_fn, 2, inline="yes")  # pyright: ignore[reportCallIssue]


def check_call_options() -> None:
    options = CallOptions(timeout=1.0)
    assert_type(options.timeout, float | None)
    assert_type(options.force_offload, bool)
    assert_type(options.thread_sensitive, bool)
    assert_type(options.inline, bool)
    assert_type(options.sync(async_fn, 1), float)
    assert_type(options.sync(sync_fn, 1, name="c"), str)
    assert_type(options.sync(agen, 1), BlockingIterator[bytes])
    assert_type(options.async_(sync_fn, 1), Awaitable[str])
    assert_type(options.async_(async_fn, 1), Awaitable[float])
    assert_type(options.async_(agen, 1), AsyncIterator[bytes])
    assert_type(options.async_(gen, 1), ThreadIterator[int])


def check_wrong_arguments_are_reported() -> None:
    # The callee's parameters are checked (ParamSpec): a wrong type, a missing or an
    # unknown argument is an error.
    call_sync(async_fn, "1")  # pyright: ignore  (an overload error or an argument error)
    call_sync(sync_fn)  # pyright: ignore[reportCallIssue]
    call_async(sync_fn, 1, nam="b")  # pyright: ignore[reportCallIssue]
    CallOptions().sync(async_fn, "1")  # pyright: ignore  (either rule, as for call_sync)
    CallOptions().async_(sync_fn, 1, 2)  # pyright: ignore[reportCallIssue]
    # Options are checked too, and are not CallOptions.sync's to take.
    call_sync(sync_fn, 1, timeout="soon")  # pyright: ignore[reportCallIssue]
    CallOptions().sync(sync_fn, 1, timeout=1.0)  # pyright: ignore[reportCallIssue]
    # Not callable at all.
    call_sync(1)  # pyright: ignore[reportCallIssue, reportArgumentType]
