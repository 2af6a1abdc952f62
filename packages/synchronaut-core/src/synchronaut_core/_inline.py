"""Inline mode: sync code run in a greenlet on the event loop's own thread.

``await call_any(sync_fn, inline=True)`` runs ``sync_fn`` in a greenlet that the
awaiting task drives (``_drive``). While the greenlet runs, the thread looks like
plain sync code to synchronaut and to the C accelerator alike: the running asyncio
loop is hidden (as by ``asyncio._set_running_loop(None)``: ``_hide_loop``) and Trio's
sniffio name is cleared, so every bridge call takes its sync-code path. Where that path would block
the thread for a coroutine (``_blocking._block_on_coroutine``), for an offloaded
call (``_call_in_executor_blocking``) or for a step of an async object
(``_pinned._InlinePin``), it asks ``_suspend`` instead: the greenlet switches back
to the driving task with the coroutine, the task awaits it -- on its own loop, with
its own ContextVars, under its own cancel scopes -- and switches back in with the
value or the exception. Inline code is the code its greenlet runs: a pooled greenlet
(``_Green``) names the inline call it runs, so ``_running_inline()`` -- the call whose
greenlet is the current one -- is right at every instant with nothing to set or reset
at the switches (code in any other greenlet, the driving task included, is not inline).
Greenlets are pooled per thread (``_work``): starting a new one costs ten switches.

greenlet is optional (the ``inline`` extra) and imported only when inline mode is
first asked for (``_require_greenlet``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Generator
from types import CoroutineType, TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import _accelerator, _backends
from ._backends import _require_backend
from ._detect import (
    _COROUTINE_TYPES,
    _await,
    _close_if_unstarted,
    _func_name,
    _is_coroutine_type,
)
from ._thread_state import _state
from ._validate import _check_seconds

if TYPE_CHECKING:
    from ._backends import _Backend

__all__ = ["get_inline_blocking_threshold", "set_inline_blocking_threshold"]

_logger = logging.getLogger("synchronaut")
_set_running_loop = asyncio._set_running_loop  # pyright: ignore[reportPrivateUsage]
_get_running_loop = asyncio._get_running_loop  # pyright: ignore[reportPrivateUsage]
_current_task = asyncio.current_task
#: asyncio runs a task's first step inside the call that creates it (eager tasks, 3.12+):
#: inline code creating one on its loop runs that step in its greenlet, with the task
#: made the loop's current one (see _drive's check).
_EAGER_TASKS = sys.version_info >= (3, 12)
#: _drive's ``task`` where no other task can be current at a handover (Trio, asyncio
#: before 3.12): no check. Not None: a driver stepped outside any task (its coroutine
#: sent to by hand from a loop callback) expects None current at each handover.
_NO_TASK_CHECK = False


def _hide_loop_py(loop: object) -> None:
    """Hide this thread's running loop ``loop`` (inline code is sync code); a token."""
    _set_running_loop(None)


def _show_loop_py(token: object, loop: asyncio.AbstractEventLoop) -> None:
    """Undo ``_hide_loop(loop)`` (``token``: what it returned): ``loop`` runs here again."""
    _set_running_loop(loop)


def _switch_in_py(
    switch: Callable[[Any], Any],
    arg: Any,
    loop: asyncio.AbstractEventLoop,
    inline: _Inline,
    threshold: float | None,
) -> Any:
    """In the driving task, on asyncio: ``switch(arg)`` into the inline greenlet; what
    it hands back when it suspends or ends.

    Meanwhile the running ``loop`` is hidden: the greenlet runs on this thread as sync
    code, for our Python code and the C accelerator alike. Hidden inside the ``try``
    and shown again first thing in ``finally``, so that a Ctrl-C landing anywhere here
    cannot leave this thread loop-less (a token lost to it only makes the restore take
    asyncio's own call). A stretch longer than ``threshold`` is reported (the blocking
    guard), whatever ended it.
    """
    started = _perf_counter()
    token = None
    try:
        token = _hide_loop(loop)
        return switch(arg)
    finally:
        _show_loop(token, loop)
        elapsed = _perf_counter() - started
        if threshold is not None and elapsed > threshold:
            inline.report(elapsed)


