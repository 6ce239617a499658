"""A workspace with issued documents, shared by the export, render and payment tests.

The public example (tests/scenarios/example) with printable addresses, issued by `nightly` as of
2026-11-01 (HC-1 to HC-8), then globex's October reissued on 2026-11-03 (HC-CN-1 credits HC-7,
HC-9 replaces it): invoices of both statuses and a credit note.
"""
from __future__ import annotations

from pathlib import Path

from ledger_support import copy_example, day, noon, window

from pipeline.ledger.issue import issue, nightly

GOLDEN = Path(__file__).parent / "golden"

CUSTOMERS = """\
customer_id,name,country,timezone,tax_id,email,address_line1,address_line2,city,postal_code,payment_terms_days
acme,Acme Corporation,US,America/Chicago,,ap@acme.example,1 Road Runner Way,Suite 200,Phoenix,85001,30
globex,Globex GmbH,DE,,DE136695976,rechnung@globex.example,Hauptstrasse 5,,Berlin,10115,14
initech,Initech SARL,FR,Europe/Paris,FR40303265045,compta@initech.example,12 rue de la Paix,,Paris,75002,30
umbrella,Umbrella Ltd,GB,,,accounts@umbrella.example,10 Downing Lane,,London,SW1A 2AA,30
"""
COMPANY = """  address_line1: Friedrichstrasse 1
  city: Berlin
  postal_code: 10117
  email: billing@heldout.example
  iban: DE89370400440532013000
"""


def printable(ws: Path) -> Path:
    """The example workspace with customer and seller addresses, as printed on documents."""
    (ws / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    text = (ws / "pricebook.yaml").read_text(encoding="utf-8")
    (ws / "pricebook.yaml").write_text(text.replace("  invoice_prefix: HC\n", "  invoice_prefix: HC\n" + COMPANY),
                                       encoding="utf-8")
    return ws


def issued_workspace(root: Path) -> Path:
    ws = printable(copy_example(root / "ws"))
    nightly(ws, noon("2026-11-01"), out=root / "nightly")
    issue(ws, window("2026-10-01", "2026-11-01", contracts=("globex-1",)), reissue=True,
          issue_date=day("2026-11-03"), out=root / "reissue")
    return ws
