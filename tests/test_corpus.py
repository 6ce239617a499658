"""The bad-input corpus: every broken or hostile workspace we know of, and the behaviour it must get.

Each case builds a small workspace in tmp_path (most start from one valid base and break one thing;
the large ones are generated) and states one of two outcomes:

- Refused: `usagebill run` exits non-zero with one message naming the file, the row or key, and
  the fix; nothing is written (no output folder, no staging folder, nothing in the workspace); never
  a traceback. `validate` refuses it with the same words when the configuration or an events file's
  footer shows the problem.
- Billed: exit 0, and every event read ends in exactly one place: the manifest counts add up to the
  events read, quarantine.parquet holds one row per quarantined event with its reason, and the counts
  are the ones given (an event is never silently dropped).

Cases run in-process through the real entry point (`pipeline.cli`: its error printing and exit
codes); a representative subset also runs as a real `usagebill` subprocess.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from builders import COMPANY, ev, write_events
from builders import workspace as build_workspace

from pipeline.billing.emit import FORMULA_STARTS
from pipeline.cli import main

UTC = dt.UTC
WINDOW = ("--from", "2026-10-01", "--to", "2026-11-01")
USAGEBILL = str(Path(sys.executable).with_name("usagebill"))

METRICS = [
    {"id": "calls", "event_type": "call", "aggregation": "count"},
    {"id": "hours", "event_type": "compute", "aggregation": "sum", "field": "hours", "group_by": ["region"]},
]
CHARGES = [
    {"id": "calls", "metric": "calls", "model": "per_unit", "unit_price": "0.01"},
    {"id": "hours", "metric": "hours", "model": "graduated",
     "tiers": [{"up_to": 10, "unit_price": "2"}, {"unit_price": "1"}]},
]
STD = {"event_id": pa.string(), "customer_id": pa.string(), "event_type": pa.string(),
       "timestamp": pa.timestamp("us", tz="UTC")}


def schema(**types: pa.DataType) -> pa.Schema:
    return pa.schema(list({**STD, **types}.items()))


def at(text: str, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def base(root: Path, events: list | None = None, **kw) -> Path:
    """The valid base: customer c1 (US, UTC) on contract k1 (plan p, monthly from 2026-10-01)."""
    kw.setdefault("metrics", METRICS)
    kw.setdefault("charges", CHARGES)
    return build_workspace(root, events=events if events is not None else [ev("e1", "2026-10-05T10:00")], **kw)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def pricebook(root: Path, text: str) -> None:
    base(root)
    (root / "pricebook.yaml").write_text(text, encoding="utf-8")


def table(root: Path, name: str, text: str | bytes) -> None:
    base(root)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    (root / name).write_bytes(data)


def events_file(root: Path, name: str, rows: list[dict], sch: pa.Schema | None = None, **kw) -> None:
    """The base without its events, plus one events file."""
    base(root, events=[], **kw)
    write_events(root / "events" / name, rows, sch)


def change(key: str, value: object, *, charge: int = 0, tier: int | None = None) -> Callable[[Path], None]:
    """A base whose first plan's charge (or one of its tiers) has key = value."""
    def build(root: Path) -> None:
        charges = json.loads(json.dumps(CHARGES))
        target = charges[charge] if tier is None else charges[charge]["tiers"][tier]
        target[key] = value
        base(root, charges=charges)
    return build


def pricebook_text(**plan: object) -> str:
    return yaml.safe_dump({"company": COMPANY, "metrics": METRICS,
                           "plans": [{"id": "p", "currency": "USD", "charges": CHARGES, **plan}]}, sort_keys=False)


# outcomes ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refused:
    words: tuple[str, ...]  # the message names the file, the row or key, and the fix
    validate: bool = True  # `validate` (configuration and footers) refuses it too


@dataclass(frozen=True)
class Billed:
    counts: dict[str, int]  # manifest counts that must hold (the rest must add up)
    check: Callable[[Path], None] | None = None  # further assertions on the output folder
    window: tuple[str, ...] = WINDOW
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], None]
    outcome: Refused | Billed
    why: str = ""


CASES: dict[str, Case] = {}


def case(name: str, build: Callable[[Path], None], outcome: Refused | Billed, why: str = "") -> None:
    assert name not in CASES, name
    CASES[name] = Case(build, outcome, why)


# pricebook.yaml ----------------------------------------------------------------------------------------------

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))

case("yaml missing", lambda r: (base(r), (r / "pricebook.yaml").unlink()),
     Refused(("pricebook.yaml", "not found", "create it")))
case("yaml is a folder", lambda r: (base(r), (r / "pricebook.yaml").unlink(), (r / "pricebook.yaml").mkdir()),
     Refused(("pricebook.yaml", "is a folder", "replace it")))
case("yaml object tag", lambda r: pricebook(r, "company: !!python/object/apply:os.system ['touch PWNED']\n"),
     Refused(("pricebook.yaml line 1", "python/object", "only plain YAML")), "never constructed, never run")
case("yaml alias bomb", lambda r: pricebook(r, BILLION_LAUGHS),
     Refused(("pricebook.yaml line 1", "expands to more than 100,000 values", "aliases")))
case("yaml recursive alias", lambda r: pricebook(r, "company: &c {name: [*c]}\n"),
     Refused(("pricebook.yaml", "recursive alias", "write the value out")))
case("yaml shared tiers (anchors and aliases)", lambda r: (base(r), edit(
    r / "pricebook.yaml", "metrics:", "x-shared: &std [{up_to: 10, unit_price: 0}]\nmetrics:")),
     Refused(("pricebook.yaml", "unknown key 'x-shared'")), "an anchor is fine; the unknown top-level key is not")
case("events exported as csv", lambda r: (base(r), (r / "events" / "october.csv").write_text("event_id\n1\n")),
     Refused(("events/october.csv", "not a Parquet file", "convert it to Parquet")))
case("events json beside parquet, _SUCCESS ignored", lambda r: (
    base(r), (r / "events" / "_SUCCESS").write_text(""), (r / "events" / "dump.json").write_text("{}")),
     Refused(("events/dump.json", "not a Parquet file")))
