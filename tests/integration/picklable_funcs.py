"""Decorated functions for process pools and Dask: module-level, so they pickle.

A child process unpickles a function by importing its module and looking its name
up: this module is importable there because ``tests/integration`` is on ``sys.path``
(``conftest.py`` puts it there, and a "spawn" child inherits the parent's path).
Every function returns where it ran: ``(value, pid, parent's pid)``, so a test can
tell the test process, a child of it, and a grandchild (a child that offloaded again)
apart.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, TypeVar

from synchronaut import synchronaut

T = TypeVar("T")

Where = tuple[int, int, int]


def _where(value: int) -> Where:
    parent = multiprocessing.parent_process()
    return value, os.getpid(), parent.pid if parent is not None and parent.pid else -1


@synchronaut
def square(n: int) -> Where:
    """``n * n``, and where it ran."""
    return _where(n * n)


@synchronaut
async def async_square(n: int) -> Where:
    """``n * n`` after an await, and where it ran (in a child: on the child's loop)."""
    await asyncio.sleep(0)
    return _where(n * n)


@synchronaut
def fail(message: str) -> None:
    """Raise ``ValueError(message)`` wherever it runs."""
    raise ValueError(message)


class Squarer:
    """A picklable object with a decorated method."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    @synchronaut
    def square_plus(self, n: int) -> Where:
        """``n * n + offset``, and where it ran."""
        return _where(n * n + self.offset)


class _RefusingExecutor(Executor):
    """``PROCESS_POOL`` as a child process sees it: any use is a bug, said loudly.

    A child given the decorated wrapper instead of the plain function would offload
    again, from the child, to its own ``PROCESS_POOL`` -- a new process per level,
    without end. In a child, ``PROCESS_POOL`` is this instead, which refuses.
    """

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        raise RuntimeError(
            f"{fn!r} was offloaded again from the child process {os.getpid()}: the "
            "process pool was sent the decorated wrapper, not the plain function"
        )


def _process_pool() -> Executor:
    if multiprocessing.parent_process() is not None:
        return _RefusingExecutor()
    # "spawn": forking a process that runs threads (synchronaut's loop and workers)
    # is unsafe, and Python 3.12+ warns about it. No process starts before a submit.
    return ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))


#: The process pool the decorated functions below name as their executor (shut down
#: by the tests that use it).
PROCESS_POOL = _process_pool()


@synchronaut(executor=PROCESS_POOL)
def cube_in_pool(n: int) -> Where:
    """``n ** 3``; offloaded (from async code) to ``PROCESS_POOL``."""
    return _where(n**3)


@synchronaut(executor=PROCESS_POOL, force_offload=True)
def cube_always_in_pool(n: int) -> Where:
    """``n ** 3``; always run in ``PROCESS_POOL``, from sync code too."""
    return _where(n**3)
