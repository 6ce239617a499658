"""YAML for configuration: safe, exact, small.

- Only plain data: no object tags (SafeLoader refuses them).
- No aliases or anchors: they are how "billion laughs" bombs are built, and a
  pricebook never needs them.
- No key twice in one mapping: YAML would keep the last one silently, so a
  pasted `unit_price` could change a price without anyone noticing.
- Every number that is not an integer is read as an exact Decimal from its text,
  never through a binary float (`0.1` is one tenth).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from ..errors import ConfigError
from .textfile import read_utf8

PLAIN = "only plain YAML data (maps, lists, strings, numbers) is accepted"


class _Refused(yaml.MarkedYAMLError):
    """A construct refused here; its `problem` already says how to fix it."""


class _ExactLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(None, None, "aliases (*name) are not allowed; write the value out", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML signature
        first: dict[str, int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in first:
                    raise _Refused(None, None, f"key {key.value!r} appears twice in one mapping (first on line "
                                               f"{first[key.value]}); keep one of them", key.start_mark)
                first[key.value] = key.start_mark.line + 1
        return super().construct_mapping(node, deep)


def _exact_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")  # .inf / .nan: rejected by the field checks with a clear message
    return value


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)


def load_yaml(path: Path) -> object:
    """Parse a YAML file safely; any syntax or safety problem is a ConfigError naming file and line."""
    text = read_utf8(path)
    try:
        return yaml.load(text, Loader=_ExactLoader)  # noqa: S506 - _ExactLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name} line {mark.line + 1}" if mark is not None else path.name
        problem = getattr(exc, "problem", None) or str(exc)
        suffix = "" if isinstance(exc, _Refused) else f"; {PLAIN}"
        raise ConfigError([f"{where}: {problem}{suffix}"]) from None
    except RecursionError:
        raise ConfigError([f"{path.name}: nested too deeply to be a pricebook; {PLAIN}"]) from None