case("customers header time_zone", lambda r: base(r, customers=[
    {"customer_id": "c1", "name": "One", "country": "US", "time_zone": "America/Los_Angeles"}]),
     Refused(("customers.csv: column 'time_zone' looks like a misspelling of 'timezone'",)),
     "ignoring it would bill in UTC: cents shift")
case("customers header Timezone with a space", lambda r: (base(r, customers=[
    {"customer_id": "c1", "name": "One", "country": "US", "Timezone ": "America/Los_Angeles"}])),
     Refused(("customers.csv: column 'Timezone' looks like a misspelling of 'timezone'", "rename it to timezone")))
case("contracts header billing_perod", lambda r: base(r, contracts=[
    {"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-10-01",
     "billing_perod": "quarterly"}]),
     Refused(("contracts.csv: column 'billing_perod' looks like a misspelling of 'billing_period'",)))
case("yaml custom tag", lambda r: pricebook(r, "company: !include other.yaml\n"),
     Refused(("pricebook.yaml line 1", "!include", "only plain YAML")))
case("yaml duplicate key", lambda r: pricebook(r, pricebook_text().replace(
    "    unit_price: '0.01'", "    unit_price: '0.01'\n    unit_price: '100'", 1)),
     Refused(("pricebook.yaml line 24", "'unit_price' appears twice in one mapping (first on line 23)", "keep one")),
     "plain YAML keeps the last one silently")
case("yaml nested too deeply", lambda r: pricebook(r, "company: " + "[" * 5000 + "]" * 5000 + "\n"),
     Refused(("pricebook.yaml", "nested too deeply")))
case("yaml not utf-8", lambda r: (base(r), (r / "pricebook.yaml").write_bytes(
    (r / "pricebook.yaml").read_bytes().replace(b"Test Seller", b"Test Sell\xe9r"))),
     Refused(("pricebook.yaml line 2", "not UTF-8", "save the file as UTF-8")))
case("yaml not a mapping", lambda r: pricebook(r, "- just\n- a list\n"), Refused(("pricebook.yaml",
                                                                                  "must be a mapping")))
case("yaml with bom", lambda r: (base(r), (r / "pricebook.yaml").write_bytes(
    b"\xef\xbb\xbf" + (r / "pricebook.yaml").read_bytes())), Billed({"billed": 1}))
case("unknown currency", lambda r: pricebook(r, pricebook_text(currency="XYZ")),
     Refused(("pricebook.yaml: plans[p]", "unknown currency 'XYZ'", "ISO 4217")))
case("negative price", change("unit_price", "-0.01"),
     Refused(("pricebook.yaml: plans[p]: charges[calls]", "unit_price = -0.01 is below 0", "cannot be negative")))
case("non-numeric price", change("unit_price", "abc"),
     Refused(("charges[calls]", "unit_price must be a finite number, got 'abc'", "plain number")))
case("nan price", change("unit_price", "NaN"), Refused(("charges[calls]", "unit_price must be a finite number")))
case("infinite price", lambda r: pricebook(r, pricebook_text().replace("unit_price: '0.01'", "unit_price: .inf")),
     Refused(("charges[calls]", "unit_price must be a finite number")))
case("price too large for decimal", change("unit_price", "1e30"),
     Refused(("charges[calls]", "unit_price = 1e30 is too large", "below 10^26")))
case("price with 13 decimals", change("unit_price", "0.0000000000001"),
     Refused(("charges[calls]", "more than 12 decimal places", "round it")))
case("decreasing tiers", change("up_to", 5, charge=1, tier=1),
     Refused(("charges[hours].tiers[1]", "not above the previous bound 10")))
case("unknown aggregation", lambda r: base(r, metrics=[{**METRICS[0], "aggregation": "median"}, METRICS[1]]),
     Refused(("pricebook.yaml: metrics[calls]", "unknown aggregation 'median'", "use one of")))
case("unknown key (typo)", change("unitprice", "1"), Refused(("charges[calls]", "unknown key 'unitprice'",
                                                              "use one of")))
case("plan id with newline", lambda r: pricebook(r, pricebook_text(id="p\nq")),
     Refused(("pricebook.yaml: plans[0]", "control character", "one line")))

# customers, contracts, tax_rates -----------------------------------------------------------------------------

CUSTOMERS = "customer_id,name,country\nc1,One,US\n"
CONTRACTS = "contract_id,customer_id,plan_id,start_date,end_date,billing_anchor_day\nk1,c1,p,2026-10-01,,\n"

case("customers not utf-8", lambda r: table(r, "customers.csv",
                                            CUSTOMERS.encode() + "c2,M\xfcller,DE\n".encode("latin-1")),
     Refused(("customers.csv line 3", "not UTF-8", "save the file as UTF-8")))
case("customers utf-16", lambda r: table(r, "customers.csv", CUSTOMERS.encode("utf-16")),
     Refused(("customers.csv line 1", "UTF-16", "save the file as UTF-8")))
case("customers with bom and crlf", lambda r: table(r, "customers.csv",
                                                    b"\xef\xbb\xbf" + CUSTOMERS.replace("\n", "\r\n").encode()),
     Billed({"billed": 1}), "the BOM is dropped, so the first column is customer_id")
case("contracts with bom", lambda r: table(r, "contracts.csv", "\ufeff" + CONTRACTS), Billed({"billed": 1}))
case("customers file is a folder", lambda r: (base(r), (r / "customers.csv").unlink(), (r / "customers.csv").mkdir()),
     Refused(("customers.csv", "is a folder", "replace it")))
case("customers missing", lambda r: (base(r), (r / "customers.csv").unlink()),
     Refused(("customers.csv", "not found", "create it")))
case("customers csv and parquet", lambda r: (base(r), pq.write_table(pa.table({"customer_id": ["c1"]}),
                                                                     r / "customers.parquet")),
     Refused(("customers", "both customers.csv and customers.parquet", "keep one")))
case("customers parquet corrupt", lambda r: (base(r), (r / "customers.csv").unlink(),
                                             (r / "customers.parquet").write_bytes(b"PAR1 not really")),
     Refused(("customers.parquet", "cannot be read as Parquet", "re-export")))
