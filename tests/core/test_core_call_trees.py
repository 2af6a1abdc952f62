"""Random call trees -- def and async def nodes calling each other every public way --
all finish, with the right value, and leave nothing behind.

Each generated tree is data (``Case``/``Edge``/``Fan``/``Node``, all with an eval-able
repr). A node returns ``combine(id, child values in order)``, so a lost, duplicated
or swapped child shows in the value. An edge says how the parent calls the child:

* from a ``def`` node: ``call_any``, ``call_sync``, ``CallOptions(...)(...)``, the
  ``@synchronaut``-decorated child called directly or with ``.sync``, and
  ``parallel_map`` fan-outs;
* from an ``async def`` node: ``await call_any``, ``await call_async``,
  ``await CallOptions(...).async_``, ``await decorated(...)``,
  ``await decorated.async_(...)``, the *blocking* ``decorated.sync(...)`` and
  ``call_sync(...)`` made on the loop's thread, ``await parallel_map`` and
  concurrent fan-outs of up to 8 children (``asyncio.gather`` or a Trio nursery);
* each edge optionally with ``thread_sensitive=True`` and/or a generous ``timeout``
  that never fires but runs the timed code paths.

A third node kind, ``inline``, is a ``def`` called with ``inline=True`` (its decorated
form: ``@synchronaut(inline=True)``; never with ``thread_sensitive``, which inline
refuses): from async code it runs in a greenlet on the loop's thread, where it sees
plain sync code and uses the sync call forms, its bridge calls awaited by the task.

A ``def`` node that finds itself running on an event loop's thread (a blocking call
from async code, or a thread-sensitive call served by a loop thread waiting in
``call_sync``) cannot use the awaitable forms: it uses their blocking twins
(``call_any`` -> ``call_sync``, ``decorated(...)`` -> ``decorated.sync(...)``,
``parallel_map`` -> ``call_sync`` of a coroutine awaiting it), as real code must.

Trees go up to 40 levels deep -- past the default worker pool (min(32, CPUs + 4)) --
and 60 nodes: a per-tree dial makes some trees long chains (down to the node budget
or 40 levels), others small and bushy; another makes some chains alternate
def/async def at every level (the classic deadlock). The root is entered from plain
sync code on a main thread, from a plain ``threading.Thread``, from asyncio, uvloop
and Trio, and from a coroutine on synchronaut's own background loop. The classic
shapes are also spelled out: ``down_sync``/``down_async`` chains 14 and 30 deep, with
and without ``thread_sensitive``, and ``call_sync(outer)`` whose async defs each
``call_sync`` the next.

**Isolation.** Every example runs in a long-lived child interpreter (a few per test
module and xdist worker), on the child's main thread, watched by a watchdog thread:
past ``SYNCHRONAUT_TREE_HANG`` seconds (default 10) the child writes every thread's
stack and exits, and the test fails with the tree and those stacks. A deadlock thus
never stalls the run and never poisons later examples or other tests with its stuck
threads: the next example gets a fresh child. The child compiles only the first part
of this file (no pytest, no hypothesis). After a tree returns, the child checks that
nothing is left: no thread still running tree code; no new thread alive except
synchronaut's idle pooled workers, its background loop and its dedicated
thread-sensitive thread (and Trio's idle thread cache) -- a temporary loop thread
must be gone -- within a 2 s grace; no task left on the background loop or on the
test's asyncio loop; no warning, unraisable exception, thread exception or logged
error.

**Minimizing.** Hypothesis's own shrinking is off by default: every hanging candidate
costs a whole hang bound, and it needs minutes. Instead a failing tree is minimized
here, within ``SYNCHRONAUT_TREE_MINIMIZE`` seconds (default 30; 0: off): rounds of
one-step simplifications (cut a call, put a descendant in a node's place, drop an
option, plainer call form) run six at a time in parallel children with a 3 s hang
bound, keeping the smallest tree that still fails the same way. The failure shows the
minimized tree with its stacks, then the tree as generated. Hypothesis's shrinking
can still be had: ``SYNCHRONAUT_TREE_SHRINK=1`` (then no minimizing here).

**Running it.** CI: ``uv run pytest tests/core/test_core_call_trees.py -n 2`` (300
generated trees). ``--stress-long`` (or ``SYNCHRONAUT_STRESS=long``) runs 6 000.
A failure prints the hypothesis blob (``@reproduce_failure``): paste its two
arguments into ``SYNCHRONAUT_TREE_REPRODUCE="6.x.y AXicY2..."`` to replay exactly
that example; the example database replays it too on the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any, NamedTuple

import trio

from synchronaut import synchronaut
from synchronaut_batch import parallel_map
from synchronaut_core import (
    CallOptions,
    call_any,
    call_async,
    call_sync,
    current_async_library,
    shutdown,
)

# --- knobs ------------------------------------------------------------------------

#: How long leftovers (threads, tasks) get to go away after a tree returned.
GRACE = 2.0
#: The timeout given to edges that have one: it must never fire.
GENEROUS = 60.0

#: Where a tree starts. "main": plain sync code on the child's main thread; "thread":
#: a plain threading.Thread; "bgloop": a coroutine run with call_sync from sync code,
#: so the tree starts on synchronaut's background loop.
CONTEXTS = ("main", "thread", "asyncio", "uvloop", "trio", "bgloop")
SYNC_CONTEXTS = ("main", "thread")

# --- the trees --------------------------------------------------------------------

#: How a def node calls a child (one child).
SYNC_HOWS = ("call_any", "call_sync", "decorated", "decorated.sync", "options")
#: How an async def node calls a child (one child); the last two block the loop.
ASYNC_HOWS = (
    "call_any",
    "call_async",
    "decorated",
    "decorated.async_",
    "options.async_",
    "call_sync",
    "decorated.sync",
)
#: How a child is given to parallel_map: the function itself, or decorated.
ENTRY_HOWS = ("entry", "entry.decorated")
#: A def node on a running loop's thread uses the blocking form of an awaitable call.
ON_LOOP = {"call_any": "call_sync", "decorated": "decorated.sync", "options": "options.sync"}


class Node(NamedTuple):
    id: int
    kind: str  # "sync" (def), "async" (async def) or "inline" (def called inline=True)
    calls: tuple[Any, ...] = ()  # Edge or Fan, made one after another


class Edge(NamedTuple):
    how: str
    child: Node
    thread_sensitive: bool = False
    timeout: float | None = None


class Fan(NamedTuple):
    how: str  # "parallel_map", or "gather" (async parents: concurrent tasks)
    edges: tuple[Edge, ...]


class Case(NamedTuple):
    context: str
    entry: Edge  # how the start context calls the root
    fresh_loop: bool = False  # shutdown() the background loop first


MOD = (1 << 61) - 1


def combine(x: int, values: list[int]) -> int:
    """A node's value: its argument, then each child's value, in order."""
    for value in values:
        x = (x * 1_000_003 + value) % MOD
    return x


def edges_of(call: Edge | Fan) -> tuple[Edge, ...]:
    return call.edges if isinstance(call, Fan) else (call,)


def expected(node: Node) -> int:
    return combine(node.id, [expected(e.child) for c in node.calls for e in edges_of(c)])


def nodes(node: Node) -> Iterator[Node]:
    yield node
    for call in node.calls:
        for edge in edges_of(call):
            yield from nodes(edge.child)


def depth(node: Node) -> int:
    return 1 + max((depth(e.child) for c in node.calls for e in edges_of(c)), default=0)


def _options_text(edge: Edge) -> str:
    opts = []
    if edge.thread_sensitive:
        opts.append("thread_sensitive")
    if edge.timeout is not None:
        opts.append(f"timeout={edge.timeout:g}")
    return f" [{', '.join(opts)}]" if opts else ""


KIND_NAMES = {"sync": "def", "async": "async def", "inline": "def (inline=True)"}


def render(case: Case) -> str:
    """The tree, one edge a line, indented by depth."""
    lines = [f"start: {case.context}" + (" (after shutdown())" if case.fresh_loop else "")]

    def edge_line(edge: Edge, indent: str) -> None:
        child = edge.child
        lines.append(
            f"{indent}{edge.how}{_options_text(edge)} -> #{child.id} "
            f"{KIND_NAMES.get(child.kind, child.kind)}"
        )
        for call in child.calls:
            if isinstance(call, Fan):
                lines.append(f"{indent}    {call.how} of {len(call.edges)}:")
                for member in call.edges:
                    edge_line(member, indent + "        ")
            else:
                edge_line(call, indent + "    ")

    edge_line(case.entry, "  ")
    root = case.entry.child
    lines.append(f"({sum(1 for _ in nodes(root))} nodes, depth {depth(root)})")
    return "\n".join(lines)


# --- building and running a tree (in the child process) ---------------------------


class Link(NamedTuple):
    edge: Edge
    fn: Callable[..., Any]
    decorated: Any


def _options(edge: Edge) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if edge.child.kind == "inline":
        opts["inline"] = True
    if edge.thread_sensitive:
        opts["thread_sensitive"] = True
    if edge.timeout is not None:
        opts["timeout"] = edge.timeout
    return opts


def link(edge: Edge) -> Link:
    fn = build(edge.child)
    opts = _options(edge)
    decorated = synchronaut(**opts)(fn) if opts else synchronaut(fn)
    return Link(edge, fn, decorated)


def _entry(lk: Link) -> tuple[Any, ...]:
    target = lk.decorated if lk.edge.how == "entry.decorated" else lk.fn
    return (target, (lk.edge.child.id,), {}, lk.edge.timeout)


async def _await_parallel_map(entries: list[tuple[Any, ...]]) -> list[int]:
    return await parallel_map(entries)


def sync_call(lk: Link) -> int:
    """One edge from a def node (or from sync start code)."""
    edge, arg, opts = lk.edge, lk.edge.child.id, _options(lk.edge)
    how = edge.how
    if current_async_library() is not None:
        how = ON_LOOP.get(how, how)
    if how == "call_any":
        return call_any(lk.fn, arg, **opts)
    if how == "call_sync":
        return call_sync(lk.fn, arg, **opts)
    if how == "decorated":
        return lk.decorated(arg)
    if how == "decorated.sync":
        return lk.decorated.sync(arg)
    if how == "options":
        return CallOptions(**opts)(lk.fn, arg)
    if how == "options.sync":
        return CallOptions(**opts).sync(lk.fn, arg)
    raise AssertionError(f"no such sync edge: {how}")


async def async_call(lk: Link) -> int:
    """One edge from an async def node (or from async start code)."""
    edge, arg, opts = lk.edge, lk.edge.child.id, _options(lk.edge)
    how = edge.how
    if how == "call_any":
        return await call_any(lk.fn, arg, **opts)
    if how == "call_async":
        return await call_async(lk.fn, arg, **opts)
    if how == "decorated":
        return await lk.decorated(arg)
    if how == "decorated.async_":
        return await lk.decorated.async_(arg)
    if how == "options.async_":
        return await CallOptions(**opts).async_(lk.fn, arg)
    if how == "call_sync":
        return call_sync(lk.fn, arg, **opts)  # blocks this loop's thread
    if how == "decorated.sync":
        return lk.decorated.sync(arg)  # blocks this loop's thread
    raise AssertionError(f"no such async edge: {how}")


async def gather(links: list[Link]) -> list[int]:
    """The edges as concurrent tasks of the running library, values in order."""
    if current_async_library() == "trio":
        results: list[int] = [0] * len(links)

        async def one(index: int, lk: Link) -> None:
            results[index] = await async_call(lk)

        async with trio.open_nursery() as nursery:
            for index, lk in enumerate(links):
                nursery.start_soon(one, index, lk)
        return results
    return list(await asyncio.gather(*(async_call(lk) for lk in links)))


def build(node: Node) -> Callable[..., Any]:
    """The node as a def or async def, its code named ``node<id>_<kind>`` for stacks."""
    parts: list[tuple[str | None, list[Link]]] = [
        (call.how if isinstance(call, Fan) else None, [link(e) for e in edges_of(call)])
        for call in node.calls
    ]
    made: Callable[..., Any]
    if node.kind in ("sync", "inline"):

        def fn(x: int) -> int:
            values: list[int] = []
            for fan, links in parts:
                if fan is None:
                    values.append(sync_call(links[0]))
                elif current_async_library() is None:
                    values.extend(parallel_map([_entry(lk) for lk in links]))
                else:  # on a loop's thread: parallel_map would give an awaitable
                    values.extend(call_sync(_await_parallel_map, [_entry(lk) for lk in links]))
            return combine(x, values)

        made = fn
    elif node.kind == "async":

        async def afn(x: int) -> int:
            values: list[int] = []
            for fan, links in parts:
                if fan is None:
                    values.append(await async_call(links[0]))
                elif fan == "parallel_map":
                    values.extend(await parallel_map([_entry(lk) for lk in links]))
                else:
                    values.extend(await gather(links))
            return combine(x, values)

        made = afn
    elif node.kind == "stuck":  # the harness's own tests: never returns

        def fn(x: int) -> int:
            threading.Event().wait()
            return x

        made = fn
    elif node.kind == "straggler":  # the harness's own tests: leaves a thread behind

        def fn(x: int) -> int:
            threading.Thread(
                target=time.sleep, args=(GRACE + 1,), name="call-tree-straggler"
            ).start()
            return x

        made = fn
    elif node.kind == "wrong":  # the harness's own tests: a wrong value

        def fn(x: int) -> int:
            return x + 1

        made = fn
    name = f"node{node.id}_{node.kind}"
    if sys.version_info >= (3, 11):
        made.__code__ = made.__code__.replace(co_name=name, co_qualname=name)
    else:  # pragma: no cover - 3.10
        made.__code__ = made.__code__.replace(co_name=name)
    made.__name__ = made.__qualname__ = name
    return made


_THIS_FILE = combine.__code__.co_filename


async def _bg_entry(root: Link) -> int:
    where = threading.current_thread().name
    assert where == "synchronaut-loop", f"call_sync from sync code ran on {where}"
    return await async_call(root)


async def _asyncio_entry(root: Link) -> int:
    value = await async_call(root)
    if current_async_library() == "asyncio":
        # asyncio.run would cancel leftovers silently: none may be left to cancel.
        deadline = time.monotonic() + GRACE
        while True:
            left = asyncio.all_tasks() - {asyncio.current_task()}
            if not left:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"tasks left on the test's loop: {left!r}")
            await asyncio.sleep(0.01)
    return value


def run_tree(case: Case) -> int:
    root = link(case.entry)
    context = case.context
    if context == "main":
        return sync_call(root)
    if context == "thread":
        outcome: list[Any] = []

        def body() -> None:
            try:
                outcome.append(("ok", sync_call(root)))
            except BaseException as exc:
                outcome.append(("error", exc))

        thread = threading.Thread(target=body, name="call-tree-start-thread")
        thread.start()
        thread.join()
        status, value = outcome[0]
        if status == "error":
            raise value
        return value
    if context == "bgloop":
        return call_sync(_bg_entry, root)
    if context == "trio":
        return trio.run(_asyncio_entry, root)
    factory = None
    if context == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(_asyncio_entry(root))
    loop = (factory or asyncio.new_event_loop)()  # pragma: no cover - 3.10
    try:
        return loop.run_until_complete(_asyncio_entry(root))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


# --- the child process ------------------------------------------------------------

#: Threads that may stay once a tree returned, if they run no tree code: synchronaut's
#: pooled workers (parked up to 60 s), its background loop, its process-wide
#: thread-sensitive thread, and Trio's thread cache (idle threads, 10 s).
ALLOWED_IDLE = ("synchronaut-worker-", "synchronaut-loop", "synchronaut-sensitive-1", "Trio thread")


#: threading.py frames under every thread's stack: noise in a report.
_BOOT = ("_bootstrap", "_bootstrap_inner", "run")


def stacks(skip: tuple[int | None, ...] = ()) -> str:
    """Every thread's stack, the ones running tree code first."""
    frames = sys._current_frames()
    threads = {t.ident: t for t in threading.enumerate()}
    chunks = []
    for ident, frame in frames.items():
        if ident in skip:
            continue
        thread = threads.get(ident)
        summary = traceback.extract_stack(frame)
        summary = [f for f in summary if f.filename != threading.__file__ or f.name not in _BOOT]
        text = "".join(traceback.format_list(summary))
        title = f"--- {thread.name if thread else '?'} (ident {ident}) ---"
        chunks.append((_THIS_FILE not in text, title, f"{title}\n{text}"))
    chunks.sort(key=lambda c: (c[0], c[1]))
    return f"{len(chunks)} threads\n" + "\n".join(c[2] for c in chunks)


