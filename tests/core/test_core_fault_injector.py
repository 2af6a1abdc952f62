"""The fault injector of tests/support_faults.py, proven on small functions of its own.

Nothing here uses synchronaut: the injector must be right before it is trusted to prove
that synchronaut survives a Ctrl-C anywhere.
"""

from __future__ import annotations

import collections
import contextlib
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import support_faults
from support_faults import Injector, Selection, count_points, failing_thread_start, sweep

PY310 = sys.version_info < (3, 11)


class Box:
    pass


def noop() -> None:
    pass


def two_stores(o: Box) -> None:
    o.a = 1
    o.b = 2


def calls_twice(f: Callable[[], object]) -> None:
    f()
    f()


def countdown(n: int) -> int:
    while n:
        n -= 1
    return n


def loop_range() -> None:
    for _ in range(3):
        pass


def with_block(lock: Any, o: Box) -> None:
    with lock:
        o.a = 1
        o.b = 2


def locked_pop(lock: Any, q: collections.deque[int]) -> int:
    with lock:
        return q.popleft()


def locked_call(lock: Any, f: Callable[[], object]) -> object:
    with lock:
        return f()


def locked_make(lock: Any) -> object:
    with lock:
        return dict()


def try_return_finally(f: Callable[[], object], log: list[str]) -> object:
    try:
        return f()
    finally:
        log.append("finally")


def with_call_cm(make: Callable[[], Any], o: Box) -> None:
    with make():
        o.a = 1


def starts_with_try(o: Box) -> None:
    try:
        o.a = 1
    finally:
        o.b = 2


def catches(o: Box) -> None:
    try:
        raise ValueError
    except ValueError:
        o.a = 1


def gen() -> Iterator[int]:
    yield 1
    yield 2


@types.coroutine
def _pause() -> Iterator[None]:
    yield


async def awaits() -> None:
    await _pause()


def fact(n: int) -> int:
    return 1 if n <= 1 else n * fact(n - 1)


def nest(depth: int, fn: Callable[[], object]) -> object:
    return fn() if depth == 0 else nest(depth - 1, fn)


def kinds(targets: Any, scenario: Callable[[], object]) -> list[str]:
    injector = Injector(targets, None)
    with injector:
        scenario()
    return [p.kind for p in injector.points]


def kind_of(where: str) -> str:
    """The kind in a ``where`` string: "mod.f:3 (after call, offset 8)" -> "after call"."""
    return where.rpartition(" (")[2].partition(",")[0]


def run_coroutine(coro: Any) -> None:
    try:
        while True:
            coro.send(None)
    except StopIteration:
        pass


# -- where the points are ---------------------------------------------------------------------


def test_two_attribute_stores_only_have_the_entry_point() -> None:
    assert kinds(two_stores, lambda: two_stores(Box())) == ["entry"]
    injector = Injector(two_stores, None)
    with injector:
        two_stores(Box())
    (point,) = injector.points
    assert point.line == two_stores.__code__.co_firstlineno
    assert str(point).startswith(f"{__name__}.two_stores:{point.line} (entry, offset ")


@pytest.mark.parametrize("callee", [noop, threading.get_ident, Box], ids=["py", "c", "type"])
def test_each_call_that_returns_is_a_point(callee: Callable[[], object]) -> None:
    injector = Injector(calls_twice, None)
    with injector:
        calls_twice(callee)
    assert [p.kind for p in injector.points] == ["entry", "after call", "after call"]
    first = calls_twice.__code__.co_firstlineno
    assert [p.line for p in injector.points] == [first, first + 1, first + 2]


def test_a_loop_has_a_point_per_back_edge() -> None:
    # while n: the bottom test jumps back twice for n=3 (a conditional backward jump on
    # 3.10/3.11, a forward exit test plus JUMP_BACKWARD on 3.12+): the same points.
    assert kinds(countdown, lambda: countdown(3)) == ["entry", "back edge", "back edge"]
    assert kinds(loop_range, loop_range) == ["entry", "after call"] + ["back edge"] * 3