case("customers required column missing", lambda r: table(r, "customers.csv", "customer_id,name\nc1,One\n"),
     Refused(("customers.csv", "required column(s) country missing", "the header has")))
case("customers semicolons", lambda r: table(r, "customers.csv", "customer_id;name;country\nc1;One;US\n"),
     Refused(("customers.csv", "required column(s)", "customer_id;name;country")))
case("customers header twice", lambda r: table(r, "customers.csv", "customer_id,name,country,name\nc1,One,US,Two\n"),
     Refused(("customers.csv", "name appear more than once", "keep one")), "which name would be printed?")
case("customers unclosed quote", lambda r: table(r, "customers.csv", 'customer_id,name,country\nc1,"One,US\n'),
     Refused(("customers.csv line", "malformed CSV", "check quoting")))
case("customers too many cells", lambda r: table(r, "customers.csv", "customer_id,name,country\nc1,One, Inc,US\n"),
     Refused(("customers.csv line 2", "4 cells but the header has 3", "quote cells")))
case("duplicate customer id", lambda r: table(r, "customers.csv", CUSTOMERS + "c1,Other,US\n"),
     Refused(("customers.csv line 3", "duplicate customer_id 'c1'", "unique")))
case("customer id with newline", lambda r: table(r, "customers.csv", CUSTOMERS + 'c2,"Two",US\n"c\n3",Three,US\n'),
     Refused(("customers.csv line 5", "control character '\\n'", "one line of printable text")))
case("unknown timezone", lambda r: table(r, "customers.csv",
                                         "customer_id,name,country,timezone\nc1,One,US,Mars/Base\n"),
     Refused(("customers.csv line 2", "'Mars/Base' is not an IANA time zone", "Europe/Berlin")))
case("unknown country", lambda r: table(r, "customers.csv", "customer_id,name,country\nc1,One,XX\n"),
     Refused(("customers.csv line 2", "'XX' is not an ISO 3166-1", "use a code")))
case("payment terms not a number", lambda r: table(r, "customers.csv",
                                                   "customer_id,name,country,payment_terms_days\nc1,One,US,1e99\n"),
     Refused(("customers.csv line 2", "payment_terms_days '1e99' is too large", "below 10^26")))
case("duplicate contract id", lambda r: table(r, "contracts.csv", CONTRACTS + "k1,c1,p,2027-01-01,,\n"),
     Refused(("contracts.csv line 3", "duplicate contract_id 'k1'", "unique")))
case("contract of unknown customer", lambda r: table(r, "contracts.csv", CONTRACTS + "k2,c9,p,2026-10-01,,\n"),
     Refused(("contracts.csv line 3", "unknown customer_id 'c9'", "add the customer")))
case("contract of unknown plan", lambda r: table(r, "contracts.csv", CONTRACTS.replace(",p,", ",gold,")),
     Refused(("contracts.csv line 2", "unknown plan_id 'gold'", "use a plan of pricebook.yaml: p")))
case("end_date before start_date", lambda r: table(r, "contracts.csv", CONTRACTS.replace("2026-10-01,,",
                                                                                         "2026-10-01,2026-09-01,")),
     Refused(("contracts.csv line 2", "end_date 2026-09-01 is not after start_date 2026-10-01", "exclusive")))
for _day in ("0", "32"):
    case(f"anchor day {_day}", lambda r, d=_day: table(r, "contracts.csv", CONTRACTS.replace("2026-10-01,,",
                                                                                             f"2026-10-01,,{d}")),
         Refused(("contracts.csv line 2", f"billing_anchor_day '{_day}'", "between 1 and 31")))
case("start_date in year 1", lambda r: table(r, "contracts.csv", CONTRACTS.replace("2026-10-01", "0001-01-01")),
     Refused(("contracts.csv line 2", "start_date 0001-01-01 is outside the billing calendar", "from 1900-01-01")))
case("start_date in year 9999", lambda r: table(r, "contracts.csv", CONTRACTS.replace("2026-10-01", "9999-12-31")),
     Refused(("contracts.csv line 2", "outside the billing calendar", "to 9000-12-31")),
     "its periods would end after 9999")
case("end_date 9999-12-31 means no end", lambda r: table(r, "contracts.csv",
                                                         CONTRACTS.replace("2026-10-01,,", "2026-10-01,9999-12-31,")),
     Billed({"billed": 1}))
case("start_date not a date", lambda r: table(r, "contracts.csv", CONTRACTS.replace("2026-10-01", "01/10/2026")),
     Refused(("contracts.csv line 2", "start_date '01/10/2026' is not a date", "YYYY-MM-DD")))
case("commitment too large", lambda r: table(r, "contracts.csv",
                                             "contract_id,customer_id,plan_id,start_date,minimum_commitment\n"
                                                                  "k1,c1,p,2026-10-01,1e999999999\n"),
     Refused(("contracts.csv line 2", "minimum_commitment '1e999999999' is too large", "below 10^26")),
     "used to hang: rounding a number with a billion digits")
case("contract id escaping with ../", lambda r: table(r, "contracts.csv", CONTRACTS.replace("k1,", "../../k1,")),
     Billed({"billed": 1}, check=lambda out: _only_inside(out)), "ids are data; no file name is made from one")
case("tax percent not a number", lambda r: table(r, "tax_rates.csv", "country,percent\n*,twenty\n"),
     Refused(("tax_rates.csv line 2", "percent 'twenty' is not a number", "write a number")))
case("no tax rate for a country", lambda r: table(r, "tax_rates.csv", "country,percent\nDE,19\n"),
     Refused(("tax_rates", "no rate for country US", "add a row")))
case("several problems at once", lambda r: (table(r, "customers.csv",
                                                  "customer_id,name,country,timezone\nc1,One,XX,Mars/Base\n"),
                                            edit(r / "pricebook.yaml", "currency: USD", "currency: XYZ")),
     Refused(("3 configuration problems", "'XX'", "Mars/Base", "XYZ")))


# events: whole files that cannot be read --------------------------------------------------------------------

