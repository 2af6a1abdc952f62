"""Event loops in threads of their own: the shared background loop, and spares.

The background loop serves sync code that calls async functions: it is started
lazily by the first such call (never at import), runs in one daemon thread named
``synchronaut-loop``, uses uvloop when it is importable (through a loop factory: the
global event-loop policy is never touched), is replaced in a child after
``os.fork()``, and is shut down cleanly at interpreter exit or by ``shutdown()``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from ._at_exit import _threads_refused
from ._fork import _ensure_fork_hook
from ._validate import _check_seconds, _wait_limit
from ._waits import _blocked, _closes_cycle

__all__ = ["shutdown"]

_logger = logging.getLogger("synchronaut")

#: Seconds that shutdown gives cancelled tasks to run their ``finally`` blocks.
_CANCEL_GRACE = 2.0

_loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None


def _get_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's ``new_event_loop`` when importable (unless SYNCHRONAUT_LOOP=asyncio)."""
    factory = _loop_factory
    if factory is None:
        # Decided once. uvloop is imported in a thread of its own, where no signal
        # lands: a Ctrl-C inside the import system would leave it half done (and a
        # file unclosed, warned about later).
        importer = threading.Thread(
            target=_choose_loop_factory, name="synchronaut-import", daemon=True
        )
        try:
            importer.start()
        except RuntimeError as exc:
            if not _threads_refused(exc):
                raise
            # An atexit hook on Python 3.12, which starts no more threads: decided on
            # this (the main) thread, where the exit-time loop will run anyway.
            _choose_loop_factory()
        else:
            importer.join()
        factory = _loop_factory
        assert factory is not None
    return factory


def _choose_loop_factory() -> None:
    global _loop_factory
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if os.environ.get("SYNCHRONAUT_LOOP", "").lower() != "asyncio":
        try:
            import uvloop  # pyright: ignore[reportMissingImports]
        except ImportError:
            pass
        except Exception as exc:  # installed but broken: say so, and use asyncio's loop
            if isinstance(exc, RuntimeError) and getattr(threading, "_SHUTTING_DOWN", False):
                # A first loop made from an atexit hook: uvloop's import needs
                # concurrent.futures.thread, which can no longer register its own exit
                # hook ("can't register atexit after shutdown"). Nothing is broken;
                # asyncio's loop serves the last calls of the process, quietly.
                _logger.debug("synchronaut: uvloop cannot be imported at exit", exc_info=True)
            else:
                _logger.warning(
                    "synchronaut: uvloop failed to import; using asyncio's loop", exc_info=True
                )
        else:
            factory = uvloop.new_event_loop  # pyright: ignore
    _loop_factory = factory


