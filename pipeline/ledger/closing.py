"""closing: when a billing period has ended, as accounting sees it (nightly, issue).

A period is closed when its end instant (local midnight of period_end in the customer's time
zone) plus a grace period is at or before the as-of instant. So a nightly job on a UTC server
at 02:15 issues Berlin's October (ended 23:00 UTC) but not Los Angeles' (ends 07:00 UTC).

- as-of: a date (its midnight UTC) or an ISO timestamp with a zone
  (`2026-11-01T02:15:00+00:00`, `...Z`); default: now. An as-of after the clock is refused
  unless forced: a future as-of would issue invoices, final and numbered, for usage that has
  not happened.
- grace: `0`, `90m`, `6h`, `2d`. Default GRACE_DEFAULT when the as-of is the clock (late events
  from buffered pipelines, Firehose or Segment, land within minutes; what comes later is
  `reconcile --adjust`'s), 0 when an as-of is given (the analyst's instant is taken as meant).
- billed_through (contracts column, or settings.yaml for the whole workspace): periods whose
  last day is on or before it were billed by a previous system; nightly never issues them and
  reconcile does not report them.
"""
from __future__ import annotations

import datetime as dt
import re

from ..core.errors import BillingError

UTC = dt.UTC
GRACE_DEFAULT = dt.timedelta(hours=1)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_as_of(text: str | None, now: dt.datetime | None = None) -> tuple[dt.datetime, bool]:
    """(the as-of instant, whether it was given); a date is its midnight UTC."""
    if text is None:
        return (now or dt.datetime.now(UTC)).astimezone(UTC), False
    value = text.strip()
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(0), tzinfo=UTC), True
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise BillingError(f"--as-of {text!r}: not a date or timestamp; write 2026-11-01 (midnight UTC) or "
                           "2026-11-01T02:15:00+00:00") from None
    if moment.tzinfo is None:
        raise BillingError(f"--as-of {text!r}: a timestamp needs its zone; write it with +00:00 or Z "
                           "(or give a date, which means its midnight UTC)")
    return moment.astimezone(UTC), True


def parse_grace(text: str | None, given_as_of: bool) -> dt.timedelta:
    """--grace: `0`, `30m`, `6h`, `2d` (default: GRACE_DEFAULT for the clock, 0 for a given as-of)."""
    if text is None:
        return dt.timedelta(0) if given_as_of else GRACE_DEFAULT
    m = _DURATION.match(text)
    if not m:
        raise BillingError(f"--grace {text!r}: not a duration; write 0, 30m, 6h or 2d")
    return dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def refuse_future(as_of: dt.datetime, allow_future: bool, now: dt.datetime | None = None) -> None:
    now = (now or dt.datetime.now(UTC)).astimezone(UTC)
    if as_of > now and not allow_future:
        raise BillingError(f"--as-of {as_of.isoformat()} is after the clock ({now.replace(microsecond=0).isoformat()}):"
                           " that would issue invoices for periods that have not ended; pass --allow-future to"
                           " issue them anyway (a test ledger, a clock you know is wrong)")


def closed(end_at: dt.datetime, as_of: dt.datetime, grace: dt.timedelta) -> bool:
    return end_at + grace <= as_of