def _truncated(root: Path) -> None:
    base(root)
    path = root / "events" / "part-0.parquet"
    path.write_bytes(path.read_bytes()[:-30])


def _corrupt_pages(root: Path) -> None:
    """A readable footer over garbage pages: only reading the data finds it."""
    n = 4000
    events_file(root, "day=05/part-0.parquet", [ev(f"e{i}", "2026-10-05T10:00") for i in range(n)])
    path = root / "events" / "day=05" / "part-0.parquet"
    pq.write_table(pq.read_table(path), path, compression="snappy", use_dictionary=False)
    data = bytearray(path.read_bytes())
    for i in range(64, len(data) // 2, 5):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


case("events truncated parquet", _truncated, Refused(("events/part-0.parquet", "cannot be read as Parquet",
                                                      "replace or remove")))
case("events empty file", lambda r: (base(r, events=[]), (r / "events" / "x.parquet").write_bytes(b"")),
     Refused(("events/x.parquet", "cannot be read as Parquet", "0 bytes")))
case("events csv named parquet", lambda r: (base(r, events=[]),
                                            (r / "events" / "x.parquet").write_text("event_id\n1\n")),
     Refused(("events/x.parquet", "cannot be read as Parquet", "replace or remove")))
case("events corrupt pages", _corrupt_pages,  # the footer is fine: validate cannot see it, the run stops
     Refused(("day=05/part-0.parquet", "reading failed", "check or remove the file"), validate=False))
case("events missing column", lambda r: events_file(r, "a.parquet", [{"event_id": "e1", "customer_id": "c1",
                                                                      "timestamp": at("2026-10-05T10:00")}],
                                                     pa.schema([(k, t) for k, t in STD.items() if k != "event_type"])),
     Refused(("events/a.parquet", "required column(s) event_type missing", "every events file needs")))
case("events folder missing", lambda r: (base(r, events=[]), (r / "events").rmdir()),
     Refused(("events folder not found", "create it")))
case("events folder is a file", lambda r: (base(r, events=[]), (r / "events").rmdir(), (r / "events").write_text("")),
     Refused(("events folder not found", "create it")))
case("timestamp as epoch integers", lambda r: events_file(r, "int.parquet", [{"event_id": "e1", "customer_id": "c1",
                                                                              "event_type": "call",
                                                                              "timestamp": 1791280800}],
                                                           schema(timestamp=pa.int64())),
     Refused(("events/int.parquet", "column timestamp is int64, not a timestamp", "Parquet TIMESTAMP")),
     "seconds, milliseconds or microseconds? ambiguous, so refused")
case("timestamp as text", lambda r: events_file(r, "s.parquet", [{"event_id": "e1", "customer_id": "c1",
                                                                  "event_type": "call",
                                                                   "timestamp": "2026-10-05T10:00:00Z"}],
                                                schema(timestamp=pa.string())),
     Refused(("events/s.parquet", "column timestamp is string", "Parquet TIMESTAMP")))
case("timestamp as date", lambda r: events_file(r, "d.parquet", [{"event_id": "e1", "customer_id": "c1",
                                                                  "event_type": "call",
                                                                   "timestamp": dt.date(2026, 10, 5)}],
                                                schema(timestamp=pa.date32())),
     Refused(("events/d.parquet", "column timestamp is date32", "Parquet TIMESTAMP")))
case("event_id as float", lambda r: events_file(r, "f.parquet", [{"event_id": 1.5, "customer_id": "c1",
                                                                  "event_type": "call",
                                                                   "timestamp": at("2026-10-05T10:00")}],
                                                schema(event_id=pa.float64())),
     Refused(("events/f.parquet", "column event_id is double", "write it as a string")))
case("column nested in one file", lambda r: (events_file(r, "a.parquet", [ev("e1", "2026-10-05T10:00", "compute",
                                                                             hours=1.5)]),
                                             write_events(r / "events" / "b.parquet",
                                                          [ev("e2", "2026-10-05T10:00", "compute", hours=[1, 2])],
                                                          schema(hours=pa.list_(pa.int64())))),
     Refused(("events/b.parquet", "column 'hours' is list", "double in events/a.parquet", "one type in every file")))
case("column named ts", lambda r: events_file(r, "a.parquet", [ev("e1", "2026-10-05T10:00", ts="2020-01-01")]),
     Billed({"read": 1, "billed": 1}),
     "an ordinary column: the event query filters on the converted timestamp, never on a file column named ts")
case("column named file_row_number", lambda r: events_file(r, "a.parquet", [ev("e1", "2026-10-05T10:00",
                                                                               file_row_number=3.0)]),
     Refused(("events/a.parquet", "'file_row_number' is reserved", "rename the column")))
case("column twice in one file", lambda r: (base(r, events=[]), pq.write_table(pa.Table.from_arrays(
    [pa.array(["e1"]), pa.array(["c1"]), pa.array(["call"]), pa.array([at("2026-10-05T10:00")], STD["timestamp"]),
     pa.array([1.0]), pa.array([2.0])], names=["event_id", "customer_id", "event_type", "timestamp", "hours", "Hours"]),
    r / "events" / "a.parquet")),
     Refused(("events/a.parquet", "columns 'hours' and 'Hours' have the same name", "keep one")))
case("quantity overflows decimal(38, 9)", lambda r: base(r, events=[ev(f"e{i}", "2026-10-05T10:00", "compute",
                                                                       hours=9e28,
                                                                     region="eu") for i in range(3)]),
     Refused(("metered quantity overflows DECIMAL(38, 9)", "hours", "remove those events"), validate=False),
     "each value fits, their sum does not")
case("amount overflows decimal(38, 4)", lambda r: base(r, charges=[CHARGES[0], {"id": "hours", "metric": "hours",
                                                                                "model": "per_unit",
                                                                                "unit_price": "9e24"}],
                                                        events=[ev("e1", "2026-10-05T10:00", "compute", hours=9e27,
                                                                   region="eu")]),
     Refused(("contract_id k1", "does not fit the outputs' DECIMAL(38, 4)", "check the events' values and the prices"),
             validate=False))


# events: event-level problems are quarantined, and the run goes on ------------------------------------------

def _quarantine(out: Path) -> pa.Table:
    return pq.read_table(out / "quarantine.parquet")


def _usage(out: Path) -> dict[str, Decimal]:
    return {r["group_key"] or r["charge_id"]: r["quantity"] for r in pq.read_table(out / "usage.parquet").to_pylist()}


def _only_inside(out: Path) -> None:
    """Every file the run wrote is inside the output folder (ids never become paths)."""
    root = out.parent
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                     and not p.relative_to(root).as_posix().startswith("ws/"))
    assert written and all(w.startswith("out/") and "/" not in w[4:] for w in written), written


