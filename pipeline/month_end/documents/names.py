"""File names made from document numbers: always one plain name inside the output folder.

A number is data (invoice_prefix is free text: it may hold `/`, `..`, spaces or quotes). The
file name keeps letters, digits, `-`, `_` and `.`, turns anything else into `_`, and never starts
with a dot; two numbers that would share a name are an error rather than one overwriting the other.
"""
from __future__ import annotations

import re

from ...core.errors import BillingError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def file_stem(number: str) -> str:
    stem = _UNSAFE.sub("_", number)
    stem = "_" + stem[1:] if stem.startswith(".") else stem
    return stem[:200] or "_"


def file_names(numbers: list[str], suffix: str) -> list[str]:
    names = [file_stem(n) + suffix for n in numbers]
    seen: dict[str, str] = {}
    for number, name in zip(numbers, names):
        if name in seen and seen[name] != number:
            raise BillingError(f"documents {seen[name]!r} and {number!r} would both be written to {name}; "
                               "render them separately (--invoice)")
        seen[name] = number
    return names
