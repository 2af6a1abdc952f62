"""The measuring machinery: calibrated inner loops, warm-up, interleaved repeats.

A *case* is a timer: ``timer(n)`` performs ``n`` operations and returns the elapsed
nanoseconds (``time.perf_counter_ns``), measured around the inner loop only -- inside
the event loop for async cases, after the start barrier for threaded ones -- so setup
such as ``trio.run`` or starting threads is not counted. One operation is ``per_op``
calls (an unrolled loop, a burst, a whole batch), and every figure is ns per call.

For each group the harness:

1. calibrates every case: ``n`` grows until one repeat takes about
   ``Settings.repeat_ns`` (calibration runs double as warm-up), then runs once more
   at the final ``n`` as a warm-up proper;
2. runs ``Settings.repeats`` rounds, and in each round every case once, rotating the
   order, so the cases of a group are measured side by side and drift (another
   process, frequency scaling) spreads over all of them instead of hitting one;
3. reports min and median ns/call; ratios are taken against the group's floor (the
   standard-library way of doing the same thing): by default the median, over the
   rounds, of the case's time over the floor's time in the same round (see
   ``ratio_between``); with ``Settings.stat == "min"`` the ratio of the mins.

The garbage collector is collected and disabled around every timed run, for every
case alike. A case whose peer is not installed has ``na`` set and is reported as
"n/a"; a case that raises is reported with its error; neither stops the run.
"""

from __future__ import annotations

import contextvars
import fnmatch
import gc
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

Timer = Callable[[int], int]

perf_ns = time.perf_counter_ns


@dataclass
class Settings:
    quick: bool = False
    repeats: int = 15
    repeat_ns: int = 50_000_000  # what one timed repeat aims at
    loop: str = "uvloop"  # the loop type of every async-side case and floor
    stat: str = "median"  # the statistic ratios are taken on
    verbose: bool = True
    pure: bool = False  # synchronaut runs without its C accelerator (pure_targets apply)


@dataclass
class Row:
    group: str
    group_title: str
    name: str
    floor: bool = False
    synchronaut: bool = False
    samples: list[float] = field(default_factory=list)  # ns per call, one per repeat
    min_ns: float | None = None
    median_ns: float | None = None
    ratio: float | None = None  # stat / the floor's stat
    vs: str | None = None  # the floor's name
    targets: list[str] = field(default_factory=list)
    floor_limit: float | None = None
    status: str = ""  # PASS, FAIL, n/a, ERROR or "" (no target)
    target_detail: list[str] = field(default_factory=list)
    ctx: str = ""
    note: str = ""
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    n: int = 0
    per_op: int = 1

    def stat(self, which: str) -> float | None:
        return self.median_ns if which == "median" else self.min_ns


def ratio_between(row: Row, other: Row, stat: str) -> float | None:
    """How many times ``other``'s time ``row``'s is.

    On the median: the median over the rounds of the two cases' times in the same
    round (paired), so that a slow phase of the machine -- another process, the
    scheduler parking a thread -- weighs on both sides of each ratio. On the min:
    the ratio of the mins.
    """
    if stat == "median" and row.samples and len(row.samples) == len(other.samples):
        return statistics.median(
            ours / theirs for ours, theirs in zip(row.samples, other.samples, strict=True)
        )
    ours, theirs = row.stat(stat), other.stat(stat)
    if ours is None or not theirs:
        return None
    return ours / theirs


@dataclass
class Target:
    """A target of one row: ``check(row, rows_by_name, stat)`` -> (ok or None, detail)."""

    label: str
    check: Callable[[Row, dict[str, Row], str], tuple[bool | None, str]]
    refs: tuple[str, ...] = ()  # other cases the check reads (kept by --only)
    floor_limit: float | None = None  # the highest ratio to the floor it allows (the chart)


