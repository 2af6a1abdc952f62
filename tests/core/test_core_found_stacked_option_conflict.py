"""Stacked decorators: thread_sensitive at one level, an executor at the other, fail at decoration.

Found by an adversarial review, and fixed; what it found:

``synchronaut(executor=pool)(f)`` where ``f`` is already
``@synchronaut(thread_sensitive=True)`` (or the reverse) is accepted: ``_wrap``
checks only the new level's own options (``_options``), not them stacked on the
inner wrapper's (``_call._stack``). The result is a wrapper that raises the
"thread_sensitive at one level ... and an executor at the other" ``ValueError`` on
*every* call, in every context -- far from the line that made it, and only once
the code path runs. The decorator's docstring says it "raises ValueError/TypeError
at decoration time for bad options", and the README lists the combination among the
stacking rules as a ValueError. (``call_any``/``CallOptions`` over such a wrapper
rightly fail at their call: that *is* their decoration time.)

Suggested fix: in ``_wrap``, when ``func`` is a wrapper with options, compute
``_stack(func._options, options, func)`` once (it raises the ValueError) -- or just
run the same conflict check -- before building the new wrapper.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from synchronaut_core import synchronaut


def test_executor_over_thread_sensitive_is_refused_at_decoration() -> None:
    with ThreadPoolExecutor(1) as pool:

        @synchronaut(thread_sensitive=True)
        def add_note() -> int:
            return 1

        with pytest.raises(ValueError, match="thread_sensitive"):
            synchronaut(executor=pool)(add_note)


def test_thread_sensitive_over_executor_is_refused_at_decoration() -> None:
    with ThreadPoolExecutor(1) as pool:

        @synchronaut(executor=pool)
        def fetch() -> int:
            return 1

        with pytest.raises(ValueError, match="thread_sensitive"):
            synchronaut(thread_sensitive=True)(fetch)
