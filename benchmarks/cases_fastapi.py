"""A FastAPI service under uvicorn, loaded from a second process at 64 connections.

The service (``_fastapi_app.py``: one uvicorn worker, uvloop, httptools) has one
route per variant, each doing the same sync work (a sqlite3 query plus ~50 us of
Python) and differing only in how that work gets off the event loop. The load comes
from ``wrk`` (Debian's ``wrk`` package) when it is on the PATH, else from the bounded
Python generator ``_loadgen.py``, in a process of its own either way; the output
says which. After a warm-up of every route, each round loads every route once, in a
rotating order. Figures: requests/s, p50 and p99 latency, each also as a ratio to
FastAPI's own ``def`` endpoint in the same round (the median of those ratios).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import _env
from _harness import Case, Group, Interleaved, Settings, Target, extra_target

APP = Path(__file__).with_name("_fastapi_app.py")
LOADGEN = Path(__file__).with_name("_loadgen.py")
CONNECTIONS = 64

DEF = "FastAPI def endpoint"
DECORATED = "async def + await decorated .async_()"
ASGIREF = "async def + await asgiref sync_to_async(thread_sensitive=False)"
BARE = "async def + await loop.run_in_executor (reference: no ContextVars)"
SHARED_OURS = "one shared connection: decorated thread_sensitive=True"
SHARED_ASGIREF = "one shared connection: asgiref thread_sensitive=True"
FIVE_OURS = "5 async calls: offloaded, call_any inside"
FIVE_ASGIREF = "5 async calls: asgiref sync_to_async + async_to_sync"
FIVE_INLINE = "5 async calls: inline"
OURS = {DECORATED, SHARED_OURS, FIVE_OURS, FIVE_INLINE}


def _rps_at_least(limit: float, ref: str | None = None) -> Target:
    label = f"rps >= {limit:g}x " + ("def" if ref is None else _short(ref))
    return extra_target("rps", limit, label, ref, at_least=True)


def _p99_at_most(ref: str | None = None) -> Target:
    return extra_target("p99_us", 1.0, "p99 <= " + ("def" if ref is None else _short(ref)), ref)


def _short(name: str) -> str:
    return {
        ASGIREF: "asgiref",
        SHARED_ASGIREF: "asgiref",
        FIVE_ASGIREF: "asgiref",
        FIVE_OURS: "offloaded",
    }.get(name, name)


TARGETS: dict[str, list[Target]] = {
    DECORATED: [
        _rps_at_least(1.5),
        _rps_at_least(1.25, ASGIREF),
        _p99_at_most(),
        _p99_at_most(ASGIREF),
    ],
    SHARED_OURS: [_rps_at_least(1.3, SHARED_ASGIREF)],
    FIVE_OURS: [_rps_at_least(1.3, FIVE_ASGIREF)],
    FIVE_INLINE: [_rps_at_least(2.0, FIVE_OURS)],
}


# --- load ------------------------------------------------------------------------------------

_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6}


def _us(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse_wrk(out: str) -> dict[str, float]:
    """requests/s, p50/p99 (us), non-2xx responses and socket errors of a ``wrk --latency`` run."""
    figures: dict[str, float] = {"non_2xx": 0.0, "socket_errors": 0.0}
    for line in out.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(words[1])
        elif words[:1] == ["50%"]:
            figures["p50_us"] = _us(words[1])
        elif words[:1] == ["99%"]:
            figures["p99_us"] = _us(words[1])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            figures["non_2xx"] = float(words[-1])
        elif line.strip().startswith("Socket errors:"):
            figures["socket_errors"] = float(sum(int(w.strip(",")) for w in words[3::2]))
    if not {"rps", "p50_us", "p99_us"} <= figures.keys():
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    return figures


def _wrk(url: str, seconds: int) -> dict[str, float]:
    # One wrk thread: a closed loop of 64 connections needs far less than a core, and
    # the server (one process) should have the other one.
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)
    return parse_wrk(out.stdout)


def _python_load(url: str, seconds: int) -> dict[str, float]:
    cmd = [sys.executable, str(LOADGEN), url, str(CONNECTIONS), str(seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _wrk_mixed(base: str, paths: list[str], seconds: int) -> None:
    """Load every path at once (each connection cycles through them): a warm-up."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        listed = ", ".join(f'"{path}"' for path in paths)
        script.write(
            f"local paths = {{{listed}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            '  return wrk.format("GET", paths[i])\nend\n'
        )
    try:
        cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", script.name, base]
        subprocess.run(cmd, capture_output=True, timeout=seconds + 30, check=True)
    finally:
        os.unlink(script.name)


def _python_mixed(base: str, paths: list[str], seconds: int) -> None:
    for path in paths:
        _python_load(base + path, 1)


Load = Callable[[str, int], dict[str, float]]
Warm = Callable[[str, list[str], int], None]


