"""YAML for configuration: safe, exact, small.

- Only plain data: no object tags (SafeLoader refuses them).
- Anchors and aliases are allowed (`tiers: &std [...]`, `tiers: *std`; PyYAML's own
  `dump` writes them for shared values), but a document that expands to more than
  MAX_NODES nodes, counting every alias as a copy, is refused: that is how "billion
  laughs" bombs are built. A recursive alias is refused too.
- No key twice in one mapping: YAML would keep the last one silently, so a
  pasted `unit_price` could change a price without anyone noticing.
- Every number that is not an integer is read as an exact Decimal from its text,
  never through a binary float (`0.1` is one tenth).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from ..core.errors import ConfigError
from .textfile import read_utf8

PLAIN = "only plain YAML data (maps, lists, strings, numbers) is accepted"


class _Refused(yaml.MarkedYAMLError):
    """A construct refused here; its `problem` already says how to fix it."""


MAX_NODES = 100_000


class _ExactLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):  # PyYAML signature
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


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """Nodes of `node` with every alias expanded (each shared node counted once per use)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise _Refused(None, None, "a recursive alias (a value that contains itself) cannot be a configuration; "
                                   "write the value out", node.start_mark)
    open_.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, sizes, open_)
            if total > MAX_NODES:
                break
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, sizes, open_) + _expanded_size(v, sizes, open_)
            if total > MAX_NODES:
                break
    open_.discard(key)
    sizes[key] = total
    return total


def _load(text: str) -> object:
    loader = _ExactLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}, set()) > MAX_NODES:
            raise _Refused(None, None, f"the document expands to more than {MAX_NODES:,} values once its aliases "
                                       "(*name) are expanded (an alias bomb?); write it out without nested aliases",
                           node.start_mark)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml(path: Path) -> object:
    """Parse a YAML file safely; any syntax or safety problem is a ConfigError naming file and line."""
    text = read_utf8(path)
    try:
        return _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name} line {mark.line + 1}" if mark is not None else path.name
        problem = getattr(exc, "problem", None) or str(exc)
        suffix = "" if isinstance(exc, _Refused) else f"; {PLAIN}"
        raise ConfigError([f"{where}: {problem}{suffix}"]) from None
    except RecursionError:
        raise ConfigError([f"{path.name}: nested too deeply to be a pricebook; {PLAIN}"]) from None