def at_most(limit: float, ref: str | None = None, label: str | None = None) -> Target:
    """This row's time is at most ``limit`` times ``ref``'s (default: the floor's)."""

    def check(row: Row, rows: dict[str, Row], stat: str) -> tuple[bool | None, str]:
        other = rows.get(ref) if ref is not None else rows.get(row.vs or "")
        ratio = ratio_between(row, other, stat) if other is not None else None
        if ratio is None:
            return None, f"{ref or 'floor'} n/a"
        return ratio <= limit, f"{ratio:.2f}x {ref or 'floor'}"

    if label is None:
        if ref is None:
            label = f"<={limit:g}x"
        elif limit < 1:
            label = f">= {1 / limit:g}x faster than {ref}"
        elif limit == 1:
            label = f"faster than {ref}"
        else:
            label = f"<= {limit:g}x {ref}"
    if ref is None:
        return Target(label, check, floor_limit=limit)
    return Target(label, check, (ref,))


def ns_at_most(limit_ns: float, label: str | None = None) -> Target:
    """This row's time per call (the run's statistic) is at most ``limit_ns``."""

    def check(row: Row, rows: dict[str, Row], stat: str) -> tuple[bool | None, str]:
        value = row.stat(stat)
        if value is None:
            return None, "n/a"
        return value <= limit_ns, f"{value:.0f} ns"

    return Target(label or f"<={limit_ns:g} ns", check)


def extra_at_most(key: str, limit: float, label: str, unit: str = "") -> Target:
    """``row.extra[key]`` (the median of that measurement) is at most ``limit``."""

    def check(row: Row, rows: dict[str, Row], stat: str) -> tuple[bool | None, str]:
        value = row.extra.get(key)
        if value is None:
            return None, f"{key} n/a"
        return value <= limit, f"{value:.1f}{unit}"

    return Target(label, check)


@dataclass
class Case:
    """One way of making the call, timed side by side with the group's other cases."""

    name: str
    timer: Timer | None = None
    per_op: int = 1  # calls per operation (an unrolled loop, a burst, a batch)
    floor: bool = False
    synchronaut: bool = False
    targets: list[Target] = field(default_factory=list)
    ctx: str = ""  # how ContextVars behave, filled by ``probe`` when given
    probe: Callable[[], str] | None = None
    note: str = ""
    na: str = ""  # why it cannot run here (a peer not installed)
    max_n: int | None = None  # at most this many operations per repeat
    # For cases measured their own way (a fresh subprocess): returns ns/call samples
    # and extra measurements; replaces calibration and the rounds.
    measure: Callable[[Settings], tuple[list[float], dict[str, Any]]] | None = None
    # The targets when synchronaut runs in pure Python (SYNCHRONAUT_NO_EXTENSIONS=1);
    # None: the same as ``targets``.
    pure_targets: list[Target] | None = None

    def targets_for(self, settings: Settings) -> list[Target]:
        if settings.pure and self.pure_targets is not None:
            return self.pure_targets
        return self.targets


@dataclass
class Group:
    key: str
    title: str
    # Sets the group's environment up, yields its cases, tears it down.
    build: Callable[[Settings], AbstractContextManager[list[Case]]]
    full_only: bool = False  # skipped by --quick


# --- ContextVar probes --------------------------------------------------------------

PROBE: contextvars.ContextVar[str] = contextvars.ContextVar("synchronaut_bench_probe")


def probe_callee(*_: object) -> bool:
    """The callee of a probe: did it see the caller's value? Then it changes it."""
    seen = PROBE.get("unset") == "caller"
    PROBE.set("callee")
    return seen


async def aprobe_callee(*_: object) -> bool:
    return probe_callee()


def ctx_verdict(seen: object, after: str) -> str:
    """ "in+out": the callee sees the caller's ContextVars and its changes come back
    (like a direct call); "in": it sees them, its changes are lost; "none": it runs
    in another context altogether."""
    back = after == "callee"
    if seen is True:
        return "in+out" if back else "in"
    return "out only" if back else "none"


def sync_probe(call: Callable[[Callable[..., Any]], Any]) -> Callable[[], str]:
    """A probe for sync callers: ``call(probe_callee)`` makes one call the case's way."""

    def probe() -> str:
        def inner() -> str:
            PROBE.set("caller")
            seen = call(probe_callee)
            return ctx_verdict(seen, PROBE.get("unset"))

        return contextvars.copy_context().run(inner)

    return probe


async def async_probe(call: Callable[[], Any]) -> str:
    """Run inside a task of its own (so its context is fresh): ``await call()``."""
    PROBE.set("caller")
    seen = await call()
    return ctx_verdict(seen, PROBE.get("unset"))


