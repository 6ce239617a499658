"""Tax rules: tax_id checksums, exempt customers, EU reverse charge, rates by country or '*'."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat

# ISO 3166 codes of the EU member states (python-stdnum keeps the list; 'xi' and 'el' are VAT prefixes).
EU_MEMBER_STATES = frozenset(c.upper() for c in eu_vat.MEMBER_STATES if c != "xi")
_VAT_PREFIX = {"GR": "EL"}


@dataclass(frozen=True)
class TaxRule:
    percent: Decimal
    note: str  # "", "exempt" or "reverse_charge"
    name: str


# Pure and cached without bound: loading checks every customer's tax id, then every invoice asks again
# (tax_rule); a bounded cache smaller than the customers with tax ids (87k of 500k in the bench) checked
# the evicted ones twice.
@cache
def tax_id_is_valid(country: str, tax_id: str) -> bool | None:
    """Checksum check by the country's rules: True/False, or None when no rules are known for the country."""
    compact = tax_id.replace(" ", "").replace("-", "").replace(".", "").upper()
    prefix = _VAT_PREFIX.get(country, country)
    if country in EU_MEMBER_STATES:
        if compact[:2] == country and prefix != country:
            compact = prefix + compact[2:]  # GR... is written EL... in VAT numbers
        if compact[:2].isalpha():
            return compact[:2] == prefix and bool(eu_vat.is_valid(compact))
        return bool(eu_vat.is_valid(prefix + compact))
    module = get_cc_module(country.lower(), "vat") or get_cc_module(country.lower(), "tin")
    if module is None:
        return None
    return bool(module.is_valid(tax_id))


def tax_rule(*, customer_country: str, customer_tax_id: str | None, tax_exempt: bool, company_country: str,
             rates: dict[str, tuple[Decimal, str]]) -> TaxRule:
    """The tax applied to a customer's invoices (contract section 3)."""
    if tax_exempt:
        return TaxRule(Decimal(0), "exempt", "")
    if (customer_country != company_country and customer_country in EU_MEMBER_STATES
            and company_country in EU_MEMBER_STATES and customer_tax_id
            and tax_id_is_valid(customer_country, customer_tax_id)):
        return TaxRule(Decimal(0), "reverse_charge", "")
    percent, name = rates.get(customer_country) or rates["*"]
    return TaxRule(percent, "", name)
