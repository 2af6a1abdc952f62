"""Batches to a million: ``parallel_map`` of 1 k to 1 M mixed calls, each run in a
fresh process (``_memchild.py``), against ``asyncio.gather`` and anyio task groups.

Half the calls are a ``def`` (run in a thread pool), half an ``async def`` that yields
once. Bounded: ``max_concurrency=100`` against ``asyncio.gather`` over a
``Semaphore(100)`` and an anyio task group whose calls take a ``CapacityLimiter(100)``;
unbounded up to 100 k: ``parallel_map(calls)`` against a bare ``gather`` and a bare
task group. At 1 M, ``parallel_map`` also reads a generator of the million 4-tuples
(never a list), to show the input is consumed lazily.

Figures: wall time per call (after a warm-up batch in the same process), the CPU
time per call of all the child's threads (less sensitive to a loaded machine), the
share of the wall time the cyclic garbage collector took, and memory in MB:
``batch`` = the peak resident size over the size once the input was built (what the
batch itself holds: tasks, futures, results), ``input`` = what building the input
list took. The peers are capped where they are slow and big: anyio at 100 k (at 1 M
it takes minutes and about +6 GB; ``gather`` + ``Semaphore`` takes ~+1.4 GB and ~40 s
there, and runs). Batches up to 10 k calls run three times (interleaved);
``parallel_map`` of a list three times at 100 k and twice at 1 M; the others once at
100 k and 1 M. A quick run stops at 10 k, once each.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _env
from _harness import Case, Group, Interleaved, Row, Settings, Target

MEMCHILD = Path(__file__).with_name("_memchild.py")
LIMIT = 100
ANYIO_CAP = 100_000
OURS, OURS_ITER, GATHER, ANYIO = "ours", "ours-iter", "gather", "anyio"

# Figures of every batch measured in this run, by (impl, calls, limit): the targets
# that compare batch sizes read them across groups (a group measures one size).
SEEN: dict[tuple[str, int, int], list[float]] = {}


def _names(limit: int) -> dict[str, str]:
    if limit:
        return {
            GATHER: f"asyncio.gather + Semaphore({limit})",
            OURS: f"parallel_map(max_concurrency={limit})",
            OURS_ITER: f"parallel_map(generator, max_concurrency={limit})",
            ANYIO: f"anyio task group + CapacityLimiter({limit})",
        }
    return {GATHER: "asyncio.gather", OURS: "parallel_map(calls)", ANYIO: "anyio task group"}


def child(impl: str, count: int, limit: int, loop: str, source: str = "list") -> dict[str, Any]:
    """Run one batch in a fresh ``_memchild.py`` process; its JSON line."""
    real = "parallel_map" if impl in (OURS, OURS_ITER) else impl
    cmd = [sys.executable, str(MEMCHILD), real, str(count), str(limit), loop, source]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ), check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "child failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run(impl: str, count: int, limit: int, loop: str) -> tuple[float, dict[str, float]]:
    got = child(impl, count, limit, loop, "iter" if impl == OURS_ITER else "list")
    per_call = got["elapsed_ns"] / count
    SEEN.setdefault((impl, count, limit), []).append(per_call)
    return per_call, {
        "batch_mb": (got["peak_kb"] - got["rss_built_kb"]) / 1024,
        "input_mb": (got["rss_built_kb"] - got["rss_start_kb"]) / 1024,
        "total_mb": (got["peak_kb"] - got["rss_start_kb"]) / 1024,
        "gc_share": got["gc_ns"] / got["elapsed_ns"],
        "gen2": got["gc_collections"][2],
        # CPU time of all the child's threads: on a loaded machine it says whether
        # the wall time grew with the batch or with the neighbours.
        "cpu_us": got.get("cpu_ns", 0) / count / 1e3,
    }


def _show(extra: dict[str, Any]) -> str:
    text = f"batch +{extra['batch_mb']:.0f} MB, cpu {extra['cpu_us']:.1f} us/call"
    if extra["input_mb"] >= 1:
        text += f" (input list {extra['input_mb']:.0f} MB)"
    if extra["gc_share"] >= 0.05:
        text += f"; gc {extra['gc_share']:.0%} of the time ({extra['gen2']:.0f} full)"
    return text


def _memory_at_most(mb: float, key: str = "batch_mb") -> Target:
    def check(row: Row, rows: dict[str, Row], stat: str) -> tuple[bool | None, str]:
        value = row.extra.get(key)
        if value is None:
            return None, "n/a"
        return value <= mb, f"+{value:.0f} MB"

    what = "batch" if key == "batch_mb" else "peak"
    return Target(f"{what} <= +{mb:g} MB", check)


def _flat(impl: str, sizes: tuple[int, ...], limit: int, within: float) -> Target:
    """The time per call at ``sizes`` (this run) spreads by at most ``within``."""
    label = f"per call flat within {within - 1:.0%} ({sizes[0]:,}..{sizes[-1]:,})"

    def check(row: Row, rows: dict[str, Row], stat: str) -> tuple[bool | None, str]:
        runs = [SEEN.get((impl, size, limit)) for size in sizes]
        if not all(runs):
            return None, "a size was not measured"
        found = [statistics.median(r) for r in runs if r]  # the medians the table shows
        spread = max(found) / min(found)
        shown = " -> ".join(f"{t / 1e3:.1f}" for t in found)
        return spread <= within, f"{shown} us ({spread:.2f}x)"

    return Target(label, check)


def _targets(impl: str, count: int, limit: int) -> list[Target]:
    if impl == OURS and limit and count == 100_000:
        return [_memory_at_most(100, "total_mb")]  # issue 8's, the input list included
    if impl == OURS and limit and count == 1_000_000:
        return [_memory_at_most(40), _flat(OURS, (10_000, 100_000, 1_000_000), limit, 1.2)]
    if impl == OURS_ITER:
        return [_memory_at_most(40)]
    if impl == OURS and not limit and count == 100_000:
        return [_flat(OURS, (1_000, 10_000, 100_000), 0, 1.3)]
    return []


def _group(count: int, limit: int) -> Callable[[Settings], Any]:
    @contextmanager
    def build(settings: Settings) -> Iterator[list[Case]]:
        names = _names(limit)
        impls = [GATHER, OURS] + ([OURS_ITER] if count == 1_000_000 else []) + [ANYIO]
        na: dict[str, str] = {}
        if _env.synchronaut_batch is None:
            na[OURS] = na[OURS_ITER] = "synchronaut-batch (parallel_map) is not importable"
        if _env.anyio is None:
            na[ANYIO] = _env.missing("anyio")
        elif count > ANYIO_CAP:
            na[ANYIO] = f"anyio capped at {ANYIO_CAP:,} calls (at 1 M: minutes and ~+6 GB)"
        elif settings.quick and count > 1_000:
            na[ANYIO] = "anyio beyond 1 000 calls on full runs only (~0.1 ms a call)"
        runner = Interleaved(
            {
                impl: (lambda impl=impl: _run(impl, count, limit, settings.loop))
                for impl in impls
                if impl not in na
            },
            rounds=3 if count <= 10_000 and not settings.quick else 1,
            # The batches the flatness targets compare run more than once (seconds
            # each); the peers' big batches once (up to a minute each).
            rounds_of={}
            if settings.quick or count <= 10_000
            else {OURS: 3 if count < 10**6 else 2},
            floor=GATHER,
            show=_show,
            collect=False,  # the batches run in child processes
        )
        cases = [
            Case(
                names[impl],
                floor=impl == GATHER,
                synchronaut=impl in (OURS, OURS_ITER),
                na=na.get(impl, ""),
                measure=None if impl in na else runner.measure(impl),
                targets=_targets(impl, count, limit),
            )
            for impl in impls
        ]
        yield cases

    return build


def _title(count: int, limit: int) -> str:
    how = f"max_concurrency={limit}" if limit else "unbounded"
    return f"batch of {count:,} mixed calls, {how} (a fresh process per run)"


GROUPS = [
    *[
        Group(
            f"batch-{count}", _title(count, LIMIT), _group(count, LIMIT), full_only=count > 10_000
        )
        for count in (1_000, 10_000, 100_000, 1_000_000)
    ],
    *[
        Group(
            f"batch-{count}-unbounded", _title(count, 0), _group(count, 0), full_only=count > 10_000
        )
        for count in (1_000, 10_000, 100_000)
    ],
]
