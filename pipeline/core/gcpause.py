"""The cyclic garbage collector paused while a run builds its millions of small objects.

A run over 500,000 contracts allocates millions of acyclic objects (periods, terms, Decimals);
each allocation burst triggers the collector, which walks every live object again, so its cost
grows with the square of the run. Nothing a run builds needs the cycle collector (reference
counting frees it), so a run pauses it. When the pause ends, the objects still alive (the
workspace, the scope) are moved to the collector's permanent generation (`gc.freeze`): given
back as they were, the first collection after the pause would walk all of them at once (3 s
for 500,000 contracts, measured), and every older-generation collection after it again.
Objects frozen that way are still freed by reference counting when the run drops them; only a
reference cycle among them would outlive the run, and a run builds none on purpose.
"""
from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

F = TypeVar("F", bound=Callable)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside (nesting is fine: only the outermost pause re-enables it)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()  # what survived the pause is not walked again (see the module's note)
            gc.enable()


def without_gc(fn: F) -> F:
    """`fn` run inside `paused_gc` (a command that loads a workspace and rates it: issue, nightly, reconcile)."""
    @functools.wraps(fn)
    def paused(*args, **kwargs):
        with paused_gc():
            return fn(*args, **kwargs)
    return paused  # type: ignore[return-value]
