"""rate: the pricing rules, one small module each; usage quantities -> exact amounts.

    base.py        Usage (what a line is priced from) and Priced (amount, unit price, steps, terms)
    tiers.py       tier tables shared by graduated and volume
    flat.py, per_unit.py, graduated.py, volume.py, package.py, percentage.py   the charge models
    floors.py      a charge's min_amount and a contract's minimum_commitment
    discount.py    a contract's discount_percent of the subtotal
    one_time.py    a dated one-time charge, quantity x unit_price
    columns.py     the usage models over many rows at once: each model's QUERY (sql/price_<model>.sql)
                   is its price() over a table, from the parameter table its params_table() makes

Each rule is one function; asked with `detail=True` the same function also says how it got its
amount (steps, terms), which explain and the PDF's tier breakdown read. The run prices its usage
lines by the models' queries (tests/test_price_columns.py holds each against its price()), and by
price() what DECIMAL(38) cannot hold. Adding a model touches its module, this registry, its query
and its tests.
"""
from __future__ import annotations

from types import ModuleType

from . import flat, graduated, package, per_unit, percentage, volume
from .base import Priced, Usage

MODELS: dict[str, ModuleType] = {m.NAME: m for m in (flat, per_unit, graduated, volume, package, percentage)}
COMMON_KEYS = {"id", "name", "model", "metric", "min_amount"}


def model(name: str) -> ModuleType:
    """The module of a charge model; KeyError names the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown charge model {name!r}; use one of {', '.join(MODELS)}") from None


def price(model_name: str, params: object, usage: Usage, detail: bool = False) -> Priced:
    """The exact amount of one charge line; with detail, also its steps and terms (explain)."""
    return MODELS[model_name].price(params, usage, detail)


__all__ = ["MODELS", "COMMON_KEYS", "Priced", "Usage", "model", "price"]