def test_a_forward_jump_is_a_point_only_on_310() -> None:
    # countdown(0): the top `while n:` test jumps forward; only 3.10 checks there.
    expected = ["entry", "jump"] if PY310 else ["entry"]
    assert kinds(countdown, lambda: countdown(0)) == expected


def test_no_point_between_enter_and_the_with_body() -> None:
    lock = threading.Lock()
    injector = Injector(with_block, None)
    with injector:
        with_block(lock, Box())
    # The entry, then only the __exit__ call: nothing between __enter__ and `o.a = 1`, nor
    # between the two stores.
    assert [p.kind for p in injector.points] == ["entry", "after call"]
    assert injector.points[1].line == with_block.__code__.co_firstlineno + 1  # the with line

    def check(outcome: object) -> None:
        assert outcome is None or isinstance(outcome, KeyboardInterrupt)
        assert not lock.locked()  # interrupted before the with, or after __exit__ released

    assert len(sweep(with_block, lambda: with_block(lock, Box()), check)) == 2


def test_a_call_followed_by_setup_with_is_no_point_on_310() -> None:
    lock = threading.Lock()
    got = kinds(with_call_cm, lambda: with_call_cm(lambda: lock, Box()))
    # 3.10 does not check before SETUP_WITH; 3.11+ check in CALL, before BEFORE_WITH.
    expected = ["entry", "after call"] if PY310 else ["entry", "after call", "after call"]
    assert got == expected


def test_310_rules_for_try_and_exception_handlers() -> None:
    # A function starting with `try:` has no entry point on 3.10 (SETUP_FINALLY first).
    assert kinds(starts_with_try, lambda: starts_with_try(Box())) == ([] if PY310 else ["entry"])
    # 3.10 checks when it enters a handler (and, again, has no entry point before `try:`);
    # 3.11+ do not (the ValueError() call is a C type call that raised: no 'after call').
    expected = ["handler"] if PY310 else ["entry"]
    assert kinds(catches, lambda: catches(Box())) == expected


def test_generators_resume_after_yield_but_not_after_await_or_on_throw() -> None:
    assert kinds(gen, lambda: list(gen())) == ["entry", "resume", "resume"]

    def thrown() -> None:
        g = gen()
        next(g)
        with pytest.raises(ValueError, match="thrown"):
            g.throw(ValueError("thrown"))

    assert kinds(gen, thrown) == ["entry"]
    # A coroutine resumed after `await` (RESUME 3; 3.10 YIELD_FROM) is not interrupted.
    assert kinds(awaits, lambda: run_coroutine(awaits())) == ["entry", "after call"]


def test_an_entry_interrupt_is_raised_inside_the_frame() -> None:
    injector = Injector(two_stores, 0)
    with injector, pytest.raises(KeyboardInterrupt) as caught:
        two_stores(Box())
    assert injector.fired
    assert injector.where == str(injector.point)
    codes = []
    tb = caught.value.__traceback__
    while tb is not None:
        codes.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    # The innermost entry is the interrupted frame (3.10: then the injector's trace frame).
    if PY310:
        assert codes[-1].co_filename == support_faults.__file__
        codes.pop()
    assert codes[-1] is two_stores.__code__


# -- 'after call' points whose next instruction is already the cleanup ------------------------