def runs_tree_code(ident: int | None, frames: dict[int, Any]) -> bool:
    frame = frames.get(ident) if ident is not None else None
    while frame is not None:
        if frame.f_code.co_filename == _THIS_FILE:
            return True
        frame = frame.f_back
    return False


async def _background_tasks() -> list[str]:
    me = asyncio.current_task()
    return sorted(repr(t) for t in asyncio.all_tasks() if t is not me)


class Watchdog(threading.Thread):
    """Kills the child, after writing every stack, when an example outlives its bound."""

    def __init__(self, out: Any) -> None:
        super().__init__(name="call-tree-watchdog", daemon=True)
        self.out = out
        self.cond = threading.Condition()
        self.deadline: float | None = None
        self.started_at = 0.0
        self.phase = ""

    def arm(self, seconds: float, phase: str) -> None:
        with self.cond:
            self.started_at = time.monotonic()
            self.deadline = self.started_at + seconds
            self.phase = phase
            self.cond.notify()

    def disarm(self) -> None:
        with self.cond:
            self.deadline = None
            self.cond.notify()

    def run(self) -> None:
        with self.cond:
            while True:
                if self.deadline is None:
                    self.cond.wait()
                    continue
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
        reply = {
            "status": "hang",
            "phase": self.phase,
            "elapsed": time.monotonic() - self.started_at,
            "detail": stacks(skip=(self.ident,)),
        }
        self.out.write(json.dumps(reply) + "\n")
        self.out.flush()
        os._exit(3)


