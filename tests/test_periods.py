"""Billing periods (DATA_CONTRACT.md section 2) and `closing_periods` (section 4), hand-computed.

Contracts are built directly; anchor_day is given explicitly (the loader defaults it to start_date's day).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.billing.periods import closing_periods, instant, period, period_containing
from pipeline.config.workspace import Contract

d = dt.date
UTC = dt.UTC


def contract(start: dt.date, billing_period: str = "monthly", anchor: int | None = None,
             end: dt.date | None = None) -> Contract:
    return Contract("k-1", "cust", "plan", start, end, billing_period, anchor if anchor is not None else start.day,
                    Decimal(0), None)


def periods(k: Contract, n: int) -> list[tuple[dt.date, dt.date, Fraction]]:
    out = []
    for i in range(n):
        p = period(k, i)
        if p is None:
            break
        assert p.index == i
        out.append((p.start, p.end, p.factor))
    return out


# --------------------------------------------------------------------------------------------------------------
# monthly

def test_monthly_anchor_31_uses_last_day_of_short_months():
    k = contract(d(2026, 1, 31), anchor=31)
    assert [(s, e) for s, e, _ in periods(k, 13)] == [
        (d(2026, 1, 31), d(2026, 2, 28)),
        (d(2026, 2, 28), d(2026, 3, 31)),
        (d(2026, 3, 31), d(2026, 4, 30)),
        (d(2026, 4, 30), d(2026, 5, 31)),
        (d(2026, 5, 31), d(2026, 6, 30)),
        (d(2026, 6, 30), d(2026, 7, 31)),
        (d(2026, 7, 31), d(2026, 8, 31)),
        (d(2026, 8, 31), d(2026, 9, 30)),
        (d(2026, 9, 30), d(2026, 10, 31)),
        (d(2026, 10, 31), d(2026, 11, 30)),
        (d(2026, 11, 30), d(2026, 12, 31)),
        (d(2026, 12, 31), d(2027, 1, 31)),
        (d(2027, 1, 31), d(2027, 2, 28)),
    ]
    assert all(f == 1 for _, _, f in periods(k, 13))


def test_monthly_anchor_31_leap_year_february_29():
    k = contract(d(2028, 1, 31), anchor=31)
    assert periods(k, 3) == [
        (d(2028, 1, 31), d(2028, 2, 29), 1),
        (d(2028, 2, 29), d(2028, 3, 31), 1),
        (d(2028, 3, 31), d(2028, 4, 30), 1),
    ]


def test_monthly_anchor_30_february_then_back_to_30():
    k = contract(d(2026, 1, 30), anchor=30)
    assert [(s, e) for s, e, _ in periods(k, 3)] == [
        (d(2026, 1, 30), d(2026, 2, 28)), (d(2026, 2, 28), d(2026, 3, 30)), (d(2026, 3, 30), d(2026, 4, 30))]


def test_monthly_on_the_first():
    k = contract(d(2026, 9, 1), anchor=1)
    assert periods(k, 3) == [(d(2026, 9, 1), d(2026, 10, 1), 1), (d(2026, 10, 1), d(2026, 11, 1), 1),
                             (d(2026, 11, 1), d(2026, 12, 1), 1)]


@pytest.mark.parametrize(
    "start, anchor, stub_end, full_start, factor",
    [
        (d(2026, 10, 12), 1, d(2026, 11, 1), d(2026, 10, 1), Fraction(20, 31)),  # Oct 12..Nov 1 of Oct 1..Nov 1
        (d(2026, 1, 10), 31, d(2026, 1, 31), d(2025, 12, 31), Fraction(21, 31)),  # full: Dec 31..Jan 31
        (d(2026, 2, 10), 1, d(2026, 3, 1), d(2026, 2, 1), Fraction(19, 28)),
        (d(2028, 2, 10), 1, d(2028, 3, 1), d(2028, 2, 1), Fraction(20, 29)),  # leap February: 20 of 29 days
        (d(2026, 3, 15), 30, d(2026, 3, 30), d(2026, 2, 28), Fraction(15, 30)),  # full: Feb 28..Mar 30
        (d(2026, 9, 20), 10, d(2026, 10, 10), d(2026, 9, 10), Fraction(20, 30)),  # start after the anchor
        (d(2026, 2, 28), 31, d(2026, 3, 31), d(2026, 2, 28), Fraction(1)),  # Feb 28 *is* the anchor-31 day
        (d(2026, 2, 27), 31, d(2026, 2, 28), d(2026, 1, 31), Fraction(1, 28)),
        (d(2026, 12, 20), 5, d(2027, 1, 5), d(2026, 12, 5), Fraction(16, 31)),  # across the year end
    ],
)
def test_monthly_stub_start(start, anchor, stub_end, full_start, factor):
    p = period(contract(start, anchor=anchor), 0)
    assert (p.start, p.end, p.full_start) == (start, stub_end, full_start)
    assert p.factor == factor
    assert p.factor == Fraction((p.end - p.start).days, (p.full_end - p.full_start).days)
    nxt = period(contract(start, anchor=anchor), 1)
    assert nxt.start == stub_end and nxt.factor == 1


# --------------------------------------------------------------------------------------------------------------
# quarterly and annual: counted from the month of start_date

def test_quarterly_stub_then_quarters_from_start_month():
    k = contract(d(2026, 9, 18), "quarterly", 31)
    assert periods(k, 4) == [
        (d(2026, 9, 18), d(2026, 9, 30), Fraction(12, 92)),  # full quarter Jun 30..Sep 30 = 92 days
        (d(2026, 9, 30), d(2026, 12, 31), 1),
        (d(2026, 12, 31), d(2027, 3, 31), 1),
        (d(2027, 3, 31), d(2027, 6, 30), 1),
    ]
    assert period(k, 0).full_start == d(2026, 6, 30)


def test_quarterly_start_after_anchor():
    k = contract(d(2026, 9, 20), "quarterly", 10)
    assert periods(k, 2) == [(d(2026, 9, 20), d(2026, 12, 10), Fraction(81, 91)),  # full Sep 10..Dec 10
                             (d(2026, 12, 10), d(2027, 3, 10), 1)]


def test_quarterly_on_anchor_has_no_stub():
    k = contract(d(2026, 2, 15), "quarterly", 15)
    assert periods(k, 3) == [(d(2026, 2, 15), d(2026, 5, 15), 1), (d(2026, 5, 15), d(2026, 8, 15), 1),
                             (d(2026, 8, 15), d(2026, 11, 15), 1)]


def test_annual_stub_then_years():
    k = contract(d(2026, 9, 8), "annual", 31)
    assert periods(k, 3) == [
        (d(2026, 9, 8), d(2026, 9, 30), Fraction(22, 365)),  # full year Sep 30 2025..Sep 30 2026
        (d(2026, 9, 30), d(2027, 9, 30), 1),
        (d(2027, 9, 30), d(2028, 9, 30), 1),
    ]


def test_annual_stub_over_a_leap_day():
    k = contract(d(2028, 1, 10), "annual", 1)  # full year Jan 1 2028..Jan 1 2029 holds Feb 29: 366 days
    assert periods(k, 2) == [(d(2028, 1, 10), d(2029, 1, 1), Fraction(357, 366)),
                             (d(2029, 1, 1), d(2030, 1, 1), 1)]


def test_annual_anchor_29_in_february():
    k = contract(d(2028, 2, 29), "annual", 29)
    assert [(s, e) for s, e, _ in periods(k, 3)] == [
        (d(2028, 2, 29), d(2029, 2, 28)), (d(2029, 2, 28), d(2030, 2, 28)), (d(2030, 2, 28), d(2031, 2, 28))]


# --------------------------------------------------------------------------------------------------------------
# weekly and daily

def test_weekly_every_7_days_from_start():
    k = contract(d(2026, 9, 3), "weekly")  # a Thursday
    assert periods(k, 3) == [(d(2026, 9, 3), d(2026, 9, 10), 1), (d(2026, 9, 10), d(2026, 9, 17), 1),
                             (d(2026, 9, 17), d(2026, 9, 24), 1)]
    assert period(k, 52).start == d(2027, 9, 2)


def test_weekly_ignores_anchor_day():
    assert period(contract(d(2026, 9, 3), "weekly", 15), 0).end == d(2026, 9, 10)


def test_daily_every_day():
    k = contract(d(2026, 12, 30), "daily")
    assert periods(k, 3) == [(d(2026, 12, 30), d(2026, 12, 31), 1), (d(2026, 12, 31), d(2027, 1, 1), 1),
                             (d(2027, 1, 1), d(2027, 1, 2), 1)]


# --------------------------------------------------------------------------------------------------------------
# end_date

def test_end_date_inside_a_period_ends_the_last_one():
    k = contract(d(2026, 10, 12), anchor=1, end=d(2027, 1, 20))
    assert periods(k, 10) == [
        (d(2026, 10, 12), d(2026, 11, 1), Fraction(20, 31)),
        (d(2026, 11, 1), d(2026, 12, 1), 1),
        (d(2026, 12, 1), d(2027, 1, 1), 1),
        (d(2027, 1, 1), d(2027, 1, 20), Fraction(19, 31)),
    ]
    assert period(k, 4) is None


def test_end_date_on_an_anchor_leaves_full_periods():
    k = contract(d(2026, 9, 1), anchor=1, end=d(2026, 12, 1))
    assert periods(k, 10) == [(d(2026, 9, 1), d(2026, 10, 1), 1), (d(2026, 10, 1), d(2026, 11, 1), 1),
                              (d(2026, 11, 1), d(2026, 12, 1), 1)]


def test_end_date_inside_the_stub():
    k = contract(d(2026, 10, 12), anchor=1, end=d(2026, 10, 20))
    assert periods(k, 5) == [(d(2026, 10, 12), d(2026, 10, 20), Fraction(8, 31))]


def test_end_date_inside_a_week():
    k = contract(d(2026, 9, 3), "weekly", end=d(2026, 9, 13))
    assert periods(k, 5) == [(d(2026, 9, 3), d(2026, 9, 10), 1), (d(2026, 9, 10), d(2026, 9, 13), Fraction(3, 7))]


def test_end_date_inside_a_quarter():
    k = contract(d(2026, 9, 30), "quarterly", 31, end=d(2026, 11, 15))
    assert periods(k, 5) == [(d(2026, 9, 30), d(2026, 11, 15), Fraction(46, 92))]  # of Sep 30..Dec 31


# --------------------------------------------------------------------------------------------------------------
# closing_periods: last day (end - 1) in [from, to)

def spans(ps) -> list[tuple[dt.date, dt.date]]:
    return [(p.start, p.end) for p in ps]


def test_closing_periods_monthly_october():
    k = contract(d(2026, 9, 1), anchor=1)
    got = closing_periods(k, d(2026, 10, 1), d(2026, 11, 1))
    assert spans(got) == [(d(2026, 10, 1), d(2026, 11, 1))]  # Sep closes on Sep 30: not in October
    assert got[0].index == 1 and got[0].last_day == d(2026, 10, 31)


def test_closing_periods_bound_is_exclusive():
    k = contract(d(2026, 9, 1), anchor=1)
    assert spans(closing_periods(k, d(2026, 10, 1), d(2026, 10, 31))) == []  # Oct 31 is not < Oct 31
    assert spans(closing_periods(k, d(2026, 10, 31), d(2026, 11, 1))) == [(d(2026, 10, 1), d(2026, 11, 1))]
    assert spans(closing_periods(k, d(2026, 11, 1), d(2026, 11, 1))) == []


def test_closing_periods_stub_and_ended_contract():
    k = contract(d(2026, 7, 1), anchor=1, end=d(2026, 10, 25))
    got = closing_periods(k, d(2026, 10, 1), d(2026, 11, 1))
    assert spans(got) == [(d(2026, 10, 1), d(2026, 10, 25))]
    assert got[0].factor == Fraction(24, 31)
    assert closing_periods(k, d(2026, 11, 1), d(2026, 12, 1)) == []


def test_closing_periods_before_the_contract_starts():
    k = contract(d(2026, 10, 12), anchor=1)
    assert closing_periods(k, d(2026, 9, 1), d(2026, 10, 1)) == []
    got = closing_periods(k, d(2026, 10, 1), d(2026, 11, 1))
    assert spans(got) == [(d(2026, 10, 12), d(2026, 11, 1))] and got[0].factor == Fraction(20, 31)


def test_closing_periods_several_months():
    k = contract(d(2026, 1, 31), anchor=31)
    assert spans(closing_periods(k, d(2026, 2, 1), d(2026, 6, 1))) == [
        (d(2026, 1, 31), d(2026, 2, 28)),  # last day Feb 27
        (d(2026, 2, 28), d(2026, 3, 31)),  # Mar 30
        (d(2026, 3, 31), d(2026, 4, 30)),  # Apr 29
        (d(2026, 4, 30), d(2026, 5, 31)),  # May 30
    ]


def test_closing_periods_weekly():
    k = contract(d(2026, 9, 3), "weekly")
    assert spans(closing_periods(k, d(2026, 10, 1), d(2026, 11, 1))) == [
        (d(2026, 10, 1), d(2026, 10, 8)), (d(2026, 10, 8), d(2026, 10, 15)),
        (d(2026, 10, 15), d(2026, 10, 22)), (d(2026, 10, 22), d(2026, 10, 29))]


def test_closing_periods_daily():
    got = closing_periods(contract(d(2026, 9, 3), "daily"), d(2026, 10, 1), d(2026, 11, 1))
    assert len(got) == 31 and got[0].start == d(2026, 10, 1) and got[-1].end == d(2026, 11, 1)


def test_closing_periods_quarterly_anchor_31():
    k = contract(d(2026, 9, 18), "quarterly", 31)
    assert spans(closing_periods(k, d(2026, 9, 1), d(2026, 10, 1))) == [(d(2026, 9, 18), d(2026, 9, 30))]
    assert closing_periods(k, d(2026, 10, 1), d(2026, 12, 1)) == []
    assert spans(closing_periods(k, d(2026, 12, 1), d(2027, 1, 1))) == [(d(2026, 9, 30), d(2026, 12, 31))]


def test_closing_periods_far_from_start():
    k = contract(d(2020, 1, 15), anchor=15)
    assert spans(closing_periods(k, d(2030, 3, 1), d(2030, 4, 1))) == [(d(2030, 2, 15), d(2030, 3, 15))]
    assert period_containing(k, d(2030, 3, 15)).start == d(2030, 3, 15)


def test_period_containing():
    k = contract(d(2026, 10, 12), anchor=1, end=d(2027, 1, 20))
    assert period_containing(k, d(2026, 10, 11)) is None
    assert (period_containing(k, d(2026, 10, 12)).start, period_containing(k, d(2026, 10, 31)).end) == (
        d(2026, 10, 12), d(2026, 11, 1))
    assert period_containing(k, d(2026, 11, 1)).start == d(2026, 11, 1)
    assert period_containing(k, d(2027, 1, 19)).end == d(2027, 1, 20)
    assert period_containing(k, d(2027, 1, 20)) is None


# property: periods tile the contract without gaps; closing_periods is the brute-force filter

@settings(max_examples=120, deadline=None)
@given(start=st.dates(min_value=d(2024, 1, 1), max_value=d(2027, 12, 31)),
       kind=st.sampled_from(["daily", "weekly", "monthly", "quarterly", "annual"]),
       anchor=st.integers(min_value=1, max_value=31),
       length=st.one_of(st.none(), st.integers(min_value=1, max_value=800)),
       offset=st.integers(min_value=-60, max_value=800), width=st.integers(min_value=0, max_value=200))
def test_periods_tile_and_closing_periods_match_brute_force(start, kind, anchor, length, offset, width):
    end = start + dt.timedelta(days=length) if length is not None else None
    k = contract(start, kind, anchor, end)
    horizon = start + dt.timedelta(days=1300)
    ps, n = [], 0
    while (p := period(k, n)) is not None and p.start < horizon:
        ps.append(p)
        n += 1
    assert ps[0].start == start
    for a, b in zip(ps, ps[1:]):
        assert a.end == b.start
    for p in ps:
        assert p.start < p.end and p.full_start <= p.start and p.end <= p.full_end
        assert 0 < p.factor <= 1
    if end is not None:
        assert ps[-1].end == end
    lo = start + dt.timedelta(days=offset)
    hi = lo + dt.timedelta(days=width)
    assert closing_periods(k, lo, hi) == [p for p in ps if lo <= p.last_day < hi]


# --------------------------------------------------------------------------------------------------------------
# instant: local midnight as a UTC instant, across DST

@pytest.mark.parametrize(
    "day, zone, expected",
    [
        (d(2026, 10, 1), "UTC", dt.datetime(2026, 10, 1, 0, tzinfo=UTC)),
        (d(2026, 10, 1), "America/Chicago", dt.datetime(2026, 10, 1, 5, tzinfo=UTC)),  # CDT -5
        (d(2026, 11, 1), "America/Chicago", dt.datetime(2026, 11, 1, 5, tzinfo=UTC)),  # falls back at 02:00: still CDT
        (d(2026, 11, 2), "America/Chicago", dt.datetime(2026, 11, 2, 6, tzinfo=UTC)),  # CST -6
        (d(2026, 3, 8), "America/Chicago", dt.datetime(2026, 3, 8, 6, tzinfo=UTC)),  # springs forward at 02:00
        (d(2026, 3, 9), "America/Chicago", dt.datetime(2026, 3, 9, 5, tzinfo=UTC)),
        (d(2026, 3, 29), "Europe/Berlin", dt.datetime(2026, 3, 28, 23, tzinfo=UTC)),  # CET +1 (DST at 02:00)
        (d(2026, 3, 30), "Europe/Berlin", dt.datetime(2026, 3, 29, 22, tzinfo=UTC)),  # CEST +2
        (d(2026, 10, 25), "Europe/Berlin", dt.datetime(2026, 10, 24, 22, tzinfo=UTC)),  # CEST until 03:00
        (d(2026, 10, 26), "Europe/Berlin", dt.datetime(2026, 10, 25, 23, tzinfo=UTC)),  # CET
        (d(2026, 10, 1), "Asia/Kolkata", dt.datetime(2026, 9, 30, 18, 30, tzinfo=UTC)),
    ],
)
def test_instant(day, zone, expected):
    got = instant(day, zone)
    assert got == expected
    assert got.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "day, zone, expected",
    [
        # midnight does not exist: clocks jump 00:00 -> 01:00; the local day starts at 01:00 (new offset)
        (d(2026, 3, 8), "America/Havana", dt.datetime(2026, 3, 8, 5, tzinfo=UTC)),  # 01:00 CDT -4
        (d(2026, 9, 6), "America/Santiago", dt.datetime(2026, 9, 6, 4, tzinfo=UTC)),  # 01:00 -03
        (d(2026, 4, 24), "Africa/Cairo", dt.datetime(2026, 4, 23, 22, tzinfo=UTC)),  # 01:00 EEST +3
        # midnight happens twice (Havana falls back 01:00 -> 00:00): the day starts at the first one
        (d(2026, 11, 1), "America/Havana", dt.datetime(2026, 11, 1, 4, tzinfo=UTC)),
    ],
)
def test_instant_is_first_instant_of_the_local_day(day, zone, expected):
    z = ZoneInfo(zone)
    got = instant(day, zone)
    assert got == expected
    assert got.astimezone(z).date() == day
    assert (got - dt.timedelta(microseconds=1)).astimezone(z).date() == day - dt.timedelta(days=1)


def test_instant_skipped_midnight_local_time_is_one_oclock():
    assert instant(d(2026, 3, 8), "America/Havana").astimezone(ZoneInfo("America/Havana")).time() == dt.time(1, 0)


@pytest.mark.parametrize(
    "day, zone, hours",
    [
        (d(2026, 3, 29), "Europe/Berlin", 23),
        (d(2026, 10, 25), "Europe/Berlin", 25),
        (d(2026, 11, 1), "America/Chicago", 25),
        (d(2026, 3, 8), "America/Chicago", 23),
        (d(2026, 3, 8), "America/Havana", 23),
        (d(2026, 10, 1), "UTC", 24),
    ],
)
def test_local_day_lengths_across_dst(day, zone, hours):
    assert instant(day + dt.timedelta(days=1), zone) - instant(day, zone) == dt.timedelta(hours=hours)


@pytest.mark.parametrize("billing_period, first, stop, expected", [
    ("monthly", d(2026, 10, 2), d(2026, 11, 1), [(d(2026, 10, 1), d(2026, 11, 1))]),  # a day after the start
    ("monthly", d(2026, 10, 31), d(2026, 11, 1), [(d(2026, 10, 1), d(2026, 11, 1))]),  # its last day
    ("weekly", d(2026, 10, 2), d(2026, 10, 8), [(d(2026, 10, 1), d(2026, 10, 8))]),
    ("daily", d(2026, 10, 1), d(2026, 10, 2), [(d(2026, 10, 1), d(2026, 10, 2))]),
    ("daily", d(2026, 10, 2), d(2026, 10, 3), [(d(2026, 10, 2), d(2026, 10, 3))]),
])
def test_closing_periods_just_after_the_start_keeps_the_first_period(billing_period, first, stop, expected):
    # the periods whose last day is in [first, stop), by hand: the contract starts 2026-10-01
    assert spans(closing_periods(contract(d(2026, 10, 1), billing_period), first, stop)) == expected
