"""Run synchronaut's benchmark suite: ``uv run --group bench python benchmarks/run.py``.

Measures, side by side in one run, the per-call cost of synchronaut and of what
users would pick instead (the standard library, asgiref, anyio, asyncer, Trio),
prints a table of ns per call and ratios to the floor, writes
``benchmarks/results/latest.json`` and regenerates ``benchmarks/chart.png``.

Options: ``--quick`` (a smoke run of about 30 s; no chart unless ``--chart``),
``--only PATTERN`` (cases whose "group/case" contains PATTERN, or matches it as a
glob; floors are always kept), ``--json PATH``, ``--chart PATH`` / ``--no-chart``,
``--loop asyncio`` (everything on plain asyncio loops, synchronaut's background loop
included), ``--stat min`` (ratios on the min instead of the median), ``--replot JSON``
(redraw the chart of a saved run without measuring).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats (~30 s)")
    parser.add_argument("--only", metavar="PATTERN", help="run only the matching cases")
    parser.add_argument(
        "--json",
        metavar="PATH",
        default=str(HERE / "results" / "latest.json"),
        help="where to write the results (default: benchmarks/results/latest.json)",
    )
    parser.add_argument(
        "--chart",
        metavar="PATH",
        help="where to write the chart (default: benchmarks/chart.png, on a full run only)",
    )
    parser.add_argument("--no-chart", action="store_true", help="do not write the chart")
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the event-loop type of every async case and floor (default: uvloop)",
    )
    parser.add_argument("--stat", choices=("median", "min"), default="median")
    parser.add_argument("--repeats", type=int, help="timed repeats per case")
    parser.add_argument("--repeat-ms", type=float, help="target duration of one repeat")
    parser.add_argument("-q", "--quiet", action="store_true", help="print the table only")
    parser.add_argument(
        "--no-pure", action="store_true", help="no pure-Python column (SYNCHRONAUT_NO_EXTENSIONS=1)"
    )
    # The child run behind the pure-Python column: the micro groups only (see _pure).
    parser.add_argument("--pure-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--replot",
        metavar="JSON",
        help="measure nothing: print the table and draw the chart of a saved results file",
    )
    return parser.parse_args(argv)


def _replot(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(HERE))
    import _chart
    import _harness

    payload = json.loads(Path(args.replot).read_text())
    meta = payload["meta"]
    rows = [_harness.Row(**row) for row in payload["rows"]]
    print(_harness.table(rows, meta["stat"]))
    chart = args.chart or str(HERE / "chart.png")
    for path in _chart.draw_all(rows, meta, Path(chart)):
        print(f"chart: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.replot:
        return _replot(args)
    loop = args.loop
    if loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            print("uvloop is not installed: measuring on plain asyncio loops", file=sys.stderr)
            loop = "asyncio"
    if loop == "asyncio":
        # Before synchronaut is imported: its background loop is then plain asyncio too.
        os.environ["SYNCHRONAUT_LOOP"] = "asyncio"
    sys.path.insert(0, str(HERE))

    import _env
    import _harness
    import _pure
    import cases_async
    import cases_batch
    import cases_fanin
    import cases_fastapi
    import cases_import
    import cases_inline
    import cases_million
    import cases_sync
    import cases_sync_async
    import cases_trio

    chart = args.chart
    if chart is None and not (args.quick or args.only or args.no_chart):
        chart = str(HERE / "chart.png")
    chart_module = None
    if chart and not args.no_chart:
        try:  # imported now: a missing matplotlib is reported before minutes of measuring
            import _chart as chart_module
        except ImportError as exc:
            print(f"no chart: {exc} (uv sync --group bench)", file=sys.stderr)

    import synchronaut_core

    settings = _harness.Settings(
        quick=args.quick,
        repeats=args.repeats or (5 if args.quick else 15),
        repeat_ns=int((args.repeat_ms or (12 if args.quick else 50)) * 1_000_000),
        loop=loop,
        stat=args.stat,
        verbose=not args.quiet,
        pure=not synchronaut_core.ACCELERATED,
    )
    # sync -> sync first: nothing has imported Trio yet (see cases_sync).
    groups = [
        *cases_sync.GROUPS,
        *cases_sync_async.GROUPS,
        *cases_async.GROUPS,
        *(cases_async.GROUPS_ASYNCIO if loop == "uvloop" else []),
        *cases_inline.GROUPS,
        *cases_trio.GROUPS,
        *cases_batch.GROUPS,
        *cases_fanin.GROUPS,
        *cases_fastapi.GROUPS,
        *cases_million.GROUPS,
        *cases_sync.GROUPS_LATE,
        *cases_import.GROUPS,  # fresh interpreters: nothing here is imported in-process
    ]
    if args.pure_child:  # the micro groups, for the pure-Python column
        micro = [
            *cases_sync.GROUPS,
            *cases_sync_async.GROUPS,
            *cases_async.GROUPS,
            *cases_trio.GROUPS,
            *cases_sync.GROUPS_LATE,
        ]
        quick = _pure.QUICK_GROUPS
        groups = [g for g in micro if not args.quick or g.key in quick]
    load_before = os.getloadavg()[0]
    if load_before > 1.0:
        print(
            f"note: load average {load_before:.1f} on {os.cpu_count()} CPUs: other processes are "
            "running, expect noisy figures",
            file=sys.stderr,
        )
    started = time.perf_counter()
    rows = list(_harness.iter_rows(groups, settings, args.only))
    if not rows:
        print(f"no case matches {args.only!r}", file=sys.stderr)
        return 2
    if not (args.pure_child or args.no_pure or settings.pure):
        if not args.quiet:
            print("[pure Python: the micro groups again with SYNCHRONAUT_NO_EXTENSIONS=1]")
        try:
            _pure.merge(rows, _pure.run_child(args))
        except RuntimeError as exc:
            print(f"no pure-Python column: {exc}", file=sys.stderr)
    elapsed = time.perf_counter() - started

    meta = {
        "command": " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "only": args.only,
        "loop": loop,
        "stat": args.stat,
        "repeats": settings.repeats,
        "repeat_ms": settings.repeat_ns / 1e6,
        "seconds": round(elapsed, 1),
        "accelerated": synchronaut_core.ACCELERATED,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": _env.machine(),
        "versions": _env.versions(),
    }
    print()
    print(
        f"synchronaut benchmarks: Python {meta['machine']['python']}, "
        f"{meta['machine']['cpus']} CPUs, {loop} loops, "
        f"load {load_before:.1f}, "
        f"{settings.repeats} rounds x ~{settings.repeat_ns / 1e6:g} ms; ratio: "
        + (
            "median over the rounds of time / the floor's time in the same round"
            if args.stat == "median"
            else "min / the floor's min"
        )
        + "; * = synchronaut; ctx: what the callee sees of the caller's ContextVars "
        "(in+out = like a direct call)"
    )
    print()
    print(_harness.table(rows, args.stat))
    print()
    statuses = [row.status for row in rows] + _pure.statuses(rows)
    print(
        f"{statuses.count('PASS')} targets met, {statuses.count('FAIL')} missed "
        f"({'pure Python' if settings.pure else 'C accelerator'}"
        f"{'' if settings.pure or args.no_pure else ', pure-Python column included'}); "
        f"{elapsed:.0f} s"
    )

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "rows": [row.__dict__ for row in rows]}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"results: {out}")

    if chart_module is not None and chart:
        try:
            written = chart_module.draw_all(rows, meta, Path(chart))
        except Exception as exc:  # e.g. matplotlib uninstalled during the run
            print(
                f"no chart: {type(exc).__name__}: {exc}; redraw it with "
                f"`uv run --group bench python benchmarks/run.py --replot {out}`",
                file=sys.stderr,
            )
        else:
            for path in written:
                print(f"chart: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
