"""A process that used every feature exits promptly and silently, calls still in flight."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent(
    """
    import asyncio, sqlite3, threading, time
    from synchronaut import (
        CallAnyTimeout, async_cm, call_any, call_map, parallel_map, request_context,
        spawn_thread_with_ctx, sync_cm, sync_iter, synchronaut, thread_sensitive_context,
    )

    async def forever():
        await asyncio.sleep(3600)

    async def ticker():
        i = 0
        while True:
            await asyncio.sleep(0.001)
            yield i
            i += 1

    @synchronaut(thread_sensitive=True)
    def db_work(x):
        return x * 2

    def sync_sleep(x):
        time.sleep(x)
        return x

    async def async_part():
        async with thread_sensitive_context():
            assert await db_work.async_(2) == 4
        async with async_cm(threading.Lock()):
            pass
        assert await call_map([sync_sleep, sync_sleep], 0) == [0, 0]
        asyncio.get_running_loop().create_task(forever())  # left pending at exit
        await asyncio.sleep(0)

    with request_context({"user": 1}):
        assert call_any(db_work, 1) == 2
        assert parallel_map([(sync_sleep, (0,), {}, None)] * 5) == [0] * 5
        iterator = sync_iter(ticker())
        assert next(iterator) == 0  # left open at exit
        try:
            call_any(sync_sleep, 60, timeout=0.05)  # abandoned, still sleeping at exit
        except CallAnyTimeout:
            pass
        call_any(async_part)
        spawn_thread_with_ctx(lambda: None).result()
        threading.Thread(target=call_any, args=(forever,), daemon=True).start()
        asyncio.run(async_part())
    time.sleep(0.05)
    print(repr(time.time()), flush=True)
    """
)


def test_a_process_that_used_every_feature_exits_within_2s_with_nothing_on_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "default", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    ended = time.time()
    assert proc.stderr == ""
    assert proc.returncode == 0
    finished_main = float(proc.stdout.strip().splitlines()[-1])
    assert ended - finished_main < 2.0
