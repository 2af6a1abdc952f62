"""Fault injection for interrupt-safety tests: a Ctrl-C at every moment CPython can deliver one.

A ``KeyboardInterrupt`` (or any asynchronous exception raised by a signal handler) does not
land between any two bytecodes: since CPython 3.10 (bpo-29988) the eval loop runs pending
signal handlers only at a few *interrupt points*. :class:`Injector` raises an exception at
exactly one of those points, chosen by number, in the code you select, on the current
thread; :func:`sweep` does it for every point in turn, so a test can prove that a Ctrl-C at
*any* realistic moment leaves no hang, no lost job and no job run twice::

    import support_faults
    from synchronaut_core import _pool

    runs = []

    def scenario():  # fresh state every run: the sweep needs the same path each time
        runs.append(pool := _pool.WorkerPool(max_workers=2))
        return pool.submit(job, 1).result(timeout=5)

    def check(outcome):  # the exception the run raised, or what it returned
        assert isinstance(outcome, (KeyboardInterrupt, int))
        runs[-1].shutdown(wait=True)  # must not hang; then: the job ran at most once...

    covered = support_faults.sweep([_pool], scenario, check)
    # covered: ["synchronaut_core._pool.WorkerPool.submit:247 (entry, offset 0)", ...]

The model
=========

An interrupt point is a pair (code object, instruction), reached at run time in one of
these ways (checked against the ``dis`` output and against real ``SIGALRM`` deliveries on
3.10.13, 3.11.7, 3.12.1 and 3.13.0: every ``KeyboardInterrupt`` a real signal raised landed
on one of these, and each kind was observed):

``entry``
    A frame starts running its code: 3.11+ ``RESUME`` with oparg 0 (3.10: the first
    instruction). ``resume``: a generator or coroutine is resumed after a plain ``yield``
    (3.11+ ``RESUME 1``, which 3.13 may spell ``RESUME 5``; 3.10: the instruction after
    ``YIELD_VALUE``). A resumption after ``await`` / ``yield from`` is *not* a point
    (``RESUME 2/3``, 3.10 ``YIELD_FROM``), nor is a ``throw()`` into a suspended frame.
``after call``
    A call instruction (``CALL``, ``CALL_KW``, ``CALL_FUNCTION_EX``; 3.10:
    ``CALL_FUNCTION``, ``CALL_FUNCTION_KW``, ``CALL_METHOD``, ``CALL_FUNCTION_EX``) has
    returned normally and the next instruction has not started. ``CALL_INTRINSIC_*``, and the
    implicit calls made by ``BEFORE_WITH`` / ``SETUP_WITH`` (``__enter__``), ``FOR_ITER``,
    ``SEND`` or attribute access, are not call instructions: there is no point between
    ``__enter__`` returning and the first statement of a ``with`` block.
``back edge``
    A backward jump is taken: 3.11+ ``JUMP_BACKWARD`` (not ``JUMP_BACKWARD_NO_INTERRUPT``),
    3.11 also ``POP_JUMP_BACKWARD_IF_*``; 3.10 ``JUMP_ABSOLUTE`` and a *taken*
    ``POP_JUMP_IF_TRUE`` / ``POP_JUMP_IF_FALSE`` (on 3.10 those check in both directions: a
    forward one is reported as ``jump``).
``handler``
    3.10 only: the first instruction of an exception handler of the frame, right after an
    exception was caught (3.10 re-enters its main loop there; 3.11+ do not check).

3.10 never checks when the next instruction is ``SETUP_FINALLY``, ``SETUP_WITH``,
``BEFORE_ASYNC_WITH`` or ``YIELD_FROM``: so on 3.10 ``with open_it():`` has no point between
``open_it()`` returning and ``__enter__``, a function starting with ``try:`` has no entry
point, and a loop whose head is ``try:`` has no back-edge point. (3.11+ have no such rule:
there ``CALL`` itself checks, before ``BEFORE_WITH`` runs.) Nothing else checks: not two
plain attribute stores, not a forward jump on 3.11+, not ``RETURN_VALUE``.

One deliberate over-approximation: on 3.11+ a call to a Python function does not go through
C (the callee's frame is pushed inline), so nothing checks when it returns, and specialized
calls of a few builtins (``len``, ``isinstance``, ``list.append``...) skip the check once the
call site is warm. The injector still treats every call as an ``after call`` point on every
version: those points are real on 3.10 (every call returns through C and checks), and on
3.11+ before specialization, and code must be interrupt-safe on every supported Python.

How it is injected
==================

``sys.settrace`` (the current thread only) is given a global trace function that returns
``None`` for code that is not selected (so other code is never line- or opcode-traced) and
a per-frame local tracer with ``frame.f_trace_opcodes = True`` for selected code. The
exception is raised from the trace function, which makes CPython raise it in the traced
frame at that instruction; CPython then removes the trace function (a trace function that
raises is uninstalled), so the rest of the run is untraced. The exception is raised:

* ``entry`` / ``resume``: at the first 'opcode' event after the 'call' event (the frame's
  first instruction after ``RESUME``), so the traceback includes the frame, as with a real
  interrupt: *a KeyboardInterrupt at the first instruction of a function, generator or
  coroutine is raised inside that frame* (a generator interrupted at entry is finished; a
  ``__exit__`` interrupted at entry raises out of the ``with`` statement; and so on). A
  'call' event followed by 'exception' (``throw()``) is not a point.
* ``back edge`` / ``jump``: at the opcode event of an unconditional jump itself (the same
  state as after the jump, and a real interrupt is attributed to the jump too), or, for a
  conditional jump, at the target when the frame arrived there from the jump.
* ``handler`` (3.10): at the handler's first instruction.
* ``after call``: at the opcode event of the instruction after the call, which is the same
  thing as far as the program can tell... except when that instruction is covered by a
  different exception handler (3.11+ exception tables; the 3.10 block stack cannot differ).
  That is the case of ``with lock: return f()`` and ``try: return f() finally: ...``, where
  the code after the call is already the ``__exit__`` / ``finally`` code: a real interrupt is
  attributed to the call, so the ``with`` / ``finally`` handles it, while an exception raised
  at the next instruction would skip it (a false "lock left held"). For those calls the
  injector raises from a ``sys.setprofile`` hook (3.11: installed just before the call;
  3.12+: for the whole run, see below), at the callee's 'c_return' (C callees) or 'return'
  (Python callees) event, so the exception leaves the call instruction itself, exactly like
  a real interrupt. A callee that gives no profile
  event at all (a C type such as ``dict()`` or ``bool()``, a ``functools.partial`` of a C
  function, a method-wrapper) cannot be interrupted that way: such a point is not counted and
  is listed in :attr:`Injector.skipped` instead. When a C callee calls back into Python
  without a profile event of its own (a class with a Python ``__init__``), the exception is
  raised when the first of those Python frames returns (it is then raised out of the call,
  the object discarded, as a real interrupt after the call would).

The injector's own frames are cut from the injected exception's traceback: on 3.11+ it ends
at the interrupted frame, as a real interrupt's does; on 3.10 one entry of the injector's
trace function remains, innermost.

The injector coexists with coverage and pytest: the previous trace and profile functions
are saved on entry and restored on exit (the profile function is replaced while the
injector is active). While it is active, coverage does not see the lines run on this thread
(coverage with ``COVERAGE_CORE=sysmon`` on 3.12+ is unaffected).

Caveats
=======

* Only the current thread is traced. Selected code running on other threads at the same
  time is never interrupted (not even counted).
* Points are numbered in the order the current thread reaches them, so a sweep is only
  exhaustive if the scenario takes the same path on the current thread every time: give
  each run fresh state, and beware of wait loops that spin a variable number of times.
  :func:`sweep` checks it (``stable=True``): a scenario whose last, clean run reaches a
  different number of points than its first fails the sweep.
* A traceback shows the instruction where the exception was raised: after a call, the
  line of the next instruction, not of the call (except for the profile-hook case).
* On 3.12 (not 3.13), ``f_trace_opcodes`` set from a trace function has no effect (CPython
  gh-103615, gh-114480); the injector works around it by setting ``f_trace_opcodes`` on a
  frame *before* ``sys.settrace``, which makes CPython 3.12 instrument every instruction
  for the rest of the process whenever a settrace tracer is installed (slower, not wrong).
* On 3.12 and 3.13, code instrumented for opcode events by one monitoring tool loses them
  when a second one is added (CPython gh-157900; ``sys.settrace`` and ``sys.setprofile`` are
  two tools): opcode-traced without a profile function, then traced again with one, a
  code object gives no more 'opcode' events. Hence every Injector on 3.12+ installs its
  profile hook before its tracer, for the whole run (a profile call per Python call on this
  thread: a little slower). Should a selected frame still run without 'opcode' events
  (code opcode-traced by some other tool first), the injector notices (:attr:`Injector.blind`)
  and ``__exit__`` / :func:`sweep` / :func:`count_points` raise ``RuntimeError`` rather than
  report a wrong count.
* With ``mode="line"`` the points are simply the 'line' events of the selected code: coarse,
  and *not* realistic (a real interrupt does not happen at line starts); for completeness.
* Selecting a class selects the functions in its own ``__dict__`` (not inherited ones);
  selecting a function also selects what its ``__wrapped__`` chain points to, not the
  wrapper; selecting a module selects every code object compiled from its file.
"""