class Recorder(logging.Handler):
    """Everything that pytest's ``filterwarnings = error`` and a careful eye would flag."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.problems: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.problems.append(f"logged {record.levelname} ({record.name}): {self.format(record)}")

    def unraisable(self, info: Any) -> None:
        text = "".join(
            traceback.format_exception(info.exc_type, info.exc_value, info.exc_traceback)
        )
        self.problems.append(f"unraisable exception in {info.object!r}: {text}")

    def thread_exception(self, args: Any) -> None:
        text = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        name = args.thread.name if args.thread else "?"
        self.problems.append(f"exception in thread {name}: {text}")


def leftovers(baseline: set[threading.Thread], tasks_before: list[str], me: set[int | None]) -> str:
    """What the tree left behind (empty if nothing), after up to GRACE seconds."""
    deadline = time.monotonic() + GRACE
    while True:
        frames = sys._current_frames()
        problems = []
        for thread in threading.enumerate():
            if thread.ident in me:
                continue
            if runs_tree_code(thread.ident, frames):
                problems.append(f"thread {thread.name} still runs tree code")
            elif thread not in baseline and not thread.name.startswith(ALLOWED_IDLE):
                problems.append(f"new thread {thread.name} is still alive")
        tasks = [t for t in call_sync(_background_tasks) if t not in tasks_before]
        problems += [f"task left on the background loop: {t}" for t in tasks]
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if not problems:
        return ""
    return "\n".join(problems) + "\n\n" + stacks(skip=tuple(me))


def run_one(case: Case, bound: float, watchdog: Watchdog, recorder: Recorder) -> dict[str, Any]:
    watchdog.arm(bound, "preparing: shutdown() and asking the background loop for its tasks")
    if case.fresh_loop:
        shutdown()
    me = {threading.get_ident(), watchdog.ident}
    tasks_before = call_sync(_background_tasks)
    baseline = set(threading.enumerate())
    recorder.problems.clear()
    watchdog.arm(bound, "running the tree")
    started = time.monotonic()
    try:
        value = run_tree(case)
    except BaseException:
        watchdog.disarm()
        return {"status": "error", "detail": traceback.format_exc()}
    elapsed = time.monotonic() - started
    watchdog.phase = "checking for leftovers (threads, tasks)"
    left = leftovers(baseline, tasks_before, me)
    gc.collect()
    watchdog.disarm()
    if left:
        return {"status": "leftovers", "detail": left, "value": value}
    if recorder.problems:
        return {"status": "warnings", "detail": "\n".join(recorder.problems), "value": value}
    return {"status": "ok", "value": value, "elapsed": elapsed}


def child_main() -> None:
    """Serve cases, one JSON line in, one out, until stdin closes."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything printed goes to stderr, not into the replies
    sys.stdout = sys.stderr
    if hasattr(signal, "SIGUSR1"):
        import faulthandler

        faulthandler.register(signal.SIGUSR1, all_threads=True)
    warnings.simplefilter("error")
    recorder = Recorder()
    root_logger = logging.getLogger()
    root_logger.addHandler(recorder)  # errors recorded; warnings (blocking calls) dropped
    sys.unraisablehook = recorder.unraisable
    threading.excepthook = recorder.thread_exception
    watchdog = Watchdog(out)
    watchdog.start()
    for line in sys.stdin:
        request = json.loads(line)
        case = eval(request["case"], globals())  # our own repr of a Case
        reply = run_one(case, request["bound"], watchdog, recorder)
        out.write(json.dumps(reply) + "\n")
        out.flush()


