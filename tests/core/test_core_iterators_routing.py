"""Which iterator each entry point gives for generator functions, wherever it is called."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from synchronaut_core import (
    BlockingIterator,
    CallAnyTimeout,
    CallOptions,
    ThreadIterator,
    call_any,
    call_async,
    call_sync,
    sync_iter,
)


async def agen(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def plain_agen(n: int) -> AsyncIterator[int]:
    """No awaits: runs under asyncio and Trio alike."""
    for i in range(n):
        yield i


def gen(n: int) -> Iterator[int]:
    yield from range(n)


class AsyncGenCallable:
    async def __call__(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i


class GenCallable:
    def __call__(self, n: int) -> Iterator[int]:
        yield from range(n)


def test_in_sync_code_a_sync_generator_function_is_simply_called() -> None:
    for options in ({}, {"timeout": 1.0}, {"force_offload": True}, {"thread_sensitive": True}):
        it = call_any(gen, 3, **options)
        assert isinstance(it, types.GeneratorType)
        assert list(it) == [0, 1, 2]
    assert isinstance(call_sync(gen, 1), types.GeneratorType)


@pytest.mark.parametrize(
    "func",
    [agen, functools.partial(agen), AsyncGenCallable()],
    ids=["function", "partial", "callable-instance"],
)
def test_in_sync_code_async_generators_of_every_shape_give_a_blocking_iterator(func: Any) -> None:
    it = call_any(func, 3)
    assert isinstance(it, BlockingIterator)
    assert list(it) == [0, 1, 2]


@pytest.mark.parametrize(
    "func", [gen, functools.partial(gen), GenCallable()], ids=["function", "partial", "instance"]
)
def test_inside_a_loop_sync_generators_of_every_shape_give_a_thread_iterator(
    backend, func: Any
) -> None:
    async def main() -> list[int]:
        it = call_any(func, 3)
        assert isinstance(it, ThreadIterator)
        return [i async for i in it]

    assert backend.run(main) == [0, 1, 2]


def test_inside_a_loop_an_async_generator_function_gives_the_generator_itself(backend) -> None:
    async def main() -> list[int]:
        it = call_any(plain_agen, 3)
        assert inspect.isasyncgen(it)  # no await needed: async for over it directly
        return [i async for i in it]

    assert backend.run(main) == [0, 1, 2]


def test_inside_a_loop_a_timeout_applies_to_each_item_of_an_async_generator(backend) -> None:
    finished = threading.Event()

    async def stalls_after_one() -> AsyncIterator[int]:
        try:
            yield 0
            await backend.sleep_forever()
            yield 1
        finally:
            finished.set()

    async def main() -> None:
        it = call_any(stalls_after_one, timeout=0.2)
        assert await it.__anext__() == 0
        with pytest.raises(CallAnyTimeout):
            await it.__anext__()
        assert finished.is_set()
        await it.aclose()

    backend.run(main)


def test_call_async_in_sync_code_gives_async_iterators_to_consume_later(backend) -> None:
    from_sync_gen = call_async(gen, 2)
    from_async_gen = call_async(plain_agen, 2)
    assert isinstance(from_sync_gen, ThreadIterator)
    assert inspect.isasyncgen(from_async_gen)

    async def main() -> tuple[list[int], list[int]]:
        return [i async for i in from_sync_gen], [i async for i in from_async_gen]

    assert backend.run(main) == ([0, 1], [0, 1])


def test_options_bound_forms_route_generators_too(backend) -> None:
    options = CallOptions(timeout=5)
    assert list(options(agen, 2)) == [0, 1]
    assert list(options.sync(agen, 2)) == [0, 1]

    async def main() -> tuple[list[int], list[int]]:
        return (
            [i async for i in options(gen, 2)],
            [i async for i in options.async_(gen, 2)],
        )

    assert backend.run(main) == ([0, 1], [0, 1])


def test_a_wrapper_that_already_made_its_iterator_is_not_wrapped_again(backend) -> None:
    """A function-like wrapper (like synchronaut's decorator) carrying the generator's code."""

    class Wrapper:
        __code__ = agen.__code__

        def __call__(self, n: int) -> Any:
            return sync_iter(agen(n))  # resolved itself for a sync caller

    it = call_any(Wrapper(), 2)
    assert isinstance(it, BlockingIterator)
    assert list(it) == [0, 1]

    class SyncWrapper:
        __code__ = gen.__code__

        def __call__(self, n: int) -> Any:
            return call_any(gen, n)

    async def main() -> list[int]:
        it = call_any(SyncWrapper(), 2)
        assert isinstance(it, ThreadIterator)
        return [i async for i in it]

    assert backend.run(main) == [0, 1]
