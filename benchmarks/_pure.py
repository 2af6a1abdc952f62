"""The pure-Python column: the micro cases again without the C accelerator.

synchronaut chooses its accelerator once, at import, so the pure-Python figures come
from a second run of ``run.py`` in a child process with ``SYNCHRONAUT_NO_EXTENSIONS=1``
(the path of every user without a compiler, of PyPy and of free-threaded Python). Its
rows are merged into the main run's by group and case name: each gets
``extra["pure"]`` (median, ratio to the same floor in the child's run, the result of
its pure-mode targets), shown in a column of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _harness import Row

RUN = Path(__file__).with_name("run.py")
# A quick run measures only the groups with pure-mode targets (about 10 s).
QUICK_GROUPS = ("sync-sync", "method-access", "async-async")
# Rounds of the child on a full run (the main run: 15): every micro group again
# would otherwise add three minutes; 9 paired rounds still give a stable median.
FULL_REPEATS = 9


def run_child(args: Any) -> list[Row]:
    """Run the micro groups in a pure-Python child; its rows. Raises RuntimeError."""
    with tempfile.TemporaryDirectory(prefix="synchronaut-pure-") as tmp:
        out = Path(tmp) / "pure.json"
        cmd = [sys.executable, str(RUN), "--pure-child", "-q", "--no-chart", "--json", str(out)]
        cmd += ["--loop", args.loop, "--stat", args.stat]
        if args.quick:
            cmd.append("--quick")
        if args.only:
            cmd += ["--only", args.only]
        if args.repeats:
            cmd += ["--repeats", str(args.repeats)]
        elif not args.quick:
            cmd += ["--repeats", str(FULL_REPEATS)]
        if args.repeat_ms:
            cmd += ["--repeat-ms", str(args.repeat_ms)]
        env = dict(os.environ, SYNCHRONAUT_NO_EXTENSIONS="1")
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode not in (0, 2) or not out.exists():  # 2: nothing matched --only
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError("the pure-Python run failed: " + " / ".join(tail))
        payload = json.loads(out.read_text())
    if payload["meta"].get("accelerated"):
        raise RuntimeError("the child ran with the accelerator despite SYNCHRONAUT_NO_EXTENSIONS")
    return [Row(**row) for row in payload["rows"]]


def merge(rows: list[Row], pure_rows: list[Row]) -> None:
    by_key = {(row.group, row.name): row for row in pure_rows}
    for row in rows:
        pure = by_key.get((row.group, row.name))
        if pure is None:
            continue
        row.extra["pure"] = {
            "median_ns": pure.median_ns,
            "min_ns": pure.min_ns,
            "ratio": pure.ratio,
            "status": pure.status,
            "targets": pure.targets,
            "target_detail": pure.target_detail,
        }


def statuses(rows: list[Row]) -> list[str]:
    return [row.extra["pure"]["status"] for row in rows if "pure" in row.extra]