class _LoopThread:
    """An asyncio event loop running forever in a daemon thread it owns.

    A loop host (see ``_hosts``): sync callers hand it coroutines and wait.
    """

    __slots__ = (
        "_failed",
        "_ready",
        "closing",
        "exiting",
        "ident",
        "loop",
        "post",
        "stopped_unexpectedly",
        "thread",
    )

    kind = "asyncio"

    #: The loop and its ``post``: made by the loop's own thread (see ``_main``), set
    #: once ``start()`` has returned.
    loop: asyncio.AbstractEventLoop
    post: Callable[[Callable[[], object]], object]

    def __init__(self, name: str) -> None:
        # Why the loop could not be made (the factory raised), for start() to raise.
        self._failed: BaseException | None = None
        # Set (never cleared) once the loop stops taking new calls: shutdown(), a stop
        # nobody asked for (code running on it called loop.stop()), or retirement of
        # a stuck loop. Calls that reach it and have not started move to a fresh loop.
        self.closing: bool = False
        # True when the loop stopped without shutdown() asking (see _main).
        self.stopped_unexpectedly: bool = False
        # Set when the interpreter is exiting: only daemon threads can still be
        # waiting on this loop then, and they are left parked, not failed (a
        # failure would print from a thread that is about to be frozen).
        self.exiting: bool = False
        self.thread: threading.Thread = threading.Thread(target=self._main, name=name, daemon=True)
        # Set by the loop's thread once its loop runs (or could not be made).
        self._ready = threading.Event()
        # The loop's thread, which runs every callback and task of the loop: set once
        # it runs (plain attributes, read by every call: see _hosts._LoopHost).
        self.ident: int | None = None

    def start(self) -> None:
        """Start the thread; return once its loop runs (``loop`` and ``post`` set).

        Raises what made the loop fail, ``RuntimeError`` if no thread could start, and
        a ``KeyboardInterrupt`` that landed meanwhile (the loop then stops by itself).
        """
        # The loop is made on its own thread, where no signal lands: made here, a
        # Ctrl-C inside the loop's constructor (its self-pipe, its selector) or before
        # the thread owned it left a loop nobody would close, warned about when
        # collected (found by the SIGINT stress test on 3.10).
        try:
            self.thread.start()
            self.ident = self.thread.ident
        except RuntimeError:  # no thread could be started (a limit, interpreter exit):
            raise  # nothing was made
        except BaseException:
            self._abandon()  # Ctrl-C inside Thread.start(): its thread may be running
            raise
        try:
            self._ready.wait()
        except BaseException:
            self._abandon()
            raise
        failed, self._failed = self._failed, None
        if failed is not None:
            try:
                raise failed
            finally:
                del failed

    def _abandon(self) -> None:
        # Interrupted (Ctrl-C) while its thread starts: nobody will own this loop, so
        # it stops instead of idling in its thread for the life of the process. The
        # thread sees ``closing`` once it has made its loop (see _main); a loop made
        # already is also asked to stop, queued on it: seen once it runs.
        self.closing = True
        loop: asyncio.AbstractEventLoop | None = getattr(self, "loop", None)
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._request_stop)

    def alive(self) -> bool:
        return self.thread.is_alive() and not self.loop.is_closed()

    def _main(self) -> None:
        # Runs on the loop's own thread for its whole life. (Its ident is set here
        # too: start() may have been interrupted before it read it.)
        self.ident = threading.get_ident()
        try:
            loop = _get_loop_factory()()
        except BaseException as exc:  # the factory failed: start() raises it
            self._failed = exc
            self.closing = True
            self._ready.set()
            return
        # Published before ``closing`` is read: a start() interrupted from now on
        # finds the loop (and queues its stop, see _abandon); one interrupted before
        # set ``closing`` first, read just below.
        self.loop = loop
        #: Run a callback on the loop's thread soon (any thread); RuntimeError once
        #: the loop is closed.
        self.post = loop.call_soon_threadsafe
        if self.closing:
            loop.close()  # abandoned while this thread started: nobody owns it
            return
        loop.call_soon(self._ready.set)
        try:
            while True:
                try:
                    loop.run_forever()
                except (KeyboardInterrupt, SystemExit) as exc:
                    # asyncio re-raises these out of run_forever() when a task raises
                    # them. The calls synchronaut starts hand them to their caller
                    # (_blocking._guarded), so this is a task nobody awaits (one a
                    # callee spawned and left running). The loop is shared: it keeps
                    # serving instead of dying with that task.
                    if self.closing:
                        break
                    _logger.warning(
                        "synchronaut: a task on the background loop that nobody awaits "
                        "raised %s; the loop keeps running",
                        type(exc).__name__,
                    )
                    continue
                break
        finally:
            # From here on no call may start on this loop: those that reach it move to
            # a fresh one (_blocking._LoopCall.start), and those running are cancelled
            # by _finish_pending, their callers told why (_LoopCall._finish). A stop
            # nobody asked for (code running on the loop called loop.stop()) is told
            # apart from shutdown() for the message.
            if not self.closing:
                self.stopped_unexpectedly = True
                self.closing = True
            try:
                self._finish_pending()
            finally:
                loop.close()

    def _finish_pending(self) -> None:
        # The loop has stopped: cancel what is left so every coroutine runs its
        # ``finally`` blocks, then close async generators. Bounded, so a task that
        # ignores cancellation cannot hang interpreter exit.
        loop = self.loop
        deadline = time.monotonic() + _CANCEL_GRACE
        swept: set[asyncio.Task[Any]] = set()
        self._sweep(swept, deadline, cancel=True)
        loop.run_until_complete(loop.shutdown_asyncgens())
        # That run also ran callbacks queued meanwhile -- an iterator whose step was
        # refused "closes later" (_pinned.run_later) -- and they may have started
        # tasks: see them finish too, or the loop would close with them pending.
        self._sweep(swept, deadline, cancel=False)
        stuck = [task for task in swept if not task.done()]
        if stuck:
            for task in stuck:
                task.cancel()
            _logger.warning(
                "synchronaut: %d task(s) did not finish within %ss of the loop's shutdown: %r",
                len(stuck),
                _CANCEL_GRACE,
                stuck,
            )
        for task in swept:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved"
        executor: Any = getattr(loop, "_default_executor", None)
        if executor is not None:
            # Not loop.shutdown_default_executor(): it joins the threads, which can
            # hang exit on a stuck call.
            executor.shutdown(wait=False)

    def _sweep(self, swept: set[asyncio.Task[Any]], deadline: float, cancel: bool) -> None:
        # Again and again until no new task appears: the cancelled tasks' cleanup, and
        # callbacks still queued, can start new tasks. Only the first round of the
        # first sweep cancels (``cancel``): later tasks are that cleanup, given the
        # rest of the grace. Adds every task seen to ``swept``.
        loop = self.loop
        while True:
            tasks = {task for task in asyncio.all_tasks(loop) if not task.done()} - swept
            if not tasks:
                return
            if cancel:
                cancel = False
                for task in tasks:
                    task.cancel()
            swept |= tasks
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            loop.run_until_complete(asyncio.wait(tasks, timeout=remaining))

    def _stop_when_idle(self) -> None:
        # On the loop thread, once a retired loop turns again: let the tasks it still
        # runs finish (their callers wait for them), then stop; _finish_pending then
        # cancels whatever they left behind.
        tasks = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
        if not tasks:
            self.loop.stop()
            return
        waiter = self.loop.create_task(asyncio.wait(tasks))
        waiter.add_done_callback(lambda _: self.loop.stop())

    def _request_stop(self) -> None:
        # On the loop thread: marks the calls still running as stopped by shutdown.
        self.closing = True
        self.loop.stop()

    def stop(self, timeout: float | None) -> bool:
        """Stop the loop from any thread; wait up to ``timeout`` (None: no limit) for it.

        True once its thread has ended. Never waits for a thread that waits, directly
        or through others, on this one (its own thread included): the loop stops as
        soon as that wait lets it turn.
        """
        self.closing = True
        loop: asyncio.AbstractEventLoop | None = getattr(self, "loop", None)
        if loop is None:
            return not self.thread.is_alive()  # never made (its thread did not start)
        with contextlib.suppress(RuntimeError):  # already closed
            loop.call_soon_threadsafe(self._request_stop)
        parked = _blocked.get(self.thread.ident)  # type: ignore[arg-type]
        if parked is not None:
            # The loop's thread is blocked in a blocking call a coroutine of it made:
            # it cannot turn to see the stop. Cancel that call (the coroutine gets
            # CallCancelled there, as it would be cancelled anyway).
            parked.cancel_from_caller("synchronaut's event loop is shutting down")
        if _closes_cycle(self.thread.ident):
            return False
        with contextlib.suppress(RuntimeError):  # its start failed: nothing to wait for
            self.thread.join(timeout)
        return not self.thread.is_alive()


