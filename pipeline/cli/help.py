"""help: `usagebill --help` as a tour: the commands in groups, each with one example.

The example is the `Example:` line of the command's help (or EXAMPLES below); a command in no
group is listed under "More", so a new command is never hidden.
"""
from __future__ import annotations

import click

GROUPS = (
    ("Billing", ("validate", "run", "preview")),
    ("Ledger", ("issue", "nightly", "reconcile", "invoices", "credit-notes", "check-ledger")),
    ("Month end", ("export", "render", "send", "payments", "credits", "ar")),
    ("Analysis", ("report", "explain", "terms")),
    ("Scale out", ("repartition",)),
)
EXAMPLES = {"nightly": "usagebill nightly ws/ --as-of 2026-11-02",
            "payments": "usagebill payments import ws/ bank-2026-11.csv"}


def example(cmd: click.Command) -> str:
    for line in (cmd.help or "").splitlines():
        for lead in ("Example:", "Examples:"):  # the first of several examples
            if line.strip().startswith(lead):
                return line.strip()[len(lead):].strip()
    return EXAMPLES.get(cmd.name or "", "")


class TourGroup(click.Group):
    """A click group whose command list is grouped, with an example under each command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        order = [n for _, names in GROUPS for n in names]
        known = [n for n in order if n in self.commands]
        return known + sorted(n for n in self.commands if n not in order)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        grouped = {n for _, names in GROUPS for n in names}
        sections = [(title, [n for n in names if n in self.commands]) for title, names in GROUPS]
        sections.append(("More", sorted(n for n in self.commands if n not in grouped)))
        for title, names in sections:
            cmds = [(n, self.commands[n]) for n in names if not self.commands[n].hidden]
            if not cmds:
                continue
            rows = []
            width = max(40, formatter.width - formatter.current_indent - max(len(n) for n, _ in cmds) - 5)
            for name, cmd in cmds:
                rows.append((name, cmd.get_short_help_str(limit=width)))
                if ex := example(cmd):
                    rows.append(("", f"$ {ex}"))
            with formatter.section(title):
                formatter.write_dl(rows, col_spacing=3)