@pytest.mark.parametrize("callee", ["python", "c"])
def test_return_call_inside_with_is_interrupted_inside_the_with(callee: str) -> None:
    # `with lock: return f()`: on 3.11+ the instruction after the call is __exit__ code,
    # outside the with's handler. A real interrupt is attributed to the call, so __exit__
    # runs: the lock must never be left held, and when the call completed its effect is
    # visible (the item is popped, the function ran) although the caller got the interrupt.
    lock = threading.Lock()
    q: collections.deque[int] = collections.deque()
    ran: list[int] = []
    target: Any = locked_pop if callee == "c" else locked_call

    def scenario() -> object:
        q.clear()
        q.append(1)
        ran.clear()
        if callee == "c":
            return locked_pop(lock, q)
        return locked_call(lock, lambda: ran.append(1) or 1)

    outcomes: list[object] = []

    def check(outcome: object) -> None:
        assert not lock.locked()
        outcomes.append((outcome if isinstance(outcome, int) else type(outcome), len(q), ran[:]))

    covered = sweep(target, scenario, check)
    assert [kind_of(w) for w in covered] == ["entry", "after call", "after call"]
    left, done = (0, []) if callee == "c" else (1, [1])
    assert outcomes == [
        (1, left, done),  # the counting run
        (KeyboardInterrupt, 1, []),  # at entry: nothing happened
        (KeyboardInterrupt, left, done),  # after the call: it ran, its result is lost
        (KeyboardInterrupt, left, done),  # after __exit__
        (1, left, done),  # not interrupted
    ]


def test_a_return_call_whose_callee_gives_no_event_is_skipped_not_faked() -> None:
    lock = threading.Lock()
    injector = Injector(locked_make, None)
    with injector:
        locked_make(lock)
    kinds_seen = [p.kind for p in injector.points]
    if PY310:  # no exception table: the plain injection is faithful
        assert kinds_seen == ["entry", "after call", "after call"]
        assert injector.skipped == []
    else:  # dict() returns without a profile event: cannot raise out of the call
        assert kinds_seen == ["entry", "after call"]
        assert [p.kind for p in injector.skipped] == ["after call"]
    covered = sweep(locked_make, lambda: locked_make(lock), lambda o: assert_unlocked(lock))
    assert len(covered) == len(kinds_seen)


def assert_unlocked(lock: Any) -> None:
    assert not lock.locked()


def test_return_call_inside_try_finally_runs_the_finally() -> None:
    log: list[str] = []
    results: list[tuple[str, list[str]]] = []

    def scenario() -> object:
        log.clear()
        return try_return_finally(noop, log)

    def check(outcome: object) -> None:
        results.append((type(outcome).__name__, log[:]))

    covered = sweep(try_return_finally, scenario, check)
    entry = [] if PY310 else ["entry"]  # 3.10: no check before SETUP_FINALLY
    assert [kind_of(w) for w in covered] == [*entry, "after call", "after call"]
    assert results == [
        ("NoneType", ["finally"]),  # the counting run
        *[("KeyboardInterrupt", [])] * len(entry),  # before the try: no finally
        ("KeyboardInterrupt", ["finally"]),  # after f() returned, inside the try
        ("KeyboardInterrupt", ["finally"]),  # after log.append(), in the finally
        ("NoneType", ["finally"]),
    ]


# -- the sweep --------------------------------------------------------------------------------


def composite(lock: Any) -> int:
    total = 0
    for i in range(2):
        with lock:
            total += i
    total += countdown(2)
    return total


def test_the_sweep_covers_every_point_exactly_once_and_stops() -> None:
    lock = threading.Lock()
    targets = [composite, countdown]
    injector = Injector(targets, None)
    with injector:
        assert composite(lock) == 1
    expected = [str(p) for p in injector.points]
    assert len(expected) == count_points(targets, lambda: composite(lock)) > 5
    assert len(set(expected)) < len(expected)  # loops reach some points more than once

    outcomes: list[object] = []

    def check(outcome: object) -> None:
        assert not lock.locked()
        outcomes.append(outcome)

    covered = sweep(targets, lambda: composite(lock), check)
    assert covered == expected
    # A first counting run, one run per point, and the last, clean run.
    assert len(outcomes) == 1 + len(expected) + 1
    assert all(isinstance(o, KeyboardInterrupt) for o in outcomes[1:-1])
    assert outcomes[0] == outcomes[-1] == 1


