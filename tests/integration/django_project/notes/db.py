"""The ORM calls, each a ``@synchronaut(thread_sensitive=True)`` function.

Django's ORM is sync-only and ties a connection to the thread that opened it, so
async code must not call it on the event loop (Django raises
``SynchronousOnlyOperation`` there). Each function below runs, when awaited from
async code, on the request's thread-sensitive thread (see ``middleware``), or, when
the async code was called by a sync view, on that view's own thread, which is
blocked waiting for it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TypedDict

from django.db import close_old_connections, transaction

from django_project.notes.models import Note
from synchronaut import synchronaut


class NoteRow(TypedDict):
    id: int
    text: str
    thread: str


def _row(note: Note) -> NoteRow:
    return {"id": note.pk, "text": note.text, "thread": note.thread}


@synchronaut(thread_sensitive=True)
def insert_note(text: str) -> NoteRow:
    """Write one note (in a transaction), recording the thread the ORM ran on."""
    with transaction.atomic():
        note = Note.objects.create(text=text, thread=threading.current_thread().name)
    return _row(note)


@synchronaut(thread_sensitive=True)
def get_note(pk: int) -> NoteRow | None:
    """The note ``pk``, or None."""
    note = Note.objects.filter(pk=pk).first()
    return None if note is None else _row(note)


@synchronaut(thread_sensitive=True)
def count_notes() -> tuple[int, str]:
    """How many notes there are, and the thread that counted them."""
    return Note.objects.count(), threading.current_thread().name


@synchronaut(thread_sensitive=True)
def close_connections() -> None:
    """Django's end-of-request cleanup, on the thread whose connections it closes."""
    close_old_connections()


@synchronaut
async def insert_after_io(text: str) -> NoteRow:
    """Async code a sync view calls: some I/O, then an ORM write."""
    await asyncio.sleep(0.001)  # stands for an HTTP call, a cache lookup...
    return await insert_note.async_(text)


async def get_after_io(pk: int) -> NoteRow | None:
    """The same for a read, undecorated (sync views reach it through ``call_any``)."""
    await asyncio.sleep(0.001)
    return await get_note.async_(pk)
