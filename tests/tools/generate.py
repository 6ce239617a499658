"""Deterministic generator of realistic usagebill workspaces, for `make demo` and benchmarks.

`generate_workspace` writes pricebook.yaml, customers.csv, contracts.csv, tax_rates.csv and
events/part-NNNN.parquet (see docs/workspace.md). Events are made in time order, one time slice
of at most CHUNK_ROWS rows at a time, so 100 million events need no more memory than one
million. Every random draw comes from one numpy Generator seeded with `seed`, and nothing
reads the clock: the same arguments give byte-identical files.

The data exercises every path of a run: Zipf-skewed customers, ~2 % exact duplicates (some
in a later file), ~1 % unmetered events, a few unknown customers and null metric values,
stub starts, contracts ending mid-month, and events a couple of days either side of the month.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from stdnum import luhn
from stdnum.iso7064 import mod_11_10

CHUNK_ROWS = 1_000_000  # events generated, sorted and written at a time (one row group)
FILE_ROWS = 2_000_000  # default events per Parquet file
DUPLICATE_SHARE, UNKNOWN_SHARE, BAD_VALUE_SHARE = 0.02, 0.0005, 0.0003
MARGIN = timedelta(days=2)  # events this far either side of the month fall outside the window
HOUR_US, DAY_US = 3_600_000_000, 86_400_000_000

PRICEBOOK = """\
company: {name: Demo Cloud GmbH, country: DE, tax_id: DE136695976, invoice_prefix: DC,
          address_line1: Torstraße 49, postal_code: "10119", city: Berlin, email: billing@demo-cloud.example}
metrics:
  - {id: api_calls, event_type: api_call, aggregation: count}
  - {id: active_users, event_type: api_call, aggregation: unique_count, field: user_id}
  - {id: compute_hours, event_type: compute, aggregation: sum, field: hours, group_by: [region]}
  - {id: egress_gb, event_type: egress, aggregation: sum, field: gb,
     filters: {region: [eu-west, us-east, ap-northeast]}}
  - {id: storage_gb_months, event_type: storage, aggregation: weighted_sum, field: gb}
  - {id: payment_volume, event_type: payment, aggregation: sum, field: amount}
  - {id: peak_seats, event_type: seat_snapshot, aggregation: max, field: seats}
  - {id: seats, event_type: seat_snapshot, aggregation: latest, field: seats}