case("events folder empty", lambda r: base(r, events=[]), Billed({"read": 0}))
case("events file with no rows", lambda r: events_file(r, "a.parquet", [], pa.schema(list(STD.items()))),
     Billed({"read": 0}))
case("events in nested hive folders", lambda r: (base(r, events=[]),
                                                 write_events(r / "events" / "year=2026" / "month=10" / "day=05"
                                                              / "x.parquet", [ev("e1", "2026-10-05T10:00")]),
                                                 (r / "events" / "spark.parquet").mkdir(),
                                                 write_events(r / "events" / "spark.parquet" / "part-0.parquet",
                                                              [ev("e2", "2026-10-06T10:00")])),
     Billed({"read": 2, "billed": 2}), "a folder named *.parquet (Spark) is searched, not read as a file")
case("null required fields", lambda r: events_file(r, "a.parquet", [
    ev("e1", "2026-10-05T10:00"), {**ev("e2", "2026-10-05T10:00"), "customer_id": None},
    {**ev("e3", "2026-10-05T10:00"), "event_id": None}, {**ev("e4", "2026-10-05T10:00"), "event_type": None},
    {**ev("e5", "2026-10-05T10:00"), "timestamp": None}]),
     Billed({"read": 5, "billed": 1, "invalid": 4}))
case("nan, infinity and huge numbers", lambda r: events_file(r, "a.parquet", [
    ev("ok", "2026-10-05T10:00", "compute", hours=2.5, region="eu"),
    ev("nan", "2026-10-05T10:00", "compute", hours=float("nan"), region="eu"),
    ev("inf", "2026-10-05T10:00", "compute", hours=float("inf"), region="eu"),
    ev("-inf", "2026-10-05T10:00", "compute", hours=float("-inf"), region="eu"),
    ev("1e30", "2026-10-05T10:00", "compute", hours=1e30, region="eu"),
    ev("call", "2026-10-05T10:00", "call", hours=float("nan"), region="eu")]),
     Billed({"read": 6, "billed": 2, "invalid": 4}, check=lambda out: (
         _usage(out)["region=eu"] == Decimal("2.5") or pytest.fail(str(_usage(out))),
         sorted(_quarantine(out).column("event_id").to_pylist()) == ["-inf", "1e30", "inf", "nan"] or pytest.fail())),
     "a count needs no number: the call with a NaN field is billed")
case("decimal too large for decimal(38, 9)", lambda r: events_file(r, "a.parquet", [
    ev("big", "2026-10-05T10:00", "compute", hours=Decimal(10) ** 37, region="eu"),
    ev("ok", "2026-10-05T10:00", "compute", hours=Decimal(5), region="eu")], schema(hours=pa.decimal128(38, 0),
                                                                                    region=pa.string())),
     Billed({"billed": 1, "invalid": 1}, check=lambda out: _usage(out)["region=eu"] == 5 or pytest.fail()),
     "quarantined as invalid, never 0")
case("number column typed differently per file", lambda r: (
    events_file(r, "a.parquet", [ev("a", "2026-10-05T10:00", "compute", hours=1.5, region="eu")]),
    write_events(r / "events" / "b.parquet", [ev("b", "2026-10-05T10:00", "compute", hours="2.5", region="eu")]),
    write_events(r / "events" / "c.parquet", [ev("c", "2026-10-05T10:00", "compute", hours="lots", region="eu")],
                 schema(hours=pa.string(), region=pa.string()))),
     Billed({"billed": 2, "invalid": 1}, check=lambda out: _usage(out)["region=eu"] == 4 or pytest.fail()))
case("event_id integer in one file, text in another", lambda r: (
    events_file(r, "a.parquet", [{"event_id": 1, "customer_id": "c1", "event_type": "call",
                                  "timestamp": at("2026-10-05T10:00")}],
                schema(event_id=pa.int64())),
    write_events(r / "events" / "b.parquet", [ev("1", "2026-10-05T11:00")])),
     Billed({"read": 2, "billed": 1, "duplicate": 1}), "ids are compared as text: 1 and '1' are one event")
case("timestamps naive, with offsets, any unit", lambda r: (
    events_file(r, "naive.parquet", [{"event_id": "n1", "customer_id": "c1", "event_type": "call",
                                      "timestamp": dt.datetime(2026, 10, 31, 23, 30)},
                                     {"event_id": "n2", "customer_id": "c1", "event_type": "call",
                                      "timestamp": dt.datetime(2026, 11, 1, 0, 30)}],
                                      schema(timestamp=pa.timestamp("us"))),
    write_events(r / "events" / "offset.parquet", [
        {"event_id": "o1", "customer_id": "c1", "event_type": "call",
         "timestamp": at("2026-11-01T01:30", dt.timezone(dt.timedelta(hours=2)))},
        {"event_id": "o2", "customer_id": "c1", "event_type": "call",
         "timestamp": at("2026-10-31T21:00", dt.timezone(dt.timedelta(hours=-5)))}],
        schema(timestamp=pa.timestamp("ms", tz="+02:00"))),
    write_events(r / "events" / "berlin_ns.parquet", [
        {"event_id": "n1", "customer_id": "c1", "event_type": "call", "timestamp": at("2026-10-31T23:30")}],
        schema(timestamp=pa.timestamp("ns", tz="Europe/Berlin"))),
    write_events(r / "events" / "seconds.parquet", [
        {"event_id": "s1", "customer_id": "c1", "event_type": "call", "timestamp": dt.datetime(2026, 10, 15)}],
        schema(timestamp=pa.timestamp("s")))),
     Billed({"read": 4, "billed": 3, "duplicate": 1}),
     "naive is UTC: n1 in, n2 after the span; o1 is 23:30 UTC on Oct 31 (in), o2 02:00 UTC Nov 1 (out); "
     "the Berlin copy of n1 is the same instant, so a duplicate")