# --- timers -------------------------------------------------------------------------


def unrolled(stmt: str, namespace: dict[str, Any], unroll: int = 10) -> Timer:
    """A timer running ``stmt`` ``unroll`` times per loop iteration (like ``timeit``),
    so the ``for`` loop's own cost is spread over ``unroll`` calls."""
    body = "\n".join(f"        {stmt}" for _ in range(unroll))
    src = (
        "def _timer(n, _perf=_perf_ns):\n"
        "    _range = range(n)\n"
        "    _t0 = _perf()\n"
        "    for _ in _range:\n"
        f"{body}\n"
        "    return _perf() - _t0\n"
    )
    scope = dict(namespace, _perf_ns=perf_ns)
    exec(compile(src, f"<timer {stmt}>", "exec"), scope)
    return scope["_timer"]


def unrolled_async(stmt: str, namespace: dict[str, Any], unroll: int = 10) -> Callable[..., Any]:
    """``unrolled`` for an ``await`` statement: returns ``async def inner(n) -> ns``."""
    body = "\n".join(f"        {stmt}" for _ in range(unroll))
    src = (
        "async def _inner(n, _perf=_perf_ns):\n"
        "    _range = range(n)\n"
        "    _t0 = _perf()\n"
        "    for _ in _range:\n"
        f"{body}\n"
        "    return _perf() - _t0\n"
    )
    scope = dict(namespace, _perf_ns=perf_ns)
    exec(compile(src, f"<async timer {stmt}>", "exec"), scope)
    return scope["_inner"]


def threaded(call: Callable[[], object], threads: int) -> Timer:
    """A timer where ``threads`` threads each make ``n`` calls at once (wall time).

    The threads are started before the clock and released together by a barrier.
    """

    def timer(n: int) -> int:
        barrier = threading.Barrier(threads + 1)
        errors: list[BaseException] = []

        def worker() -> None:
            barrier.wait()
            try:
                for _ in range(n):
                    call()
            except BaseException as exc:
                errors.append(exc)

        pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
        for thread in pool:
            thread.start()
        barrier.wait()
        t0 = perf_ns()
        for thread in pool:
            thread.join()
        elapsed = perf_ns() - t0
        if errors:
            raise errors[0]
        return elapsed

    return timer


# --- whole runs, interleaved -----------------------------------------------------------

# One measurement of a case measured as a whole run: (ns per call, named figures).
RunFn = Callable[[], "tuple[float, dict[str, float]]"]


def paired(row: Row, other: Row, key: str) -> float | None:
    """The median over the rounds of ``row``'s figure ``key`` over ``other``'s in the
    same round (figures recorded by :class:`Interleaved`), like ``ratio_between``."""
    ours = row.extra.get("rounds") or []
    theirs = other.extra.get("rounds") or []
    pairs = [
        (a[key], b[key])
        for a, b in zip(ours, theirs, strict=False)
        if a.get(key) is not None and b.get(key)
    ]
    if not pairs or len(ours) != len(theirs):
        return None
    return statistics.median(a / b for a, b in pairs)