def load_generator() -> tuple[str, Load, Warm]:
    """(its description, ``load(url, seconds) -> figures``, ``warm(base, paths, seconds)``).

    ``SYNCHRONAUT_BENCH_LOAD=python`` picks the Python generator even where wrk exists.
    """
    if shutil.which("wrk") and os.environ.get("SYNCHRONAUT_BENCH_LOAD") != "python":
        return f"wrk -t1 -c{CONNECTIONS} --latency", _wrk, _wrk_mixed
    why = "chosen" if shutil.which("wrk") else "wrk not found"
    described = f"Python load generator, {CONNECTIONS} connections ({why})"
    return described, _python_load, _python_mixed


# --- the server ------------------------------------------------------------------------------


@contextmanager
def server(loop: str) -> Iterator[dict[str, Any]]:
    """Start ``_fastapi_app.py`` and yield what it printed; stopped with SIGINT."""
    with tempfile.TemporaryDirectory(prefix="synchronaut-bench-") as tmp:
        proc = subprocess.Popen(
            [sys.executable, str(APP), str(Path(tmp) / "items.db"), loop],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(
                    f"the FastAPI app did not start: {proc.communicate()[1][-2000:]}"
                )
            info = json.loads(line)
            base = f"http://127.0.0.1:{info['port']}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(base + "/health", timeout=2) as resp:
                        resp.read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            info["base"] = base
            yield info
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- the group -------------------------------------------------------------------------------


def _show(extra: dict[str, Any]) -> str:
    text = f"{extra['rps']:,.0f} req/s, p50 {extra['p50_us'] / 1e3:.1f} ms"
    text += f", p99 {extra['p99_us'] / 1e3:.1f} ms"
    if "rps_x" in extra:
        text += (
            f" ({extra['rps_x']:.2f}x / {extra['p50_us_x']:.2f}x / {extra['p99_us_x']:.2f}x def)"
        )
    return text


def _checked(figures: dict[str, float], name: str) -> dict[str, float]:
    if figures.get("non_2xx") or figures.get("socket_errors"):
        raise RuntimeError(
            f"{name}: {figures.get('non_2xx', 0):.0f} non-2xx responses, "
            f"{figures.get('socket_errors', 0):.0f} socket errors"
        )
    return figures


VARIANT_NAMES = (DEF, "FastAPI def endpoint + def dependency", DECORATED, ASGIREF, BARE)
VARIANT_NAMES += (SHARED_OURS, SHARED_ASGIREF, FIVE_OURS, FIVE_ASGIREF, FIVE_INLINE)


def _unavailable(why: str) -> list[Case]:
    return [
        Case(name, floor=name == DEF, synchronaut=name in OURS, na=why) for name in VARIANT_NAMES
    ]


@contextmanager
def _build(settings: Settings) -> Iterator[list[Case]]:
    missing = [name for name in ("fastapi", "uvicorn") if _env.optional(name) is None]
    if missing:
        yield _unavailable(_env.missing(" and ".join(missing)))
        return
    described, load, warm = load_generator()
    seconds = 1 if settings.quick else 2
    with ExitStack() as stack:
        why = ""
        try:
            info = stack.enter_context(server(settings.loop))
        except Exception as exc:  # reported in the table; the rest of the run goes on
            why = f"{type(exc).__name__}: {str(exc)[-300:]}"
        if why:
            yield _unavailable(why)
        else:
            yield _cases(settings, info, described, load, warm, seconds)


def _cases(
    settings: Settings, info: dict[str, Any], described: str, load: Load, warm: Warm, seconds: int
) -> list[Case]:
    routes: dict[str, dict[str, str]] = info["routes"]

    def run(name: str, secs: int = seconds) -> tuple[float, dict[str, float]]:
        figures = _checked(load(info["base"] + routes[name]["path"], secs), name)
        return 1e9 / figures["rps"], figures

    live = [name for name, route in routes.items() if not route["na"]]
    if settings.quick:  # one warm-up of every route at once instead of one each
        warm(info["base"], [routes[name]["path"] for name in live], 1)
    runner = Interleaved(
        {name: (lambda name=name: run(name)) for name in live},
        rounds=1 if settings.quick else 5,
        floor=DEF,
        warmup=None if settings.quick else (lambda name: run(name, 1)),
        show=_show,
        collect=False,  # the work happens in the server process
    )
    note = (
        f"load: {described}; {seconds} s per route per round; the Python part of the work "
        f"{info['work_us']:.0f} us, uvicorn {settings.loop} + {info['http']}"
    )
    cases = []
    for name, route in routes.items():
        cases.append(
            Case(
                name,
                floor=name == DEF,
                synchronaut=name in OURS,
                na=route["na"],
                measure=runner.measure(name) if not route["na"] else None,
                targets=TARGETS.get(name, []),
                note=note if name == DEF else "",
            )
        )
    return cases


GROUPS = [Group("fastapi", "FastAPI under uvicorn, 64 connections (time per request)", _build)]
