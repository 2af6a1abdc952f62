"""Async database drivers used from plain sync code: aiosqlite and SQLAlchemy's async engine.

Issue 14, item 6, for real: aiosqlite's ``db.execute(...)`` (and ``executemany``,
``execute_fetchall``, ``cursor``...) is a plain function returning a
``collections.abc.Coroutine`` -- not a native one -- and ``call_any`` returned it
unrun. These tests drive both drivers through ``call_any``/``call_sync`` and
``sync_cm`` from sync code: many calls, from several threads at once, from a
synchronaut worker thread serving an asyncio app, and with timeouts; every row
written is read back, and nothing is left un-awaited or unclosed (the suite turns
warnings into errors).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from synchronaut_core import CallOptions, call_any, call_sync, sync_cm

aiosqlite = pytest.importorskip("aiosqlite")
sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("greenlet")  # SQLAlchemy's async engine runs on it

from sqlalchemy import Integer, String, func, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column  # noqa: E402

THREADS = 8
ROWS_PER_THREAD = 40


# --- aiosqlite ---------------------------------------------------------------------------


def _create_items(db: Any) -> None:
    # db.execute is a def returning aiosqlite's Result (a non-native coroutine).
    call_any(db.execute, "create table items (thread text, n integer)")
    call_any(db.commit)


def test_aiosqlite_calls_from_sync_code_run(tmp_path: Path) -> None:
    with sync_cm(aiosqlite.connect(tmp_path / "items.db")) as db:
        _create_items(db)
        for n in range(100):
            call_any(db.execute, "insert into items values (?, ?)", ("main", n))
        call_sync(
            db.executemany, "insert into items values (?, ?)", [("many", n) for n in range(50)]
        )
        call_any(db.commit)
        cursor = call_any(db.execute, "select count(*) from items")
        assert call_any(cursor.fetchone) == (150,)
        call_any(cursor.close)
        rows = call_sync(db.execute_fetchall, "select n from items where thread = 'many'")
        assert [n for (n,) in rows] == list(range(50))
        # Result is an async context manager too: ``async with db.execute(...) as c``.
        with sync_cm(db.execute("select max(n) from items")) as cursor:
            assert call_any(cursor.fetchall) == [(99,)]
        # With a timeout: the same, within a limit.
        assert CallOptions(timeout=30)(db.execute_fetchall, "select count(*) from items") == [
            (150,)
        ]


def test_aiosqlite_from_several_threads_at_once(tmp_path: Path) -> None:
    with sync_cm(aiosqlite.connect(tmp_path / "threads.db")) as db:
        _create_items(db)
        start = threading.Barrier(THREADS)

        def writer(index: int) -> int:
            name = f"thread-{index}"
            start.wait(30)  # all threads calling at once
            for n in range(ROWS_PER_THREAD):
                call_any(db.execute, "insert into items values (?, ?)", (name, n))
            call_any(db.commit)
            rows = call_any(db.execute_fetchall, "select n from items where thread = ?", (name,))
            return len(rows)

        with ThreadPoolExecutor(THREADS) as pool:
            counts = list(pool.map(writer, range(THREADS)))
        assert counts == [ROWS_PER_THREAD] * THREADS
        rows = call_any(db.execute_fetchall, "select thread, count(*) from items group by thread")
        assert sorted(rows) == sorted((f"thread-{i}", ROWS_PER_THREAD) for i in range(THREADS))


def test_aiosqlite_from_a_worker_thread_of_an_asyncio_app(tmp_path: Path) -> None:
    # Sync code offloaded by an async app (a ``def`` endpoint, say) uses the app's
    # connection: its calls go back to the app's loop (loop affinity).
    def sync_handler(db: Any, n: int) -> int:
        call_any(db.execute, "insert into items values (?, ?)", ("handler", n))
        (count,) = call_any(db.execute_fetchall, "select count(*) from items")[0]
        return count

    async def app() -> list[int]:
        async with aiosqlite.connect(tmp_path / "app.db") as db:
            await db.execute("create table items (thread text, n integer)")
            counts = [await call_any(sync_handler, db, n) for n in range(20)]
            counts += await asyncio.gather(*(call_any(sync_handler, db, n) for n in range(20)))
            await db.commit()
            return counts

    counts = asyncio.run(app())
    assert counts[:20] == list(range(1, 21))  # one after the other: each sees its row
    # Concurrently: each sees its own row and the earlier ones, the last sees all.
    assert all(21 <= count <= 40 for count in counts[20:]) and max(counts[20:]) == 40


# --- SQLAlchemy's async engine -----------------------------------------------------------


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "orm_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread: Mapped[str] = mapped_column(String(40))
    n: Mapped[int] = mapped_column(Integer)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Any]:
    # A file database: every thread's connection sees the same rows; writers wait
    # for each other (sqlite's busy timeout) instead of failing.
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'orm.db'}", connect_args={"timeout": 60}
    )
    with sync_cm(engine.begin()) as conn:
        call_any(conn.run_sync, Base.metadata.create_all)
    yield engine
    call_any(engine.dispose)


def test_sqlalchemy_async_engine_from_sync_code(engine: Any) -> None:
    with sync_cm(engine.begin()) as conn:
        for n in range(50):
            call_any(
                conn.execute,
                text("insert into orm_items (thread, n) values ('core', :n)"),
                {"n": n},
            )
    with sync_cm(engine.connect()) as conn:
        result = call_sync(conn.execute, text("select count(*) from orm_items"))
        assert result.scalar_one() == 50
    with sync_cm(AsyncSession(engine)) as session:
        session.add_all([Item(thread="orm", n=n) for n in range(30)])
        call_any(session.commit)
        found = call_any(session.scalars, select(Item.n).where(Item.thread == "orm"))
        assert sorted(found.all()) == list(range(30))
        assert call_any(session.scalar, select(func.count()).select_from(Item), timeout=30) == 80


def test_sqlalchemy_async_engine_from_several_threads_at_once(engine: Any) -> None:
    start = threading.Barrier(THREADS)

    def writer(index: int) -> list[int]:
        name = f"thread-{index}"
        start.wait(30)
        with sync_cm(AsyncSession(engine)) as session:
            for n in range(ROWS_PER_THREAD):
                session.add(Item(thread=name, n=n))
                if n % 10 == 9:
                    call_any(session.commit)  # many short transactions, interleaved
            rows = call_any(session.scalars, select(Item.n).where(Item.thread == name))
            return sorted(rows.all())

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(writer, range(THREADS)))
    assert results == [list(range(ROWS_PER_THREAD))] * THREADS
    with sync_cm(engine.connect()) as conn:
        total = call_any(conn.scalar, select(func.count()).select_from(Item))
    assert total == THREADS * ROWS_PER_THREAD
