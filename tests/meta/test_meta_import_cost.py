"""Importing a package does no work and pulls in nothing heavy (issue 15).

A structural check, not a timing: each package is imported in a fresh interpreter
(after ``asyncio``, which every user of this library has already paid for) and the
modules it added are compared with what it is allowed to add. Timings are the job of
benchmarks/ (``-X importtime``); this test fails the moment someone imports, say,
``concurrent.futures.process`` (16 ms: multiprocessing, tempfile, pickle...) for an
``isinstance`` check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

PACKAGES = ["synchronaut_core", "synchronaut_ctx", "synchronaut_batch", "synchronaut"]

#: The packages whose public names are loaded on first use (PEP 562); synchronaut_ctx
#: imports its four small modules eagerly (well under a millisecond).
LAZY = {"synchronaut_core", "synchronaut_batch", "synchronaut"}

#: What a program imports first: each package (its public names are loaded on first
#: use), and its main names.
STATEMENTS = [
    *(f"import {package}" for package in PACKAGES),
    "from synchronaut_core import call_any",
    "from synchronaut_core import synchronaut",
    "from synchronaut_ctx import bind_context",
    "from synchronaut_batch import parallel_map",
    "from synchronaut import call_any",
    "from synchronaut import synchronaut",
]


#: synchronaut-core's machinery for the slower paths (blocking on a loop, the pool,
#: offloading from a loop, iterators, inline mode): imported whole where those paths start
#: (``_first_use``), never by an import -- nor by the classification every call makes.
MACHINERY = {
    f"synchronaut_core.{name}"
    for name in (
        "_asyncio",
        "_async_iter",
        "_blocking",
        "_inline",
        "_job",
        "_loop",
        "_loop_calls",
        "_pinned",
        "_pool",
        "_sensitive",
        "_sync_iter",
        "_thread_state",
        "_waits",
    )
}

#: Modules a package may add beyond its own: ``__future__`` (the annotations switch),
#: ``_queue`` (the C module behind queue.SimpleQueue, without queue.py). The import
#: machinery (``importlib.*``) is tolerated: a development checkout's editable install
#: finds the C accelerator with an import hook of its own.
ALLOWED = {"__future__", "_queue"}

#: Named so that a failure says what went wrong: each of these costs milliseconds and
#: none is needed until a caller uses the feature that needs it.
HEAVY = {
    "concurrent.futures.process",
    "concurrent.futures.thread",
    "multiprocessing",
    "pickle",
    "copy",
    "queue",
    "tempfile",
    "dataclasses",
    "trio",
    "anyio",
    "sniffio",
    "uvloop",
    "distributed",
    "greenlet",
}

_CHILD = """
import asyncio, json, logging, sys, threading
before = set(sys.modules)
policy_before = asyncio.events._event_loop_policy
{statement}
print(json.dumps({{
    "added": sorted(set(sys.modules) - before),
    "threads": [t.name for t in threading.enumerate()],
    "policy_changed": asyncio.events._event_loop_policy is not policy_before,
    "handlers": [repr(h) for h in logging.getLogger("synchronaut").handlers]
        + [repr(h) for h in logging.getLogger().handlers],
}}))
"""


def _import_in_child(statement: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("statement", STATEMENTS)
def test_import_adds_only_light_modules(statement: str) -> None:
    found = _import_in_child(statement)
    added: set[str] = set(found["added"])
    assert not added & HEAVY, f"{statement} imports {sorted(added & HEAVY)}"
    assert not added & MACHINERY, f"{statement} imports {sorted(added & MACHINERY)}"
    package = statement.removeprefix("import ")
    if package in LAZY:
        # Each public name is loaded on first use: the package alone costs nothing.
        assert added - ALLOWED == {package}, f"{statement} also loads {sorted(added - {package})}"
    foreign = {
        name
        for name in added
        if name.split(".")[0] not in PACKAGES
        and name not in ALLOWED
        and not name.startswith(("importlib", "_synchronaut_core_editable"))
    }
    assert not foreign, f"{statement} also imports {sorted(foreign)}"


@pytest.mark.parametrize("statement", STATEMENTS)
def test_import_starts_no_thread_and_changes_nothing(statement: str) -> None:
    found = _import_in_child(statement)
    assert found["threads"] == ["MainThread"]
    assert found["policy_changed"] is False
    assert found["handlers"] == []
