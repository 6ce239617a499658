"""The cyclic garbage collector paused while a run builds its millions of small objects.

A run over 500,000 contracts allocates millions of acyclic objects (periods, terms, lines,
Decimals); each allocation burst triggers the collector, which walks every live object again,
so its cost grows with the square of the run. Nothing a run builds needs the cycle collector
(reference counting frees it), so a run pauses it and gives it back when done.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside (nesting is fine: only the outermost pause re-enables it)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
