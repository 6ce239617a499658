"""Small workspaces written by tests: pricebook, tables and event files from Python values."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

UTC = dt.UTC
COMPANY = {"name": "Test Seller GmbH", "country": "DE", "tax_id": "DE136695976", "invoice_prefix": "TS"}


def ts(text: str) -> dt.datetime:
    """'2026-10-05T10:00' -> an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def write_csv(path: Path, rows: list[dict]) -> None:
    header = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerows(rows)


def write_events(path: Path, rows: list[dict], schema: pa.Schema | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if schema is None:
        fields = {"event_id": pa.string(), "customer_id": pa.string(), "event_type": pa.string(),
                  "timestamp": pa.timestamp("us", tz="UTC")}
        for r in rows:
            for k, v in r.items():
                if k not in fields:
                    fields[k] = pa.float64() if isinstance(v, (int, float)) else pa.string()
        schema = pa.schema(list(fields.items()))
    cols = {name: [r.get(name) for r in rows] for name in schema.names}
    pq.write_table(pa.table(cols, schema=schema), path)


def workspace(root: Path, *, metrics: list[dict], charges: list[dict], events: list[dict] | list[list[dict]],
              currency: str = "USD", customers: list[dict] | None = None, contracts: list[dict] | None = None,
              tax_rates: list[dict] | None = None, plans: list[dict] | None = None) -> Path:
    """A workspace with one plan `p` (unless `plans` is given) and one customer `c1` on contract `k1`."""
    root.mkdir(parents=True, exist_ok=True)
    plans = plans or [{"id": "p", "currency": currency, "charges": charges}]
    (root / "pricebook.yaml").write_text(yaml.safe_dump({"company": COMPANY, "metrics": metrics, "plans": plans},
                                                        sort_keys=False))
    write_csv(root / "customers.csv", customers or [{"customer_id": "c1", "name": "One", "country": "US"}])
    write_csv(root / "contracts.csv", contracts or [{"contract_id": "k1", "customer_id": "c1", "plan_id": "p",
                                                     "start_date": "2026-10-01"}])
    write_csv(root / "tax_rates.csv", tax_rates or [{"country": "*", "percent": "0"}])
    (root / "events").mkdir(exist_ok=True)
    files = events if events and isinstance(events[0], list) else [events]
    for i, rows in enumerate(files):
        if rows:
            write_events(root / "events" / f"part-{i}.parquet", rows)
    return root


def ev(event_id: str, when: str, event_type: str = "call", customer_id: str = "c1", **fields) -> dict:
    return {"event_id": event_id, "customer_id": customer_id, "event_type": event_type, "timestamp": ts(when),
            **fields}
