"""Money rounding (DATA_CONTRACT.md section 3) and tax rules (pipeline/core/tax.py), hand-computed."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from pipeline.core.money import currency_digits, format_money, round_money, round_quantity, to_decimal
from pipeline.core.tax import EU_MEMBER_STATES, TaxRule, tax_id_is_valid, tax_rule

D = Decimal


# --------------------------------------------------------------------------------------------------------------
# round_money: half away from zero, once, to the minor unit

@pytest.mark.parametrize(
    "value, digits, expected",
    [
        # 0 digits (JPY)
        ("0.5", 0, "1"), ("1.5", 0, "2"), ("2.5", 0, "3"), ("0.49", 0, "0"), ("0.4999999999", 0, "0"),
        ("-0.5", 0, "-1"), ("-2.5", 0, "-3"), ("-0.49", 0, "0"), ("1234.5", 0, "1235"),
        # 2 digits (USD, EUR)
        ("0.005", 2, "0.01"), ("0.015", 2, "0.02"), ("0.025", 2, "0.03"), ("1.005", 2, "1.01"),
        ("2.675", 2, "2.68"), ("0.0049999", 2, "0.00"), ("0.125", 2, "0.13"), ("10", 2, "10.00"),
        ("-0.005", 2, "-0.01"), ("-1.005", 2, "-1.01"), ("-0.015", 2, "-0.02"), ("-2.675", 2, "-2.68"),
        ("31.6129032258", 2, "31.61"), ("99.995", 2, "100.00"),
        # 3 digits (KWD, BHD)
        ("0.0005", 3, "0.001"), ("1.2345", 3, "1.235"), ("1.2355", 3, "1.236"), ("0.0004", 3, "0.000"),
        ("-0.0005", 3, "-0.001"), ("-1.2345", 3, "-1.235"),
        # large amounts keep every digit
        ("123456789012345678901234.565", 2, "123456789012345678901234.57"),
    ],
)
def test_round_money(value, digits, expected):
    got = round_money(D(value), digits)
    assert got == D(expected)
    assert got.as_tuple().exponent == -digits  # exactly `digits` fractional digits


@pytest.mark.parametrize(
    "value, digits, expected",
    [
        (Fraction(1, 200), 2, "0.01"),  # exactly 0.005
        (Fraction(-1, 200), 2, "-0.01"),
        (Fraction(5, 2), 0, "3"),
        (Fraction(-5, 2), 0, "-3"),
        (Fraction(980, 31), 2, "31.61"),  # 49 x 20/31
        (Fraction(1, 3), 2, "0.33"),
        (Fraction(2, 3), 2, "0.67"),
        (Fraction(1, 2000), 3, "0.001"),
        (Fraction(3, 8), 2, "0.38"),  # 0.375
    ],
)
def test_round_money_from_fraction(value, digits, expected):
    assert round_money(value, digits) == D(expected)


def test_round_quantity_keeps_9_digits():
    assert round_quantity(Fraction(20, 31)) == D("0.645161290")
    assert round_quantity(Fraction(1, 2_000_000_000)) == D("0.000000001")  # 0.0000000005 rounds up
    assert round_quantity(D("1.0000000004")) == D("1.000000000")


def test_to_decimal_is_exact_enough():
    assert abs(Fraction(to_decimal(Fraction(1, 3))) - Fraction(1, 3)) < Fraction(1, 10**55)
    assert to_decimal(Fraction(1, 8)) == D("0.125")


@pytest.mark.parametrize(
    "value, digits, expected",
    [(D("1"), 3, "1.000"), (D("12.5"), 0, "13"), (D("-0.005"), 2, "-0.01"), (D("1E+2"), 2, "100.00"),
     (D("0.1"), 2, "0.10"), (D("1234567.891"), 2, "1234567.89")],
)
def test_format_money(value, digits, expected):
    assert format_money(value, digits) == expected


# --------------------------------------------------------------------------------------------------------------
# currency_digits: ISO 4217 minor units

@pytest.mark.parametrize(
    "code, digits",
    [("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4),
     ("XYZ", None), ("", None)],
)
def test_currency_digits(code, digits):
    assert currency_digits(code) == digits


# --------------------------------------------------------------------------------------------------------------
# tax_id_is_valid: checksum rules by country

@pytest.mark.parametrize(
    "country, tax_id, expected",
    [
        ("DE", "DE136695976", True),
        ("DE", "DE136695977", False),  # checksum digit wrong
        ("DE", "136695976", True),  # prefix optional
        ("DE", "DE 136 695 976", True),  # spaces ignored
        ("DE", "FR40303265045", False),  # another member state's number
        ("FR", "FR40303265045", True),
        ("FR", "FR40303265046", False),
        ("GR", "EL094259216", True),  # Greece: VAT prefix EL
        ("GB", "GB980780684", True),
        ("GB", "GB980780685", False),
    ],
)
def test_tax_id_is_valid(country, tax_id, expected):
    assert tax_id_is_valid(country, tax_id) is expected


def test_tax_id_without_rules_is_none():
    assert tax_id_is_valid("AQ", "12345") is None  # python-stdnum knows no rules for Antarctica


def test_us_tax_id_is_not_rejected():
    # python-stdnum has US TIN format rules (us.tin), so the answer for a well-formed EIN is True, not None;
    # what matters to the loader is that a well-formed US number is never rejected
    assert tax_id_is_valid("US", "12-3456789") is not False


def test_gb_is_not_an_eu_member_state():
    assert "GB" not in EU_MEMBER_STATES
    assert {"DE", "FR", "GR", "IE", "NL"} <= EU_MEMBER_STATES


# --------------------------------------------------------------------------------------------------------------
# tax_rule: exempt, reverse charge, domestic, non-EU, default '*'

RATES = {"DE": (D("19"), "MwSt 19%"), "FR": (D("20"), "TVA 20%"), "GB": (D("20"), "VAT 20%"),
         "*": (D("0"), "")}


def rule(customer_country, tax_id=None, exempt=False, company="DE", rates=RATES) -> TaxRule:
    return tax_rule(customer_country=customer_country, customer_tax_id=tax_id, tax_exempt=exempt,
                    company_country=company, rates=rates)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        # exempt wins over everything
        ({"customer_country": "FR", "tax_id": "FR40303265045", "exempt": True}, TaxRule(D(0), "exempt", "")),
        ({"customer_country": "DE", "exempt": True}, TaxRule(D(0), "exempt", "")),
        # reverse charge: two different EU member states and a valid tax_id
        ({"customer_country": "FR", "tax_id": "FR40303265045"}, TaxRule(D(0), "reverse_charge", "")),
        ({"customer_country": "FR", "tax_id": "40303265045"}, TaxRule(D(0), "reverse_charge", "")),
        ({"customer_country": "GR", "tax_id": "EL094259216"}, TaxRule(D(0), "reverse_charge", "")),
        # invalid checksum or no tax_id: the customer's country rate
        ({"customer_country": "FR", "tax_id": "FR40303265046"}, TaxRule(D(20), "", "TVA 20%")),
        ({"customer_country": "FR", "tax_id": None}, TaxRule(D(20), "", "TVA 20%")),
        ({"customer_country": "FR", "tax_id": ""}, TaxRule(D(20), "", "TVA 20%")),
        # same country: domestic rate even with a valid id
        ({"customer_country": "DE", "tax_id": "DE136695976"}, TaxRule(D(19), "", "MwSt 19%")),
        # non-EU customer: its country rate, or '*'
        ({"customer_country": "GB", "tax_id": "GB980780684"}, TaxRule(D(20), "", "VAT 20%")),
        ({"customer_country": "US", "tax_id": "12-3456789"}, TaxRule(D(0), "", "")),
        ({"customer_country": "JP"}, TaxRule(D(0), "", "")),
        # non-EU seller: no reverse charge within the EU
        ({"customer_country": "DE", "tax_id": "DE136695976", "company": "GB"}, TaxRule(D(19), "", "MwSt 19%")),
        ({"customer_country": "FR", "tax_id": "FR40303265045", "company": "US"}, TaxRule(D(20), "", "TVA 20%")),
        # EU member state without its own row falls back to '*'
        ({"customer_country": "NL"}, TaxRule(D(0), "", "")),
    ],
)
def test_tax_rule(kwargs, expected):
    assert rule(**kwargs) == expected


def test_tax_rule_star_rate_is_used_for_unlisted_country():
    rates = {"*": (D("7.5"), "Sales tax")}
    assert rule("US", rates=rates) == TaxRule(D("7.5"), "", "Sales tax")


def test_tax_rule_listed_zero_rate_is_not_replaced_by_star():
    # a country listed at 0 % must not fall back to the '*' rate
    rates = {"US": (D("0"), "No tax"), "*": (D("20"), "Default")}
    assert rule("US", rates=rates) == TaxRule(D("0"), "", "No tax")


def test_greek_vat_numbers_written_gr_or_el_and_other_prefixes():
    from pipeline.core.tax import tax_id_is_valid
    # Greece's VAT prefix is EL; a number written GR... is the same number (094259216 passes the checksum)
    assert tax_id_is_valid("GR", "GR094259216") is True
    assert tax_id_is_valid("GR", "GR123456783") is True  # no leading 0 (stdnum pads 8 digits with one)
    assert tax_id_is_valid("GR", "GR12345678") is False  # 8 digits: 012345678 fails the checksum
    assert tax_id_is_valid("GR", "EL 094 259 216") is True
    assert tax_id_is_valid("GR", "094259216") is True
    assert tax_id_is_valid("GR", "GR094259217") is False  # checksum
    assert tax_id_is_valid("GR", "DE094259216") is False  # another country's prefix
    assert tax_id_is_valid("DE", "EL094259216") is False  # a Greek number for a German customer
    assert tax_id_is_valid("DE", "DE136695976") is True and tax_id_is_valid("DE", "136695976") is True


def test_money_scale_holds_every_minor_unit_of_iso_4217():
    """Parquet money columns are DECIMAL(38, MONEY_SCALE): the largest minor unit in use (4: CLF, UYW)."""
    from iso4217 import Currency

    from pipeline.core.money import MONEY_SCALE

    largest = max(c.exponent for c in Currency if c.exponent is not None)
    assert (largest, MONEY_SCALE) == (4, 4)
