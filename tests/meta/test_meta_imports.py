"""One import for everything, the 0.3 import paths, and no side effects on import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

import synchronaut
import synchronaut_batch
import synchronaut_core
import synchronaut_ctx


def test_everything_public_is_importable_from_synchronaut() -> None:
    for part in (synchronaut_core, synchronaut_ctx, synchronaut_batch):
        missing = [name for name in part.__all__ if not hasattr(synchronaut, name)]
        assert missing == [], f"{part.__name__} names not re-exported: {missing}"
    assert set(synchronaut.__all__) >= {"synchronaut", "call_any", "call_map", "parallel_map"}


def test_the_decorator_lives_in_core_and_is_re_exported() -> None:
    # Its machinery is core's: core alone is enough to decorate, and the meta-package's
    # name is the very same object (one decorator, one set of wrapper types).
    assert "synchronaut" in synchronaut_core.__all__
    assert synchronaut.synchronaut is synchronaut_core.synchronaut
    assert synchronaut.SynchronautSync is synchronaut_core.SynchronautSync
    assert synchronaut_core.synchronaut.__module__ == "synchronaut_core._decorator"

    @synchronaut_core.synchronaut
    def double(x: int) -> int:
        return 2 * x

    assert double(4) == 8


def test_03_import_paths_keep_working() -> None:
    from synchronaut.core import CallAnyTimeout, call_any, call_map, parallel_map
    from synchronaut.synchronaut import synchronaut as decorator
    from synchronaut.utils import (
        get_preferred_loop,
        get_request_ctx,
        has_uvloop_policy,
        is_uvloop,
        request_context,
        set_request_ctx,
        spawn_thread_with_ctx,
    )

    assert call_any is synchronaut.call_any
    assert call_map is synchronaut.call_map
    assert parallel_map is synchronaut.parallel_map
    assert CallAnyTimeout is synchronaut.CallAnyTimeout
    assert decorator is synchronaut.synchronaut
    assert callable(synchronaut.synchronaut)
    for helper in (
        get_preferred_loop,
        get_request_ctx,
        has_uvloop_policy,
        is_uvloop,
        request_context,
        set_request_ctx,
        spawn_thread_with_ctx,
    ):
        assert callable(helper)


def test_importing_synchronaut_has_no_side_effects() -> None:
    code = textwrap.dedent(
        """
        import asyncio.events, logging, sys, threading
        import synchronaut, synchronaut.core, synchronaut.utils, synchronaut.synchronaut
        assert threading.active_count() == 1, threading.enumerate()
        assert asyncio.events._event_loop_policy is None, "policy changed"
        assert not logging.getLogger("synchronaut").handlers
        assert not logging.getLogger().handlers
        print("trio" in sys.modules, "uvloop" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr == ""
    assert result.stdout == "False False\n"


def test_uvloop_helpers_keep_their_03_meaning() -> None:
    from synchronaut.utils import get_preferred_loop, has_uvloop_policy, is_uvloop

    assert has_uvloop_policy() is False  # synchronaut never installs the policy
    assert is_uvloop() is False  # no running loop here

    async def main() -> tuple[bool, bool]:
        return is_uvloop(), get_preferred_loop() is asyncio.get_running_loop()

    import uvloop

    assert asyncio.run(main()) == (False, True)
    runner_result = uvloop.run(main())
    assert runner_result == (True, True)


def test_get_preferred_loop_in_sync_code_sets_and_reuses_a_thread_loop() -> None:
    import threading

    from synchronaut.utils import get_preferred_loop, is_uvloop

    out: list[object] = []

    def in_thread() -> None:
        loop = get_preferred_loop()
        try:
            out.extend([loop, get_preferred_loop(), asyncio.get_event_loop(), is_uvloop(loop)])
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    loop, again, current, uv = out
    assert loop is again is current
    assert uv is True  # uvloop is installed in the test environment


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the policy API, 3.14+
def test_has_uvloop_policy_sees_an_application_installed_policy() -> None:
    import uvloop

    from synchronaut.utils import has_uvloop_policy

    original = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        assert has_uvloop_policy() is True
    finally:
        asyncio.set_event_loop_policy(original)
