"""Billing periods: the calendar of a contract, in its customer's local time.

- monthly, quarterly, annual: periods start on the anchor day every 1, 3 or 12
  months counted from the month of start_date; in a month without that day, on its
  last day (anchor 31: Jan 31, Feb 28, Mar 31, ...).
- weekly: every 7 days from start_date; daily: every day.
- The first period starts at start_date; off the anchor it is a stub up to the
  next anchor. When end_date falls inside a period, the last period ends there.
- Proration factor = days of the period / days of the full period holding it.

A period [start, end) runs from local midnight of `start` to local midnight of
`end`; `instant` gives those midnights as UTC instants (DST-aware).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from ..config.workspace import Contract

STEP_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
STEP_DAYS = {"daily": 1, "weekly": 7}
UTC = dt.UTC


@dataclass(frozen=True)
class Period:
    index: int  # 0 = the contract's first period
    start: dt.date
    end: dt.date  # exclusive
    full_start: dt.date  # the full period holding this one (== start, end when not a stub)
    full_end: dt.date

    @property
    def factor(self) -> Fraction:
        return Fraction((self.end - self.start).days, (self.full_end - self.full_start).days)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


@lru_cache(maxsize=1 << 16)  # a pure function of two values many contracts share (their days and zones)
def instant(day: dt.date, timezone: str) -> dt.datetime:
    """Local midnight of `day` in `timezone`, as a UTC instant (the first instant of that local day)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=_zone(timezone)).astimezone(UTC)


@cache
def _zone(name: str) -> ZoneInfo:
    """The zone, read from its file once per process (ZoneInfo keeps only the last 8 zones used, and the
    instants are UTC: at 500k contracts over ~50 zones it read a zone's file 3,663 times)."""
    return ZoneInfo(name)


@lru_cache(maxsize=1 << 16)  # pure: every contract of an anchor day asks the same months
def _anchor(month_index: int, anchor_day: int) -> dt.date:
    year, month0 = divmod(month_index, 12)
    return dt.date(year, month0 + 1, min(anchor_day, calendar.monthrange(year, month0 + 1)[1]))


def _raw_period(k: Contract, n: int) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """(start, end, full_start, full_end) of period n, before end_date is applied."""
    if k.billing_period in STEP_DAYS:
        step = dt.timedelta(days=STEP_DAYS[k.billing_period])
        start = k.start_date + n * step
        return start, start + step, start, start + step
    step = STEP_MONTHS[k.billing_period]
    m0 = k.start_date.year * 12 + k.start_date.month - 1
    base = m0 if _anchor(m0, k.anchor_day) <= k.start_date else m0 - step  # last grid anchor <= start_date
    full_start, full_end = _anchor(base + n * step, k.anchor_day), _anchor(base + (n + 1) * step, k.anchor_day)
    start = k.start_date if n == 0 else full_start
    return start, full_end, full_start, full_end


def period(k: Contract, n: int) -> Period | None:
    """Period n of contract k, or None when the contract has ended before it."""
    start, end, full_start, full_end = _raw_period(k, n)
    if k.end_date is not None:
        if start >= k.end_date:
            return None
        end = min(end, k.end_date)
    return Period(n, start, end, full_start, full_end)


def _first_index_near(k: Contract, day: dt.date) -> int:
    """A period index whose period starts at or before `day` (0 when day is early), for skipping ahead."""
    # The hint only has to be at or before the first period wanted: a smaller one only starts the
    # caller's loop earlier, so the mutants that lower it are equivalent (marked `pragma: no mutate`).
    if day <= k.start_date:  # pragma: no mutate - < or <= at the start date both give index 0's period
        return 0
    if k.billing_period in STEP_DAYS:
        return max(0, (day - k.start_date).days // STEP_DAYS[k.billing_period] - 1)  # pragma: no mutate - a hint
    months = (day.year - k.start_date.year) * 12 + day.month - k.start_date.month  # pragma: no mutate - a hint
    return max(0, months // STEP_MONTHS[k.billing_period] - 1)  # pragma: no mutate - a hint


def closing_periods(k: Contract, first_day: dt.date, stop_day: dt.date) -> list[Period]:
    """The periods whose last day (end - 1 day) falls in [first_day, stop_day)."""
    out: list[Period] = []
    n = _first_index_near(k, first_day)
    while (p := period(k, n)) is not None and p.start < stop_day:  # pragma: no mutate - <=: the filter drops it
        if first_day <= p.last_day < stop_day:
            out.append(p)
        n += 1
    return out


def period_containing(k: Contract, day: dt.date) -> Period | None:
    """The period holding local calendar `day`, or None outside the contract."""
    n = _first_index_near(k, day)
    while (p := period(k, n)) is not None and p.start <= day:
        if day < p.end:
            return p
        n += 1
    return None


def terms_starts(k: Contract, dates: list[dt.date]) -> list[dt.date]:
    """The period starts from which changes dated `dates` are in force, with start_date first: a
    change takes effect from the first period starting on or after its date (a running period
    keeps the terms it started with). Changes after the contract's last period start are dropped."""
    out = {k.start_date}
    for day in dates:
        if day <= k.start_date:  # pragma: no mutate - start_date is in `out` already
            continue
        p = period_containing(k, day)
        if p is None:
            continue
        start = day if p.start == day else p.end
        if k.end_date is None or start < k.end_date:  # pragma: no mutate - no period starts at end_date
            out.add(start)
    return sorted(out)