# ==================================================================================
# The parent side. The child interpreter compiles only what is above this line (see
# ChildRunner._spawn): it needs neither pytest nor hypothesis, and starts 3x faster.
# ==================================================================================

#: The line the child part ends at (built so that this line itself does not match).
CHILD_PART_ENDS = "# " + "=" * 82 + "\n# The parent side."

import pytest  # noqa: E402
from hypothesis import HealthCheck, Phase, given, reproduce_failure, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# --- knobs ------------------------------------------------------------------------

#: Seconds one example may take before it counts as hung (the child then reports).
HANG_BOUND = float(os.environ.get("SYNCHRONAUT_TREE_HANG", "10"))
#: Let hypothesis shrink failing examples (each hanging candidate costs HANG_BOUND).
SHRINK = os.environ.get("SYNCHRONAUT_TREE_SHRINK", "") not in ("", "0")
#: "<hypothesis version> <blob>": replay one example printed by a failure.
REPRODUCE = os.environ.get("SYNCHRONAUT_TREE_REPRODUCE", "").split()

MAX_NODES = 60
MAX_DEPTH = 40
MAX_FAN = 8

EXAMPLES_CI = 50  # per start context: 6 contexts, 300 generated trees per run
EXAMPLES_LONG = 1000  # per start context with --stress-long

# --- strategies -------------------------------------------------------------------
#
# Every node is its own ``draw(node_trees(...))``, so hypothesis's shrinker can replace
# a subtree by one of its descendants (cutting nodes out of the middle of a chain) and
# lower each choice on its own: towards leaves, single edges, ``call_any`` without
# options. Two per-tree dials decide the shape: how often a node stops having
# children (rarely: a chain runs down to the node budget or 40 levels, past the worker
# pool; often: small bushy trees), and how often a node's kind differs from its
# parent's (always: the alternating def/async def chain of the classic deadlock).


class Shape(NamedTuple):
    stop: int  # a node has no calls when a draw in 0..255 falls below this
    flip: int  # a node's kind differs from its parent's when a draw in 0..3 is below this


class Budget:
    """Nodes still to be drawn, and the next node id (pre-order)."""

    def __init__(self, nodes: int) -> None:
        self.left = nodes
        self.ids = count(1)


def other(kind: str) -> str:
    return "sync" if kind == "async" else "async"


@st.composite
def edges(draw: st.DrawFn, hows: tuple[str, ...], child: st.SearchStrategy[Node]) -> Edge:
    how = draw(st.sampled_from(hows))
    # No such parallel_map option; and inline refuses it.
    thread_sensitive = draw(st.booleans()) and how != "entry"
    timeout = draw(st.sampled_from([None, GENEROUS]))
    node = draw(child)
    return Edge(how, node, thread_sensitive and node.kind != "inline", timeout)


