"""The chart the README shows: each case's time as a ratio to its group's floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from _harness import Row, fmt_ns
from matplotlib.patches import Patch

OURS_PASS = "#1f6fb4"
OURS_FAIL = "#d1495b"
OURS_INFO = "#8fbce6"
PEER = "#b8b8b8"


def _color(row: Row) -> str:
    if not row.synchronaut:
        return PEER
    if row.status == "FAIL":
        return OURS_FAIL
    if row.status == "PASS":
        return OURS_PASS
    return OURS_INFO


def draw(rows: list[Row], meta: dict[str, Any], path: Path) -> None:
    """A horizontal bar per case (floors excepted), grouped, on a log scale."""
    groups: dict[str, list[Row]] = {}
    floors: dict[str, Row] = {}
    for row in rows:
        if row.floor:
            floors[row.group_title] = row
        elif row.ratio is not None:
            groups.setdefault(row.group_title, []).append(row)

    # Lay the bars out top to bottom: a heading line per group, then its bars.
    y = 0.0
    bars: list[tuple[float, Row]] = []
    headings: list[tuple[float, str]] = []
    for title, members in groups.items():
        floor = floors.get(title)
        suffix = f"  -- floor: {floor.name}, {fmt_ns(floor.stat(meta['stat']))}" if floor else ""
        headings.append((y, title + suffix))
        y += 1.0
        for row in members:
            bars.append((y, row))
            y += 1.0
        y += 0.6
    height = max(4.0, 0.27 * y + 1.6)
    fig, ax = plt.subplots(figsize=(12, height), dpi=110)
    ratios = [row.ratio for _, row in bars if row.ratio is not None]
    ratios += [
        row.extra["pure"]["ratio"]
        for _, row in bars
        if (row.extra.get("pure") or {}).get("ratio") is not None
    ]
    lo = min([0.1, *ratios]) / 1.6
    hi = max([10.0, *ratios]) * 3.5
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(y, -1.2)
    for pos, row in bars:
        assert row.ratio is not None
        ax.barh(pos, row.ratio - lo, left=lo, height=0.72, color=_color(row), edgecolor="none")
        label = f"{row.ratio:.2f}x" if row.ratio < 10 else f"{row.ratio:.0f}x"
        label += f"  {fmt_ns(row.stat(meta['stat']))}"
        peak = row.extra.get("peak_mb")
        if peak is not None:
            label += f", peak +{peak:.0f} MB"
        if row.status in ("PASS", "FAIL"):
            label += f"  {row.status}"
        ax.text(
            row.ratio * 1.08,
            pos,
            label,
            va="center",
            fontsize=7.5,
            color="#333333",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85},
        )
        pure = (row.extra.get("pure") or {}).get("ratio")
        if pure is not None and row.synchronaut:
            ax.plot(pure, pos, marker="D", markersize=4.5, color="#6a3d9a", zorder=6)
        if row.floor_limit is not None:
            ax.plot(
                [row.floor_limit] * 2,
                [pos - 0.45, pos + 0.45],
                color="black",
                linewidth=1.6,
                solid_capstyle="butt",
                zorder=5,  # above the labels' white boxes
            )
    ax.set_yticks([pos for pos, _ in bars])
    ax.set_yticklabels([row.name for _, row in bars], fontsize=8)
    for pos, text in headings:
        ax.text(
            lo * 1.05,
            pos,
            text,
            fontsize=9,
            fontweight="bold",
            va="center",
            color="#111111",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
        )
    ax.axvline(1.0, color="#444444", linewidth=1, linestyle="--")
    ax.grid(axis="x", which="major", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    how = (
        f"median over {meta['repeats']} rounds of time / the floor's time in the same round"
        if meta["stat"] == "median"
        else f"min of {meta['repeats']} rounds / the floor's min"
    )
    ax.set_xlabel(
        f"time per call relative to the floor (the standard-library way): {how}; "
        "log scale, lower is faster"
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    machine = meta["machine"]
    ax.set_title(
        f"synchronaut vs the standard library and its peers -- Python {machine['python']}, "
        f"{machine['cpus']} CPUs, {meta['loop']} loops ({meta['date'][:10]})",
        fontsize=11,
        loc="left",
    )
    legend = [
        Patch(color=OURS_PASS, label="synchronaut, target met"),
        Patch(color=OURS_FAIL, label="synchronaut, target missed"),
        Patch(color=OURS_INFO, label="synchronaut, no target"),
        Patch(color=PEER, label="alternative"),
        plt.Line2D([], [], color="black", linewidth=1.6, label="target (ratio to floor)"),
        plt.Line2D([], [], color="#444444", linestyle="--", label="floor = 1"),
        plt.Line2D(
            [],
            [],
            color="#6a3d9a",
            marker="D",
            markersize=4.5,
            linestyle="none",
            label="synchronaut in pure Python (SYNCHRONAUT_NO_EXTENSIONS=1)",
        ),
    ]
    ax.legend(
        handles=legend,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.45 / height - 0.02),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


# --- the README's small chart: the FastAPI service -------------------------------------------

# The FastAPI variants in the order the chart shows them, as (section, row name, label).
FASTAPI_ORDER = (
    ("the same sync work per request", "FastAPI def endpoint", "FastAPI def endpoint"),
    ("", "FastAPI def endpoint + def dependency", "def endpoint + def dependency"),
    (
        "",
        "async def + await asgiref sync_to_async(thread_sensitive=False)",
        "asgiref sync_to_async",
    ),
    (
        "",
        "async def + await loop.run_in_executor (reference: no ContextVars)",
        "bare loop.run_in_executor (no ContextVars)",
    ),
    ("", "async def + await decorated .async_()", "synchronaut  @synchronaut .async_()"),
    (
        "one shared connection (one thread)",
        "one shared connection: asgiref thread_sensitive=True",
        "asgiref thread_sensitive=True",
    ),
    (
        "",
        "one shared connection: decorated thread_sensitive=True",
        "synchronaut  thread_sensitive=True",
    ),
    (
        "sync logic making 5 async calls",
        "5 async calls: asgiref sync_to_async + async_to_sync",
        "asgiref sync_to_async + async_to_sync",
    ),
    ("", "5 async calls: offloaded, call_any inside", "synchronaut  call_any, offloaded"),
    ("", "5 async calls: inline", "synchronaut  inline"),
)


def draw_fastapi(rows: list[Row], meta: dict[str, Any], path: Path) -> bool:
    """Requests/s of each FastAPI variant, ours beside FastAPI's and asgiref's.

    Returns False (and draws nothing) when the run has no FastAPI figures."""
    by_name = {row.name: row for row in rows if row.group == "fastapi"}
    floor = by_name.get("FastAPI def endpoint")
    if floor is None or "rps" not in floor.extra:
        return False
    fig, ax = plt.subplots(figsize=(8.2, 4.3), dpi=110)
    y = 0.0
    ticks: list[tuple[float, str]] = []
    top = max(row.extra.get("rps", 0.0) for row in by_name.values())
    for section, name, label in FASTAPI_ORDER:
        if section:
            if y:
                y += 0.4
            ax.text(0, y, section, fontsize=8.5, fontweight="bold", va="center")
            y += 0.9
        row = by_name.get(name)
        if row is None:
            continue
        ticks.append((y, label))
        rps = row.extra.get("rps")
        if rps is None:
            why = row.error or row.status or "not measured"
            ax.text(top * 0.01, y, f"n/a ({why})", fontsize=8, va="center", color="#777777")
        else:
            color = OURS_PASS if row.synchronaut else PEER
            ax.barh(y, rps, height=0.7, color=color, edgecolor="none")
            ratio = row.extra.get("rps_x", 1.0)
            text = f"{rps:,.0f} req/s  {ratio:.2f}x"
            text += f"  p99 {row.extra['p99_us'] / 1e3:.0f} ms"
            ax.text(rps + top * 0.01, y, text, fontsize=8, va="center", color="#333333")
        y += 1.0
    ax.set_yticks([pos for pos, _ in ticks])
    ax.set_yticklabels([label for _, label in ticks], fontsize=8.5)
    ax.set_ylim(y - 0.3, -0.6)
    ax.set_xlim(0, top * 1.45)
    ax.set_xlabel("requests per second (higher is better); ratio to FastAPI's own def endpoint")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    note = str(floor.note).split(";")[0].replace("load: ", "")
    machine = meta["machine"]
    ax.set_title(
        f"FastAPI under uvicorn (1 worker, {meta['loop']}), 64 connections ({note}); "
        f"{machine['cpus']} CPUs, Python {machine['python']}",
        fontsize=9,
        loc="left",
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return True


def draw_all(rows: list[Row], meta: dict[str, Any], path: Path) -> list[Path]:
    """The micro chart at ``path`` (every group but the FastAPI one) and the FastAPI
    chart beside it (``fastapi_chart.png``); the paths written."""
    written = []
    micro = [row for row in rows if row.group != "fastapi"]
    if micro:
        draw(micro, meta, path)
        written.append(path)
    fastapi = path.with_name("fastapi_chart.png")
    if draw_fastapi(rows, meta, fastapi):
        written.append(fastapi)
    return written