_lock = threading.Lock()
_background: _LoopThread | None = None
_atexit_registered = False
# Set by the atexit hook: the interpreter is exiting (see _park_if_exiting).
_exiting = False
# Loops abandoned by a fork: kept referenced so the child never finalizes (or
# closes) selector state it shares with the parent.
_forked_away: list[_LoopThread] = []


def _get_background() -> _LoopThread:
    """The running background loop, started on first use (any thread may call)."""
    bg = _background
    if bg is not None and not bg.closing and not bg.loop.is_closed():
        return bg
    return _start_background()


def _start_background() -> _LoopThread:
    global _background, _atexit_registered
    _park_if_exiting()
    with _lock:
        bg = _background
        if bg is not None and not bg.closing and not bg.loop.is_closed():
            return bg
        bg = _LoopThread("synchronaut-loop")
        try:
            bg.start()
            _background = bg
        except BaseException:
            # A Ctrl-C right after start() returned (start() stops the loop itself when
            # interrupted inside): the running loop would idle, unowned, forever.
            if _background is not bg:
                bg._abandon()
            raise
        _ensure_fork_hook()
        if not _atexit_registered:
            _atexit_registered = True
            atexit.register(_shutdown_at_exit)
        return bg


def _retire_stuck(host: object) -> bool:
    """Stop sending calls to ``host``, a background loop found stuck; True if it was.

    Called by a blocked caller (any thread) whose timeout the loop has not enforced
    long after it expired: something blocks the loop's thread (a coroutine calling
    ``time.sleep`` or a blocking read). The next call starts a fresh loop; calls
    queued on the stuck one and not started yet move there too (their callers notice
    ``closing``, see ``_blocking._serve_until_done``). The stuck loop's thread is a
    daemon: if it ever turns again it finishes what it runs, then stops itself.
    """
    global _background
    with _lock:
        if _background is not host or not isinstance(host, _LoopThread):
            return False
        _background = None
        host.closing = True
    with contextlib.suppress(RuntimeError):  # closed meanwhile
        host.loop.call_soon_threadsafe(host._stop_when_idle)
    return True