# The one place that decides how the driving task switches in (every inner bridge call
# of asyncio inline code comes back this way): the C accelerator's ``inline_switch`` does
# what ``_switch_in_py`` does, keeping asyncio's record of the running loop and swapping
# the loop in it (on 3.10/3.11 asyncio's own call allocates a record and asks the kernel
# for the process id each time) and reading the clock without making float objects.
# With it, the driving task's awaits go through one ``InlineChain`` per call
# (``await chain.follow(request)`` is ``await request``, and when the request returns
# it switches the value in and awaits the next request itself: see _drive), so that an
# inner bridge call runs no Python code of the driver; its blocking guard reads the
# threshold the setter mirrors into the accelerator.
if _accelerator._speedups is not None:
    _hide_loop: Callable[[Any], Any] = _accelerator._speedups.hide_running_loop
    _show_loop: Callable[[Any, Any], Any] = _accelerator._speedups.show_running_loop
    _switch_in: Callable[..., Any] = _accelerator._speedups.inline_switch
    _chain: Any = _accelerator._speedups.InlineChain
    _mirror_threshold: Callable[[float | None], None] | None = (
        _accelerator._speedups.set_inline_threshold
    )
else:
    _hide_loop = _hide_loop_py
    _show_loop = _show_loop_py
    _switch_in = _switch_in_py
    _chain = None
    _mirror_threshold = None
_perf_counter = time.perf_counter
_modules = sys.modules

T = TypeVar("T")

#: The class of pooled inline greenlets (``_Green``, a greenlet subclass) and
#: ``greenlet.getcurrent``, once inline mode was first asked for.
_greenlet: Any = None
_getcurrent: Any = None

#: Inline code running longer than this between two bridge calls is reported (seconds;
#: None: never). See ``set_inline_blocking_threshold``.
_threshold: float | None = 0.1
if _mirror_threshold is not None:
    # The default lives here alone; the accelerator's InlineChain reads its copy.
    _mirror_threshold(_threshold)


def _require_greenlet() -> None:
    """Import greenlet for inline mode (once); ImportError naming the extra if absent."""
    global _greenlet, _getcurrent, _greenlet_exit
    if _greenlet is not None:
        return
    try:
        import greenlet
    except ImportError as exc:
        raise ImportError(
            "inline=True runs sync code in a greenlet on the event loop's thread and needs "
            "the 'greenlet' package: pip install 'synchronaut-core[inline]' (or "
            "'synchronaut[inline]')"
        ) from exc

    class _Green(greenlet.greenlet):  # pyright: ignore[reportUntypedBaseClass]
        """A pooled greenlet of this thread's inline calls; ``inline`` is the call it
        runs (set by its driver before the call starts, None while idle; set as soon as
        the greenlet is made, by _take_greenlet). A slot, read at every inner bridge
        call: no instance-dict lookup."""

        __slots__ = ("inline",)
        inline: _Inline | None

    _getcurrent = greenlet.getcurrent
    _greenlet_exit = greenlet.GreenletExit
    _greenlet = _Green


