"""The blocking guard's report, as the C accelerator timed it, was not the pure driver's.

Found by review of the C inline switches: when the kernel's coarse monotonic clock
ticked a tenth of the threshold or finer (4 ms here, against the default 0.1 s), the C
guard read that clock instead of perf_counter (to save two clock reads' worth per bridge
call). A coarse reading is the time of the last tick, so a stretch was measured up to
one tick short or long: a stretch longer than the threshold was reported shorter than
it ran (or not at all), and one of 0.039 s against a threshold of 0.04 s was reported
in 29 runs of 40 ("ran 0.040 s"; 0.0985 s against 0.1 s: 25 of 40, the pure driver 2 of
40, both under load). Now the C guard reads perf_counter around each switch, as the
pure driver does, so the stretch it reports always covers what the inline code timed
of it itself (a coarse reading can only say for sure that a stretch was shorter than
``threshold - tick``, and needs a precise start to say more). The figures keep the
coarse clock's tick: the stretches run half a tick past a threshold of ten ticks.
"""

from __future__ import annotations

import asyncio
import ctypes
import sys
import time
from typing import Any

import pytest

from synchronaut_core import (
    _inline,
    call_any,
    get_inline_blocking_threshold,
    set_inline_blocking_threshold,
)

pytestmark = pytest.mark.filterwarnings("error")


def _coarse_resolution() -> float:
    """The coarse monotonic clock's tick in seconds (Linux), 0.0 where there is none."""
    if not sys.platform.startswith("linux"):
        return 0.0

    class _Timespec(ctypes.Structure):
        _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

    spec = _Timespec()
    clock_monotonic_coarse = 6  # <linux/time.h>
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.clock_getres(clock_monotonic_coarse, ctypes.byref(spec)) != 0:
        return 0.0
    return spec.tv_sec + spec.tv_nsec / 1e9


TICK = _coarse_resolution()
#: Where the C guard read the coarse clock (its tick a tenth of this or finer).
THRESHOLD = max(10 * TICK, 0.02)
#: Each stretch runs this much past the threshold: half a tick (a reading is off by
#: under one), or 2 ms without a coarse clock.
OVER = TICK / 2 if TICK else 0.002
TRIALS = 16


async def _returns(value: Any) -> Any:
    return value


def test_a_reported_stretch_covers_what_the_inline_code_timed_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reports: list[tuple[int, float]] = []
    trial = [-1]

    def report(self: Any, elapsed: float) -> None:
        reports.append((trial[0], elapsed))

    monkeypatch.setattr(_inline._Inline, "report", report)

    def service() -> list[float]:
        timed: list[float] = []
        call_any(_returns, None)
        for i in range(TRIALS):
            started = time.perf_counter()  # the stretch began at the switch before this
            while time.perf_counter() - started < THRESHOLD + OVER:
                pass
            timed.append(time.perf_counter() - started)  # it ends at the switch after
            trial[0] = i
            call_any(_returns, i)
        trial[0] = -1
        return timed

    async def main() -> list[float]:
        return await call_any(service, inline=True)

    previous = get_inline_blocking_threshold()
    set_inline_blocking_threshold(THRESHOLD)
    try:
        timed = asyncio.run(main())
    finally:
        set_inline_blocking_threshold(previous)
    for i, least in enumerate(timed):
        elapsed = [e for t, e in reports if t == i]
        assert elapsed, f"stretch {i} ran {least:.4f} s > {THRESHOLD} s: not reported"
        assert elapsed[0] >= least, f"stretch {i} ran {least:.4f} s, reported {elapsed[0]:.4f}"
