"""Run the usagebill command line and SIGKILL it at one chosen point (used by tests/test_faults.py).

    python tests/crash_at.py MODULE:FUNCTION N before|after [--no-exchange] -- ARGS...

kills the process just before, or just after, the N-th call of MODULE.FUNCTION (looked up at
call time, so e.g. `pipeline.core.io:_publish` or `pipeline.billing.emit:write_parquet`). `--no-exchange`
makes the output folder's publication use two renames, as on a system without renameat2.
A crash point that is never reached exits 3, so a test knows its point is stale.
"""
from __future__ import annotations

import importlib
import os
import signal
import sys


def main() -> None:
    argv = sys.argv[1:]
    split = argv.index("--")
    spec, n, when, *flags = argv[:split]
    module_name, name = spec.split(":")
    target, nth = importlib.import_module(module_name), int(n)
    original = getattr(target, name)
    calls = 0

    def crashing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == nth and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if calls == nth and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(target, name, crashing)
    if "--no-exchange" in flags:
        import pipeline.core.io

        pipeline.core.io._exchange = lambda a, b: False
    sys.argv = ["usagebill", *argv[split + 1:]]
    from pipeline.cli import main as usagebill

    usagebill()
    sys.exit(3)  # the crash point was never reached


if __name__ == "__main__":
    main()