@st.composite
def node_trees(draw: st.DrawFn, parent_kind: str, level: int, budget: Budget, shape: Shape) -> Node:
    budget.left -= 1
    ident = next(budget.ids)
    kind = other(parent_kind) if draw(st.integers(0, 3)) < shape.flip else parent_kind
    if kind != "async" and draw(st.integers(0, 2)) == 0:
        kind = "inline" if kind == "sync" else "sync"  # defs: plain or inline, by a third
    calls: list[Edge | Fan] = []
    if level < MAX_DEPTH and budget.left > 0 and draw(st.integers(0, 255)) >= shape.stop:
        hows = ASYNC_HOWS if kind == "async" else SYNC_HOWS
        fans = ("parallel_map", "gather") if kind == "async" else ("parallel_map",)
        for _ in range(1 + draw(st.integers(0, 2))):
            if budget.left <= 0:
                break
            child = node_trees(kind, level + 1, budget, shape)
            if draw(st.integers(0, 3)) < 3:
                calls.append(draw(edges(hows, child)))
                continue
            how = draw(st.sampled_from(fans))
            members = ENTRY_HOWS if how == "parallel_map" else ASYNC_HOWS
            size = draw(st.integers(1, min(MAX_FAN, budget.left)))
            # Each member checks the budget again: an earlier one may have used it up.
            fan = [draw(edges(members, child)) for _ in range(size) if budget.left > 0]
            calls.append(Fan(how, tuple(fan)))
    return Node(ident, kind, tuple(calls))


@st.composite
def cases(draw: st.DrawFn, context: str) -> Case:
    start_kind = "sync" if context in SYNC_CONTEXTS else "async"
    shape = Shape(
        stop=draw(st.sampled_from([2, 24, 96, 192])), flip=draw(st.sampled_from([4, 2, 3, 1]))
    )
    budget = Budget(draw(st.integers(1, MAX_NODES)))
    hows = SYNC_HOWS if start_kind == "sync" else ASYNC_HOWS
    entry = draw(edges(hows, node_trees(start_kind, 0, budget, shape)))
    return Case(context, entry, draw(st.booleans()))


# --- the classic deadlocks, spelled out -------------------------------------------


def alternating_chain(
    n: int, thread_sensitive: bool, first: str = "sync", sync_kind: str = "sync"
) -> Node:
    """``def down_sync(n): return call_any(down_async, n - 1) + ...`` and back, n deep
    (``sync_kind="inline"``: every def called with ``inline=True``)."""
    kinds = (sync_kind, "async") if first == "sync" else ("async", sync_kind)
    node = Node(n + 1, kinds[n % 2])
    for level in range(n - 1, -1, -1):
        node = Node(level + 1, kinds[level % 2], (Edge("call_any", node, thread_sensitive),))
    return node


def nested_call_sync() -> Node:
    """outer, middle, inner: async defs, each doing ``call_sync(next)``: two nested
    blocking calls under the first one."""
    inner = Node(3, "async")
    middle = Node(2, "async", (Edge("call_sync", inner),))
    return Node(1, "async", (Edge("call_sync", middle),))


def classic_case(shape: str, context: str) -> Case:
    sync_start = context in SYNC_CONTEXTS
    if shape == "nested-call_sync":
        return Case(context, Edge("call_sync", nested_call_sync()))
    _, n, ts = shape.split("-")
    sync_kind = "inline" if ts == "inline" else "sync"
    root = alternating_chain(int(n), ts == "ts", "sync" if sync_start else "async", sync_kind)
    # Sync code calls the first def directly, as down_sync(n) would be called; async
    # code awaits call_any of the first async def.
    return Case(context, Edge("call_any", root, ts == "ts"))


CLASSIC_SHAPES = ("chain-14-plain", "chain-14-ts", "chain-30-plain", "chain-30-ts")
CLASSIC_SHAPES += ("chain-14-inline", "chain-30-inline", "nested-call_sync")


# --- the parent side --------------------------------------------------------------


class ChildRunner:
    """A child interpreter running cases; replaced after one hangs or dies."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.replies: queue.Queue[bytes] = queue.Queue()
        self.stderr: Any = None
        self.reader: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        # The child part of this file, compiled under this file's name (stacks show
        # its lines; runs_tree_code() recognises its frames).
        code = (
            "import sys\n"
            f"path = {_THIS_FILE!r}\n"
            "source = open(path, encoding='utf-8').read().split(sys.argv[1])[0]\n"
            "namespace = {'__name__': 'call_tree_child', '__file__': path}\n"
            "exec(compile(source, path, 'exec'), namespace)\n"
            "namespace['child_main']()\n"
        )
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the child
        proc = subprocess.Popen(
            [sys.executable, "-c", code, CHILD_PART_ENDS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.replies = queue.Queue()
        assert proc.stdout is not None
        self.reader = threading.Thread(
            target=self._read,
            args=(proc.stdout, self.replies),
            daemon=True,
            name="call-tree-reader",
        )
        self.reader.start()
        return proc

    @staticmethod
    def _read(stream: Any, replies: queue.Queue[bytes]) -> None:
        with stream:
            for line in stream:
                replies.put(line)
        replies.put(b"")

    def _stderr_tail(self) -> str:
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - 30_000))
        return self.stderr.read().decode(errors="replace")

    def _discard(self, kill: bool = True) -> None:
        """End the child (killed, or left to finish once its stdin closes)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        if not kill:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                kill = True
        if kill:
            proc.kill()
            proc.wait()
        assert self.reader is not None
        self.reader.join()  # closes the child's stdout
        self.stderr.close()

    def run(self, case: Case, bound: float = HANG_BOUND) -> dict[str, Any]:
        key = repr(case)
        if self.proc is None:
            self.proc = self._spawn()
        proc = self.proc
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({"case": key, "bound": bound}).encode() + b"\n")
            proc.stdin.flush()
            # The child reports a hang itself at HANG_BOUND; this is for a wedged child
            # (and its start-up).
            line = self.replies.get(timeout=bound + 30)
        except (queue.Empty, BrokenPipeError):
            line = None
        if line:
            reply = json.loads(line)
            if reply["status"] == "hang":
                self._discard()  # it exited after writing the stacks
                self.proc = self._spawn()  # the next one starts while we report
            return reply
        if line is None and hasattr(signal, "SIGUSR1"):
            proc.send_signal(signal.SIGUSR1)  # faulthandler: every stack, to stderr
            time.sleep(1)
        reply = {
            "status": "died" if line == b"" else "unresponsive",
            "detail": f"child exit code {proc.poll()}; its stderr:\n{self._stderr_tail()}",
        }
        self._discard()
        return reply

    def close(self) -> None:
        self._discard(kill=False)


