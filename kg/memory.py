"""Pausing Python's cyclic garbage collector while many objects are made at once.

Reading back a kept answer or building a network view makes hundreds of thousands of dicts,
lists and terms, none of them in a reference cycle: reference counting frees them, and the
cyclic collector, which runs every few hundred allocations, only walks them (and everything
else alive) again. At 100k articles, building the actors' network in a new process took 3.5 s
with the collector running (16 full collections) and 1.7 s with it paused; copying the cached
view for the caller 0.50 and 0.20 s.

The pause is process-wide (``gc.disable``), so it is kept to a call's length; nested pauses
leave collection as the outermost found it. Cycles made during a pause are collected after it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc():
    """Pause cyclic garbage collection for a block or, as ``@paused_gc()``, for a function.

    Examples
    --------
    >>> import gc
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
