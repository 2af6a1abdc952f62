"""Views: async ones reach the ORM through synchronaut, sync ones call async code.

Every answer says which thread the view ran on and which one the ORM ran on.
"""

from __future__ import annotations

import asyncio
import json
import threading

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from django_project.notes.db import (
    count_notes,
    get_after_io,
    get_note,
    insert_after_io,
    insert_note,
)
from django_project.notes.diag import report
from django_project.notes.models import Note
from synchronaut import call_any, synchronaut


def _text(request: HttpRequest) -> str:
    return str(json.loads(request.body)["text"])


def _here() -> str:
    return threading.current_thread().name


# --- async views -------------------------------------------------------------------


async def async_create(request: HttpRequest) -> HttpResponse:
    row = await insert_note.async_(_text(request))
    return JsonResponse({**row, "view_thread": _here()}, status=201)


async def async_create_batch(request: HttpRequest) -> HttpResponse:
    # Three ORM calls at once from one request: all on the request's one thread.
    text = _text(request)
    rows = await asyncio.gather(*(insert_note.async_(f"{text}/{k}") for k in range(3)))
    return JsonResponse({"rows": list(rows), "view_thread": _here()}, status=201)


async def async_count(request: HttpRequest) -> HttpResponse:
    count, thread = await count_notes.async_()
    return JsonResponse({"count": count, "thread": thread, "view_thread": _here()})


async def async_get(request: HttpRequest, pk: int) -> HttpResponse:
    row = await get_note.async_(pk)
    if row is None:
        return JsonResponse({"detail": "not found"}, status=404)
    return JsonResponse({**row, "view_thread": _here()})


async def native_async_count(request: HttpRequest) -> HttpResponse:
    # Django's own async ORM (asgiref's sync_to_async) beside synchronaut's calls.
    return JsonResponse({"count": await Note.objects.acount(), "view_thread": _here()})


async def unsafe_async_count(request: HttpRequest) -> HttpResponse:
    # The mistake synchronaut is there to avoid: the ORM on the event loop. Django
    # raises SynchronousOnlyOperation (the tests check that this guard is live).
    return JsonResponse({"count": Note.objects.count()})


# --- sync views --------------------------------------------------------------------


def sync_create(request: HttpRequest) -> HttpResponse:
    # A sync view (Django runs it in a worker thread) calling async code, which
    # writes through the ORM: that write runs back on this thread, which is blocked.
    row = insert_after_io.sync(_text(request))
    return JsonResponse({**row, "view_thread": _here()}, status=201)


def sync_get(request: HttpRequest, pk: int) -> HttpResponse:
    row = call_any(get_after_io, pk)
    if row is None:
        return JsonResponse({"detail": "not found"}, status=404)
    return JsonResponse({**row, "view_thread": _here()})


def sync_create_atomic(request: HttpRequest) -> HttpResponse:
    # In a sync view a decorated function is plain sync code: a direct call, on this
    # thread and this connection, so inside this transaction (rolled back here).
    text = _text(request)
    try:
        with transaction.atomic():
            row = insert_note(text)
            raise _RollBack
    except _RollBack:
        pass
    return JsonResponse({**row, "view_thread": _here()})


class _RollBack(Exception):
    pass


# --- decorated views ---------------------------------------------------------------


@synchronaut
async def decorated_async_create(request: HttpRequest) -> HttpResponse:
    # Django must see a coroutine function and await it on its loop.
    row = await insert_note.async_(_text(request))
    return JsonResponse({**row, "view_thread": _here()}, status=201)


@synchronaut
def decorated_sync_count(request: HttpRequest) -> HttpResponse:
    # Django must see a sync function and run it in its worker thread.
    count, thread = count_notes()
    return JsonResponse({"count": count, "thread": thread, "view_thread": _here()})


async def diag(request: HttpRequest) -> HttpResponse:
    return JsonResponse(report(str(settings.DATABASES["default"]["NAME"])))