class Interleaved:
    """Cases measured as whole runs -- a load test, a fan-in of threads, a child
    process -- rather than as timed loops of ``n`` operations.

    Every round runs each case's run once, in a rotating order (as ``run_group``
    does), so a slow phase of the machine spreads over all of them. Each run returns
    (ns per call, figures); a case's samples are its ns per call over the rounds and
    its ``extra`` holds the median of each figure, the paired ratio of each figure to
    the floor's (``<key>_x``) and every round's figures (``rounds``, for targets that
    compare with a peer: :func:`paired`). The first ``measure`` called runs every
    round of every case; a run that raises is that case's error only.
    """

    def __init__(
        self,
        runs: dict[str, RunFn],
        rounds: int,
        floor: str | None = None,
        warmup: Callable[[str], object] | None = None,
        show: Callable[[dict[str, Any]], str] | None = None,
        collect: bool = True,
        rounds_of: dict[str, int] | None = None,
    ) -> None:
        self.runs = runs
        self.rounds = rounds
        # Fewer (or more) rounds for some cases: a peer that takes a minute a run.
        self.rounds_of = rounds_of or {}
        self.floor = floor
        self.warmup = warmup
        self.show = show
        self.collect = collect  # gc.collect() and gc.disable() around each run
        self._done = False
        self._samples: dict[str, list[float]] = {name: [] for name in runs}
        self._figures: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
        self._errors: dict[str, BaseException] = {}

    def _one(self, name: str) -> None:
        if self.collect:
            gc.collect()
            gc.disable()
        try:
            ns, figures = self.runs[name]()
        except Exception as exc:
            self._errors[name] = exc
            return
        finally:
            if self.collect:
                gc.enable()
        self._samples[name].append(ns)
        self._figures[name].append(figures)

    def _run(self) -> None:
        if self._done:
            return
        self._done = True
        names = list(self.runs)
        if self.warmup is not None:
            for name in names:
                try:
                    self.warmup(name)
                except Exception as exc:
                    self._errors[name] = exc
        for round_ in range(max([self.rounds, *self.rounds_of.values()])):
            shift = round_ % max(1, len(names))
            for name in names[shift:] + names[:shift]:
                if name not in self._errors and round_ < self.rounds_of.get(name, self.rounds):
                    self._one(name)

    def result(self, name: str) -> tuple[list[float], dict[str, Any]]:
        self._run()
        if name in self._errors:
            raise self._errors[name]
        figures = self._figures[name]
        extra: dict[str, Any] = {"rounds": figures}
        for key in figures[0] if figures else ():
            extra[key] = statistics.median(f[key] for f in figures)
        floor = self._figures.get(self.floor or "")
        if floor and len(floor) < len(figures):  # a floor of fewer rounds: its median
            floor = [{key: statistics.median(f[key] for f in floor) for key in floor[0]}]
            floor = floor * len(figures)
        if floor and len(floor) == len(figures):
            for key in extra.copy():
                pairs = [(a.get(key), b.get(key)) for a, b in zip(figures, floor, strict=True)]
                if key != "rounds" and all(a is not None and b for a, b in pairs):
                    extra[f"{key}_x"] = statistics.median(a / b for a, b in pairs)  # type: ignore[operator]
        if self.show is not None:
            extra["show"] = self.show(extra)
        return self._samples[name], extra

    def measure(self, name: str) -> Callable[[Settings], tuple[list[float], dict[str, Any]]]:
        """The ``Case.measure`` of ``name``."""
        return lambda settings: self.result(name)


def extra_target(
    key: str,
    limit: float,
    label: str,
    ref: str | None = None,
    at_least: bool = False,
) -> Target:
    """A figure of an :class:`Interleaved` case against the same figure of ``ref`` (the
    floor by default), paired by round: its ratio at least / at most ``limit``."""

    def check(row: Row, rows: dict[str, Row], stat: str) -> tuple[bool | None, str]:
        other = rows.get(ref if ref is not None else row.vs or "")
        ratio = paired(row, other, key) if other is not None else None
        if ratio is None:
            return None, f"{ref or 'floor'} n/a"
        ok = ratio >= limit if at_least else ratio <= limit
        return ok, f"{key} {ratio:.2f}x {ref or 'floor'}"

    return Target(label, check, (ref,) if ref is not None else ())


# --- running ------------------------------------------------------------------------


def _timed(timer: Timer, n: int) -> int:
    gc.collect()
    gc.disable()
    try:
        return max(1, timer(n))
    finally:
        gc.enable()