case("timestamps at the ends of time", lambda r: events_file(r, "a.parquet", [
    {**ev("early", "2026-10-05T10:00"), "timestamp": at("0001-01-01T00:00")},
    {**ev("late", "2026-10-05T10:00"), "timestamp": at("9999-12-31T23:59")}, ev("ok", "2026-10-05T10:00")]),
     Billed({"read": 1, "billed": 1}), "outside the span: not considered")
case("unknown customer and unmetered type", lambda r: events_file(r, "a.parquet", [
    ev("a", "2026-10-05T10:00", customer_id="c9"), ev("b", "2026-10-05T10:00", customer_id="c1 "),
    ev("c", "2026-10-05T10:00", "storage"), ev("d", "2026-10-05T10:00")],
    contracts=[{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-10-01"}]),
     Billed({"read": 4, "billed": 1, "unknown_customer": 2, "unmetered": 1}),
     "'c1 ' with a trailing space is not c1: ids are compared exactly")
case("events before the contract starts", lambda r: events_file(r, "a.parquet", [
    ev("a", "2026-10-03T10:00"), ev("b", "2026-10-25T10:00"), ev("c", "2026-10-03T10:00", customer_id="c2")],
    customers=[{"customer_id": "c1", "name": "One", "country": "US"}, {"customer_id": "c2", "name": "Two",
                                                                       "country": "US"}],
    contracts=[{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-10-20",
                "billing_anchor_day": 1},
               {"contract_id": "k2", "customer_id": "c2", "plan_id": "p", "start_date": "2026-10-01"}]),
     Billed({"read": 3, "billed": 2, "no_active_contract": 1}))
case("exact duplicate rows and files", lambda r: (
    events_file(r, "a.parquet", [ev("a", "2026-10-05T10:00"), ev("a", "2026-10-05T10:00"), ev("b",
                                                                                              "2026-10-06T10:00")]),
    write_events(r / "events" / "copy" / "a.parquet", [ev("a", "2026-10-05T10:00"), ev("b", "2026-10-06T10:00")])),
     Billed({"read": 5, "billed": 2, "duplicate": 3}))
case("ids with newlines, quotes, commas and ../ in events", lambda r: events_file(r, "a.parquet", [
    ev("x\ny", "2026-10-05T10:00"), ev('"q",1', "2026-10-05T10:00"), ev("../../../etc/passwd", "2026-10-05T10:00"),
    ev("e4", "2026-10-05T10:00", customer_id="c1\n"), ev("e5", "2026-10-05T10:00", customer_id="../c1")]),
     Billed({"read": 5, "billed": 3, "unknown_customer": 2}, check=lambda out: (
         _only_inside(out),
         sorted(_quarantine(out).column("customer_id").to_pylist()) == ["../c1", "c1\n"] or pytest.fail())))
case("metric field not in any file", lambda r: base(r, metrics=[METRICS[0], {**METRICS[1], "field": "hourz"}],
                                                   events=[ev("e1", "2026-10-05T10:00", "compute", hours=1.0,
                                                              region="eu")]),
     Refused(("pricebook.yaml: metrics[hours]: field 'hourz' is in no events file holding `compute` events",
              "have: customer_id, event_id, event_type, hours, region, timestamp", "correct the column name")),
     "v2: refused (it used to be read as null, so every compute event was quarantined and compute billed 0)")
case("metric field not in every file", lambda r: (
    events_file(r, "a.parquet", [ev("a", "2026-10-05T10:00", "compute", hours=1.0, region="eu")]),
    write_events(r / "events" / "b.parquet", [ev("b", "2026-10-05T10:00", "compute", region="eu")])),
     Billed({"read": 2, "billed": 1, "invalid": 1}))

SQL_COLUMN = 'x"; DROP TABLE classified; --'
SQL_VALUE = "x'); DROP TABLE t; --"


def _sql_names(root: Path) -> None:
    metrics = [METRICS[0], {"id": "hours", "event_type": "compute", "aggregation": "sum", "field": SQL_COLUMN,
                            "filters": {"who": [SQL_VALUE, "O'Brien"]}, "group_by": [SQL_COLUMN + " g", "who"]}]
    events_file(root, "a.parquet", [
        ev("a", "2026-10-05T10:00", "compute", who="O'Brien", **{SQL_COLUMN: 1.5, SQL_COLUMN + " g": "1'; --"}),
        ev("b", "2026-10-05T10:00", "compute", who="x", **{SQL_COLUMN: 2.0, SQL_COLUMN + " g": "a"}),
        ev("c", "2026-10-05T10:00", "compute", who="x') OR ('1'='1", **{SQL_COLUMN: 4.0, SQL_COLUMN + " g": "a"}),
        ev("d", "2026-10-05T10:00", "compute", who=SQL_VALUE, **{SQL_COLUMN: 8.0, SQL_COLUMN + " g": "a"})],
        metrics=metrics)


def _sql_check(out: Path) -> None:
    usage = _usage(out)
    assert usage == {"calls": 0, f"{SQL_COLUMN} g=1'; --,who=O'Brien": Decimal("1.5"),
                     f"{SQL_COLUMN} g=a,who={SQL_VALUE}": 8}, usage


case("sql in field names and filter values", _sql_names, Billed({"read": 4, "billed": 2, "unmetered": 2},
                                                                check=_sql_check),
     "identifiers are quoted after a schema check, values are parameters: text is only ever data")
case("filter and group columns missing", lambda r: base(r, metrics=[
    {"id": "calls", "event_type": "call", "aggregation": "count", "filters": {"nope'); --": ["a"]}},
    {"id": "hours", "event_type": "compute", "aggregation": "count", "group_by": ["nope\"; --"]}],
    events=[ev("a", "2026-10-05T10:00"), ev("b", "2026-10-05T10:00", "compute")]),
     Refused(("metrics[calls]: filters column \"nope'); --\"", "metrics[hours]: group_by column 'nope\"; --'",
              "in no events file holding", "correct the column name")),
     "v2: a column a metric names must be in some file holding its event type (a typo must not bill zero); "
     "names are only ever data in the message")
case("filter column null in some events", lambda r: base(r, metrics=[{**METRICS[0], "filters": {"region": ["eu"]}}],
                                                        charges=[CHARGES[0]], events=[
    ev("a", "2026-10-05T10:00", region="eu"), ev("b", "2026-10-05T10:00", region=None), ev("c", "2026-10-05T10:00",
                                                                                           region="us")]),
     Billed({"read": 3, "billed": 1, "unmetered": 2}, check=lambda out: _usage(out) == {"calls": 1} or pytest.fail()))


# formula injection: every text cell of every CSV the run writes ---------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def _formula_workspace(root: Path) -> None:
    metrics = [{"id": "@m", "event_type": "compute", "aggregation": "sum", "field": "hours", "group_by": ["=g",
                                                                                                          "region"]}]
    charges = [{"id": "=fee", "model": "flat", "amount": 10}, {"id": "+use", "metric": "@m", "model": "per_unit",
                                                               "unit_price": 1, "min_amount": 100}]
    plans = [{"id": "-plan", "currency": "USD", "charges": charges}]
    customers = [{"customer_id": "=cust", "name": FORMULAS[0], "country": "US"}]
    contracts = [{"contract_id": "@contract", "customer_id": "=cust", "plan_id": "-plan", "start_date": "2026-10-01",
                  "discount_percent": "10", "minimum_commitment": "500"}]
    events = [ev(f"e{i}", "2026-10-05T10:00", "compute", customer_id="=cust", hours=1.0, region=v, **{"=g": v})
              for i, v in enumerate(FORMULAS)]
    build_workspace(root, metrics=metrics, charges=[], plans=plans, customers=customers, contracts=contracts,
                    tax_rates=[{"country": "*", "percent": "20", "name": "=TAX()"}], events=events)


def _check_formulas(out: Path) -> None:
    for name in ("invoices", "invoice_lines"):
        text = (out / f"{name}.csv").read_bytes().decode("utf-8")  # a CR inside a cell stays a CR
        rows = list(csv.reader(io.StringIO(text, newline="")))
        parquet = pq.read_table(out / f"{name}.parquet").to_pylist()
        assert len(rows) == len(parquet) + 1
        cells = [c for row in rows for c in row]
        for cell in cells:
            if cell[:1] in FORMULA_STARTS:
                Decimal(cell)  # only numbers (negative amounts) may start with '-'
        for row, record in zip(rows[1:], parquet):
            for key, cell in zip(rows[0], row):
                value = record[key]
                if isinstance(value, str) and value:
                    assert cell == ("'" + value if value[:1] in FORMULA_STARTS else value), (key, cell, value)
    lines = pq.read_table(out / "invoice_lines.parquet").to_pylist()
    assert {r["group_key"] for r in lines if r["line_type"] == "usage"} == {f"=g={v},region={v}" for v in FORMULAS}


case("formula injection in every csv cell", _formula_workspace, Billed({"billed": 6}, check=_check_formulas),
     "ids, group values, descriptions and tax names that start with = + - @ tab or CR are quoted with '")


# large: 100,000 distinct group values ------------------------------------------------------------------------

def _many_groups(root: Path, n: int = 100_000) -> None:
    metrics = [{"id": "calls", "event_type": "call", "aggregation": "count", "group_by": ["g"]}]
    charges = [{"id": "calls", "metric": "calls", "model": "graduated",
                "tiers": [{"up_to": 1, "unit_price": "0.01", "flat_fee": "0.001"}, {"unit_price": 0}]}]
    base(root, events=[], metrics=metrics, charges=charges)
    pq.write_table(pa.table({
        "event_id": pa.array([f"e{i}" for i in range(n)]), "customer_id": pa.array(["c1"] * n),
        "event_type": pa.array(["call"] * n),
        "timestamp": pa.array([at("2026-10-05T00:00")] * n, STD["timestamp"]),
        "g": pa.array([f"v{i:06d}" for i in range(n)])}), root / "events" / "a.parquet")


def _check_many_groups(out: Path) -> None:
    lines = pq.read_table(out / "invoice_lines.parquet")
    assert lines.num_rows == 100_000
    assert lines.column("group_key").to_pylist()[:2] == ["g=v000000", "g=v000001"]
    (invoice,) = pq.read_table(out / "invoices.parquet").to_pylist()
    assert invoice["subtotal"] == Decimal("1000.00")  # 100,000 groups, each 0.011 rounded once to 0.01


case("100,000 distinct group values", _many_groups, Billed({"read": 100_000, "billed": 100_000},
                                                           check=_check_many_groups),
     "one invoice line per group, priced per group")
case("grouped charges only and no usage", lambda r: base(r, metrics=[{**METRICS[0], "group_by": ["g"]}],
                                                         charges=[CHARGES[0]],
                                                         events=[]),
     Billed({"read": 0}, check=lambda out: (pq.read_metadata(out / "invoices.parquet").num_rows == 1
                                            and pq.read_metadata(out / "invoice_lines.parquet").num_rows == 0)
            or pytest.fail()),
     "one invoice per contract and period even with no line at all (the totals check once refused it)")


# the runner --------------------------------------------------------------------------------------------------

@dataclass
class Result:
    code: int
    stdout: str
    stderr: str  # progress lines removed
    raw_stderr: str = field(repr=False, default="")


def invoke_inprocess(args: list[str], capsys, monkeypatch) -> Result:
    monkeypatch.setattr(sys, "argv", ["usagebill", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return Result(code, out, "\n".join(x for x in err.splitlines() if not x.startswith("usagebill: [")), err)


def invoke_subprocess(args: list[str]) -> Result:
    p = subprocess.run([USAGEBILL, *args], capture_output=True, text=True, timeout=120)
    return Result(p.returncode, p.stdout,
                  "\n".join(x for x in p.stderr.splitlines() if not x.startswith("usagebill: [")),
                  p.stderr)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def check_case(name: str, tmp_path: Path, invoke: Callable[[list[str]], Result]) -> None:
    c = CASES[name]
    ws = tmp_path / "ws"
    c.build(ws)
    before = snapshot(ws)
    out = tmp_path / "out"
    window = c.outcome.window if isinstance(c.outcome, Billed) else WINDOW
    options = c.outcome.options if isinstance(c.outcome, Billed) else ()
    r = invoke(["run", str(ws), *window, *options, "--out", str(out)])
    assert "Traceback" not in r.raw_stderr and "internal error" not in r.raw_stderr, r.raw_stderr
    assert snapshot(ws) == before, "the run wrote into the workspace"
    assert not (tmp_path / "PWNED").exists() and not (ws / "PWNED").exists()
    if isinstance(c.outcome, Refused):
        assert r.code != 0, r.stdout
        assert r.stderr.startswith("error: "), r.stderr
        for word in c.outcome.words:
            assert word in r.stderr, (word, r.stderr)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"], "a refused run wrote something"
        v = invoke(["validate", str(ws)])
        assert "Traceback" not in v.raw_stderr and "internal error" not in v.raw_stderr, v.raw_stderr
        if c.outcome.validate:
            assert v.code != 0 and v.stderr == r.stderr, (v.stderr, r.stderr)
        else:
            assert v.code == 0, v.stderr
        return
    assert r.code == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "ws"]
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["read"] == sum(v for k, v in counts.items() if k != "read"), counts
    for key, value in c.outcome.counts.items():
        assert counts[key] == value, (key, counts)
    reasons = pq.read_table(out / "quarantine.parquet", columns=["reason"]).column("reason").to_pylist()
    for reason in ("invalid", "unknown_customer", "no_active_contract", "unmetered"):
        assert reasons.count(reason) == counts[reason], (reason, counts)
    counted = sum(pq.read_table(out / "usage.parquet", columns=["events"]).column("events").to_pylist())
    assert counted >= counts["billed"], "an event counted as billed that no charge counted"
    for name_ in ("invoices.csv", "invoice_lines.csv"):
        assert len(list(csv.reader(io.StringIO((out / name_).read_bytes().decode(), newline="")))) == \
            pq.read_metadata(out / name_.replace(".csv", ".parquet")).num_rows + 1
    if c.outcome.check:
        c.outcome.check(out)
    v = invoke(["validate", str(ws)])
    assert v.code == 0 and v.stdout.startswith("workspace ok"), v.raw_stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_case(name, tmp_path, capsys, monkeypatch):
    check_case(name, tmp_path, lambda args: invoke_inprocess(args, capsys, monkeypatch))


SUBPROCESS = ["yaml object tag", "customers not utf-8", "events corrupt pages", "nan, infinity and huge numbers",
              "formula injection in every csv cell"]


@pytest.mark.parametrize("name", SUBPROCESS)
def test_corpus_case_through_the_real_command(name, tmp_path):
    check_case(name, tmp_path, invoke_subprocess)


def test_corpus_covers_the_issue():
    """The kinds of bad input issue 6 lists, each present in the corpus."""
    wanted = ["truncated parquet", "corrupt pages", "typed differently", "missing column", "events folder empty",
              "events folder missing", "naive", "epoch integers", "nan", "too large for decimal", "not utf-8", "bom",
              "duplicate customer id", "duplicate contract id", "unknown customer", "end_date before", "anchor day 0",
              "anchor day 32", "decreasing tiers", "negative price", "non-numeric price", "unknown currency",
              "unknown timezone", "object tag", "alias bomb", "../", "newline", "sql in field names", "100,000"]
    missing = [w for w in wanted if not any(w in name for name in CASES)]
    assert not missing, missing
    path = os.environ.get("USAGEBILL_RELIABILITY_LOG")
    if path:
        kinds = [type(c.outcome).__name__ for c in CASES.values()]
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"test": "corpus", "cases": len(CASES), "refused": kinds.count("Refused"),
                                 "billed": kinds.count("Billed"), "through_the_real_command": len(SUBPROCESS)}) + "\n")


class _Recorder:
    """A DuckDB connection that records every query text it is given."""

    def __init__(self, con, seen: list[str]):
        self._con, self._seen = con, seen

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, query, *args, **kwargs):
        self._seen.append(query)
        return self._con.execute(query, *args, **kwargs)

    def sql(self, query, *args, **kwargs):
        self._seen.append(query)
        return self._con.sql(query, *args, **kwargs)


