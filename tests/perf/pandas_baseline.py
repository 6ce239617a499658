"""The pandas baseline: usage per contract and month the way an analyst would write it.

Read every events file, drop duplicate events keeping the earliest, attach each
event to its customer's contract, keep the month, and aggregate every metric per
contract (and region). No pricing: this is the part usagebill does in DuckDB.
"""
from __future__ import annotations

import glob
import sys

import pandas as pd


def main(workspace: str, month_start: str, month_end: str) -> None:
    events = pd.concat([pd.read_parquet(f) for f in sorted(glob.glob(f"{workspace}/events/**/*.parquet",
                                                                       recursive=True))], ignore_index=True)
    events = events.sort_values("timestamp").drop_duplicates(["customer_id", "event_id"], keep="first")
    contracts = pd.read_csv(f"{workspace}/contracts.csv", dtype=str)
    events = events.merge(contracts[["customer_id", "contract_id"]], on="customer_id", how="inner")
    lo, hi = pd.Timestamp(month_start, tz="UTC"), pd.Timestamp(month_end, tz="UTC")
    events = events[(events["timestamp"] >= lo) & (events["timestamp"] < hi)]
    usage = events.groupby(["contract_id", "event_type", "region"], dropna=False).agg(
        n=("event_id", "count"), hours=("hours", "sum"), gb=("gb", "sum"), amount=("amount", "sum"),
        seats=("seats", "max"), users=("user_id", "nunique"))
    print(len(usage))


if __name__ == "__main__":
    main(*sys.argv[1:4])
