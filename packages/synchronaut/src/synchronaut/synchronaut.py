"""synchronaut 0.3's ``synchronaut.synchronaut``: the decorator."""

from synchronaut_core import (
    SynchronautAsync,
    SynchronautAsyncGen,
    SynchronautGen,
    SynchronautSync,
    synchronaut,
)

__all__ = [
    "SynchronautAsync",
    "SynchronautAsyncGen",
    "SynchronautGen",
    "SynchronautSync",
    "synchronaut",
]
