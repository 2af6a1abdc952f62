"""``sync_cm``: an async context manager used with ``with`` in sync code.

The async context manager is entered and exited on one event loop, pinned at
``__enter__`` (see ``_pinned``), and -- because cancel scopes, task groups and
nurseries belong to the task that entered them -- inside one task: a holder task
runs ``__aenter__``, waits while the sync block runs, then runs ``__aexit__``. The
sync thread blocks on the holder at enter and at exit.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from contextvars import Context, copy_context
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._backends import _require_backend
from ._context import _INTERNAL
from ._pinned import _LoopPin, _pin_loop
from ._validate import _check_timeout

__all__ = ["sync_cm"]

_logger = logging.getLogger("synchronaut")

#: The asyncio holder tasks still running (on whichever loop; see _Holder.enter).
_holders: set[asyncio.Task[None]] = set()

T = TypeVar("T")

_MISSING = object()
_ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


def _apply_changes(after: Context, before: Context) -> None:
    """Set here every ContextVar that changed from ``before`` to ``after``.

    Only the holder task's own changes travel: the sync block may have changed other
    variables meanwhile, and those must not be overwritten with older values.
    """
    if after == before:
        return
    for var, value in after.items():
        if var not in _INTERNAL and before.get(var, _MISSING) is not value:
            var.set(value)


class _Holder:
    """One async context manager kept open by a task of its own, on the pinned loop.

    Every attribute is read and written on the loop's thread only: by the holder
    task, and by the short step tasks (``enter``/``exit``) that the blocked sync
    thread runs there. Outcomes travel as values, never raised inside the steps, so
    a ``KeyboardInterrupt`` from the sync block cannot escape into the loop.
    """

    __slots__ = (
        "acm",
        "cancel",
        "ctx_end",
        "ctx_entered",
        "ctx_start",
        "entered",
        "error",
        "exc_info",
        "exit_requested",
        "finished",
        "started",
        "suppress",
        "value",
    )

    def __init__(self, acm: AbstractAsyncContextManager[Any]) -> None:
        self.acm = acm
        self.value: Any = None
        self.error: BaseException | None = None
        self.suppress = False
        self.exc_info: _ExcInfo = (None, None, None)
        empty = Context()
        self.ctx_start = self.ctx_entered = self.ctx_end = empty
        # Set (on the loop's thread) once the holder task exists: from then on, it
        # must be told to exit, whatever happens to the sync side.
        self.started = False

    async def enter(self) -> tuple[Any, BaseException | None]:
        """A step task: start the holder, wait until ``__aenter__`` is done."""
        if _require_backend(f"{type(self.acm).__name__} (sync_cm)").name == "asyncio":
            self.entered, self.exit_requested, self.finished = (
                asyncio.Event(),
                asyncio.Event(),
                asyncio.Event(),
            )
            # The holder starts in a copy of this step's context (the sync caller's).
            task = asyncio.get_running_loop().create_task(self._hold())
            # Held here until it ends: asyncio keeps tasks only weakly, and a holder
            # whose sync side was dropped mid-block must live to run __aexit__.
            _holders.add(task)
            task.add_done_callback(_holders.discard)
            self.cancel = task.cancel
        else:
            import trio

            self.entered, self.exit_requested, self.finished = (
                trio.Event(),
                trio.Event(),
                trio.Event(),
            )
            scope = trio.CancelScope()
            self.cancel = scope.cancel
            trio.lowlevel.spawn_system_task(self._hold_in_scope, scope, context=copy_context())
        self.started = True
        try:
            await self.entered.wait()
        except BaseException:
            # Entering timed out or was interrupted: the holder gives up too (if
            # __aenter__ already finished, it exits at once, with the cancellation).
            self.cancel()
            raise
        error, self.error = self.error, None
        if error is None:
            _apply_changes(self.ctx_entered, self.ctx_start)
        return self.value, error

    async def _hold_in_scope(self, scope: Any) -> None:
        # A Trio system task: cancellable through ``scope`` only, never raises.
        with scope:
            await self._hold()

    async def _hold(self) -> None:
        # The holder task: __aenter__, wait for the sync block, __aexit__ -- as the
        # language does it (methods looked up on the type, truthy result suppresses).
        acm = self.acm
        self.ctx_start = copy_context()
        try:
            self.value = await type(acm).__aenter__(acm)
        except BaseException as exc:
            self.error = exc  # no __aexit__ when __aenter__ fails
            self.entered.set()
            self.finished.set()
            return
        self.ctx_entered = copy_context()
        self.entered.set()
        try:
            await self.exit_requested.wait()
            typ, exc, tb = self.exc_info
        except BaseException as cancelled:
            # Cancelled while the block ran (the loop is shutting down, or entering
            # timed out just as it finished): exit with the cancellation.
            typ, exc, tb = type(cancelled), cancelled, cancelled.__traceback__
        try:
            self.suppress = bool(await type(acm).__aexit__(acm, typ, exc, tb))
        except BaseException as error:
            self.error = error
        finally:
            self.exc_info = (None, None, None)
            self.ctx_end = copy_context()
            self.finished.set()

    async def exit_quietly(self, exc_info: _ExcInfo) -> None:
        """``exit`` for a sync side that was interrupted: nobody waits for the outcome."""
        try:
            await self.exit(exc_info)
        except BaseException:
            _logger.debug(
                "synchronaut: exiting %r after an interrupt failed", self.acm, exc_info=True
            )

    async def exit(self, exc_info: _ExcInfo) -> tuple[bool, BaseException | None]:
        """A step task: let the holder run ``__aexit__`` with ``exc_info``; wait for it."""
        self.exc_info = exc_info
        self.exit_requested.set()
        try:
            await self.finished.wait()
        except BaseException:
            self.cancel()  # exiting timed out: cancel __aexit__ where it waits
            raise
        _apply_changes(self.ctx_end, self.ctx_entered)
        error, self.error = self.error, None
        return self.suppress, error


class _BlockingContextManager(Generic[T]):
    """What :func:`sync_cm` returns: ``with`` in sync code, the work on an event loop."""

    __slots__ = ("_acm", "_holder", "_name", "_pin", "_timeout")

    def __init__(self, acm: AbstractAsyncContextManager[T], timeout: float | None) -> None:
        self._acm = acm
        self._timeout = timeout
        self._name = f"{type(acm).__name__} (sync_cm)"
        self._pin: _LoopPin | None = None
        self._holder: _Holder | None = None

    def __enter__(self) -> T:
        if self._holder is not None:
            raise RuntimeError(f"{self._name} is already entered; it is not reentrant")
        pin = _pin_loop(self._name)
        holder = _Holder(self._acm)
        try:
            value, error = pin.run(holder.enter, self._timeout, self._name)
            if error is None:
                self._pin, self._holder = pin, holder
                return value
        except BaseException as exc:
            # Interrupted (Ctrl-C) or timed out: if the holder exists it may have
            # entered -- possibly just before the interrupt -- so it is told to exit.
            self._abandon(pin, holder, exc)
            raise
        pin.release()  # __aenter__ failed: no __aexit__, the holder is done
        try:
            raise error
        finally:
            del error

    def __del__(self) -> None:
        # Entered and never exited (a Ctrl-C landing on the very entry of __exit__,
        # or the object dropped mid-block): the holder still waits for its exit. May
        # run in any thread; never raises.
        try:
            pin, holder = self._pin, self._holder
            if pin is not None and holder is not None:
                self._pin = self._holder = None
                error = RuntimeError(f"{self._name} was dropped without being exited")
                self._abandon(pin, holder, error)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def _abandon(self, pin: _LoopPin, holder: _Holder, exc: BaseException) -> None:
        # The sync side stops short (an interrupt, a timeout) at enter or exit: the
        # holder, if it started, exits with ``exc`` on its loop -- no waiting here.
        if holder.started:
            exc_info: _ExcInfo = (type(exc), exc, exc.__traceback__)
            pin.run_later(lambda: holder.exit_quietly(exc_info))  # stops a spare after
        else:
            pin.release()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        pin, holder = self._pin, self._holder
        if pin is None or holder is None:
            raise RuntimeError(f"{self._name} was not entered")
        self._pin = self._holder = None
        try:
            suppress, error = pin.run(
                lambda: holder.exit((exc_type, exc, tb)), self._timeout, self._name
            )
        except BaseException as interrupted:
            self._abandon(pin, holder, interrupted)
            raise
        pin.release()
        if error is None:
            return suppress
        if error is exc:
            # __aexit__ re-raised the block's exception: not suppressed. Returning
            # False lets Python re-raise it, with its own traceback.
            error.__traceback__ = tb
            return False
        try:
            raise error
        finally:
            del error


def sync_cm(
    acm: AbstractAsyncContextManager[T], /, *, timeout: float | None = None
) -> AbstractContextManager[T]:
    """Use an async context manager with ``with`` in sync code.

    ``with sync_cm(session.begin()) as tx: ...``: ``__aenter__`` and ``__aexit__`` run
    on one event loop -- the loop that offloaded the calling thread, if synchronaut
    did (loop affinity), else the background loop -- in one task of their own (so
    context managers holding a cancel scope, task group or nursery work), each within
    ``timeout`` seconds (:class:`CallAnyTimeout`). The calling thread blocks meanwhile.
    An exception raised in the block reaches ``__aexit__`` with its traceback, and a
    truthy return from ``__aexit__`` suppresses it, as with ``async with``. ContextVar
    changes made by ``__aenter__``/``__aexit__`` are visible in the block and after it.

    Raises ``TypeError`` if ``acm`` is not an async context manager and ``ValueError``
    for a bad ``timeout``, before anything runs. The returned object is single-use.
    """
    if timeout is not None:
        _check_timeout(timeout)
    kind = type(acm)
    if not (hasattr(kind, "__aenter__") and hasattr(kind, "__aexit__")):
        raise TypeError(
            f"sync_cm() needs an async context manager (with __aenter__ and __aexit__), "
            f"got {acm!r} ({kind.__name__})"
        )
    return _BlockingContextManager(acm, timeout)