def _inline_waiter(name: str) -> _Inline | None:
    """For a bridge call ``name`` that waits: the inline call whose task is to await it.

    The call whose greenlet runs this thread (its driving task awaits what the bridge
    call waits for), or None in plain sync code and under a loop that runs here (one
    that inline code runs itself is not hidden: its calls block as any). Raises
    RuntimeError in a greenlet that inline code started itself: this thread is that
    inline call's event-loop thread, its loop hidden and stopped while inline code
    runs, so blocking here would stop the loop the wait may need (an event another
    task sets, a loop-bound client) -- and the driving task cannot resume a greenlet
    it does not drive.
    """
    if _getcurrent is None:
        return None  # inline mode never used: no inline call can be running
    current = _getcurrent()
    if _backends._current_backend() is not None:
        return None
    if type(current) is _greenlet and current.inline is not None:
        return current.inline
    ancestor = current.parent
    while ancestor is not None:
        started_by = ancestor.inline if type(ancestor) is _greenlet else None
        # Only while that call's loop runs (its run is on this thread's stack, hidden):
        # a greenlet it started, resumed from plain code after the loop stopped
        # (run_until_complete returned with the call still pending), blocks no loop --
        # it is plain sync code. (Trio cannot leave a call pending after its run.)
        if started_by is not None and (started_by.loop is None or started_by.loop.is_running()):
            raise RuntimeError(
                f"{name} waits, in a greenlet that inline code of {started_by.name} "
                "started: its wait would block the event loop of that inline call (this "
                "thread), which it may need; make bridge calls from the inline code "
                "itself, or run greenlet-based code without inline=True"
            )
        ancestor = ancestor.parent
    return None


def _running_inline() -> _Inline | None:
    """The inline call whose greenlet runs this thread right now, or None.

    None in any other greenlet (the driving task's, one that inline code started
    itself) and before inline mode was first used. Callers check that no loop runs
    here either: a loop that inline code itself runs is not hidden, and its tasks'
    calls are not inline.
    """
    if _getcurrent is None:
        return None
    current = _getcurrent()
    return current.inline if type(current) is _greenlet else None


def set_inline_blocking_threshold(seconds: float | None) -> float | None:
    """Set when inline code is reported for blocking the event loop; return the old value.

    Inline code (``inline=True``) runs on the event loop's own thread: between two
    bridge calls nothing else on that loop runs. When such a stretch lasts longer
    than ``seconds`` (default 0.1), a warning naming the function is logged on the
    ``synchronaut`` logger once the stretch ends (plain Python cannot be interrupted
    meanwhile). ``None`` turns the report off. Applies process-wide, from the next
    stretch on. Raises ``TypeError``/``ValueError`` unless ``seconds`` is None or a
    positive, finite number.
    """
    global _threshold
    if seconds is not None:
        _check_seconds(seconds, "seconds")
    if _mirror_threshold is not None:
        _mirror_threshold(seconds)
    previous, _threshold = _threshold, seconds
    return previous


def get_inline_blocking_threshold() -> float | None:
    """The current threshold of the inline blocking report (see the setter); None: off."""
    return _threshold


