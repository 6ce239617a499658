"""accounting.yaml: how our lines map onto an accounting system's accounts, items, tax codes and dates.

Optional file in the workspace; without it every system gets the defaults below. Top-level keys
apply to every system; a `xero:`, `quickbooks:` or `netsuite:` section overrides them for that
system (tax code names differ between systems). Lookups go: the system's section, then the top
level, then the default.

    date_format: DD/MM/YYYY      # or MM/DD/YYYY, YYYY-MM-DD; default MM/DD/YYYY for a US company, else DD/MM/YYYY
    account_code: "200"          # revenue account of every line (Xero AccountCode)
    accounts: {platform_fee: "201", discount: "4900"}      # by charge_id, then by line type
    item_codes: {api: API-CALLS, discount: DISCOUNT}       # Xero InventoryItemCode, QuickBooks Product/Service,
                                                           # NetSuite Item
    tax_codes: {reverse_charge: "Reverse Charge", exempt: "Exempt", "19": "MwSt 19%", "0": "No VAT"}
    max_documents_per_file: 500  # split into several files (Xero: 500 at most)
    xero: {branding_theme: Standard, tax_codes: {"20": "20% (VAT on Income)"}}
    quickbooks: {location: Berlin}
    netsuite: {subsidiary: "Heldout GmbH", ar_account: "11000 Accounts Receivable",
               prepaid_account: "2400 Customer Deposits"}   # where prepaid credit is held (docs/credits.md)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ...config.yamlsafe import load_yaml
from ...core.errors import ConfigError, ProblemList
from ...core.fields import parse_decimal

FILE_NAME = "accounting.yaml"
SYSTEMS = ("xero", "quickbooks", "netsuite")
DATE_FORMATS = {"DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y", "YYYY-MM-DD": "%Y-%m-%d"}
COMMON_KEYS = {"date_format", "account_code", "accounts", "item_codes", "tax_codes", "max_documents_per_file"}
SYSTEM_KEYS = {"xero": {"branding_theme"}, "quickbooks": {"location"}, "netsuite": {"subsidiary", "ar_account",
                                                                                    "prepaid_account"}}
MAPPINGS = ("accounts", "item_codes", "tax_codes")
# Documented per-file limits of the systems' importers (Xero: "at most 500 invoices per file").
FILE_LIMITS = {"xero": 500}
DEFAULT_ACCOUNT = {"xero": "200"}  # Xero's standard chart of accounts: 200 Sales


@dataclass(frozen=True)
class SystemConfig:
    """The mapping for one system, defaults applied."""

    system: str
    strftime: str
    account_code: str
    accounts: dict[str, str] = field(default_factory=dict)
    item_codes: dict[str, str] = field(default_factory=dict)
    tax_codes: dict[str, str] = field(default_factory=dict)  # reverse_charge, exempt, or a normalized percent
    max_documents_per_file: int | None = None
    extra: dict[str, str] = field(default_factory=dict)  # branding_theme, location, subsidiary, ar_account, ...

    def date(self, day) -> str:  # datetime.date
        return day.strftime(self.strftime)

    def account_for(self, charge_id: str | None, line_type: str) -> str:
        return self.accounts.get(charge_id or "", self.accounts.get(line_type, self.account_code))

    def item_for(self, charge_id: str | None, line_type: str, default: str = "") -> str:
        return self.item_codes.get(charge_id or "", self.item_codes.get(line_type, default))

    def tax_code(self, tax_note: str, tax_percent: Decimal, tax_name: str) -> str:
        """The system's tax code of a document's tax: by note (reverse_charge, exempt), then by percent."""
        if tax_note and tax_note in self.tax_codes:
            return self.tax_codes[tax_note]
        key = percent_key(tax_percent)
        if not tax_note and key in self.tax_codes:
            return self.tax_codes[key]
        if tax_note == "reverse_charge":
            return "Reverse Charge"
        if tax_note == "exempt":
            return "Tax Exempt"
        if tax_percent == 0:
            return "No Tax"
        return tax_name or f"Tax {key}%"


def percent_key(value: Decimal) -> str:
    """19.000000 -> '19', 20.5 -> '20.5': how a percent is written as a tax_codes key."""
    text = f"{value.normalize():f}"
    return text


def _mapping(raw: object, where: str, problems: ProblemList, *, percents: bool = False) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(where, f"must map names to codes, got {raw!r}", "write `{name: code, ...}`")
        return {}
    out = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)) or value == "":
            problems.add(f"{where}.{key}", f"must be a code (text), got {value!r}", "quote it: \"4000\"")
            continue
        name = str(key)
        if percents and name not in ("reverse_charge", "exempt"):
            number = parse_decimal(key)
            if number is None:
                problems.add(f"{where}.{key}", "is neither reverse_charge, exempt nor a tax percent",
                             "key tax codes by tax note or by percent, e.g. \"19\"")
                continue
            name = percent_key(number)
        out[name] = str(value)
    return out


def _section(raw: object, where: str, allowed: set[str], problems: ProblemList) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(where, f"must be a mapping, got {raw!r}")
        return {}
    for key in sorted(set(map(str, raw)) - allowed):
        problems.add(where, f"unknown key {key!r}", f"use one of {', '.join(sorted(allowed))}")
    section = {}
    for key in MAPPINGS:
        if key in raw:
            section[key] = _mapping(raw[key], f"{where}: {key}", problems, percents=key == "tax_codes")
    for key in allowed - set(MAPPINGS):
        value = raw.get(key)
        if value is None:
            continue
        if key == "max_documents_per_file":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.add(f"{where}: {key}", f"must be a whole number of at least 1, got {value!r}")
                continue
        elif key == "date_format" and value not in DATE_FORMATS:
            problems.add(f"{where}: {key}", f"unknown date format {value!r}", f"use one of {', '.join(DATE_FORMATS)}")
            continue
        elif isinstance(value, bool) or not isinstance(value, (str, int)):
            problems.add(f"{where}: {key}", f"must be text, got {value!r}")
            continue
        section[key] = value if key == "max_documents_per_file" else str(value)
    return section


def load_accounting(workspace: Path, system: str, company_country: str) -> SystemConfig:
    """The mapping for `system` from WORKSPACE/accounting.yaml (optional), defaults applied."""
    path = Path(workspace) / FILE_NAME
    problems = ProblemList()
    top: dict = {}
    own: dict = {}
    if path.exists():
        raw = load_yaml(path)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError([f"{FILE_NAME}: must be a mapping (see docs/month-end.md)"])
        top = _section({k: v for k, v in raw.items() if k not in SYSTEMS}, FILE_NAME, COMMON_KEYS, problems)
        for name in SYSTEMS:
            section = _section(raw.get(name), f"{FILE_NAME}: {name}", COMMON_KEYS | SYSTEM_KEYS[name], problems)
            if name == system:
                own = section
        problems.raise_if_any()
    merged = {k: {**top.get(k, {}), **own.get(k, {})} for k in MAPPINGS}
    pick = {**top, **own}
    date_format = pick.get("date_format") or ("MM/DD/YYYY" if company_country == "US" else "DD/MM/YYYY")
    limit = pick.get("max_documents_per_file") or FILE_LIMITS.get(system)
    if system in FILE_LIMITS and limit > FILE_LIMITS[system]:
        raise ConfigError([f"{FILE_NAME}: max_documents_per_file {limit} is above {system}'s limit of "
                                  f"{FILE_LIMITS[system]} per file; lower it"])
    return SystemConfig(system, DATE_FORMATS[date_format], pick.get("account_code") or DEFAULT_ACCOUNT.get(system, ""),
                        merged["accounts"], merged["item_codes"], merged["tax_codes"], limit,
                        {k: pick[k] for k in SYSTEM_KEYS.get(system, ()) if k in pick})
