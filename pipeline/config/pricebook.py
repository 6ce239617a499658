"""pricebook.yaml: the seller, billable metrics and plans with their charges."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .. import rate
from ..core.errors import ProblemList
from ..core.fields import Fields
from ..core.money import currency_digits
from .changes import plan_versions
from .tables import bad_id_char
from .yamlsafe import load_yaml

AGGREGATIONS = ("count", "sum", "max", "unique_count", "latest", "weighted_sum")
NUMERIC_AGGREGATIONS = {"sum", "max", "latest", "weighted_sum"}  # need a number from `field`


@dataclass(frozen=True)
class Company:
    name: str
    country: str
    tax_id: str | None
    invoice_prefix: str
    extra: tuple[tuple[str, str], ...] = ()  # address lines and other printed fields


@dataclass(frozen=True)
class Metric:
    id: str
    event_type: str
    aggregation: str
    field: str | None
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    group_by: tuple[str, ...]
    unit: str | None = None  # printed after quantities on documents (`GB-month`); default the metric id

    @property
    def needs_number(self) -> bool:
        return self.aggregation in NUMERIC_AGGREGATIONS


@dataclass(frozen=True)
class Charge:
    id: str
    model: str
    metric_id: str | None
    params: object  # the model module's parsed dataclass
    min_amount: Decimal | None
    name: str = ""  # printed on invoice lines; default the id
    source: str = ""  # the plan, plan version or contract entry that last set this charge (pipeline/config/terms.py)

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Plan:
    id: str
    currency: str
    digits: int
    charges: tuple[Charge, ...]
    raw_charges: tuple[dict, ...] = ()  # the charges as written, for versions and contract terms to change
    versions: tuple = ()  # terms.Change, in order of effective_from (equal dates: file order)


@dataclass(frozen=True)
class Pricebook:
    company: Company
    metrics: dict[str, Metric]
    plans: dict[str, Plan]


def load_pricebook(path: Path, problems: ProblemList) -> Pricebook:
    raw = load_yaml(path)
    name = path.name
    if not isinstance(raw, dict):
        problems.add(name, "must be a mapping with company, metrics and plans")
        raw = {}
    top = Fields(raw, name, problems)
    top.unknown_keys({"company", "metrics", "plans"})
    company = _company(raw.get("company"), name, problems)
    metrics = _metrics(raw.get("metrics"), name, problems)
    plans = _plans(raw.get("plans"), name, metrics, problems)
    return Pricebook(company, metrics, plans)


def _company(raw: object, name: str, problems: ProblemList) -> Company:
    if not isinstance(raw, dict):
        problems.add(f"{name}: company", "is missing", "add `company: {name: ..., country: ..., invoice_prefix: ...}`")
        return Company("", "", None, "INV")
    f = Fields(raw, f"{name}: company", problems)
    printed = {"email", "address_line1", "address_line2", "city", "postal_code", "phone", "website", "iban", "bic"}
    f.unknown_keys({"name", "country", "tax_id", "invoice_prefix"} | printed)
    extra = tuple(sorted((k, str(v)) for k, v in raw.items() if k in printed and v is not None))
    return Company(name=f.text("name") or "", country=(f.text("country") or "").upper(),
                   tax_id=f.text("tax_id", required=False), invoice_prefix=f.text("invoice_prefix") or "INV",
                   extra=extra)


def items_with_ids(raw: object, name: str, key: str, problems: ProblemList) -> list[tuple[str, dict]]:
    """The entries of a list of mappings with unique ids, as (location, mapping)."""
    if not isinstance(raw, list):
        problems.add(name, f"{key} must be a list", f"add `{key}:` with one entry per item")
        return []
    seen: set[str] = set()
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.add(f"{name}: {key}[{i}]", f"must be a mapping, got {item!r}")
            continue
        ident = item.get("id")
        plain = isinstance(ident, str) and ident and bad_id_char(ident) is None
        where = f"{name}: {key}[{ident}]" if plain else f"{name}: {key}[{i}]"
        if not isinstance(ident, str) or not ident:
            problems.add(where, "id is missing or not a string", "give every entry a unique `id`")
            continue
        if not plain:
            problems.add(where, f"id {ident!r} contains the control character {bad_id_char(ident)!r}",
                         "ids must be one line of printable text")
            continue
        if ident in seen:
            problems.add(where, f"duplicate id {ident!r}", "ids must be unique; rename one of them")
            continue
        seen.add(ident)
        out.append((where, item))
    return out


def _metrics(raw: object, name: str, problems: ProblemList) -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    for where, item in items_with_ids(raw, name, "metrics", problems):
        f = Fields(item, where, problems)
        f.unknown_keys({"id", "event_type", "aggregation", "field", "filters", "group_by", "name", "description",
                        "unit"})
        aggregation = f.text("aggregation") or "count"
        if aggregation not in AGGREGATIONS:
            problems.add(where, f"unknown aggregation {aggregation!r}", f"use one of {', '.join(AGGREGATIONS)}")
        field = f.text("field", required=aggregation != "count")
        filters = item.get("filters") or {}
        if not isinstance(filters, dict) or not all(isinstance(v, list) and v for v in filters.values()):
            problems.add(where, f"filters must map a column to a non-empty list of values, got {filters!r}",
                         "write `filters: {region: [us-east, eu-west]}`")
            filters = {}
        metrics[item["id"]] = Metric(
            id=item["id"], event_type=f.text("event_type") or "", aggregation=aggregation, field=field,
            filters=tuple((str(col), tuple(str(v) for v in values)) for col, values in filters.items()),
            group_by=f.string_list("group_by"), unit=f.text("unit", required=False))
    return metrics


def _plans(raw: object, name: str, metrics: dict[str, Metric], problems: ProblemList) -> dict[str, Plan]:
    plans: dict[str, Plan] = {}
    for where, item in items_with_ids(raw, name, "plans", problems):
        f = Fields(item, where, problems)
        f.unknown_keys({"id", "currency", "charges", "versions", "name", "description"})
        currency = (f.text("currency") or "").upper()
        digits = currency_digits(currency) if currency else None
        if currency and digits is None:
            problems.add(where, f"unknown currency {currency!r}", "use an ISO 4217 code such as USD, EUR or JPY")
        items = items_with_ids(item.get("charges"), where, "charges", problems)
        source = f"plan {item['id']}"
        charges = tuple(parse_charge(cwhere, citem, metrics, problems, source) for cwhere, citem in items)
        versions = plan_versions(item.get("versions"), where, item["id"], problems)
        plans[item["id"]] = Plan(item["id"], currency, digits if digits is not None else 2, charges,
                                 tuple(citem for _, citem in items), versions)
    return plans


def parse_charge(where: str, item: dict, metrics: dict[str, Metric], problems: ProblemList,
                 source: str = "") -> Charge:
    """One charge mapping, validated (problems named at `where`)."""
    f = Fields(item, where, problems)
    model_name = f.text("model") or "flat"
    try:
        module = rate.model(model_name)
    except KeyError as exc:
        problems.add(where, str(exc.args[0]))
        return Charge(item["id"], model_name, None, None, None, str(item.get("name") or ""), source)
    f.unknown_keys(rate.COMMON_KEYS | module.KEYS)
    metric_id = f.text("metric", required=module.USES_METRIC) if module.USES_METRIC else None
    if not module.USES_METRIC and "metric" in item:
        problems.add(where, f"a {model_name} charge takes no metric", "remove `metric`")
    if metric_id is not None and metric_id not in metrics:
        problems.add(where, f"unknown metric {metric_id!r}",
                     f"use one of: {', '.join(sorted(metrics)) or '(none defined)'}")
    elif metric_id is not None and model_name == "percentage" and metrics[metric_id].aggregation != "sum":
        problems.add(where, f"percentage charges need a `sum` metric; {metric_id!r} is "
                            f"{metrics[metric_id].aggregation}", "point `metric` at a sum of the transaction amount")
    min_amount = f.decimal("min_amount", required=False) if module.USES_METRIC else None
    if not module.USES_METRIC and "min_amount" in item:
        problems.add(where, "min_amount applies to usage charges only", "remove it from the flat charge")
    name = f.text("name", required=False) or ""
    return Charge(item["id"], model_name, metric_id, module.parse(f), min_amount, name, source)