plans:
  - id: starter_usd
    currency: USD
    charges:
      - {id: platform, model: flat, amount: 19}
      - {id: api, metric: api_calls, model: per_unit, unit_price: 0.0005, free_units: 10000}
      - {id: storage, metric: storage_gb_months, model: per_unit, unit_price: 0.025, free_units: 5}
      - {id: egress, metric: egress_gb, model: package, package_size: 100, package_price: 9, free_units: 10}
      - {id: seats, metric: seats, model: per_unit, unit_price: 8}
  - id: growth_usd
    currency: USD
    charges:
      - {id: platform, model: flat, amount: 99}
      - {id: api, metric: api_calls, model: graduated, tiers: [{up_to: 50000, unit_price: 0},
         {up_to: 1000000, unit_price: 0.0004, flat_fee: 10}, {unit_price: 0.0002}]}
      - {id: users, metric: active_users, model: volume, tiers: [{up_to: 10, unit_price: 0},
         {up_to: 100, unit_price: 2.5}, {unit_price: 1.75, flat_fee: 50}]}
      - {id: compute, metric: compute_hours, model: per_unit, unit_price: 0.085, min_amount: 5}
      - {id: storage, metric: storage_gb_months, model: per_unit, unit_price: 0.023}
      - {id: egress, metric: egress_gb, model: per_unit, unit_price: 0.09, free_units: 100}
      - {id: payments, metric: payment_volume, model: percentage, percent: 2.9, fixed_fee: 0.3,
         per_event_max: 25, free_events: 20}
      - {id: seats, metric: peak_seats, model: per_unit, unit_price: 12}
  - id: business_eur
    currency: EUR
    charges:
      - {id: platform, model: flat, amount: 89}
      - {id: api, metric: api_calls, model: volume, tiers: [{up_to: 100000, unit_price: 0.0006},
         {up_to: 1000000, unit_price: 0.0004}, {unit_price: 0.0003, flat_fee: 25}]}
      - {id: compute, metric: compute_hours, model: graduated, min_amount: 10, tiers: [
         {up_to: 100, unit_price: 0.09, flat_fee: 5}, {up_to: 1000, unit_price: 0.075}, {unit_price: 0.06}]}
      - {id: storage, metric: storage_gb_months, model: graduated, tiers: [{up_to: 50, unit_price: 0},
         {up_to: 1000, unit_price: 0.021}, {unit_price: 0.018}]}
      - {id: egress, metric: egress_gb, model: package, package_size: 50, package_price: 3.5}
      - {id: payments, metric: payment_volume, model: percentage, percent: 1.4, fixed_fee: 0.25,
         per_event_min: 0.3, per_event_max: 10, free_amount: 500}
      - {id: seats, metric: seats, model: per_unit, unit_price: 11}
  - id: pro_gbp
    currency: GBP
    charges:
      - {id: platform, model: flat, amount: 69}
      - {id: api, metric: api_calls, model: package, package_size: 10000, package_price: 3, free_units: 20000}
      - {id: users, metric: active_users, model: per_unit, unit_price: 1.5, free_units: 25}
      - {id: compute, metric: compute_hours, model: per_unit, unit_price: 0.07}
      - {id: storage, metric: storage_gb_months, model: volume, tiers: [{up_to: 100, unit_price: 0.02},
         {unit_price: 0.015}]}
      - {id: egress, metric: egress_gb, model: per_unit, unit_price: 0.08}
      - {id: payments, metric: payment_volume, model: percentage, percent: 1.9, fixed_fee: 0.2,
         free_events: 50, free_amount: 2000}
      - {id: seats, metric: peak_seats, model: graduated, min_amount: 30, tiers: [
         {up_to: 5, unit_price: 0, flat_fee: 25}, {unit_price: 9}]}
  - id: enterprise_jpy
    currency: JPY
    charges:
      - {id: platform, model: flat, amount: 15000}
      - {id: api, metric: api_calls, model: graduated, tiers: [
         {up_to: 1000000, unit_price: 0.05, flat_fee: 1000}, {unit_price: 0.03}]}
      - {id: compute, metric: compute_hours, model: per_unit, unit_price: 12, min_amount: 500}
      - {id: storage, metric: storage_gb_months, model: per_unit, unit_price: 3.5}
      - {id: egress, metric: egress_gb, model: volume, tiers: [{up_to: 1000, unit_price: 12}, {unit_price: 9}]}
      - {id: payments, metric: payment_volume, model: percentage, percent: 3.6, per_event_min: 40}
      - {id: seats, metric: seats, model: per_unit, unit_price: 1200}
  - id: gulf_kwd
    currency: KWD
    charges:
      - {id: platform, model: flat, amount: 15, prorate: false}
      - {id: api, metric: api_calls, model: per_unit, unit_price: 0.00015, free_units: 5000}
      - {id: compute, metric: compute_hours, model: per_unit, unit_price: 0.026}
      - {id: storage, metric: storage_gb_months, model: per_unit, unit_price: 0.007}
      - {id: egress, metric: egress_gb, model: per_unit, unit_price: 0.028}
      - {id: payments, metric: payment_volume, model: percentage, percent: 2.5, fixed_fee: 0.1}
      - {id: seats, metric: seats, model: per_unit, unit_price: 2.5}
