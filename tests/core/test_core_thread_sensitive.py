"""thread_sensitive=True: sync calls for thread-bound resources run on one thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
import trio

from synchronaut_core import call_any, call_sync, thread_sensitive_context


def ident() -> int:
    return threading.get_ident()


def name() -> str:
    return threading.current_thread().name


def test_sync_caller_thread_serves_thread_sensitive_calls_while_it_waits() -> None:
    async def handler() -> tuple[int, int]:
        return await call_any(ident, thread_sensitive=True), await call_any(ident)

    sensitive, plain = call_any(handler)
    assert sensitive == threading.get_ident()
    assert plain != threading.get_ident()


def test_nested_sync_async_sync_chains_stay_on_the_outermost_caller() -> None:
    async def level(depth: int) -> list[int]:
        here = await call_any(ident, thread_sensitive=True)
        if depth == 0:
            return [here]
        deeper = await call_any(sync_level, depth - 1, thread_sensitive=True)
        return [here, *deeper]

    def sync_level(depth: int) -> list[int]:
        return [threading.get_ident(), *call_any(level, depth)]

    idents = call_any(level, 3)
    assert set(idents) == {threading.get_ident()}
    assert len(idents) == 7


def test_sqlite_connection_from_the_main_thread_used_from_async_code() -> None:
    conn = sqlite3.connect(":memory:")  # check_same_thread=True: this thread only
    conn.execute("create table t (x integer)")

    def insert(x: int) -> None:
        conn.execute("insert into t values (?)", (x,))

    def total() -> int:
        return conn.execute("select sum(x) from t").fetchone()[0]

    async def handler() -> int:
        await asyncio.gather(*(call_any(insert, i, thread_sensitive=True) for i in range(10)))
        return await call_any(total, thread_sensitive=True)

    async def wrong_thread() -> None:
        await call_any(total)  # an ordinary offload: another thread

    try:
        assert call_any(handler) == 45
        with pytest.raises(sqlite3.ProgrammingError):
            call_any(wrong_thread)
    finally:
        conn.close()


def test_pure_async_app_uses_one_dedicated_thread(backend) -> None:
    async def main() -> set[str]:
        names: set[str] = set()

        async def one() -> None:
            names.add(await call_any(name, thread_sensitive=True))

        if backend.name == "trio":
            async with trio.open_nursery() as nursery:
                for _ in range(20):
                    nursery.start_soon(one)
        else:
            await asyncio.gather(*(one() for _ in range(20)))
        return names

    names = backend.run(main)
    assert names == {"synchronaut-sensitive-1"}


def test_sqlite_connection_made_on_the_dedicated_thread_works_across_tasks(backend) -> None:
    state: dict[str, sqlite3.Connection] = {}

    def db() -> sqlite3.Connection:
        if "conn" not in state:
            state["conn"] = sqlite3.connect(":memory:")
            state["conn"].execute("create table t (x integer)")
        return state["conn"]

    def insert(x: int) -> None:
        db().execute("insert into t values (?)", (x,))

    def count() -> int:
        return db().execute("select count(*) from t").fetchone()[0]

    async def insert_async(i: int) -> None:
        await call_any(insert, i, thread_sensitive=True)

    async def main() -> int:
        if backend.name == "trio":
            async with trio.open_nursery() as nursery:
                for i in range(25):
                    nursery.start_soon(insert_async, i)
        else:
            await asyncio.gather(*(insert_async(i) for i in range(25)))
        try:
            return await call_any(count, thread_sensitive=True)
        finally:
            await call_any(state["conn"].close, thread_sensitive=True)

    assert backend.run(main) == 25


def test_thread_sensitive_context_gives_a_block_its_own_thread(backend) -> None:
    async def main() -> tuple[str, set[str], str]:
        outside = await call_any(name, thread_sensitive=True)
        inside: set[str] = set()
        async with thread_sensitive_context():
            for _ in range(5):
                inside.add(await call_any(name, thread_sensitive=True))
        after = await call_any(name, thread_sensitive=True)
        return outside, inside, after

    outside, inside, after = backend.run(main)
    assert outside == after == "synchronaut-sensitive-1"
    assert len(inside) == 1
    assert inside.pop().startswith("synchronaut-sensitive-block")


def test_worker_thread_sends_thread_sensitive_calls_to_the_sensitive_thread() -> None:
    def plain_layer() -> tuple[str, str]:
        return name(), call_any(name, thread_sensitive=True)

    async def main() -> tuple[str, str]:
        return await call_any(plain_layer)

    worker, sensitive = asyncio.run(main())
    assert worker.startswith("synchronaut-worker")
    assert sensitive == "synchronaut-sensitive-1"


def test_plain_thread_runs_its_thread_sensitive_calls_itself() -> None:
    assert call_any(ident, thread_sensitive=True) == threading.get_ident()
    assert call_sync(ident, thread_sensitive=True) == threading.get_ident()


def test_thread_sensitive_with_an_executor_is_rejected() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="thread_sensitive"):
        call_any(ident, thread_sensitive=True, executor=pool)


def test_many_threads_nesting_concurrently_never_deadlock() -> None:
    async def inner(owner: int) -> bool:
        return await call_any(ident, thread_sensitive=True) == owner

    def sync_mid(owner: int) -> bool:
        return call_any(inner, owner)

    async def outer(owner: int) -> bool:
        return await call_any(sync_mid, owner, thread_sensitive=True)

    results: list[bool] = []
    lock = threading.Lock()

    def caller() -> None:
        ok = all(call_any(outer, threading.get_ident()) for _ in range(20))
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [True] * 8
