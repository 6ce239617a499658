"""YAML for configuration: safe, exact, small.

- Only plain data: no object tags (SafeLoader refuses them).
- No aliases or anchors: they are how "billion laughs" bombs are built, and a
  pricebook never needs them.
- Every number that is not an integer is read as an exact Decimal from its text,
  never through a binary float (`0.1` is one tenth).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from ..errors import ConfigError


class _ExactLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed; write the value out", event.start_mark)
        return super().compose_node(parent, index)


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
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([f"{path.name}: file not found in the workspace; create it (see DATA_CONTRACT.md)"])
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path.name}: not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8"])
    try:
        return yaml.load(text, Loader=_ExactLoader)  # noqa: S506 - _ExactLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name} line {mark.line + 1}" if mark is not None else path.name
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: {problem}; only plain YAML data (maps, lists, strings, numbers) is accepted"])