from __future__ import annotations

import dis
import functools
import itertools
import sys
import threading
import types
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

__all__ = [
    "Injector",
    "Point",
    "Selection",
    "ThreadStartFailure",
    "count_points",
    "failing_thread_start",
    "sweep",
]

_PY310 = sys.version_info < (3, 11)
_PY312 = sys.version_info[:2] == (3, 12)
# 3.12+ (sys.monitoring): adding a second monitoring "tool" (sys.setprofile is one,
# sys.settrace another) to code already instrumented for opcode events by one tool drops
# those events (CPython gh-157900): code opcode-traced without a profile function, then
# traced again with one, gets no more 'opcode' events. So on 3.12+ every Injector installs
# its profile hook first, for its whole run, and never toggles it from a callback (code it
# traces is then never in the one-tool state). 3.11 installs it lazily around each call.
_PROFILE_UPFRONT = sys.version_info >= (3, 12)

_CALLS = frozenset(
    {"CALL", "CALL_KW", "CALL_FUNCTION_EX", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_METHOD"}
)
# 3.10: the eval loop skips its check when the next instruction is one of these.
_NO_CHECK_BEFORE_310 = frozenset({"SETUP_FINALLY", "SETUP_WITH", "BEFORE_ASYNC_WITH", "YIELD_FROM"})
_COND_JUMPS_310 = frozenset({"POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE"})
_COND_BACK_JUMPS_311 = frozenset(
    {
        "POP_JUMP_BACKWARD_IF_TRUE",
        "POP_JUMP_BACKWARD_IF_FALSE",
        "POP_JUMP_BACKWARD_IF_NONE",
        "POP_JUMP_BACKWARD_IF_NOT_NONE",
    }
)
# A frame whose last instruction is one of these left normally (returned or yielded).
_NORMAL_EXITS = frozenset(
    {"RETURN_VALUE", "RETURN_CONST", "YIELD_VALUE", "YIELD_FROM", "RETURN_GENERATOR"}
)
_MODES = ("interrupt", "line")


# -- what is selected -------------------------------------------------------------------------


class _CodeInfo:
    """The static interrupt points of one code object (for the running Python version)."""

    __slots__ = (
        "after",
        "arm_at",
        "at",
        "code",
        "cond",
        "deferred",
        "excluded",
        "qualname",
        "resume_args",
    )

    def __init__(self, code: types.CodeType, qualname: str) -> None:
        self.code = code
        self.qualname = qualname
        ins = list(dis.get_instructions(code))
        nxt = {a.offset: b.offset for a, b in itertools.pairwise(ins)}
        # after[call] = next offset: an 'after call' point when the frame goes call -> next.
        self.after: dict[int, int] = {}
        # cond[jump] = (target, kind): a point when the frame goes jump -> target.
        self.cond: dict[int, tuple[int, str]] = {}
        # at[offset] = kind: a point whenever the frame reaches offset (unconditional jumps).
        self.at: dict[int, str] = {}
        # Calls whose next instruction has another exception handler (3.11+): profile hook.
        self.deferred: set[int] = set()
        self.arm_at: set[int] = set()  # where to install the profile hook for those
        self.resume_args: dict[int, int] = {}  # RESUME offset -> oparg (3.11+)
        self.excluded = (
            frozenset(i.offset for i in ins if i.opname in _NO_CHECK_BEFORE_310)
            if _PY310
            else frozenset()
        )
        handler = _handler_lookup(code)
        for i in ins:
            op, off = i.opname, i.offset
            if op in _CALLS and off in nxt:
                following = nxt[off]
                if _PY310:
                    if following not in self.excluded:
                        self.after[off] = following
                elif handler(off) == handler(following):
                    self.after[off] = following
                else:
                    self.deferred.add(off)
            elif op == "RESUME":
                self.resume_args[off] = i.arg or 0
            elif _PY310 and op == "JUMP_ABSOLUTE":
                if i.argval not in self.excluded:
                    self.at[off] = "back edge" if i.argval <= off else "jump"
            elif _PY310 and op in _COND_JUMPS_310:
                if i.argval not in self.excluded:
                    self.cond[off] = (i.argval, "back edge" if i.argval <= off else "jump")
            elif op == "JUMP_BACKWARD":
                self.at[off] = "back edge"
            elif op in _COND_BACK_JUMPS_311 and handler(off) == handler(i.argval):
                # (Raised at the target, so only where the target has the jump's handler;
                # a loop's head and its back edge always do in practice.)
                self.cond[off] = (i.argval, "back edge")
        if self.deferred:
            prev = {b.offset: a.offset for a, b in itertools.pairwise(ins)}
            for i in ins:
                if i.offset in self.deferred and i.offset in prev:
                    self.arm_at.add(prev[i.offset])
                if (i.opcode in dis.hasjrel or i.opcode in dis.hasjabs) and (
                    i.argval in self.deferred
                ):
                    self.arm_at.add(i.offset)
            self.arm_at |= self.deferred

    def line(self, offset: int) -> int:
        if offset < 0:
            return self.code.co_firstlineno
        for start, end, line in self.code.co_lines():
            if start <= offset < end and line is not None:
                return line
        return self.code.co_firstlineno


def _handler_lookup(code: types.CodeType) -> Callable[[int], tuple[int, int, bool] | None]:
    if _PY310:
        return lambda offset: None
    entries = list(dis.Bytecode(code).exception_entries)  # type: ignore[attr-defined]

    def handler(offset: int) -> tuple[int, int, bool] | None:
        for e in entries:
            if e.start <= offset < e.end:
                return (e.target, e.depth, e.lasti)
        return None

    return handler


class Selection:
    """The code objects selected by some targets, with their analysis cached.

    ``targets`` is one target or an iterable of them: a module (every code object compiled
    from its file), a class (the functions, properties, static and class methods of its
    ``__dict__``, nested classes included), a function or method (its code and, recursively,
    the code nested in it: inner functions, lambdas, comprehensions, and what its
    ``__wrapped__`` chain points to), a ``functools.partial``, or a code object. Pass a
    ``Selection`` to :class:`Injector` to reuse its cache across runs.
    """

    def __init__(self, targets: Any) -> None:
        self._codes: dict[int, types.CodeType] = {}
        self._files: set[str] = set()
        self._qualnames: dict[int, str] = {}
        self._cache: dict[int, tuple[types.CodeType, _CodeInfo | None]] = {}
        self._seen: dict[int, Any] = {}  # id -> object (kept alive: ids stay unique)
        self._add(targets, top=True)
        if not self._codes and not self._files:
            raise ValueError(f"no code selected by {targets!r}")

    def _add_code(self, code: types.CodeType, qualname: str) -> None:
        if id(code) in self._codes:
            return
        self._codes[id(code)] = code
        self._qualnames[id(code)] = getattr(code, "co_qualname", qualname)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                inner = const.co_name
                if not inner.startswith("<") or inner == "<lambda>":
                    inner = f"{qualname}.<locals>.{inner}"
                else:
                    inner = f"{qualname}.{inner}"
                self._add_code(const, inner)

    def _add(self, obj: Any, *, top: bool) -> None:
        if id(obj) in self._seen:
            return
        self._seen[id(obj)] = obj
        if isinstance(obj, types.CodeType):
            self._add_code(obj, obj.co_name)
        elif isinstance(obj, types.FunctionType):
            self._add_code(obj.__code__, obj.__qualname__)
            wrapped = getattr(obj, "__wrapped__", None)
            if wrapped is not None:
                self._add(wrapped, top=False)
        elif isinstance(obj, (types.MethodType, staticmethod, classmethod)):
            self._add(obj.__func__, top=top)
        elif isinstance(obj, property):
            for f in (obj.fget, obj.fset, obj.fdel):
                if f is not None:
                    self._add(f, top=False)
        elif isinstance(obj, (functools.partial, functools.partialmethod)):
            self._add(obj.func, top=top)
        elif isinstance(obj, functools.cached_property):
            self._add(obj.func, top=False)
        elif isinstance(obj, type):
            for value in vars(obj).values():
                self._add(value, top=False)
        elif isinstance(obj, types.ModuleType):
            filename = getattr(obj, "__file__", None)
            if filename:
                self._files.add(filename)
            for value in vars(obj).values():  # qualnames for 3.10, and code compiled elsewhere
                if getattr(value, "__module__", None) == obj.__name__:
                    self._add(value, top=False)
        elif top and isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
            for item in obj:  # pyright: ignore[reportUnknownVariableType]
                self._add(item, top=True)
        elif top:
            raise TypeError(
                f"cannot select {obj!r}: pass modules, classes, functions or code objects"
            )

    def info(self, code: types.CodeType) -> _CodeInfo | None:
        """The analysis of ``code`` if it is selected, else None (cached by identity)."""
        hit = self._cache.get(id(code))
        if hit is not None and hit[0] is code:
            return hit[1]
        info = None
        if id(code) in self._codes or code.co_filename in self._files:
            info = _CodeInfo(code, self._qualnames.get(id(code), code.co_name))
        self._cache[id(code)] = (code, info)  # keeps code alive: its id stays unique
        return info


# -- the injector -----------------------------------------------------------------------------


class Point(NamedTuple):
    """One interrupt point reached: ``str(point)`` is ``"module.qualname:line (kind, offset N)"``.

    ``kind`` is ``"entry"``, ``"resume"``, ``"after call"``, ``"back edge"``, ``"jump"`` or
    ``"handler"`` (or ``"line"`` in line mode); ``line`` is the line of the instruction the
    point belongs to (the call, the jump, the ``yield``; the ``def`` line for an entry) and
    ``offset`` its bytecode offset in ``code``.
    """

    module: str
    qualname: str
    line: int
    kind: str
    offset: int
    code: types.CodeType

    def __str__(self) -> str:
        return f"{self.module}.{self.qualname}:{self.line} ({self.kind}, offset {self.offset})"


class Injector:
    """Raise ``exc_factory()`` at the ``n``-th interrupt point reached in the selected code.

    ``n`` counts from 0, in the order the current thread reaches the points; ``n=None``
    only counts. Use it as a context manager around the code to interrupt; only the thread
    that enters it is traced. After the block: :attr:`fired` tells whether the exception
    was raised, :attr:`where` where (``"module.qualname:line (kind, offset N)"``) and
    :attr:`point` the same as a :class:`Point`, :attr:`count` how many points were
    reached, :attr:`points` all of them in order, :attr:`skipped` the 'after call' points
    that could not be injected faithfully (see the module docstring). ``exc_factory`` is
    called once, when firing. ``mode="line"`` counts 'line' events instead. An Injector is
    used once; one at a time per thread.
    """

    def __init__(
        self,
        targets: Any,
        n: int | None,
        exc_factory: Callable[[], BaseException] = KeyboardInterrupt,
        mode: str = "interrupt",
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, not {mode!r}")
        if n is not None and n < 0:
            raise ValueError(f"n must be >= 0 or None, not {n}")
        self._sel = targets if isinstance(targets, Selection) else Selection(targets)
        self._n = -1 if n is None else n
        self._exc_factory = exc_factory
        self._lines = mode == "line"
        self.fired = False
        self.where: str | None = None
        self.count = 0
        self.blind = False  # CPython stopped giving opcode events: the count is wrong
        self._reached: list[tuple[_CodeInfo, str, int, str]] = []
        self._skipped: list[tuple[_CodeInfo, str, int, str]] = []
        self._state = "new"  # -> "active" -> "done"
        self._thread: int | None = None
        self._prev_trace: Any = None
        self._prev_profile: Any = None
        self._profiling = False
        self._profile_touched = False
        self._armed: types.FrameType | None = None
        self._pdepth = 0
        self._pending: list[tuple[types.FrameType, int, _CodeInfo, int]] = []
        self._injected: BaseException | None = None
        self._patched: list[tuple[types.FrameType, Any, bool, bool]] = []

    # -- results

    @property
    def points(self) -> list[Point]:
        """Every point reached, in order (the fired one last, if it fired)."""
        return [_point_of(*p) for p in self._reached]

    @property
    def skipped(self) -> list[Point]:
        """'after call' points reached but not injectable (callee gave no profile event)."""
        return [_point_of(*p) for p in self._skipped]

    @property
    def point(self) -> Point | None:
        """The point where the exception was raised (None if it did not fire)."""
        return _point_of(*self._reached[-1]) if self.fired else None

    # -- installation

    def __enter__(self) -> Injector:
        if self._state != "new":
            raise RuntimeError("an Injector can only be used once")
        self._state = "active"
        self._thread = threading.get_ident()
        self._prev_trace = sys.gettrace()
        self._prev_profile = sys.getprofile()
        if _PROFILE_UPFRONT:
            self._profiling = self._profile_touched = True
            sys.setprofile(self._profile)
        if _PY312:
            # CPython 3.12 only honours f_trace_opcodes if some frame had it set before
            # sys.settrace (gh-103615): set it here for the duration of the call.
            here = sys._getframe()
            here.f_trace_opcodes = True
            sys.settrace(self._global)
            here.f_trace_opcodes = False
        else:
            sys.settrace(self._global)
        # Frames already running (callers of the with statement) that are selected: trace
        # them too, from here on (what bdb does with the back chain). After settrace: 3.13
        # instruments a frame's code for opcode events when f_trace_opcodes is set while
        # tracing is on.
        frame = sys._getframe(1)
        while frame is not None:
            info = self._sel.info(frame.f_code)
            if info is not None:
                self._patched.append(
                    (frame, frame.f_trace, frame.f_trace_opcodes, frame.f_trace_lines)
                )
                frame.f_trace = self._local_tracer(info, None)
                frame.f_trace_lines = self._lines
                frame.f_trace_opcodes = not self._lines
            frame = frame.f_back
        return self

    def __exit__(self, *exc_info: object) -> None:
        if threading.get_ident() != self._thread:
            raise RuntimeError("an Injector must be exited on the thread that entered it")
        self._state = "done"
        self._profiling = False
        if self._profile_touched:  # first: on 3.12+ a later setprofile upsets the tracer
            sys.setprofile(self._prev_profile)
        sys.settrace(self._prev_trace)
        for frame, f_trace, opcodes, lines in reversed(self._patched):
            frame.f_trace = f_trace
            frame.f_trace_opcodes = opcodes
            frame.f_trace_lines = lines
        self._patched.clear()
        self._pending.clear()
        self._armed = None
        if self.blind and exc_info[0] is None:
            raise RuntimeError(_BLIND)

    # -- tracing

    def _global(self, frame: types.FrameType, event: str, arg: object) -> Any:
        if self._state != "active":
            return None
        info = self._sel.info(frame.f_code)
        if info is None:
            return None  # not selected: no local tracing at all for this frame
        entry = None
        if not self._lines:  # event == "call": a frame starts or resumes
            last = frame.f_lasti
            if _PY310:
                following = 0 if last < 0 else last + 2
                if following not in info.excluded:
                    entry = ("entry", 0) if last < 0 else ("resume", last)
            else:
                oparg = info.resume_args.get(last)
                if oparg is not None and oparg & 3 < 2:  # 3.13: bit 2 is an exception depth
                    entry = ("entry" if oparg & 3 == 0 else "resume", last)
        local = self._local_tracer(info, entry)
        frame.f_trace = local  # before f_trace_opcodes: 3.13 instruments only a traced frame
        frame.f_trace_lines = self._lines
        frame.f_trace_opcodes = not self._lines
        return local

    def _local_tracer(self, info: _CodeInfo, entry: tuple[str, int] | None) -> Any:
        if self._lines:
            return self._line_tracer(info)
        after, cond, at, excluded = info.after, info.cond, info.at, info.excluded
        deferred, arm_at = info.deferred, info.arm_at
        prev = -1
        pending_entry = entry
        pending_handler = False
        saw_opcode = entry is None  # a frame patched on entry may be past its last opcode

        def local(frame: types.FrameType, event: str, arg: object) -> Any:
            nonlocal prev, pending_entry, pending_handler, saw_opcode
            if self._state != "active":
                frame.f_trace = None
                return None
            try:
                if event == "opcode":
                    saw_opcode = True
                    off = frame.f_lasti
                    p, prev = prev, off
                    pending = self._pending
                    if pending and pending[-1][0] is frame:
                        # The deferred call returned without a profile event: not injectable.
                        _, _, dinfo, doff = pending.pop()
                        self._skipped.append((dinfo, _modname(frame), doff, "after call"))
                        self._maybe_unprofile()
                    if pending_entry is not None:
                        kind, anchor = pending_entry
                        pending_entry = None
                        self._point(frame, info, anchor, kind)
                    elif pending_handler:
                        pending_handler = False
                        if off not in excluded:
                            self._point(frame, info, off, "handler")
                    elif p in after and after[p] == off:
                        self._point(frame, info, p, "after call")
                    elif p in cond and cond[p][0] == off:
                        self._point(frame, info, p, cond[p][1])
                    elif off in at:
                        self._point(frame, info, off, at[off])
                    if off in arm_at:
                        if off in deferred:
                            self._push_deferred(frame, info, off)
                        else:  # the call comes next: the hook must be on before it starts
                            self._profile_on()
                            self._armed = frame
                    elif self._armed is frame:  # moved on without reaching the deferred call
                        self._armed = None
                        self._maybe_unprofile()
                elif event == "exception":
                    saw_opcode = True  # thrown in (throw(), close()): may leave at once
                    prev = -1
                    pending_entry = None  # a throw() into the frame: no RESUME ran
                    pending_handler = _PY310
                    pending = self._pending
                    if pending and pending[-1][0] is frame:
                        pending.pop()  # the deferred call raised: not a point
                    if self._armed is frame:
                        self._armed = None
                    self._maybe_unprofile()
                elif event == "return" and not saw_opcode:
                    # Every frame runs at least one instruction: CPython lost our opcode
                    # events (gh-157900, see _PROFILE_UPFRONT). Counting would be wrong.
                    self.blind = True
            except BaseException as exc:
                self._strip(exc)
                raise
            return local

        return local

    def _line_tracer(self, info: _CodeInfo) -> Any:
        def local(frame: types.FrameType, event: str, arg: object) -> Any:
            if self._state != "active":
                frame.f_trace = None
                return None
            if event == "line":
                try:
                    self._point(frame, info, frame.f_lasti, "line")
                except BaseException as exc:
                    self._strip(exc)
                    raise
            return local

        return local

    def _strip(self, exc: BaseException) -> None:
        """Drop the injector's own frames from the traceback of the injected exception.

        A bare ``raise`` adds no traceback entry, so on 3.11+ the exception leaves the trace
        function with none and its traceback starts at the interrupted instruction, as a
        real interrupt's does. On 3.10 the re-raise keeps the entry of the trace function's
        own frame (the innermost one, right below the interrupted frame); deeper ones go.
        """
        if exc is not self._injected:
            return
        if _PY310:
            if exc.__traceback__ is not None:
                exc.__traceback__.tb_next = None
        else:
            exc.__traceback__ = None

    # -- deferred calls (3.11+): raise out of the call itself, from a profile hook

    def _profile_on(self) -> None:
        if not self._profiling and not _PROFILE_UPFRONT:
            self._profiling = True
            self._profile_touched = True
            self._pdepth = 0
            sys.setprofile(self._profile)

    def _maybe_unprofile(self) -> None:
        if _PROFILE_UPFRONT:
            return
        if self._profiling and not self._pending and self._armed is None:
            self._profiling = False
            sys.setprofile(self._prev_profile)

    def _push_deferred(self, frame: types.FrameType, info: _CodeInfo, call: int) -> None:
        self._armed = None
        self._profile_on()  # normally on already: on 3.12+ it must be on before the call
        self._pending.append((frame, self._pdepth, info, call))

    def _profile(self, frame: types.FrameType, event: str, arg: object) -> None:
        if self._state != "active":
            return
        if event == "call" or event == "c_call":
            self._pdepth += 1
            return
        self._pdepth -= 1  # return, c_return, c_exception
        pending = self._pending
        if not pending or pending[-1][1] != self._pdepth:
            return
        caller, _, info, call = pending.pop()  # the deferred call is over
        # Only where that call returns to: the frame making a C call, or the caller of a
        # returning Python frame. The depth alone is thrown off by code that switches
        # stacks (a greenlet switch made from C has no profile events of its own): a
        # return at the same depth on another stack is not this call's, and raising
        # there would raise where no signal can land (inside an event loop's scheduler).
        returns_here = frame is caller if event == "c_return" else frame.f_back is caller
        if returns_here and (
            event == "c_return" or (event == "return" and _last_opname(frame) in _NORMAL_EXITS)
        ):
            try:
                self._point(caller, info, call, "after call")  # raises out of the call if chosen
            except BaseException as exc:
                self._strip(exc)
                raise
        self._maybe_unprofile()

    # -- counting and firing

    def _point(self, frame: types.FrameType, info: _CodeInfo, anchor: int, kind: str) -> None:
        index = self.count
        self.count += 1
        self._reached.append((info, _modname(frame), anchor, kind))
        if index == self._n:
            self.fired = True
            self.where = str(_point_of(info, _modname(frame), anchor, kind))
            self._state = "done"
            # CPython removes a trace (or profile) function that raises; remove the other
            # too (__exit__ restores the previous ones).
            if self._profiling:
                self._profiling = False
                sys.setprofile(None)
            sys.settrace(None)
            self._injected = self._exc_factory()
            raise self._injected


_BLIND = (
    "a selected frame ran without any 'opcode' event: CPython dropped the opcode "
    "instrumentation of code that another tool traced before (gh-157900), so interrupt "
    "points were missed"
)


def _modname(frame: types.FrameType) -> str:
    return str(frame.f_globals.get("__name__", "?"))


def _point_of(info: _CodeInfo, module: str, anchor: int, kind: str) -> Point:
    line = info.code.co_firstlineno if kind == "entry" else info.line(anchor)
    return Point(module, info.qualname, line, kind, anchor, info.code)


def _last_opname(frame: types.FrameType) -> str:
    code, last = frame.f_code, frame.f_lasti
    if last < 0:
        return ""
    return dis.opname[code.co_code[last]]


# -- driving it -------------------------------------------------------------------------------


def count_points(targets: Any, scenario: Callable[[], object]) -> int:
    """Run ``scenario()`` once, counting only; the number of interrupt points it reached.

    An exception from the scenario propagates (it is a plain run: nothing is injected).
    """
    injector = Injector(targets, None)
    with injector:
        scenario()
    return injector.count  # (__exit__ raised if the count cannot be trusted)


def sweep(
    targets: Any,
    scenario: Callable[[], object],
    check: Callable[[object], object],
    *,
    exc_factory: Callable[[], BaseException] = KeyboardInterrupt,
    mode: str = "interrupt",
    limit: int | None = None,
    stable: bool = True,
) -> list[str]:
    """Interrupt ``scenario`` at each of its points in turn; return where, in order.

    For n = 0, 1, 2...: run ``scenario()`` under ``Injector(targets, n)``; the outcome is
    the exception it raised (any ``BaseException``, the injected one or another) or its
    return value; ``check(outcome)`` verifies the invariants (it raises to fail). The sweep
    stops after the first run in which the injector did not fire (every point was covered;
    that last, clean run is checked too).

    The numbering only means something if every run takes the same path: give each run
    fresh state (a new pool, a new lock...). With ``stable=True`` (the default) the sweep
    starts with a counting run (checked too) and fails if the final clean run reaches a
    different number of points: the points of the first run past that number were never
    interrupted. ``limit`` caps the number of injected runs: reaching it without covering
    every point is an ``AssertionError`` (a scenario whose points never run out, for
    instance a wait loop that spins until interrupted).
    """
    selection = targets if isinstance(targets, Selection) else Selection(targets)
    expected = None
    if stable:
        expected, outcome = _run(Injector(selection, None, mode=mode), scenario)
        _check(check, outcome, "the first, counting run (nothing injected)")
    covered: list[str] = []
    n = 0
    while True:
        if limit is not None and n >= limit:
            raise AssertionError(
                f"sweep: still firing after {limit} injected runs (last: {covered[-1:]})"
            )
        injector = Injector(selection, n, exc_factory=exc_factory, mode=mode)
        count, outcome = _run(injector, scenario)
        _check(check, outcome, f"run {n}: interrupted at {injector.where}")
        if not injector.fired:
            if expected is not None and count != expected:
                raise AssertionError(
                    f"sweep: the scenario is not repeatable: {expected} points on the first "
                    f"run, {count} on the last; give each run fresh state, or pass "
                    f"stable=False to accept a partial sweep"
                )
            return covered
        assert injector.where is not None
        covered.append(injector.where)
        n += 1


def _check(check: Callable[[object], object], outcome: object, context: str) -> None:
    """``check(outcome)``; a failure says which run (and interrupt point) it was."""
    try:
        check(outcome)
    except BaseException as exc:
        message = f"sweep: {context}; outcome: {outcome!r}"
        if sys.version_info >= (3, 11):
            exc.add_note(message)
            raise
        raise AssertionError(message) from exc


def _run(injector: Injector, scenario: Callable[[], object]) -> tuple[int, object]:
    outcome: object
    try:
        with injector:
            outcome = scenario()
    except BaseException as exc:  # the injected exception, or what the code made of it
        outcome = exc
    if injector.blind:
        raise RuntimeError(_BLIND)
    return injector.count, outcome


# -- thread start failures --------------------------------------------------------------------


class ThreadStartFailure:
    """Context manager: the ``n``-th ``threading.Thread.start()`` call (0-based) raises.

    The failing call raises ``exc()`` before any thread is created (what ``Thread.start``
    does when the OS refuses a thread); the other calls start their thread normally. Calls
    from every thread are counted. :attr:`calls` is the number of ``start()`` calls seen,
    :attr:`fired` whether the failure was raised, :attr:`thread` the ``Thread`` whose start
    failed. A subclass overriding ``start`` without calling ``Thread.start`` is not counted.
    """

    def __init__(self, n: int, exc: Callable[[], BaseException]) -> None:
        if n < 0:
            raise ValueError(f"n must be >= 0, not {n}")
        self._n = n
        self._exc = exc
        self._lock = threading.Lock()
        self._original: Callable[[threading.Thread], None] | None = None
        self.calls = 0
        self.fired = False
        self.thread: threading.Thread | None = None

    def __enter__(self) -> ThreadStartFailure:
        if self._original is not None:
            raise RuntimeError("already active")
        original = threading.Thread.start
        self._original = original

        @functools.wraps(original)
        def start(thread: threading.Thread) -> None:
            with self._lock:
                index = self.calls
                self.calls += 1
            if index == self._n:
                self.fired = True
                self.thread = thread
                raise self._exc()
            original(thread)

        threading.Thread.start = start  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._original is not None
        threading.Thread.start = self._original  # type: ignore[method-assign]


def failing_thread_start(
    n: int, exc: Callable[[], BaseException] = lambda: RuntimeError("can't start new thread")
) -> ThreadStartFailure:
    """``with failing_thread_start(n) as f:`` the ``n``-th ``Thread.start()`` raises ``exc()``."""
    return ThreadStartFailure(n, exc)
