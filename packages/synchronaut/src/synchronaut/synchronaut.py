"""synchronaut 0.3's ``synchronaut.synchronaut``: the decorator."""

from ._decorator import SynchronautAsync, SynchronautSync, synchronaut

__all__ = ["SynchronautAsync", "SynchronautSync", "synchronaut"]