class _Inline:
    """One inline call in progress: the task that drives its greenlet, on one loop.

    Made and used on the loop's thread only. ``loop`` is the asyncio loop to unset
    while the greenlet runs (None under Trio, where ``local`` -- sniffio's thread
    state -- is cleared instead); ``back`` switches from the greenlet to the task.
    The function's name for messages is made only if one is needed.
    """

    __slots__ = ("_name", "back", "backend", "func", "local", "loop", "outcome")

    def __init__(
        self,
        backend: _Backend,
        func: Callable[..., Any],
        name: str | None,
        back: Callable[[Any], Any],
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self.backend = backend
        self.func = func
        self._name = name
        self.back = back
        self.loop = loop
        self.local: Any = None if loop is not None else _modules["sniffio"].thread_local
        #: ``(value, exception)`` once the call is done.
        self.outcome: tuple[Any, BaseException | None] = (None, None)

    @property
    def name(self) -> str:
        """The inline function's name, as messages give it."""
        name = self._name
        if name is None:
            name = self._name = _func_name(self.func)
        return name

    def resume(self, op: Callable[..., Any], *args: Any) -> Any:
        """In the driving task: run the greenlet (``op``: its switch or throw) until it
        suspends or ends, looking like plain sync code meanwhile; what it gave back."""
        loop = self.loop
        local = self.local
        name = None if local is None else local.name
        started = _perf_counter()
        token = None
        # As in _switch_in_py (asyncio's switches without an exception to throw take
        # that one): no running loop, no Trio while the greenlet runs, hidden inside the
        # ``try`` and restored first thing in ``finally``, so that a Ctrl-C landing
        # anywhere here cannot leave this thread loop-less (or Trio-less).
        try:
            if loop is not None:
                token = _hide_loop(loop)
            else:
                local.name = None
            return op(*args)
        finally:
            if loop is not None:
                _show_loop(token, loop)
            else:
                local.name = name
            elapsed = _perf_counter() - started
            if _threshold is not None and elapsed > _threshold:
                self.report(elapsed)

    def report(self, elapsed: float) -> None:
        """The blocking report: the greenlet ran ``elapsed`` seconds without suspending."""
        _logger.warning(
            "synchronaut: inline code of %s ran %.3f s without a bridge call, blocking its "
            "event loop all that time; offload blocking work (call_any(fn, "
            "force_offload=True)) or run %s without inline=True",
            self.name,
            elapsed,
            self.name,
        )


#: Idle greenlets kept per thread for the next inline calls (starting a new greenlet
#: allocates its own frame stack: ten times the cost of a switch).
_MAX_IDLE = 32
#: What a pooled greenlet gives its driver when the call is done (the outcome is on
#: the ``_Inline``). Anything else it gives is a coroutine to await.
_DONE = object()

_Job = tuple["_Inline", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def _work(box: list[_Job]) -> None:
    """The run function of a pooled greenlet: inline calls, one after another.

    Runs on the loop's thread, always switched to by a driver (its parent for the
    job). The outcome goes back on the call's ``_Inline``, as a value: an exception
    raised here would end the greenlet, which is then no use for the next call. Idle,
    it holds nothing of the calls it ran (no local is left bound). Each job comes in a
    one-item list that is emptied here: greenlet keeps the arguments of a greenlet's
    first switch (those of ``_work`` itself) for as long as it lives, which would keep
    the first call's function, arguments and outcome alive with the pooled greenlet.
    """
    while True:
        inline, func, args, kwargs = box.pop()
        del box
        try:
            inline.outcome = (func(*args, **kwargs), None)
        except BaseException as exc:
            inline.outcome = (None, exc)
        del inline, func, args, kwargs
        try:
            box = _getcurrent().parent.switch(_DONE)
        except _greenlet_exit:  # dropped from the pool, or the thread ends
            return


#: greenlet.GreenletExit, once greenlet is imported.
_greenlet_exit: Any = None


def _take_greenlet(parent: Any, inline: _Inline) -> Any:
    """An idle greenlet of this thread's pool (or a new one) whose parent is ``parent``,
    running ``inline`` from now on."""
    idle = _state.greenlets
    if idle:
        green = idle.pop()
        green.parent = parent
    else:
        green = _greenlet(_work, parent)
    green.inline = inline
    return green


def _give_back(green: Any) -> None:
    idle = _state.greenlets
    if idle is None:
        idle = _state.greenlets = []
    green.inline = None
    if len(idle) < _MAX_IDLE:
        green.gr_context = None  # keeps no context of the finished call alive
        idle.append(green)


async def _drive(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    backend: _Backend,
    name: str | None,
) -> Any:
    """Run ``func(*args, **kwargs)`` inline, in the awaiting task; its value.

    ``name``: the function's name for messages (None: made from ``func`` if needed).

    The greenlet shares this task's context object (not a copy): ContextVar changes
    made inline are the task's, as with a direct call, and the coroutines it awaits
    here see the inline code's. Each coroutine the greenlet hands over is awaited
    here, in this task; whatever interrupts the await (a cancellation, a timeout of
    ours, Ctrl-C) is thrown into the greenlet where it waits, so the inline code's
    ``finally`` blocks run, and comes back out here if it is not handled.
    """
    current = _getcurrent()
    loop = _get_running_loop()
    inline = _Inline(backend, func, name, current.switch, loop)
    green = _take_greenlet(current, inline)
    context = green.gr_context = current.gr_context
    switch = green.switch
    coroutine, switch_in = CoroutineType, _switch_in
    throw = green.throw
    # The task whose step this is (None: stepped outside any task), where another one
    # may be current when the greenlet hands a coroutine over (an eager task's first
    # step, run by inline code): _NO_TASK_CHECK where none can (Trio, asyncio < 3.12).
    task = _current_task(loop) if _EAGER_TASKS and loop is not None else _NO_TASK_CHECK
    # The C accelerator's awaits of this call (None: ``await request`` here).
    chain = (
        None if _chain is None else _chain(switch, loop, inline.local, inline, green, context, task)
    )
    op: Any = switch
    arg: Any = [(inline, func, args, kwargs)]  # see _work
    request: Any = None
    while True:  # the outer loop turns only after an interrupt (see its except)
        try:
            while True:
                if op is throw:  # with its traceback: the inline code sees where it came from
                    request = inline.resume(throw, type(arg), arg, arg.__traceback__)
                elif op is None:
                    pass  # the chain switched in already: ``request`` is what came back
                elif loop is None:
                    request = inline.resume(switch, arg)
                else:
                    # inline.resume(switch, value) for asyncio, in one call.
                    request = switch_in(switch, arg, loop, inline, _threshold)
                if type(request) is not coroutine:
                    if request is _DONE:
                        break  # the call is over: its outcome is on ``inline``
                    # Inline code switched to this greenlet itself (greenlet.getcurrent()
                    # .parent.switch(x)): not a bridge call. Taken for the end of the
                    # call, the greenlet -- still in the middle of it -- would go back to
                    # the pool and the next call would resume it instead of starting.
                    # Refused where it switched.
                    op, arg = throw, _foreign_switch(inline, request)
                    continue
                if task is not _NO_TASK_CHECK and _current_task(loop) is not task:
                    # Handed over in the middle of another task's step: an eager task
                    # that inline code created, whose first step (run right there, in
                    # this greenlet, with that task current) made a bridge call. Awaited
                    # here, it would leave this task's step with that one current, and
                    # asyncio would never run this task again (a hang). Refused there.
                    _close_unstarted(request)
                    op, arg = throw, _foreign_task(inline, _current_task(loop))
                    continue
                try:
                    if green.gr_context is not context:
                        # The inline code waits inside a Context.run() of its own: the
                        # coroutine runs in that context, as a bridge call from plain
                        # sync code does.
                        arg = await _InContext(request, green.gr_context, current)
                        op = switch
                    elif chain is None:
                        arg = await request
                        op = switch
                    else:
                        # ``await request``, then switched in and on while the greenlet
                        # hands back plain coroutines: what it hands back otherwise.
                        request = await chain.follow(request)
                        op = None
                except GeneratorExit:
                    _close_greenlet(inline, green, _awaited(chain, request))
                    raise
                except BaseException as exc:
                    if chain is not None and chain.in_switch:
                        raise  # the chain's switch raised it: as from our own (below)
                    # Interrupted before the await took it (or the coroutine raised).
                    _close_unstarted(_awaited(chain, request))
                    op, arg = throw, exc
                    del exc
            break
        except GeneratorExit:
            raise  # this driver is being closed: _close_greenlet ended the call
        except BaseException as exc:
            if not green:
                raise  # the greenlet never started, or it ended: nothing waits in it
            # An interrupt (Ctrl-C) landed in this loop -- around a switch, on its back
            # edge -- while the inline code waits at a bridge call (or has just handed
            # one over): raised there instead, so its finally blocks run and the
            # coroutine it handed over is closed -- never left suspended in a greenlet
            # nobody resumes.
            op, arg = throw, exc
            del exc
    # The last thing thrown into the greenlet (a coroutine's error the inline code
    # caught, say) is no longer needed: held here, its traceback -- which holds this
    # frame -- would make a cycle with it (exception -> traceback -> this frame ->
    # ``arg``), left to the cycle collector once the call returns.
    arg = request = None
    _give_back(green)
    value, error = inline.outcome
    if error is None:
        kind = type(value)
        if kind is not CoroutineType and (
            _COROUTINE_TYPES.get(kind) is False or not _is_coroutine_type(kind)
        ):
            return value
        # A def that returned a coroutine (``lambda: fetch(x)``, aiosqlite's
        # ``db.execute(...)``): awaited here, in this task, as an offloaded call's is --
        # the README's promise for every sync callable, never handed back un-awaited.
        del inline
        return await (value if kind is CoroutineType else _await(value))
    inline.outcome = None
    try:
        raise error
    finally:
        del error


def _awaited(chain: Any, request: Any) -> Any:
    """The coroutine the driver awaits now: the chain's while it awaits one, else the
    last one the driver got (the chain's await has returned, or was never entered)."""
    if chain is not None:
        current = chain.request
        if current is not None:
            return current
    return request


def _foreign_task(inline: _Inline, other: Any) -> RuntimeError:
    return RuntimeError(
        f"a bridge call was made inside a step of {other!r}, which inline code of "
        f"{inline.name} started (an eager task: its first step runs where it is created): "
        "it cannot wait there -- the task driving the inline code would have to leave its "
        "own step with that task current; create the task from async code, or run its "
        "first step later (loop.call_soon)"
    )


def _foreign_switch(inline: _Inline, value: Any) -> RuntimeError:
    return RuntimeError(
        f"inline code of {inline.name} switched to the greenlet driving it with "
        f"{type(value).__name__} value {value!r:.80}: inline code runs in a greenlet "
        "synchronaut drives, and must leave switching to the bridge calls (call_any of "
        "an async function awaits it in the task); run greenlet-based code without "
        "inline=True"
    )


class _InContext:
    """Await ``coro`` in the driving task with ``context`` current at each step.

    For inline code that waits at a bridge call inside a ``Context.run()`` (a copy of
    its own): its coroutine must see, and change, that context -- not the task's. The
    context is already entered (in the greenlet), so it cannot be entered again; as
    greenlet itself does at a switch, it is made the thread's current context for the
    step by setting the running greenlet's ``gr_context``, and the task's is put back
    before the step returns to the event loop.
    """

    __slots__ = ("context", "coro", "me")

    def __init__(self, coro: Any, context: Any, me: Any) -> None:
        self.coro = coro
        self.context = context
        self.me = me

    def __await__(self) -> _InContext:
        return self

    def __iter__(self) -> _InContext:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def _step(self, op: Callable[..., Any], *args: Any) -> Any:
        me = self.me
        outer = me.gr_context
        try:
            # Inside the ``try``: an interrupt landing right after the swap still has the
            # task's context put back (found by fault injection).
            me.gr_context = self.context
            return op(*args)
        finally:
            me.gr_context = outer

    def send(self, value: Any) -> Any:
        return self._step(self.coro.send, value)

    def throw(self, *exc: Any) -> Any:
        return self._step(self.coro.throw, *exc)

    def close(self) -> None:
        self._step(self.coro.close)


def _close_greenlet(inline: _Inline, green: Any, request: Any) -> None:
    """This driver is being closed (its task destroyed): end the call without awaiting.

    GeneratorExit is thrown in where the inline code waits, so its ``finally`` blocks
    run; bridge calls it makes meanwhile cannot be awaited any more and raise
    RuntimeError (their coroutines are closed, never left un-awaited).
    """
    _close_unstarted(request)
    # Closed wherever the driver is dropped: in its task on its loop, or by the garbage
    # collector anywhere on this thread -- after its loop stopped (a Ctrl-C out of
    # run_until_complete), or while another loop runs. Around each switch the loop
    # running *here* is hidden and shown again: showing the call's own loop would leave
    # it set as this thread's running loop once it stopped (asyncio.run then refuses to
    # start: "another loop is running"), or put it in the place of the other loop.
    running = _get_running_loop() if inline.loop is not None else inline.loop
    request = _closing_switch(inline, running, green.throw, GeneratorExit)
    for _ in range(100):
        if type(request) is not CoroutineType:
            return  # the call is over (the greenlet is not reused: dropped here)
        _close_unstarted(request)
        request = _closing_switch(
            inline,
            running,
            green.throw,
            RuntimeError(f"inline call of {inline.name} is being closed: cannot await now"),
        )


def _closing_switch(
    inline: _Inline, running: asyncio.AbstractEventLoop | None, op: Callable[..., Any], *args: Any
) -> Any:
    """``inline.resume(op, *args)`` for ``_close_greenlet``, with ``running`` (the loop
    running here as the closing began, if any) hidden and shown instead of the call's."""
    if inline.loop is None or running is inline.loop:
        # Trio (resume restores the sniffio name it found), or on the call's own loop.
        return inline.resume(op, *args)
    token = None
    try:  # as in resume: shown again whatever interrupts the switch
        if running is not None:
            token = _hide_loop(running)
        return op(*args)
    finally:
        if running is not None:
            _show_loop(token, running)


def _close_unstarted(coro: Any) -> None:
    """Close a handed-over coroutine that never started (no "never awaited" warning)."""
    if type(coro) is CoroutineType:
        _close_if_unstarted(coro)  # pyright: ignore[reportUnknownArgumentType]


def _suspend(inline: _Inline, coro: Coroutine[Any, Any, Any]) -> Any:
    """In the inline greenlet: have the driving task await ``coro``; its value.

    Raises what awaiting it raised -- the coroutine's own exception, or the
    cancellation of the task (or of a timeout) that stopped it, which the caller
    should let propagate.
    """
    try:
        return inline.back(coro)
    except BaseException:
        _close_unstarted(coro)  # the switch itself failed: never started
        raise


def _block(
    inline: _Inline,
    coro: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
    timeout: float | None,
    name: str,
) -> Any:
    """``_block_on_coroutine`` in inline code: awaited by the driving task, within ``timeout``."""
    made: Any = coro() if callable(coro) else coro
    timed: Any = None
    try:
        if type(made) is not CoroutineType:
            made = _await(made)
        if timeout is None:
            return _suspend(inline, made)
        timed = inline.backend._with_timeout(made, timeout, name)
        return _suspend(inline, timed)
    except BaseException:
        # Interrupted before the driving task took it (a Ctrl-C on the very entry of
        # _suspend, or the switch failed): closed, never left un-awaited. One the task
        # ran is finished and left alone; so is this one if the wrapper ran.
        _close_unstarted(timed)
        _close_unstarted(made)
        raise


def _offload(
    inline: _Inline,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    executor: Any,
    name: str,
) -> Any:
    """A sync call sent to a thread from inline code: the driving task awaits it.

    The loop keeps serving meanwhile (this is what ``force_offload=True`` is for in
    inline code); loop affinity sends the coroutines it makes back to this loop.
    """
    waiting = inline.backend._offload(func, args, kwargs, timeout, executor, name)
    try:
        return _suspend(inline, waiting)
    except BaseException:
        _close_unstarted(waiting)  # interrupted on _suspend's entry: never started
        raise


def _enter(func: Callable[..., Any], args: tuple[Any, ...], name: str) -> Coroutine[Any, Any, Any]:
    """The C call_any's route for ``call_any(def_fn, *args, inline=True)`` inside asyncio.

    What ``_call._dispatch`` gives for that call (the C path has checked that
    ``def_fn`` is a plain sync, non-generator function not marked async, that an
    asyncio loop runs this thread and that no other option or keyword is given).
    ``name`` is ``def_fn.__name__`` at the call, as ``_dispatch`` takes it (a name read
    later, when a message needs it, would follow a function that renames itself).
    """
    return _drive(func, args, {}, _backends._asyncio_impl or _backends._load_asyncio(), name)


def _run(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    backend: _Backend,
    name: str,
) -> Coroutine[Any, Any, Any]:
    """The awaitable of an inline call made in async code (options already checked)."""
    coro = _drive(func, args, kwargs, backend, name)
    return coro if timeout is None else backend._with_timeout(coro, timeout, name)


_NEXT, _SEND, _THROW, _CLOSE = 0, 1, 2, 3
_EXHAUSTED = object()


def _step(gen: Generator[Any, Any, Any], op: int, arg: Any) -> Any:
    # In the inline greenlet: one step of the generator, its item boxed.
    try:
        if op == _NEXT:
            return (next(gen),)
        if op == _SEND:
            return (gen.send(arg),)
        if op == _THROW:
            return (gen.throw(arg),)
        gen.close()
    except StopIteration:
        pass
    return _EXHAUSTED


async def _pump(
    gen: Generator[T, Any, Any], timeout: float | None, name: str
) -> AsyncGenerator[T, Any]:
    """The native async generator behind an ``InlineIterator``: each step of ``gen`` inline.

    Native, so that what the event loop does for an abandoned async generator is done
    for this one too: asyncio (its loop's ``shutdown_asyncgens`` and its finalizer
    hook) and Trio close it in a task of theirs, where the ``GeneratorExit`` below
    closes ``gen`` inline and its ``finally`` blocks' bridge calls are awaited -- not
    wherever garbage collection happens to drop it (async code, where they could
    not be). Native also refuses a second task reading it while a step runs
    ("already running") without ending the iteration of the first.
    """
    op, arg = _NEXT, None
    while True:
        outcome = await _run(_step, (gen, op, arg), {}, timeout, _require_backend(name), name)
        if outcome is _EXHAUSTED:
            return
        try:
            sent = yield outcome[0]
        except GeneratorExit:
            # aclose(), or the loop finalizing an abandoned iterator: close gen inline.
            await _run(_step, (gen, _CLOSE, None), {}, timeout, _require_backend(name), name)
            raise
        except BaseException as exc:  # athrow(): raised where the generator waits
            op, arg = _THROW, exc
        else:
            op, arg = (_NEXT, None) if sent is None else (_SEND, sent)
        del outcome


class InlineIterator(AsyncIterator[T], Generic[T]):
    """A sync generator read with ``async for``, each step run inline.

    What ``call_any``/``call_async`` give for a generator function with
    ``inline=True`` inside asyncio or Trio: every ``__anext__`` runs the generator
    up to its next ``yield`` in a greenlet on the loop's thread (see ``call_any``), so
    its bridge calls are awaited by the iterating task -- a cursor over an async
    driver, read in sync style. ``asend()``/``athrow()``/``aclose()`` map to the
    generator's ``send()``/``throw()``/``close()``; ``timeout`` applies per step.
    One task reads it at a time (another one gets ``RuntimeError``). Break out with
    ``aclose()`` (or ``contextlib.aclosing``) so its ``finally`` blocks run inline at
    once; one abandoned is closed inline later by its loop, as an async generator.
    """

    __slots__ = ("_agen", "_gen", "_name")

    def __init__(self, gen: Generator[T, Any, Any], timeout: float | None, name: str) -> None:
        self._gen = gen
        self._name = name
        self._agen = _pump(gen, timeout, name)

    def __aiter__(self) -> InlineIterator[T]:
        return self

    def __anext__(self) -> Awaitable[T]:
        return self._agen.__anext__()

    def asend(self, value: Any) -> Awaitable[T]:
        """Send ``value`` into the generator (run inline); its next item."""
        return self._agen.asend(value)

    def athrow(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
    ) -> Awaitable[T]:
        """Raise an exception where the generator waits (run inline); its next item.

        Once the generator is finished, the exception is raised as it is.
        """
        from ._sync_iter import _exception_of

        exc = _exception_of(typ, val, tb)
        if self._agen.ag_frame is None:
            return _raise(exc)
        return self._agen.athrow(exc)

    def aclose(self) -> Awaitable[None]:
        """Close the generator inline: its ``finally`` blocks may make bridge calls."""
        return self._agen.aclose()

    def __repr__(self) -> str:
        done = " (done)" if self._agen.ag_frame is None else ""
        return f"<InlineIterator over {self._name}{done}>"


async def _raise(exc: BaseException) -> Any:
    raise exc


def _inline_iterator(
    gen: Generator[T, Any, Any], timeout: float | None, name: str
) -> InlineIterator[T]:
    """An InlineIterator over ``gen`` (options checked)."""
    return InlineIterator(gen, timeout, name)
