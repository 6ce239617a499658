"""Reading a configuration text file: UTF-8 (a byte order mark is dropped), or a ConfigError that
names the file, the line and what to do. Never a traceback for a folder, a missing or an unreadable file."""
from __future__ import annotations

from pathlib import Path

from ..core.errors import ConfigError


def _doc(name: str) -> str:
    """The section of docs/workspace.md that describes the file `name`."""
    stem = name.rsplit(".", 1)[0]
    anchor = {"pricebook": "pricebookyaml", "customers": "customers", "contracts": "contracts",
              "tax_rates": "tax_rates"}.get(stem, "layout")
    return f"docs/workspace.md#{anchor}"


def read_utf8(path: Path) -> str:
    """The file's text. Not UTF-8 is an error naming the line and byte, so the user can find the cell."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path.name}: file not found in the workspace; "
                           f"create it (see {_doc(path.name)})"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path.name}: is a folder, not a file; replace it with the file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path.name}: cannot be read ({exc.strerror}); check its permissions"]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = "it looks like UTF-16; " if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise ConfigError([f"{path.name} line {line}: not UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); "
                           f"{hint}save the file as UTF-8"]) from None
