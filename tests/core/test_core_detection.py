"""Detection is cheap and never imports Trio on its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_no_call_path_imports_trio() -> None:
    code = textwrap.dedent(
        """
        import asyncio, sys
        from synchronaut_core import call_any, call_async, call_sync, current_async_library

        def f(x): return x
        async def g(x): return x

        assert current_async_library() is None
        call_any(f, 1); call_any(g, 1); call_any(f, 1, timeout=1); call_sync(g, 1)

        async def main():
            await call_any(f, 1); await call_any(g, 1); await call_async(f, 1)
            await call_any(g, 1, timeout=1)

        asyncio.run(main())
        print("trio" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "False\n", result.stderr
