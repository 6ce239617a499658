"""rate: usage quantities -> exact amounts, one small module per charge model.

Adding a model touches its module, this registry, and its tests. The rules around the models are
small modules too: floors.py (min_amount, minimum_commitment), discount.py, one_time.py. Each rule
is one function; `detail=True` asks the same function how it got its amount (explain uses that).
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