class Children:
    """Child interpreters, several at once: cases run in parallel (hangs cost no CPU,
    so a batch of hanging cases costs one hang bound, not one each)."""

    def __init__(self) -> None:
        self.idle: list[ChildRunner] = []
        self.lock = threading.Lock()
        #: Failure reports by case repr: hypothesis runs a failing example again to
        #: report it, and that replay fails at once instead of hanging again.
        self.failures: dict[str, str] = {}

    def run(self, case: Case, bound: float = HANG_BOUND) -> dict[str, Any]:
        with self.lock:
            child = self.idle.pop() if self.idle else ChildRunner()
        try:
            return child.run(case, bound)
        finally:
            with self.lock:
                self.idle.append(child)

    def run_many(self, batch: list[Case], bound: float = HANG_BOUND) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = [{} for _ in batch]

        def one(index: int) -> None:
            replies[index] = self.run(batch[index], bound)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(batch))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return replies

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for child in idle:
            child.close()

    def check(self, case: Case, *, minimize: bool = False) -> None:
        """Fail, with the tree and what went wrong, unless ``case`` ran cleanly."""
        key = repr(case)
        if key in self.failures:
            raise AssertionError(self.failures[key])
        reply = self.run(case)
        if verdict(case, reply) == "ok":
            return
        report = failure_report(case, reply)
        if minimize and MINIMIZE_BUDGET > 0:
            # The generated tree's own stacks are left out: the minimized tree's say
            # the same with less noise (SYNCHRONAUT_TREE_MINIMIZE=0 shows them).
            generated = failure_report(case, reply, stacks=False)
            report = (
                f"{self.minimize(case, reply)}\n\n{'=' * 30} as generated {'=' * 30}\n{generated}"
            )
        self.failures[key] = report
        raise AssertionError(report)

    def minimize(self, case: Case, reply: dict[str, Any]) -> str:
        """The smallest tree found, within MINIMIZE_BUDGET seconds, failing the same way.

        Greedy and in parallel: each round runs the one-step simplifications of the
        current tree (cut a call, put a descendant in a node's place, drop an option), the
        smallest first, MINIMIZE_PARALLEL at a time, and keeps the smallest that still
        fails the same way.
        """
        kind = verdict(case, reply)
        bound = min(HANG_BOUND, MINIMIZE_BOUND)
        deadline = time.monotonic() + MINIMIZE_BUDGET
        best, best_reply, tried, out_of_time = case, reply, {repr(case)}, False
        while not out_of_time:
            candidates = []
            for candidate in simplifications(best):
                key = repr(candidate)
                if key not in tried:
                    tried.add(key)
                    candidates.append(candidate)
            candidates.sort(key=size)
            found = None
            for start in range(0, len(candidates), MINIMIZE_PARALLEL):
                if time.monotonic() > deadline:
                    out_of_time = True
                    break
                batch = candidates[start : start + MINIMIZE_PARALLEL]
                for candidate, candidate_reply in zip(
                    batch, self.run_many(batch, bound), strict=True
                ):
                    if verdict(candidate, candidate_reply) == kind:
                        found = candidate, candidate_reply
                        break
                if found:
                    break
            if found is None:
                break
            best, best_reply = found
        what = "smallest found so far (budget spent)" if out_of_time else "minimal: no one-step"
        what += " simplification fails the same way" if not out_of_time else ""
        return (
            f"{'=' * 30} minimized ({what}; SYNCHRONAUT_TREE_MINIMIZE={MINIMIZE_BUDGET:g}s, "
            f"hang bound {bound:g}s) {'=' * 30}\n{failure_report(best, best_reply)}"
        )


def verdict(case: Case, reply: dict[str, Any]) -> str:
    status = reply["status"]
    if status == "ok":
        return "ok" if reply["value"] == expected(case.entry.child) else "wrong value"
    return status


def failure_report(case: Case, reply: dict[str, Any], stacks: bool = True) -> str:
    status = verdict(case, reply)
    if status == "wrong value":
        problem = f"WRONG VALUE: got {reply['value']}, expected {expected(case.entry.child)}"
    elif status == "hang":
        problem = (
            f"HANG: not finished after {reply['elapsed']:.1f}s (while {reply['phase']}); "
            "every thread's stack, those running tree code first:\n" + reply["detail"]
        )
    else:
        problem = f"{status.upper()}:\n{reply['detail']}"
    if not stacks:
        problem = problem.splitlines()[0]
    return f"call tree failed: {status}\n{render(case)}\n{case!r}\n\n{problem}"


# --- simplifying a failing tree ---------------------------------------------------

#: Seconds spent minimizing a failing generated tree (0: report it as generated).
MINIMIZE_BUDGET = float(os.environ.get("SYNCHRONAUT_TREE_MINIMIZE", "0" if SHRINK else "30"))
#: The hang bound while minimizing (the library's own stall recovery takes ~1.5 s).
MINIMIZE_BOUND = 3.0
MINIMIZE_PARALLEL = 6


def size(case: Case) -> tuple[int, int]:
    """Smaller trees first, then fewer options and fancier call forms."""
    all_edges = [case.entry]
    for node in nodes(case.entry.child):
        for call in node.calls:
            all_edges.extend(edges_of(call))
    fancy = sum(
        e.thread_sensitive + (e.timeout is not None) + (e.how not in ("call_any", "entry"))
        for e in all_edges
    )
    return len(all_edges), fancy


