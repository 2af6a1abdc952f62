"""A small FastAPI service over a sync SQLite data layer.

Run it:  uv run --group dev uvicorn fastapi_sqlite:app --app-dir examples
(NOTES_DB=path picks the database file; default examples/data/notes.sqlite3, beside this
file whatever the current folder, and ignored by git.)

The data layer is plain sync code on one ``sqlite3`` connection, which SQLite lets
only the thread that created it use. ``@synchronaut(thread_sensitive=True)`` runs
every call of it on one dedicated thread, so the async routes can await it from any
task without thread errors and without blocking the event loop.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from synchronaut import synchronaut

_DEFAULT_DB = Path(__file__).resolve().parent / "data" / "notes.sqlite3"
_DB_PATH = Path(os.environ.get("NOTES_DB") or _DEFAULT_DB)
_conn: sqlite3.Connection | None = None
_conn_thread: str | None = None


def _db() -> sqlite3.Connection:
    # Created on first use, on the thread-sensitive thread; sqlite3 itself checks
    # that every later use happens on that same thread.
    global _conn, _conn_thread
    if _conn is None:
        _DB_PATH.parent.mkdir(parents=True, exist_ok=True)  # examples/data on a first run
        _conn = sqlite3.connect(_DB_PATH)
        _conn.execute("create table if not exists notes (id integer primary key, text text)")
        _conn_thread = threading.current_thread().name
    return _conn


@synchronaut(thread_sensitive=True)
def add_note(text: str) -> int:
    db = _db()
    cursor = db.execute("insert into notes (text) values (?)", (text,))
    db.commit()
    assert cursor.lastrowid is not None
    return cursor.lastrowid


@synchronaut(thread_sensitive=True)
def get_note(note_id: int) -> tuple[int, str] | None:
    return _db().execute("select id, text from notes where id = ?", (note_id,)).fetchone()


@synchronaut(thread_sensitive=True)
def list_notes() -> list[tuple[int, str]]:
    return _db().execute("select id, text from notes order by id").fetchall()


class NoteIn(BaseModel):
    text: str


class Note(BaseModel):
    id: int
    text: str


app = FastAPI(title="notes")


@app.post("/notes", response_model=Note, status_code=201)
async def create_note(note: NoteIn) -> Note:
    note_id = await add_note.async_(note.text)
    return Note(id=note_id, text=note.text)


@app.get("/notes/{note_id}", response_model=Note)
async def read_note(note_id: int) -> Note:
    row = await get_note.async_(note_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Note not found")
    return Note(id=row[0], text=row[1])


@app.get("/notes", response_model=list[Note])
async def read_notes() -> list[Note]:
    return [Note(id=i, text=t) for i, t in await list_notes.async_()]


@app.get("/db-thread")
async def db_thread() -> dict[str, str | None]:
    await list_notes.async_()
    return {"thread": _conn_thread}
