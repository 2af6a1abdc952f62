"""SQLAlchemy's own greenlet machinery inside inline code: an AsyncSession, sync style.

Inline code drives an ``AsyncSession`` (aiosqlite driver) with ``call_any`` and
``sync_cm``: each call suspends the inline greenlet, the task awaits SQLAlchemy's
coroutine -- which runs SQLAlchemy's own greenlet (``greenlet_spawn``) under it --
and the value comes back. Rows written are read back, concurrent inline calls each
get their own session, and nothing is left un-awaited or unclosed.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from support_backends import Backend

from synchronaut_core import call_any, sync_cm

pytest.importorskip("aiosqlite")
pytest.importorskip("greenlet")
from sqlalchemy import Integer, String, func, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(200))


class NoteRepository:
    """Sync code over an async session: what inline mode is for."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    def create_schema(self, engine: AsyncEngine) -> None:
        with sync_cm(engine.begin()) as conn:
            call_any(conn.run_sync, Base.metadata.create_all)

    def add(self, author: str, texts: list[str]) -> list[int]:
        with sync_cm(self.sessions()) as session, sync_cm(session.begin()):
            notes = [Note(author=author, text=text) for text in texts]
            session.add_all(notes)
            call_any(session.flush)
            return [note.id for note in notes]

    def by_author(self, author: str) -> tuple[list[str], int, int]:
        with sync_cm(self.sessions()) as session:
            result = call_any(session.execute, select(Note).where(Note.author == author))
            texts = sorted(note.text for note in result.scalars())
            count = call_any(session.scalar, select(func.count(Note.id)))
            first = call_any(session.get, Note, 1)
            return texts, count, first.id if first is not None else -1


def test_an_async_session_used_through_call_any_from_inline_code(
    asyncio_backend: Backend, tmp_path: Path
) -> None:
    async def main() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
        try:
            repo = NoteRepository(async_sessionmaker(engine, expire_on_commit=False))
            await call_any(repo.create_schema, engine, inline=True)
            ids = await call_any(repo.add, "ada", ["one", "two", "three"], inline=True)
            assert len(set(ids)) == 3
            texts, count, first = await call_any(repo.by_author, "ada", inline=True)
            assert (texts, count, first) == (["one", "three", "two"], 3, 1)
        finally:
            await engine.dispose()

    asyncio_backend.run(main)


def test_concurrent_inline_calls_each_use_their_own_session(
    asyncio_backend: Backend, tmp_path: Path
) -> None:
    authors = [f"author{i}" for i in range(20)]

    async def main() -> None:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'many.db'}")
        try:
            repo = NoteRepository(async_sessionmaker(engine, expire_on_commit=False))
            await call_any(repo.create_schema, engine, inline=True)
            loop_thread = threading.get_ident()

            def work(author: str) -> tuple[list[str], int]:
                repo.add(author, [f"{author}-{k}" for k in range(3)])
                texts, _, _ = repo.by_author(author)
                return texts, threading.get_ident()

            results: list[Any] = await asyncio.gather(
                *(call_any(work, author, inline=True) for author in authors)
            )
            for author, (texts, thread) in zip(authors, results, strict=True):
                assert texts == [f"{author}-{k}" for k in range(3)]
                assert thread == loop_thread
        finally:
            await engine.dispose()

    asyncio_backend.run(main)