def renumber(case: Case) -> Case:
    ids = count(1)

    def node(n: Node) -> Node:
        ident = next(ids)
        return Node(ident, n.kind, tuple(call_(c) for c in n.calls))

    def call_(c: Edge | Fan) -> Edge | Fan:
        if isinstance(c, Fan):
            return Fan(c.how, tuple(e._replace(child=node(e.child)) for e in c.edges))
        return c._replace(child=node(c.child))

    return case._replace(entry=case.entry._replace(child=node(case.entry.child)))


def edge_variants(edge: Edge, in_parallel_map: bool) -> Iterator[Edge]:
    """The edge itself changed a little: simpler call form, fewer options, its child
    replaced by a descendant, or the child's calls cut."""
    child = edge.child
    if edge.thread_sensitive:
        yield edge._replace(thread_sensitive=False)
    if edge.timeout is not None:
        yield edge._replace(timeout=None)
    plain = "entry" if in_parallel_map else "call_any"
    if edge.how != plain:
        yield edge._replace(
            how=plain, thread_sensitive=edge.thread_sensitive and not in_parallel_map
        )
    if child.calls:
        yield edge._replace(child=child._replace(calls=()))
    for index, call in enumerate(child.calls):
        rest = child.calls[:index] + child.calls[index + 1 :]
        yield edge._replace(child=child._replace(calls=rest))  # cut this call
        for member in edges_of(call):
            # Cut the child out, and maybe more of the chain below it: a descendant
            # takes its place under this edge (the edge keeps its form, which suits
            # this edge's parent).
            for descendant in nodes(member.child):
                yield edge._replace(child=descendant)
        if isinstance(call, Fan) and len(call.edges) > 1:
            for m in range(len(call.edges)):
                fan = Fan(call.how, call.edges[:m] + call.edges[m + 1 :])
                calls = (*child.calls[:index], fan, *child.calls[index + 1 :])
                yield edge._replace(child=child._replace(calls=calls))


def edge_rewrites(edge: Edge, in_parallel_map: bool) -> Iterator[Edge]:
    """Every one-step variant of this edge or of an edge below it."""
    yield from edge_variants(edge, in_parallel_map)
    child = edge.child
    for index, call in enumerate(child.calls):
        members = edges_of(call)
        for m, member in enumerate(members):
            for new in edge_rewrites(member, isinstance(call, Fan) and call.how == "parallel_map"):
                if isinstance(call, Fan):
                    new_call: Edge | Fan = Fan(call.how, (*members[:m], new, *members[m + 1 :]))
                else:
                    new_call = new
                calls = (*child.calls[:index], new_call, *child.calls[index + 1 :])
                yield edge._replace(child=child._replace(calls=calls))


def simplifications(case: Case) -> Iterator[Case]:
    if case.fresh_loop:
        yield case._replace(fresh_loop=False)
    for entry in edge_rewrites(case.entry, False):
        if entry.how == "entry":
            continue
        yield renumber(case._replace(entry=entry))


# --- the tests --------------------------------------------------------------------


@pytest.fixture(scope="module")
def children() -> Iterator[Children]:
    pool = Children()
    yield pool
    pool.close()


