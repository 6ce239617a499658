"""Typed reads of raw configuration mappings that record problems instead of stopping.

Every getter returns a usable placeholder on error, so that validation can go
on and report every problem at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import ProblemList

MAX_DECIMALS = 12  # unit prices are stored as DECIMAL(38, 12)
MAX_INTEGER_DIGITS = 38 - MAX_DECIMALS  # ... so a price, limit or amount is below 10^26


def parse_decimal(value: object) -> Decimal | None:
    """An exact Decimal from a YAML/CSV scalar, or None when it is not a finite number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


@dataclass
class Fields:
    """A raw mapping read at a location such as `pricebook.yaml: plans[pro].charges[api]`."""

    raw: dict
    where: str
    problems: ProblemList

    def unknown_keys(self, allowed: set[str]) -> None:
        for key in sorted(set(self.raw) - allowed, key=str):
            self.problems.add(self.where, f"unknown key {key!r}",
                              f"use one of {', '.join(sorted(allowed))}")

    def text(self, key: str, required: bool = True, default: str | None = None) -> str | None:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                self.problems.add(self.where, f"{key} is missing", f"add `{key}: ...`")
            return default
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.problems.add(self.where, f"{key} must be a string, got {value!r}",
                              "write it as text, quoted if need be")
            return default
        return str(value)

    def decimal(self, key: str, required: bool = True, default: Decimal | None = None,
                minimum: Decimal | None = Decimal(0), maximum: Decimal | None = None) -> Decimal | None:
        if key not in self.raw or self.raw[key] is None:
            if required:
                self.problems.add(self.where, f"{key} is missing", f"add `{key}: <number>`")
            return default
        number = parse_decimal(self.raw[key])
        if number is None:
            self.problems.add(self.where, f"{key} must be a finite number, got {self.raw[key]!r}",
                              "write a plain number such as 12.5")
            return default
        if number.adjusted() >= MAX_INTEGER_DIGITS:
            self.problems.add(self.where, f"{key} = {self.raw[key]} is too large",
                              f"write a number below 10^{MAX_INTEGER_DIGITS}")
            return default
        if number.as_tuple().exponent < -MAX_DECIMALS:
            self.problems.add(self.where, f"{key} = {number} has more than {MAX_DECIMALS} decimal places",
                              f"round it to at most {MAX_DECIMALS} places")
            return default
        if minimum is not None and number < minimum:
            self.problems.add(self.where, f"{key} = {number} is below {minimum}",
                              "prices and limits cannot be negative")
            return default
        if maximum is not None and number > maximum:
            self.problems.add(self.where, f"{key} = {number} is above {maximum}", f"use at most {maximum}")
            return default
        return number

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.problems.add(self.where, f"{key} must be true or false, got {value!r}")
            return default
        return value

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int, Decimal)) and not isinstance(v, bool)
                                                  for v in value):
            self.problems.add(self.where, f"{key} must be a list of names, got {value!r}",
                              f"write `{key}: [name, ...]`")
            return ()
        return tuple(str(v) for v in value)