def _start_spare() -> _LoopThread:
    """A loop in a new thread of its own, for work no existing loop can take.

    Used when the loop a sync caller would wait on is itself blocked waiting on
    that caller (see ``_placement``). The caller stops it when done.
    """
    spare = _LoopThread("synchronaut-nested-loop")
    try:
        spare.start()
    except BaseException:
        spare._abandon()  # (as in _start_background)
        raise
    return spare


def shutdown(timeout: float | None = 5.0) -> None:
    """Stop the background loop; the next sync-to-async call starts a new one.

    Coroutines still running on it are cancelled (their ``finally`` blocks run, given
    up to a couple of seconds), and sync callers still waiting on them get a
    ``RuntimeError`` saying the loop was shut down. Waits up to ``timeout`` seconds for
    the loop's thread to end (returns at once when called on that thread itself, or
    from code the loop's thread is waiting for).
    Safe to call at any time, from any thread, any number of times. Raises
    ``TypeError``/``ValueError`` for a ``timeout`` that is not ``None`` or a number
    of seconds >= 0.
    """
    global _background
    if timeout is not None:
        _check_seconds(timeout, zero_ok=True, infinite_ok=True)
    limit = _wait_limit(timeout)
    bg: _LoopThread | None = None
    try:
        with _lock:
            bg, _background = _background, None
        if bg is not None:
            bg.stop(limit)
    except BaseException:
        # A Ctrl-C once the loop was taken out, before stop() asked it to stop (or
        # while it waits): asked now, without waiting -- else it would idle, unowned,
        # for the life of the process (found by the loop-start interrupt sweep).
        if bg is not None:
            bg._abandon()
        raise


def _park_if_exiting() -> None:
    """Block forever if the interpreter is exiting and this is not the main thread.

    atexit hooks run after the interpreter has joined every non-daemon thread, so a
    call arriving after ours ran comes from a daemon thread that finalization is
    about to freeze. Failing it would print a traceback from that thread, and
    starting a new loop for it would start a thread during finalization (an error on
    3.12+): it waits instead, as it would on a loop that never answers. The main
    thread (another atexit hook) still gets a working loop.
    """
    if _exiting and threading.current_thread() is not threading.main_thread():
        threading.Event().wait()


def _shutdown_at_exit() -> None:
    global _exiting
    _exiting = True
    bg = _background
    if bg is not None:
        bg.exiting = True
    try:
        shutdown(timeout=_CANCEL_GRACE + 1.0)
    except Exception:  # pragma: no cover - never let exit fail on our account
        _logger.exception("synchronaut: error while stopping the background loop at exit")


def _forget_after_fork() -> None:
    global _background, _lock
    _lock = threading.Lock()
    if _background is not None:
        _forked_away.append(_background)
        _background = None