def test_the_sweep_refuses_a_scenario_whose_path_changes() -> None:
    # State carried from run to run: each run loops less, so the last clean run reaches
    # fewer points than the first and the later points of the first were never tried.
    left = [6]

    def shrinking() -> int:
        left[0] = max(left[0] - 1, 1)
        return countdown(left[0])

    with pytest.raises(AssertionError, match="not repeatable: 5 points on the first run, 2"):
        sweep(countdown, shrinking, lambda o: None)
    left[0] = 6
    assert len(sweep(countdown, shrinking, lambda o: None, stable=False)) == 3


def test_the_sweep_raises_what_it_is_told_to_and_honours_the_limit() -> None:
    seen: list[object] = []
    covered = sweep(
        calls_twice,
        lambda: calls_twice(noop),
        seen.append,
        exc_factory=lambda: RuntimeError("injected"),
    )
    assert len(covered) == 3
    assert seen[0] is None  # the counting run
    assert [str(o) for o in seen[1:4]] == ["injected"] * 3
    assert seen[4] is None

    def endless() -> None:
        countdown(-1)  # never reaches 0: back edges until interrupted

    with pytest.raises(AssertionError, match="still firing after 5"):
        sweep(countdown, endless, lambda o: None, limit=5, stable=False)


def test_a_failed_check_says_where_the_run_was_interrupted() -> None:
    def check(outcome: object) -> None:
        assert not isinstance(outcome, KeyboardInterrupt)

    with pytest.raises(AssertionError) as caught:
        sweep(calls_twice, lambda: calls_twice(noop), check)
    text = "".join(getattr(caught.value, "__notes__", [])) or str(caught.value)
    assert "run 0: interrupted at " in text and "calls_twice" in text and "(entry," in text


def test_line_mode_counts_lines() -> None:
    injector = Injector(two_stores, None, mode="line")
    with injector:
        two_stores(Box())
    first = two_stores.__code__.co_firstlineno
    assert [(p.kind, p.line) for p in injector.points] == [("line", first + 1), ("line", first + 2)]
    covered = sweep(two_stores, lambda: two_stores(Box()), lambda o: None, mode="line")
    assert len(covered) == 2


# -- only this thread, the previous tracer, deep stacks ---------------------------------------


def spin(stop: threading.Event, counter: list[int]) -> None:
    while not stop.is_set():
        counter[0] += 1


def test_only_the_current_thread_is_interrupted() -> None:
    stop = threading.Event()
    other = [0]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            spin(stop, other)
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        while other[0] == 0:
            pass
        # The other thread runs spin (selected) all along; this thread does not: no point.
        injector = Injector(spin, 0)
        with injector:
            start = other[0]
            while other[0] < start + 1000:
                pass
        assert not injector.fired and injector.count == 0
        # This thread runs spin too, forever unless interrupted: only it is.
        mine = [0]
        injector = Injector(spin, 50)
        with injector, pytest.raises(KeyboardInterrupt):
            spin(threading.Event(), mine)
        assert injector.fired and injector.point is not None
        assert injector.point.kind in ("entry", "after call", "back edge")
        assert thread.is_alive() and not errors
    finally:
        stop.set()
        thread.join(5)
    assert not errors


def test_the_previous_trace_and_profile_functions_are_restored() -> None:
    def tracer(frame: Any, event: str, arg: object) -> None:
        return None

    def profiler(frame: Any, event: str, arg: object) -> None:
        return None

    saved_trace, saved_profile = sys.gettrace(), sys.getprofile()
    sys.settrace(tracer)
    sys.setprofile(profiler)
    try:
        with Injector(two_stores, None):
            two_stores(Box())
        assert sys.gettrace() is tracer
        with Injector(two_stores, 0), pytest.raises(KeyboardInterrupt):
            two_stores(Box())
        assert sys.gettrace() is tracer
        # A deferred 'after call' (3.11+) goes through a profile hook, fired or not.
        lock = threading.Lock()
        for n in (None, 1):
            with Injector(locked_call, n) as injector, contextlib.suppress(KeyboardInterrupt):
                locked_call(lock, noop)
            assert injector.fired == (n == 1)
            assert injector.count == (3 if n is None else 2)
            assert not lock.locked()
            assert sys.gettrace() is tracer
            assert sys.getprofile() is profiler
    finally:
        sys.settrace(saved_trace)
        sys.setprofile(saved_profile)


