"""The slower paths' machinery, imported on first use -- whole, even under Ctrl-C.

``from synchronaut_core import call_any`` loads only what every call needs first: the
classification (``_call``, ``_detect``, ``_backends``). Blocking on a loop, offloading,
the iterators and the thread-sensitive runner need most of this package (the loop
thread, the pool, the waits): ``_load_machinery()`` imports it where those paths start.
That is in the caller's thread, which may be the main thread a Ctrl-C (or any signal
handler that raises) interrupts; an import interrupted there fails for that call, and a
program interrupted often enough would never get past it. So the import is retried
until it completes, and the interrupt is raised after it: at the start of the path,
before anything was handed over, where the caller's own cleanup handles it as any
other interrupt (an unstarted coroutine is closed).
"""

from __future__ import annotations

from importlib import import_module

#: What the slower paths use; their own imports bring the rest. Trio's backend is not
#: here: it is imported once Trio runs (``_backends._trio``).
_MACHINERY = ("_blocking", "_asyncio", "_async_iter", "_sync_iter", "_timed")

_loaded = False


def _load_machinery() -> None:
    """Import the slower paths' modules once, completely, whatever interrupts it.

    Any thread may be first; the import lock makes the others wait for the modules
    being imported. Raises the ``KeyboardInterrupt`` that landed meanwhile, if one did,
    once the modules are in place; an import that fails for another reason raises.
    """
    global _loaded
    if _loaded:
        return
    interrupted: KeyboardInterrupt | None = None
    for name in _MACHINERY:
        while True:
            try:
                import_module(f"{__package__}.{name}")
                break
            except KeyboardInterrupt as exc:
                # Imported again: a module whose import failed is dropped from
                # sys.modules and runs from its start; those that completed stay.
                interrupted = exc
    _loaded = True
    if interrupted is not None:
        raise interrupted
