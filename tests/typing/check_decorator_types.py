"""Typing checks for @synchronaut, run by pyright in CI (not collected by pytest)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterator
from typing import Any

from typing_extensions import assert_type

from synchronaut import SynchronautAsync, SynchronautSync, synchronaut


@synchronaut
def sync_fn(x: int, *, name: str = "a") -> str:
    return name * x


@synchronaut
async def async_fn(x: int) -> float:
    return x / 2


@synchronaut(timeout=1.0)
def sync_with_options(x: int) -> bytes:
    return bytes(x)


@synchronaut(timeout=1.0, thread_sensitive=True)
async def async_with_options(x: int) -> list[int]:
    return [x]


@synchronaut(inline=True)
def inline_service(x: int) -> str:
    return str(x)


class Repo:
    @synchronaut
    def get(self, key: int) -> str:
        return str(key)

    @synchronaut
    async def aget(self, key: int) -> str:
        return str(key)


def check_sync_side() -> None:
    assert_type(sync_fn.sync(1, name="b"), str)
    assert_type(sync_fn(1), str)
    assert_type(async_fn.sync(1), float)
    assert_type(sync_with_options.sync(1), bytes)
    assert_type(async_with_options.sync(1), list[int])
    assert_type(inline_service.sync(1), str)


async def check_async_side() -> None:
    assert_type(sync_fn.async_(1), Awaitable[str])
    assert_type(async_fn.async_(1), Awaitable[float])
    coro: Coroutine[Any, Any, float] = async_fn(1)
    assert_type(await coro, float)
    assert_type(await async_fn(1), float)
    assert_type(await sync_with_options.async_(1), bytes)
    assert_type(await inline_service.async_(1), str)
    assert_type(await async_with_options(1), list[int])


def check_wrapper_kinds() -> None:
    a: SynchronautAsync[[int], float] = async_fn
    s: SynchronautSync[[int], bytes] = sync_with_options
    del a, s


async def check_methods(repo: Repo) -> None:
    assert_type(repo.get.sync(1), str)
    assert_type(await repo.aget.async_(1), str)


@synchronaut
async def agen(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


@synchronaut
def gen(n: int) -> Iterator[str]:
    for i in range(n):
        yield str(i)


async def check_generators() -> None:
    assert_type(agen.sync(3), Iterator[int])
    assert_type(agen.async_(3), AsyncIterator[int])
    assert_type(agen(3), AsyncIterator[int])
    assert_type(gen.sync(3), Iterator[str])
    assert_type(gen.async_(3), AsyncIterator[str])
    assert_type(gen(3), Iterator[str])
    assert [x async for x in agen.async_(2)] == [0, 1]
    assert [x async for x in gen.async_(2)] == ["0", "1"]
