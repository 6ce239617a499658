"""usagebill command line (click): one module per group of `usagebill --help`.

    common.py     every shared option (window, selection, limits, ledger, output), date parsing,
                  the window check, progress
    summaries.py  everything the commands print: summaries, tables, warnings; --quiet and json
    billing.py    validate, run, preview
    ledger.py     issue, nightly, reconcile, invoices, credit-notes, check-ledger
    month_end.py  export, render, send, payments, credits, ar (and the --then task lines)
    analysis.py   report, explain, terms
    scale_out.py  repartition (the Dask engine is `run --engine dask`)
    help.py       `usagebill --help` as a tour: the groups, an example under each command

Errors a user can act on (`BillingError`) print as one red line and exit 1; `--debug` shows the
traceback. Progress goes to stderr: a spinner on a terminal, plain timestamped lines in logs.
Nothing else in the package imports this one.
"""
from __future__ import annotations

import os
import sys

import click

from ..core.errors import BillingError
from . import analysis, billing, ledger, month_end, scale_out
from .help import TourGroup


@click.group(cls=TourGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="usagebill")
def cli(debug: bool) -> None:
    """usagebill: batch rating and invoicing for usage-based billing.

    A workspace (pricebook.yaml, customers, contracts, tax_rates, events/) goes in;
    draft invoices, lines and usage come out as Parquet and CSV. Issued invoices,
    numbered and never billed twice, are kept in the ledger (WORKSPACE/ledger.duckdb).

    \b
    Check a workspace:   usagebill validate ws/
    Bill October:        usagebill run ws/ --from 2026-10-01 --to 2026-11-01
    Issue October:       usagebill issue ws/ --from 2026-10-01 --to 2026-11-01
    Every night:         usagebill nightly ws/ --as-of 2026-11-02
    Late events?         usagebill reconcile ws/ --from 2026-10-01 --to 2026-11-01 [--adjust]
    Why this amount?     usagebill explain ws/ --invoice INV-7
    """


for _area in (billing, ledger, month_end, analysis, scale_out):
    for _command in _area.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    # Arrow's buffers from the C library's allocator unless the user picks one: at 500k contracts a run
    # took 27.4 s with it and 29.3 s with Arrow's default, mimalloc, for the same peak (BENCHMARKS.md)
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.secho("aborted", fg="red", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BillingError as exc:
        if debug:
            raise
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    except Exception as exc:  # never a traceback without --debug
        if debug:
            raise
        click.secho(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
                    fg="red", err=True)
        sys.exit(1)
