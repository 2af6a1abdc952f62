"""synchronaut 0.3's ``synchronaut.core``: the call and batch entry points."""

from synchronaut_batch import call_map, parallel_iter, parallel_map
from synchronaut_core import CallAnyTimeout, call_any, call_async, call_sync

__all__ = [
    "CallAnyTimeout",
    "call_any",
    "call_async",
    "call_map",
    "call_sync",
    "parallel_iter",
    "parallel_map",
]