def test_no_query_text_holds_a_value_from_the_workspace(tmp_path, monkeypatch):
    """Filter values and ids reach DuckDB only as parameters or registered tables; a column name from
    the pricebook appears only quoted (its quote doubled), never as bare text."""
    from conftest import run_bill

    import pipeline.billing.run

    seen: list[str] = []
    connect = pipeline.billing.run.connect
    monkeypatch.setattr(pipeline.billing.run, "connect", lambda *a, **k: _Recorder(connect(*a, **k), seen))
    _sql_names(tmp_path / "ws")
    result = run_bill(tmp_path / "ws")
    assert result.counts["billed"] == 2 and seen
    text = "\n".join(seen)
    for value in (SQL_VALUE, "O'Brien", "DROP TABLE t", "1'; --", "'c1'", "'k1'", "'compute'"):
        assert value not in text, value
    quoted = '"' + SQL_COLUMN.replace('"', '""') + '"'
    assert quoted in text
    # the run's own statements that free its tables, whole, are the only DROP it sends
    own = re.compile(r"DROP TABLE (IF EXISTS )?"
                     r"(slots_t|coverage_t|timeline_t|raw_lines|charge_lines|folded|selected_events)")
    assert any(own.fullmatch(q) for q in seen)
    bare = re.sub(r'"(?:[^"]|"")*"', "", "\n".join(q for q in seen if not own.fullmatch(q)))
    assert "DROP" not in bare, "a column name outside its quotes"
