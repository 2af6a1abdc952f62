"""Import cost: what each package adds to a program that has imported ``asyncio``.

Every figure comes from a fresh interpreter run with ``-X importtime``: the child
imports ``asyncio`` (which every user of this library has paid for already), then
runs the statement; its cost is the sum of the cumulative times of the top-level
imports the statement made, so a name loaded on first use (``from synchronaut_core
import call_any``) is counted with everything it pulls in. Each package is measured
with its C accelerator and with ``SYNCHRONAUT_NO_EXTENSIONS=1`` (pure Python), beside
anyio and asgiref when they are installed.

All statements are run round-robin, the order rotating each round, so a busy phase of
the machine spreads over all of them; the floor is ``import asyncio`` itself (from a
bare interpreter), run in the same rounds. Children read and write their bytecode
under a temporary ``PYTHONPYCACHEPREFIX`` (a warm-up round fills it), so the figures
are those of an installed package with its ``.pyc`` files, whether or not the
environment sets ``PYTHONDONTWRITEBYTECODE``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import _env
from _harness import Case, Group, Settings, extra_at_most

#: The issue 15 target: at most this many ms over ``import asyncio``, per package.
LIMIT_MS = 3.0

_MARK = "@@synchronaut-bench-import@@"
# "import time: <self us> | <cumulative us> | <indent><module>": one space of indent
# is a top-level import of the statement, more is nested inside one.
_LINE = re.compile(r"^import time:\s+\d+\s+\|\s+(\d+)\s+\| (\s*)(\S+)", re.MULTILINE)

_PURE = {"SYNCHRONAUT_NO_EXTENSIONS": "1"}
_OURS = [
    ("synchronaut_core", "call_any"),
    ("synchronaut_ctx", "bind_context"),
    ("synchronaut_batch", "parallel_map"),
    ("synchronaut", "call_any"),
    ("synchronaut", "synchronaut"),
]
_PEERS = [
    ("import anyio", "anyio"),
    ("from anyio import to_thread", "anyio"),
    ("import asgiref.sync", "asgiref"),
    ("from asgiref.sync import async_to_sync", "asgiref"),
]


def _statements() -> list[tuple[str, str, str, dict[str, str]]]:
    """(case name, statement, the module the case needs, extra environment) of each case."""
    rows: list[tuple[str, str, str, dict[str, str]]] = []
    seen: set[str] = set()
    for package, name in _OURS:
        for env, label in (({}, "C"), (_PURE, "pure")):
            statements = [f"from {package} import {name}"]
            if package not in seen:
                statements.insert(0, f"import {package}")
            for statement in statements:
                rows.append((f"{statement} ({label})", statement, package, env))
        seen.add(package)
    rows += [(statement, statement, module, {}) for statement, module in _PEERS]
    return rows


def _child_env(pycache: str, extra: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONDONTWRITEBYTECODE", "SYNCHRONAUT_NO_EXTENSIONS")
        and key != "SYNCHRONAUT_PURE_PYTHON"
    }
    env["PYTHONPYCACHEPREFIX"] = pycache
    env.update(extra)
    return env


def _import_us(statement: str, env: dict[str, str], after_asyncio: bool = True) -> int:
    """Microseconds of the top-level imports ``statement`` makes in a fresh interpreter."""
    before = "import asyncio, sys" if after_asyncio else "import sys"
    code = f"{before}; sys.stderr.write({_MARK!r} + '\\n'); {statement}"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 or _MARK not in done.stderr:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{statement!r} failed: {last[0]}")
    tail = done.stderr.split(_MARK, 1)[1]
    return sum(int(m.group(1)) for m in _LINE.finditer(tail) if not m.group(2))


def _rounds(
    jobs: dict[str, tuple[str, dict[str, str], bool]], rounds: int
) -> dict[str, list[float]]:
    """ns samples per job, the jobs run round-robin in a rotating order (one warm-up round)."""
    names = list(jobs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds + 1):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            statement, env, after = jobs[name]
            us = _import_us(statement, env, after)
            if round_:  # round 0 fills the bytecode cache
                samples[name].append(us * 1000.0)
    return samples


class _Runs:
    """Every job's samples, measured together on the first ``measure`` call (so a run
    whose ``--only`` leaves this group out starts no child)."""

    def __init__(self, jobs: dict[str, tuple[str, dict[str, str], bool]], rounds: int) -> None:
        self.jobs = jobs
        self.rounds = rounds
        self.samples: dict[str, list[float]] | None = None

    def measure(self, name: str) -> Any:
        def measure(settings: Settings) -> tuple[list[float], dict[str, Any]]:
            if self.samples is None:
                self.samples = _rounds(self.jobs, self.rounds)
            values = self.samples[name]
            return values, {"median_ms": statistics.median(values) / 1e6}

        return measure


@contextmanager
def _imports(settings: Settings) -> Iterator[list[Case]]:
    pycache = tempfile.mkdtemp(prefix="synchronaut-bench-pycache-")
    try:
        floor = "import asyncio (itself, from a bare interpreter)"
        plain = _child_env(pycache, {})
        jobs: dict[str, tuple[str, dict[str, str], bool]] = {
            floor: ("import asyncio", plain, False)
        }
        missing: dict[str, str] = {}
        for name, statement, module, env in _statements():
            if importlib.util.find_spec(module) is None:
                missing[name] = _env.missing(module)
                continue
            jobs[name] = (statement, _child_env(pycache, env), True)
        # --quick: 3 rounds (about 10 s for the whole group), else the run's repeats.
        rounds = 3 if settings.quick else settings.repeats
        runs = _Runs(jobs, rounds)
        note = (
            f"a fresh interpreter per sample ({rounds} rounds): -X importtime, the "
            "statement's imports after `import asyncio`; (pure) = SYNCHRONAUT_NO_EXTENSIONS=1"
        )
        cases = [Case(floor, floor=True, measure=runs.measure(floor), note=note)]
        for name, _statement, module, _env_extra in _statements():
            if name in missing:
                cases.append(Case(name, na=missing[name], synchronaut=module.startswith("synch")))
                continue
            ours = module.startswith("synchronaut")
            cases.append(
                Case(
                    name,
                    measure=runs.measure(name),
                    synchronaut=ours,
                    targets=[extra_at_most("median_ms", LIMIT_MS, f"<= {LIMIT_MS:g} ms", " ms")]
                    if ours
                    else [],
                )
            )
        yield cases
    finally:
        shutil.rmtree(pycache, ignore_errors=True)


GROUPS = [
    Group(
        "import", "Import cost over `import asyncio` (-X importtime, fresh interpreters)", _imports
    )
]
