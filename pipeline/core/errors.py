"""One root exception, a few precise subclasses.

Every message says what happened, where (file, row, key) and how to fix it.
The CLI turns a BillingError into one red line and exit status 1.
"""
from __future__ import annotations


class BillingError(Exception):
    """Root of every error a user can act on."""


class ConfigError(BillingError):
    """The workspace configuration is wrong. Carries every problem found, not only the first."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        if len(self.problems) == 1:
            msg = self.problems[0]
        else:
            msg = f"{len(self.problems)} configuration problems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(msg)

    def __reduce__(self):  # pickled with its problems (a Dask worker's error reaches the driver)
        return type(self), (self.problems,)


class InputDataError(BillingError):
    """An input file (events, tables) cannot be read as the contract says."""


class OutputError(BillingError):
    """The output folder cannot be written."""


class ProblemList:
    """Collects problems so that all of them are reported at once (Lago's add_error)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str, fix: str = "") -> None:
        self.items.append(f"{where}: {what}" + (f"; {fix}" if fix else ""))

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)


class CheckError(BillingError):
    """A stage produced data that breaks an invariant (a Pandera model failed): a bug, reported, nothing written."""
