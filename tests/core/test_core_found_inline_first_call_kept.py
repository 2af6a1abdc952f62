"""Found by review: the first inline call of a thread stayed alive with its pooled greenlet.

greenlet keeps the arguments of a greenlet's first switch -- the arguments of its run
function -- for as long as that greenlet lives. The driver started a new pooled
greenlet by switching the job tuple in, so the first inline call made on each thread
(its function, its arguments, and its ``_Inline`` with the outcome: the returned value)
stayed reachable as long as the idle greenlet sat in the thread's pool -- the life of
the thread. ``test_no_reference_to_inline_callees_or_their_arguments_is_kept`` passed
only when an earlier test of the same process had filled the pool; run alone, it
failed. Each case runs in a fresh thread, whose pool is empty.
"""

from __future__ import annotations

import gc
import warnings
import weakref
from typing import Any

from support_backends import Backend
from support_threads import in_thread

from synchronaut_core import call_any


class _Payload:
    pass


def test_the_first_inline_call_of_a_thread_keeps_nothing_alive(backend: Backend) -> None:
    refs: list[weakref.ref[Any]] = []

    async def main() -> None:
        payload, result = _Payload(), _Payload()

        def service(value: _Payload) -> _Payload:
            assert value is payload
            return result

        assert await call_any(service, payload, inline=True) is result
        refs.extend([weakref.ref(payload), weakref.ref(result), weakref.ref(service)])

    def fresh_thread() -> None:
        backend.run(main)
        gc.collect()
        # Still in the thread: its pool (and the greenlet that ran the call) is alive.
        assert [ref() for ref in refs] == [None, None, None]

    in_thread(fresh_thread)


def test_the_first_step_of_an_inline_generator_keeps_no_reference_to_it(
    backend: Backend,
) -> None:
    closed: list[bool] = []

    def numbers() -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    async def main() -> None:
        iterator = call_any(numbers, inline=True)
        assert await iterator.__anext__() == 1
        generator = weakref.ref(iterator._gen)  # pyright: ignore[reportAttributeAccessIssue]
        del iterator  # abandoned: its loop closes it (an abandoned async generator's fate)
        gc.collect()
        for _ in range(20):
            if closed:
                break
            await backend.sleep(0.01)
        gc.collect()
        assert generator() is None
        assert closed == [True]

    def fresh_thread() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)  # Trio: collected unexhausted
            backend.run(main)

    in_thread(fresh_thread)