def test_the_injected_code_can_be_deep_in_the_stack() -> None:
    covered = sweep(calls_twice, lambda: nest(200, lambda: calls_twice(noop)), lambda o: None)
    assert len(covered) == 3
    # Selected code that recurses: every frame's entry, every return into a caller (and on
    # 3.10 the taken forward jump of each `else` branch).
    expected = 5 + 4 + (4 if PY310 else 0)
    assert count_points(fact, lambda: fact(5)) == expected
    results: list[object] = []
    covered = sweep(fact, lambda: nest(100, lambda: fact(5)), results.append)
    assert len(covered) == expected
    assert results[0] == results[-1] == 120
    assert all(isinstance(r, KeyboardInterrupt) for r in results[1:-1])


def opens_an_injector(record: list[Injector]) -> None:
    injector = Injector(opens_an_injector, None)
    with injector:
        noop()
        noop()
    record.append(injector)


def test_frames_already_running_are_traced_from_the_enter_on() -> None:
    record: list[Injector] = []
    opens_an_injector(record)
    (injector,) = record
    assert [p.kind for p in injector.points] == ["after call", "after call"]
    assert sys.gettrace() is not injector._global  # pyright: ignore[reportPrivateUsage]


# -- thread start failures --------------------------------------------------------------------


def test_failing_thread_start_fails_exactly_the_nth_start() -> None:
    original = threading.Thread.start
    ran: list[int] = []
    threads = [threading.Thread(target=ran.append, args=(i,)) for i in range(3)]
    with failing_thread_start(1) as failure:
        threads[0].start()
        with pytest.raises(RuntimeError, match="can't start new thread"):
            threads[1].start()
        threads[2].start()
    threads[0].join(5)
    threads[2].join(5)
    assert threading.Thread.start is original
    assert failure.fired and failure.calls == 3 and failure.thread is threads[1]
    assert threads[1].ident is None and not threads[1].is_alive()  # no thread was created
    assert threads[1] not in threading.enumerate()
    assert sorted(ran) == [0, 2]

    with failing_thread_start(5, exc=lambda: MemoryError()) as failure:
        thread = threading.Thread(target=noop)
        thread.start()
        thread.join(5)
    assert not failure.fired and failure.calls == 1


# -- bad input --------------------------------------------------------------------------------


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        Injector(noop, 0, mode="opcode")
    with pytest.raises(ValueError, match="n must be"):
        Injector(noop, -1)
    with pytest.raises(TypeError, match="cannot select"):
        Selection(42)
    with pytest.raises(ValueError, match="no code selected"):
        Selection([])
    injector = Injector(noop, None)
    with injector:
        pass
    with pytest.raises(RuntimeError, match="only be used once"), injector:
        pass


def test_selections() -> None:
    class Holder:
        def method(self) -> int:
            return (lambda: 1)()

        @staticmethod
        def static() -> None:
            pass

        @property
        def prop(self) -> int:
            return 1

        class Inner:
            def deep(self) -> None:
                pass

    selection = Selection(Holder)
    for fn in (Holder.method, Holder.static, Holder.prop.fget, Holder.Inner.deep):
        assert selection.info(fn.__code__) is not None  # type: ignore[union-attr]
    lambda_code = next(c for c in Holder.method.__code__.co_consts if isinstance(c, types.CodeType))
    assert selection.info(lambda_code) is not None  # nested code is selected too
    assert selection.info(noop.__code__) is None
    # A module selects every code object compiled from its file.
    module_selection = Selection(sys.modules[__name__])
    assert module_selection.info(Holder.Inner.deep.__code__) is not None
    assert module_selection.info(support_faults.sweep.__code__) is None