"""
TAX_RATES = [("AU", "10", "GST 10%"), ("DE", "19", "MwSt. 19%"), ("FR", "20", "TVA 20%"),
             ("GB", "20", "VAT 20%"), ("JP", "10", "JCT 10%"), ("NL", "21", "BTW 21%"), ("*", "0", "")]
COMMITMENT = {"USD": "500", "EUR": "450", "GBP": "400", "JPY": "60000", "KWD": "150"}
# country: weight, timezones, city, postal code, street, legal form, plans (repeat one to weight it)
COUNTRIES = {
    "AU": (0.05, ("Australia/Sydney",), "Sydney", "2000", "George Street", "Pty Ltd", ("growth_usd",)),
    "DE": (0.28, ("Europe/Berlin",), "Berlin", "10115", "Friedrichstraße", "GmbH", ("business_eur",)),
    "FR": (0.10, ("Europe/Paris",), "Paris", "75002", "Rue de Rivoli", "SAS", ("business_eur", "growth_usd")),
    "GB": (0.12, ("UTC", "Europe/London"), "London", "EC1A 1BB", "High Street", "Ltd", ("pro_gbp",)),
    "JP": (0.09, ("Asia/Tokyo",), "Tokyo", "100-0005", "Chuo-dori", "K.K.", ("enterprise_jpy",)),
    "KW": (0.03, ("Asia/Kuwait",), "Kuwait City", "13001", "Gulf Road", "W.L.L.", ("gulf_kwd",)),
    "NL": (0.08, ("Europe/Amsterdam",), "Amsterdam", "1012 AB", "Keizersgracht", "B.V.", ("business_eur",)),
    "US": (0.25, ("America/New_York", "America/Los_Angeles"), "New York", "10001", "Market Street", "Inc.",
           ("starter_usd", "growth_usd")),
}
NAMES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Wonka", "Aperture", "Nakatomi",
         "Tyrell", "Müller", "Stark", "Oscorp", "Cyberdyne", "Pied Piper", "Massive Dynamic")
TRADES = ("Analytics", "Robotics", "Logistics", "Media", "Health", "Foods", "Energy", "Labs", "Systems")
PERIODS = ((0.03, "weekly"), (0.05, "daily"), (0.09, "quarterly"), (0.12, "annual"), (1.0, "monthly"))

EVENT_TYPES = ("api_call", "compute", "egress", "storage", "payment", "seat_snapshot", "heartbeat")
API, COMPUTE, EGRESS, STORAGE, PAYMENT, SEATS, HEARTBEAT = range(len(EVENT_TYPES))
TYPE_WEIGHTS = np.array([0.55, 0.16, 0.10, 0.06, 0.08, 0.04, 0.01])  # heartbeat: metered by no plan
VALUE_LOGNORMAL = np.array([[0, 0], [0.3, 0.9], [-0.5, 1.4], [1.2, 0.8], [3.6, 1.1], [0, 0], [0, 0]])
VALUE_DIGITS = np.array([0, 4, 3, 2, 2, 0, 0])
NUMBER_COLUMNS = {"hours": [COMPUTE], "gb": [EGRESS, STORAGE], "amount": [PAYMENT], "seats": [SEATS]}
NUMERIC_TYPES = [t for types in NUMBER_COLUMNS.values() for t in types]
REGIONS = ("eu-west", "us-east", "ap-northeast", "internal", None)  # internal: filtered out of egress_gb
REGION_WEIGHTS = np.array([[0, 0, 0, 0, 1], [0.45, 0.4, 0.15, 0, 0], [0.4, 0.35, 0.2, 0.05, 0]]
                          + [[0, 0, 0, 0, 1]] * 4)
UNKNOWN_CUSTOMERS = ("C-DELETED-1", "C-DELETED-2", "C-TEST")
SCHEMA = pa.schema([("event_id", pa.string()), ("customer_id", pa.string()), ("event_type", pa.string()),
                    ("timestamp", pa.timestamp("us", tz="UTC")), ("region", pa.string()),
                    ("user_id", pa.string())] + [(name, pa.float64()) for name in NUMBER_COLUMNS])


@dataclass(frozen=True)
class _Population:
    """Per-customer arrays the event generator draws from."""

    ids: pa.Array  # customer ids, then the unknown ones
    weight: np.ndarray  # Zipf activity weight
    type_cum: np.ndarray  # cumulative event-type probabilities of the customer's plan
    lo: np.ndarray  # active [lo, hi) in epoch microseconds
    hi: np.ndarray
    seats: np.ndarray  # typical seat count
    users: np.ndarray  # size of the user pool


def _pick(seq: tuple, x: float):
    """The element of seq that a uniform draw x in [0, 1) falls on."""
    return seq[min(int(x * len(seq)), len(seq) - 1)]


def _epoch_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def _vat_id(country: str, number: int) -> str:
    """A VAT id with valid check digits for DE, FR or NL, built from an 8-digit number."""
    body = str(10_000_000 + number % 90_000_000)
    if country == "DE":
        return "DE" + body + mod_11_10.calc_check_digit(body)
    if country == "FR":
        siren = body + luhn.calc_check_digit(body)
        return f"FR{int(siren + '12') % 97:02d}{siren}"
    while (check := sum((9 - i) * int(d) for i, d in enumerate(body)) % 11) == 10:  # NL: 11-proof BSN
        body = str(int(body) + 1)
    return f"NL{body}{check}B01"


def _customers(rng: np.random.Generator, n: int) -> list[dict]:
    codes = sorted(COUNTRIES)
    weights = np.array([COUNTRIES[c][0] for c in codes])
    countries = rng.choice(len(codes), size=n, p=weights / weights.sum())
    u = rng.random((n, 9))
    width = max(5, len(str(n)))
    rows = []
    for i in range(n):
        code = codes[countries[i]]
        _, zones, city, postal, street, form, _ = COUNTRIES[code]
        first = _pick(NAMES, u[i, 0])
        partner = NAMES[(NAMES.index(first) + 1 + int(u[i, 1] * 8)) % len(NAMES)]
        name = f"{first}, {partner} & Partners" if u[i, 2] < 0.12 else f"{first} {_pick(TRADES, u[i, 1])}"
        slug = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
        has_vat = (code in ("FR", "NL") and u[i, 3] < 0.5) or (code == "DE" and u[i, 3] < 0.3)
        rows.append({
            "customer_id": f"C{i + 1:0{width}d}", "name": f"{name} {form}",
            "email": f"billing@{''.join(c for c in slug if c.isalnum())[:24]}.example",
            "address_line1": f"{1 + int(u[i, 4] * 200)} {street}", "city": city, "postal_code": postal,
            "country": code, "tax_id": _vat_id(code, int(u[i, 5] * 1e9)) if has_vat else "",
            "tax_exempt": "true" if u[i, 6] < 0.02 else "false", "timezone": _pick(zones, u[i, 7]),
            "payment_terms_days": _pick((14, 30, 30, 30, 45, 60), u[i, 8])})
    return rows


def _contract(u: np.ndarray, customer: dict, month_start: date, incremental: bool, currency: dict) -> dict:
    """One contract: mostly monthly, some stubs, mid-month ends, discounts and commitments."""
    plan = _pick(COUNTRIES[customer["country"]][6], u[0])
    period = next(name for limit, name in PERIODS if u[1] < limit)
    anchor = 1 + int(u[2] * 28) if incremental or u[3] < 0.25 else 1
    # quarterly and annual contracts start so that a period closes in the generated month
    back = {"quarterly": 2, "annual": 11}.get(period, int(u[4] * 12)) + (anchor > 1)
    start, end = _add_months(month_start, -back).replace(day=anchor), ""
    if u[5] < 0.08:  # stub: starts inside the month
        start = month_start.replace(day=2 + int(u[4] * 24))
    elif u[5] < 0.11:  # cancelled: ends inside the month
        end = month_start.replace(day=5 + int(u[4] * 24)).isoformat()
    return {"contract_id": "K" + customer["customer_id"][1:], "customer_id": customer["customer_id"],
            "plan_id": plan, "start_date": start.isoformat(), "end_date": end, "billing_period": period,
            "billing_anchor_day": anchor if period in ("monthly", "quarterly", "annual") else "",
            "discount_percent": _pick(("5", "10", "12.5", "15", "20"), u[7]) if u[6] < 0.1 else "",
            "minimum_commitment": COMMITMENT[currency[plan]] if u[6] > 0.92 else ""}


def _population(rng: np.random.Generator, contracts: list[dict], book: dict, span: tuple[int, int]) -> _Population:
    event_of = {m["id"]: m["event_type"] for m in book["metrics"]}
    type_cum = {}
    for plan in book["plans"]:
        metered = {event_of[c["metric"]] for c in plan["charges"] if "metric" in c} | {"heartbeat"}
        weights = TYPE_WEIGHTS * [t in metered for t in EVENT_TYPES]
        type_cum[plan["id"]] = np.cumsum(weights / weights.sum())
    n = len(contracts)
    starts = np.array([_epoch_us(date.fromisoformat(c["start_date"])) + 12 * HOUR_US for c in contracts])
    ends = np.array([_epoch_us(date.fromisoformat(c["end_date"])) + DAY_US if c["end_date"] else span[1]
                     for c in contracts])
    seats = np.minimum(1 + np.floor(rng.pareto(1.5, n) * 5), 500)
    return _Population(
        ids=pa.array([c["customer_id"] for c in contracts] + list(UNKNOWN_CUSTOMERS)),
        weight=(rng.permutation(n) + 1.0) ** -1.1, type_cum=np.array([type_cum[c["plan_id"]] for c in contracts]),
        lo=np.maximum(starts, span[0]), hi=np.minimum(ends, span[1]), seats=seats, users=seats * 4 + 5)


def _fresh_events(rng: np.random.Generator, pop: _Population, n: int, s0: int, s1: int, first_id: int) -> dict:
    """n new events in [s0, s1) as numpy columns: customers weighted by activity and active time."""
    p = pop.weight * np.clip(np.minimum(pop.hi, s1) - np.maximum(pop.lo, s0), 0, None)
    p = pop.weight if p.sum() == 0 else p
    cust = np.repeat(np.arange(len(p)), rng.multinomial(n, p / p.sum()))  # time-sorted below
    lo, hi = np.maximum(pop.lo[cust], s0), np.minimum(pop.hi[cust], s1)
    ts = lo + (rng.random(n) * np.maximum(hi - lo, 0)).astype(np.int64)
    etype = np.minimum((rng.random(n)[:, None] >= pop.type_cum[cust]).sum(axis=1), HEARTBEAT)
    region_cum = np.cumsum(REGION_WEIGHTS, axis=1)[etype]
    region = np.minimum((rng.random(n)[:, None] >= region_cum).sum(axis=1), len(REGIONS) - 1)
    z = rng.standard_normal(n)
    value = np.exp(VALUE_LOGNORMAL[etype, 0] + VALUE_LOGNORMAL[etype, 1] * z)
    value = np.where((etype == STORAGE) & (rng.random(n) < 0.2), -0.5 * value, value)  # storage shrinks
    value = np.where(etype == SEATS, np.maximum(1, pop.seats[cust] * (1 + 0.05 * z)), value)
    scale = 10.0 ** VALUE_DIGITS[etype]
    value = np.round(value * scale) / scale
    value[np.isin(etype, NUMERIC_TYPES) & (rng.random(n) < BAD_VALUE_SHARE)] = np.nan  # quarantined as invalid
    user = (pop.users[cust] * rng.random(n) ** 2).astype(np.int64)
    unknown = rng.random(n) < UNKNOWN_SHARE
    cust[unknown] = len(p) + rng.integers(0, len(UNKNOWN_CUSTOMERS), int(unknown.sum()))
    return {"eid": np.arange(first_id, first_id + n), "cust": cust, "type": etype, "ts": ts - ts % 1000,
            "region": region, "user": user, "value": value}


def _chunk(rng: np.random.Generator, pop: _Population, n: int, s0: int, s1: int, first_id: int,
           carry: dict | None) -> tuple[dict, dict]:
    """n events of one time slice, sorted by time: fresh ones plus ~2 % exact copies of earlier ones.

    Half the copies are of this slice's events; the other half (`carry`, returned for the next
    slice) are of the previous slice's, so they may land in another file. A copy has the same
    timestamp or one up to 3 hours later."""
    n_dup = round(n * DUPLICATE_SHARE)
    fresh = _fresh_events(rng, pop, n - n_dup, s0, s1, first_id)
    carried = {k: v[:n_dup] for k, v in (carry or {k: v[:0] for k, v in fresh.items()}).items()}
    k_here = n_dup - len(carried["eid"])
    chosen = rng.choice(n - n_dup, size=min(n - n_dup, k_here + n_dup // 2), replace=False)
    copies = {k: v[chosen] for k, v in fresh.items()}
    delay_ms = np.where(rng.random(len(chosen)) < 0.5, 0, rng.integers(1, 3 * 3_600_000, len(chosen)))
    copies["ts"] = copies["ts"] + delay_ms * 1000
    cols = {k: np.concatenate([fresh[k], carried[k], copies[k][:k_here]]) for k in fresh}
    order = np.argsort(cols["ts"], kind="stable")
    return {k: v[order] for k, v in cols.items()}, {k: v[k_here:] for k, v in copies.items()}


def _to_arrow(cols: dict, pop: _Population) -> pa.Table:
    etype = cols["type"]
    user = pa.array(cols["user"], mask=etype != API)
    numbers = {name: pa.array(cols["value"], mask=~np.isin(etype, types) | np.isnan(cols["value"]))
               for name, types in NUMBER_COLUMNS.items()}
    event_id = pc.utf8_lpad(pc.cast(pa.array(cols["eid"]), pa.string()), 10, "0")
    return pa.table({
        "event_id": pc.binary_join_element_wise("evt_", event_id, ""),
        "customer_id": pc.take(pop.ids, cols["cust"]),
        "event_type": pc.take(pa.array(EVENT_TYPES), etype),
        "timestamp": pa.array(cols["ts"], type=pa.timestamp("us", tz="UTC")),
        "region": pc.take(pa.array(REGIONS, pa.string()), cols["region"]),
        "user_id": pc.binary_join_element_wise("u", pc.cast(user, pa.string()), ""),
        **numbers}, schema=SCHEMA)


def _write_events(folder: Path, rng: np.random.Generator, pop: _Population, total: int, files: int,
                  span: tuple[int, int]) -> tuple[int, int]:
    """Stream `total` events into `files` Parquet files, each a run of consecutive time slices.

    Returns (rows written, duplicate copies among them)."""
    per_file = max(1, math.ceil(total / files / CHUNK_ROWS))
    slices = files * per_file
    bounds = np.linspace(span[0], span[1], slices + 1).astype(np.int64)
    sizes = np.diff(np.arange(slices + 1) * total // slices)
    rows = fresh = 0
    carry, writing, closing = None, None, []
    folder.mkdir()
    with ThreadPoolExecutor(max_workers=1) as pool:  # one thread writes (in order) while the next slice is made
        for f in range(files):
            writer = pq.ParquetWriter(folder / f"part-{f:04d}.parquet", SCHEMA, compression="zstd")
            for s in range(f * per_file, (f + 1) * per_file):
                n = int(sizes[s])
                cols, carry = _chunk(rng, pop, n, int(bounds[s]), int(bounds[s + 1]), fresh, carry)
                fresh += n - round(n * DUPLICATE_SHARE)
                rows += len(cols["eid"])
                table = _to_arrow(cols, pop)
                if writing is not None:
                    writing.result()  # at most one slice waits to be written: memory stays bounded
                writing = pool.submit(writer.write_table, table, row_group_size=CHUNK_ROWS)
            closing.append(pool.submit(writer.close))
        for future in [writing, *closing]:
            future.result()
    return rows, rows - fresh


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


NAMES_AND_UNITS = {"platform": "Platform fee", "api": "API calls", "users": "Active users", "compute": "Compute",
                   "storage": "Storage", "egress": "Data transfer", "payments": "Payment processing", "seats": "Seats"}
UNITS = {"api_calls": "calls", "active_users": "users", "compute_hours": "hours", "egress_gb": "GB",
         "storage_gb_months": "GB-month", "payment_volume": "of volume", "peak_seats": "seats", "seats": "seats"}


def _with_terms(book: dict, contracts: list[dict], month_start: date) -> tuple[dict, dict, list[dict]]:
    """The demo's contract v2 terms: charge names and units, a price rise of growth_usd's platform fee
    from the month billed, two customers with their own prices and a few one-time fees."""
    for m in book["metrics"]:
        m["unit"] = UNITS[m["id"]]
    for plan in book["plans"]:
        for c in plan["charges"]:
            c["name"] = NAMES_AND_UNITS[c["id"]]
        if plan["id"] == "growth_usd":
            plan["versions"] = [{"effective_from": month_start.isoformat(), "charges": {"platform": {"amount": 109}}}]
    running = [k for k in contracts if not k["end_date"] and k["start_date"] < month_start.isoformat()
               and k["billing_period"] == "monthly"]
    growth = [k for k in running if k["plan_id"] == "growth_usd"][:1]
    eur = [k for k in running if k["plan_id"] == "business_eur"][:1]
    terms = {}
    for k in growth:  # a negotiated API price and a support add-on
        terms[k["contract_id"]] = [{"charges": {"api": {"model": "per_unit", "unit_price": 0.0003}},
                                    "add_charges": [{"id": "support", "name": "Premium support", "model": "flat",
                                                     "amount": 250}]}]
    for k in eur:  # a lower platform fee, and a commitment from the next month
        terms[k["contract_id"]] = [{"charges": {"platform": {"amount": 59}}},
                                   {"effective_from": _add_months(month_start, 1).isoformat(),
                                    "minimum_commitment": 400}]
    fees = [("setup", "Onboarding and setup", "1", "500"), ("training", "Training day", "2", "650"),
            ("migration", "Data migration", "1", "1200")]
    one_time = [{"charge_id": f"{name}-{k['contract_id']}", "contract_id": k["contract_id"],
                 "date": month_start.replace(day=12).isoformat(), "description": text, "quantity": qty,
                 "unit_price": price} for (name, text, qty, price), k in zip(fees, running[1:])]
    return book, terms, one_time


def generate_workspace(path: str | Path, *, customers: int = 300, events: int = 200_000, seed: int = 7,
                       month: str = "2026-10", incremental: bool = False, files: int | None = None,
                       terms: bool = False) -> dict:
    """Write a complete workspace at `path` (created; must not exist or be empty).

    Returns a summary dict: customers, contracts, events written (and duplicates among them), event
    files, and the suggested run window {'from': 'YYYY-MM-DD', 'to': 'YYYY-MM-DD'}."""
    root = Path(path)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; choose a new folder")
    if customers < 1 or events < 0 or (files is not None and files < 1):
        raise ValueError("customers and files must be at least 1, events at least 0")
    files = files or max(4, math.ceil(events / FILE_ROWS))
    rng = np.random.default_rng(seed)
    month_start = date.fromisoformat(month + "-01")
    next_month = _add_months(month_start, 1)
    span = (_epoch_us(month_start - MARGIN), _epoch_us(next_month + MARGIN))
    book = yaml.safe_load(PRICEBOOK)
    currency = {p["id"]: p["currency"] for p in book["plans"]}
    customer_rows = _customers(rng, customers)
    u = rng.random((customers, 8))
    contract_rows = [_contract(u[i], c, month_start, incremental, currency) for i, c in enumerate(customer_rows)]
    root.mkdir(parents=True, exist_ok=True)
    if terms:  # plan version, contract terms, one-time charges, names and units (contract v2)
        book, contract_terms, one_time = _with_terms(book, contract_rows, month_start)
        (root / "pricebook.yaml").write_text(yaml.safe_dump(book, sort_keys=False, allow_unicode=True),
                                             encoding="utf-8")
        (root / "contract_terms.yaml").write_text(yaml.safe_dump(contract_terms, sort_keys=False), encoding="utf-8")
        _write_csv(root / "one_time_charges.csv", one_time)
    else:
        (root / "pricebook.yaml").write_text(PRICEBOOK, encoding="utf-8")
    _write_csv(root / "customers.csv", customer_rows)
    _write_csv(root / "contracts.csv", contract_rows)
    _write_csv(root / "tax_rates.csv", [{"country": c, "percent": p, "name": n} for c, p, n in TAX_RATES])
    population = _population(rng, contract_rows, book, span)
    rows, duplicates = _write_events(root / "events", rng, population, events, files, span)
    return {"path": str(root), "customers": customers, "contracts": len(contract_rows), "events": rows,
            "duplicates": duplicates, "files": files,
            "window": {"from": month_start.isoformat(), "to": next_month.isoformat()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate a deterministic usagebill workspace.")
    parser.add_argument("path", help="folder to create (must not exist or be empty)")
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--month", default="2026-10", help="YYYY-MM of the usage")
    parser.add_argument("--incremental", action="store_true", help="spread billing anchor days over 1..28")
    parser.add_argument("--files", type=int, default=None, help="number of event files")
    parser.add_argument("--terms", action="store_true",
                        help="add a plan version, contract terms, one-time charges, charge names and units")
    args = parser.parse_args(argv)
    try:
        summary = generate_workspace(args.path, customers=args.customers, events=args.events, seed=args.seed,
                                     month=args.month, incremental=args.incremental, files=args.files,
                                     terms=args.terms)
    except (FileExistsError, ValueError) as exc:
        parser.error(str(exc))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