def _calibrate(case: Case, settings: Settings) -> int:
    """The number of operations per repeat; the runs made here are the warm-up."""
    assert case.timer is not None
    goal = settings.repeat_ns
    cap = case.max_n or 10**9
    n = 1
    elapsed = _timed(case.timer, n)
    while elapsed < goal // 5 and n < cap:
        grow = max(2, min(100, goal // 5 // elapsed + 1))
        n = min(cap, n * grow)
        elapsed = _timed(case.timer, n)
    n = max(1, min(cap, round(n * goal / elapsed)))
    _timed(case.timer, n)  # warm-up at the final size
    return n


def selected(pattern: str | None, group: Group, case: Case) -> bool:
    if not pattern:
        return True
    key = f"{group.key}/{case.name}".lower()
    title = f"{group.title}/{case.name}".lower()
    pat = pattern.lower()
    if any(ch in pat for ch in "*?["):
        return fnmatch.fnmatch(key, pat) or fnmatch.fnmatch(title, pat)
    return pat in key or pat in title


def _refs(case: Case, settings: Settings) -> set[str]:
    # Names a target compares with: kept in a filtered run so the target can be checked.
    return {ref for target in case.targets_for(settings) for ref in target.refs}


def _log(settings: Settings, text: str) -> None:
    if settings.verbose:
        print(text, flush=True)


def run_group(group: Group, settings: Settings, pattern: str | None) -> list[Row]:
    """Measure one group's (selected) cases side by side; one Row per case."""
    rows: list[Row] = []
    started = time.perf_counter()
    with group.build(settings) as cases:
        chosen = [case for case in cases if selected(pattern, group, case)]
        if not chosen:
            return []
        keep = {case.name for case in chosen}
        for case in chosen:
            keep |= _refs(case, settings)
        keep |= {case.name for case in cases if case.floor}
        active = [case for case in cases if case.name in keep]
        floor = next((case.name for case in active if case.floor), None)
        by_case: dict[str, Row] = {}
        sizes: dict[str, int] = {}
        _log(settings, f"[{group.title}]")
        for case in active:
            row = Row(
                group=group.key,
                group_title=group.title,
                name=case.name,
                floor=case.floor,
                synchronaut=case.synchronaut,
                ctx=case.ctx,
                note=case.note,
                per_op=case.per_op,
                vs=None if case.floor else floor,
                targets=[target.label for target in case.targets_for(settings)],
                floor_limit=next(
                    (
                        t.floor_limit
                        for t in case.targets_for(settings)
                        if t.floor_limit is not None
                    ),
                    None,
                ),
            )
            by_case[case.name] = row
            rows.append(row)
            if case.na:
                row.status = "n/a"
                row.error = case.na
                continue
            if case.probe is not None:
                try:
                    row.ctx = case.probe()
                except Exception:
                    row.ctx = "probe error"
            if case.measure is not None:
                continue
            assert case.timer is not None
            try:
                sizes[case.name] = _calibrate(case, settings)
                row.n = sizes[case.name]
            except Exception as exc:
                row.status = "ERROR"
                row.error = f"{type(exc).__name__}: {exc}"
                _log(settings, f"  ! {case.name}: {row.error}")
        timed = [case for case in active if case.name in sizes]
        for round_ in range(settings.repeats):
            shift = round_ % max(1, len(timed))
            for case in timed[shift:] + timed[:shift]:
                row = by_case[case.name]
                if row.status == "ERROR":
                    continue
                assert case.timer is not None
                try:
                    elapsed = _timed(case.timer, sizes[case.name])
                except Exception as exc:
                    row.status = "ERROR"
                    row.error = f"{type(exc).__name__}: {exc}"
                    continue
                row.samples.append(elapsed / (sizes[case.name] * case.per_op))
        for case in active:
            row = by_case[case.name]
            if case.measure is None or row.status:
                continue
            try:
                row.samples, row.extra = case.measure(settings)
            except Exception as exc:
                row.status = "ERROR"
                row.error = f"{type(exc).__name__}: {exc}"
    by_name = {row.name: row for row in rows}
    for row in rows:
        if row.samples:
            row.min_ns = min(row.samples)
            row.median_ns = statistics.median(row.samples)
    for row, case in zip(rows, active, strict=True):
        floor_row = by_name.get(row.vs or "")
        if row.floor and row.samples:
            row.ratio = 1.0
        elif floor_row is not None:
            row.ratio = ratio_between(row, floor_row, settings.stat)
        if row.status or not case.targets_for(settings):
            continue
        verdicts: list[bool | None] = []
        for target in case.targets_for(settings):
            ok, detail = target.check(row, by_name, settings.stat)
            verdicts.append(ok)
            mark = "n/a" if ok is None else ("ok" if ok else "MISSED")
            row.target_detail.append(f"{target.label}: {detail} ({mark})")
        if any(v is False for v in verdicts):
            row.status = "FAIL"
        elif all(v is None for v in verdicts):
            row.status = "n/a"
        else:
            row.status = "PASS"
    for row in rows:
        _log(settings, f"  {row.name:<52} {fmt_ns(row.stat(settings.stat)):>10}")
    _log(settings, f"  ({time.perf_counter() - started:.1f} s)")
    return rows


# --- formatting ---------------------------------------------------------------------


def fmt_ns(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1_000:
        return f"{value:.0f} ns"
    if value < 1_000_000:
        return f"{value / 1_000:.1f} us"
    if value < 1_000_000_000:
        return f"{value / 1_000_000:.2f} ms"
    return f"{value / 1_000_000_000:.2f} s"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}x"
    if value >= 10:
        return f"{value:.1f}x"
    return f"{value:.2f}x"


def _extra(row: Row) -> str:
    if row.status == "n/a" and row.error and not row.samples:
        return f"n/a ({row.error})"
    shown = row.extra.get("show")
    if shown:
        return str(shown)
    peak = row.extra.get("peak_mb")
    return "" if peak is None else f"peak +{peak:.0f} MB"


def _pure_cell(pure: dict[str, Any] | None) -> str:
    if not pure or pure.get("median_ns") is None:
        return ""
    text = f"{fmt_ns(pure['median_ns'])} {fmt_ratio(pure['ratio'])}"
    if pure.get("status") in ("PASS", "FAIL"):
        text += f"  {'; '.join(pure.get('targets') or [])} {pure['status']}"
    return text


def table(rows: list[Row], stat: str) -> str:
    """The plain-text table: one section per group, floor first."""
    pure = any("pure" in row.extra for row in rows)
    headers: tuple[str, ...] = (
        "case",
        "ctx",
        "min/call",
        "median/call",
        "ratio",
        "target",
        "result",
    )
    headers += ("pure Python: median, ratio", "") if pure else ("",)
    body: list[tuple[str, ...] | str] = []
    current = None
    for row in rows:
        if row.group_title != current:
            current = row.group_title
            floor = next((r.name for r in rows if r.group == row.group and r.floor), None)
            body.append(f"{row.group_title}" + (f"  (floor: {floor})" if floor else ""))
        name = ("* " if row.synchronaut else "  ") + row.name + (" [floor]" if row.floor else "")
        result = "n/a" if row.status == "n/a" and not row.samples else row.status
        targets = "; ".join(row.targets)
        cells_row: tuple[str, ...] = (
            name,
            row.ctx,
            fmt_ns(row.min_ns),
            fmt_ns(row.median_ns),
            fmt_ratio(row.ratio),
            targets,
            result,
        )
        if pure:
            cells_row += (_pure_cell(row.extra.get("pure")),)
        body.append((*cells_row, _extra(row)))
    cells = [r for r in body if isinstance(r, tuple)]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    right = {2, 3, 4}

    def line(values: tuple[str, ...]) -> str:
        parts = [
            (v.rjust(widths[i]) if i in right else v.ljust(widths[i])) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    for entry in body:
        if isinstance(entry, str):
            out.append("")
            out.append(entry)
        else:
            out.append(line(entry))
    unavailable: dict[str, list[str]] = {}
    for r in rows:
        if r.status == "n/a" and r.error:
            unavailable.setdefault(r.error, []).append(r.name)
    notes = [
        f"  n/a -- {why}: {', '.join(dict.fromkeys(names))}" for why, names in unavailable.items()
    ]
    notes += [f"  {r.name}: {r.error}" for r in rows if r.error and r.status == "ERROR"]
    notes += [f"  {r.name}: {r.note}" for r in rows if r.note]
    misses = [f"  {r.name}: " + "; ".join(r.target_detail) for r in rows if r.status == "FAIL"]
    misses += [
        f"  {r.name} (pure Python): " + "; ".join(r.extra["pure"]["target_detail"])
        for r in rows
        if r.extra.get("pure", {}).get("status") == "FAIL"
    ]
    if misses:
        out += ["", "Targets missed:", *misses]
    if notes:
        out += ["", "Notes:", *dict.fromkeys(notes)]
    return "\n".join(out)


def iter_rows(groups: list[Group], settings: Settings, pattern: str | None) -> Iterator[Row]:
    for group in groups:
        if settings.quick and group.full_only:
            continue
        yield from run_group(group, settings, pattern)