def _long(config: pytest.Config) -> bool:
    return bool(config.getoption("--stress-long")) or (
        os.environ.get("SYNCHRONAUT_STRESS", "").lower() == "long"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Here rather than in a decorator: the long run's per-test timeout depends on the
    # command line.
    if "context" not in metafunc.fixturenames:
        return
    marks = []
    if _long(metafunc.config) or SHRINK:
        marks.append(pytest.mark.timeout(3600))
    metafunc.parametrize("context", [pytest.param(c, id=c, marks=marks) for c in CONTEXTS])


def _skip_missing(context: str) -> None:
    if context == "uvloop":
        pytest.importorskip("uvloop")


def tree_settings(config: pytest.Config) -> Callable[[Any], Any]:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if SHRINK:
        phases += [Phase.target, Phase.shrink]
    return settings(
        max_examples=EXAMPLES_LONG if _long(config) else EXAMPLES_CI,
        deadline=None,
        phases=phases,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


def test_generated_call_trees_finish_with_the_right_value_and_leave_nothing(
    context: str, children: Children, request: pytest.FixtureRequest
) -> None:
    _skip_missing(context)

    @tree_settings(request.config)
    @given(case=cases(context))
    def check(case: Case) -> None:
        children.check(case, minimize=True)

    # One database entry per context, as hypothesis's plugin does for parametrized tests.
    check.hypothesis.inner_test._hypothesis_internal_add_digest = request.node.nodeid.encode()  # type: ignore[attr-defined]
    if REPRODUCE:
        check = reproduce_failure(REPRODUCE[0], REPRODUCE[1].encode())(check)
    check()


@pytest.mark.parametrize("shape", CLASSIC_SHAPES)
def test_classic_deadlock_shapes_finish_from_every_start(shape: str, children: Children) -> None:
    """The alternating chains at 14 and 30 levels (with and without thread_sensitive,
    and with every def inline) and the two nested blocking calls, from each start
    context -- all at once, in parallel children, so that a library hanging on all of
    them costs one hang bound."""
    contexts = [c for c in CONTEXTS if c != "uvloop" or _has_uvloop()]
    batch = [classic_case(shape, context) for context in contexts]
    failures = []
    for case, reply in zip(batch, children.run_many(batch), strict=True):
        if verdict(case, reply) != "ok":
            failures.append((case, reply))
    if failures:
        summary = ", ".join(f"{c.context}: {verdict(c, r)}" for c, r in failures)
        details = "\n\n".join(failure_report(c, r) for c, r in failures)
        raise AssertionError(f"{shape} fails from {summary}\n\n{details}")


#: Trees the search once found failing, minimized: each runs every time, several
#: times over (the failures were races).
FOUND_BY_SEARCH = [
    # A blocking call made on a spare loop's thread is published before it chooses
    # its loop, and meanwhile named the (blocked) background loop: a thread-sensitive
    # call served on that loop's thread, bound to the spare loop, took it for a cycle
    # and raised "the event loop it belongs to is blocked waiting for this thread".
    Case(
        "main",
        Edge(
            "call_any",
            Node(
                1,
                "async",
                (
                    Fan(
                        "gather",
                        (
                            Edge(
                                "call_sync",
                                Node(
                                    2,
                                    "async",
                                    (
                                        Fan(
                                            "gather",
                                            (
                                                Edge(
                                                    "call_any",
                                                    Node(
                                                        3,
                                                        "sync",
                                                        (Edge("call_sync", Node(4, "async")),),
                                                    ),
                                                    True,
                                                ),
                                                Edge("call_sync", Node(5, "async")),
                                            ),
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
]
FOUND_REPEATS = 12


def test_trees_the_search_found_failing_finish(children: Children) -> None:
    batch = [case for case in FOUND_BY_SEARCH for _ in range(FOUND_REPEATS)]
    failures = []
    for start in range(0, len(batch), SMALL_PARALLEL):
        part = batch[start : start + SMALL_PARALLEL]
        for case, reply in zip(part, children.run_many(part, SMALL_BOUND), strict=True):
            if verdict(case, reply) != "ok":
                failures.append((case, reply))
    if failures:
        raise AssertionError(
            f"{len(failures)} of {len(batch)} runs fail\n\n" + failure_report(*failures[0])
        )


OPTIONS = [(False, None), (True, None), (False, GENEROUS), (True, GENEROUS)]


def small_cases(context: str) -> list[Case]:
    """Every edge form alone, with every option, from this start: the start's call of
    a def or async def; then each form a def or async def uses for its one child; then
    fan-outs of two. The generated trees combine these."""
    start = "sync" if context in SYNC_CONTEXTS else "async"
    kinds = ("sync", "async", "inline")
    hows = {"sync": SYNC_HOWS, "async": ASYNC_HOWS, "inline": SYNC_HOWS}
    found = [
        Case(context, Edge(how, Node(1, kind), ts, timeout))
        for how in hows[start]
        for ts, timeout in OPTIONS
        for kind in kinds
        if not (ts and kind == "inline")  # refused: inline runs on the loop's thread
    ]
    for kind in kinds:
        found += [
            Case(context, Edge("call_any", Node(1, kind, (Edge(how, Node(2, leaf), ts, timeout),))))
            for how in hows[kind]
            for ts, timeout in OPTIONS
            for leaf in kinds
            if not (ts and leaf == "inline")
        ]
        fans = [("parallel_map", ENTRY_HOWS)] + (
            [("gather", ASYNC_HOWS)] if kind == "async" else []
        )
        for fan, members in fans:
            for ts, timeout in OPTIONS:
                pair = tuple(
                    Edge(how, Node(0, leaf), ts and how != "entry" and leaf != "inline", timeout)
                    for how, leaf in zip(members, kinds, strict=False)
                )
                root = Node(1, kind, (Fan(fan, pair),))
                found.append(renumber(Case(context, Edge("call_any", root))))
    return found


#: The hang bound for trees of two or three nodes (they take milliseconds), and how
#: many of them run at once.
SMALL_BOUND = 3.0
SMALL_PARALLEL = 6


def test_every_edge_form_alone_works_from_every_start(children: Children) -> None:
    """The building blocks, ~900 trees of one to three nodes, SMALL_PARALLEL at a time;
    stops at the 12th failure so that a broken library costs a bounded time."""
    batch = [
        c
        for context in CONTEXTS
        if context != "uvloop" or _has_uvloop()
        for c in small_cases(context)
    ]
    failures: list[tuple[Case, dict[str, Any]]] = []
    for start in range(0, len(batch), SMALL_PARALLEL):
        part = batch[start : start + SMALL_PARALLEL]
        for case, reply in zip(part, children.run_many(part, SMALL_BOUND), strict=True):
            if verdict(case, reply) != "ok":
                failures.append((case, reply))
        if len(failures) >= 12:
            break
    if failures:
        lines = [
            f"{verdict(c, r)}: " + " / ".join(x.strip() for x in render(c).splitlines()[:-1])
            for c, r in failures
        ]
        raise AssertionError(
            f"{len(failures)} small trees fail (of {start + len(part)} run, {len(batch)} in all):\n"
            + "\n".join(lines)
            + "\n\nthe first one:\n"
            + failure_report(*failures[0])
        )


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def test_the_harness_reports_a_hang_with_stacks_and_replaces_the_child() -> None:
    child = ChildRunner()
    try:
        fine = Case(
            "main", Edge("call_any", Node(1, "async", (Edge("call_any", Node(2, "sync")),)))
        )
        stuck = Case(
            "main", Edge("call_any", Node(1, "async", (Edge("call_any", Node(2, "stuck")),)))
        )
        assert verdict(fine, child.run(fine)) == "ok"
        assert child.proc is not None
        stuck_pid = child.proc.pid
        reply = child.run(stuck, bound=1.0)
        assert reply["status"] == "hang", reply
        assert "node2_stuck" in reply["detail"]
        assert child.proc is not None
        assert child.proc.pid != stuck_pid  # the stuck child is gone, a fresh one waits
        assert verdict(fine, child.run(fine)) == "ok"  # and serves
    finally:
        child.close()


def test_the_harness_reports_a_thread_left_running(children: Children) -> None:
    leaky = Case("thread", Edge("call_sync", Node(7, "straggler")))
    reply = children.run(leaky)
    assert reply["status"] == "leftovers", reply
    assert "call-tree-straggler" in reply["detail"]


def test_the_minimizer_cuts_a_tree_down_to_what_fails() -> None:
    # A node returning a wrong value stands in for a hang: every tree holding it fails.
    noise = Edge("call_any", Node(0, "async", (Edge("call_async", Node(0, "sync")),)))
    bad = Edge("call_sync", Node(0, "wrong"), thread_sensitive=True, timeout=GENEROUS)
    root = Node(0, "sync", (noise, Edge("call_any", Node(0, "async", (noise, bad)))))
    case = renumber(Case("main", Edge("decorated", root), fresh_loop=True))
    pool = Children()
    try:
        text = pool.minimize(case, pool.run(case))
    finally:
        pool.close()
    assert "minimal" in text, text
    assert text.splitlines()[1:4] == [
        "call tree failed: wrong value",
        "start: main",
        "  call_any -> #1 wrong",
    ], text
