"""send: email each issued document to its customer's billing address, once (`usagebill send`, the `send` task).

- The SMTP server is USAGEBILL_SMTP_URL: `smtp://host:port` (no TLS), `smtp+starttls://user:pass@host:port`
  (STARTTLS, then AUTH) or `smtps://user:pass@host:port` (TLS from the first byte). The password is never
  printed, logged or recorded.
- From: pricebook.yaml `company.email` (with the company's name); To: the customer's `email` (several
  addresses separated by `;` or `,`). Subject and body: WORKSPACE/email_template.txt (a `Subject:` line, a
  blank line, the body; Jinja2, sandboxed, every variable must exist) or the default one.
- Attachments: the document's PDF, and its EN 16931 UBL file when the customer's `send_ubl` is true (a
  3-decimal currency has no UBL: the PDF goes alone, and the run says so).
- Once: every message the server accepted is recorded in the ledger (sent_documents, with its Message-ID)
  right away, in its own transaction, so a rerun sends nothing new; `--resend` sends again on purpose.
- Failures: a customer without email is reported (its documents stay unsent until it has one); a refused
  recipient fails that document only; any other SMTP failure (connection, authentication, a server that
  refuses mid-batch) stops the run there, and every document not accepted stays unsent and is reported. A
  document is never recorded as sent unless the server accepted it. (A process killed between the
  server's acceptance and the recording sends that one message again next time: at least once, never none.)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import smtplib
import ssl
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..config.workspace import Workspace, load_workspace
from ..core.db import sql
from ..core.errors import BillingError, ConfigError
from ..ledger.store import Ledger, ledger_path, open_ledger, run, transaction
from .documents.model import Document, load_documents
from .documents.names import file_names

SMTP_VARIABLE = "USAGEBILL_SMTP_URL"
TEMPLATE_FILE = "email_template.txt"
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT = 60.0  # seconds per SMTP operation

DEFAULT_TEMPLATE = """Subject: {{ title }} {{ number }} from {{ company_name }}

Dear {{ customer_name }},

please find attached {{ title | lower }} {{ number }} of {{ issue_date }} for {{ total }} {{ currency }}.
{%- if due_date %}
It is due on {{ due_date }}.
{%- endif %}

Kind regards,
{{ company_name }}
"""
# what a template may use (each is text); a document's values fill them
VARIABLES = ("number", "title", "document_type", "kind", "customer_id", "customer_name", "company_name",
             "company_email", "issue_date", "due_date", "period_start", "period_end", "last_day", "currency",
             "subtotal", "tax_total", "total", "reference", "attachments")


# -- the SMTP server -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Smtp:
    scheme: str
    host: str
    port: int
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """For messages: scheme, host and port, never the credentials."""
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_smtp_url(text: str) -> Smtp:
    """smtp://host:port, smtp+starttls://user:pass@host:port or smtps://user:pass@host:port (user and
    password percent-encoded). The error never repeats the URL (it may hold a password)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in SCHEMES or not parts.hostname:
        raise BillingError(f"{SMTP_VARIABLE}: not an SMTP URL; write smtp://HOST:PORT, "
                           "smtp+starttls://USER:PASSWORD@HOST:PORT or smtps://USER:PASSWORD@HOST:PORT")
    if parts.path not in ("", "/") or parts.query:
        raise BillingError(f"{SMTP_VARIABLE}: an SMTP URL has no path or query; write {parts.scheme}://HOST:PORT")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if user and parts.scheme == "smtp":
        raise BillingError(f"{SMTP_VARIABLE}: smtp:// sends without TLS, so it takes no user and password (they "
                           "would cross the network in clear); use smtp+starttls:// or smtps://")
    return Smtp(parts.scheme, parts.hostname, port or SCHEMES[parts.scheme], user, password)


def smtp_from_env() -> Smtp:
    text = os.environ.get(SMTP_VARIABLE)
    if not text:
        raise BillingError(f"{SMTP_VARIABLE} is not set; set it to the SMTP server, e.g. "
                           "smtp+starttls://USER:PASSWORD@smtp.example.com:587 (docs/production.md), or pass --dry-run")
    return parse_smtp_url(text)


def connect(target: Smtp) -> smtplib.SMTP:
    """A connected, authenticated session (TLS certificates checked against the system's CAs, or
    SSL_CERT_FILE)."""
    context = ssl.create_default_context()
    try:
        if target.scheme == "smtps":
            session: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=TIMEOUT, context=context)
        else:
            session = smtplib.SMTP(target.host, target.port, timeout=TIMEOUT)
        session.ehlo()
        if target.scheme == "smtp+starttls":
            session.starttls(context=context)
            session.ehlo()
        if target.user:
            session.login(target.user, target.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise SmtpFailure(f"{target.describe()}: authentication failed ({exc.smtp_code}); check the user and "
                          f"password in {SMTP_VARIABLE}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpFailure(f"{target.describe()}: cannot open an SMTP session ({_reason(exc)}); check "
                          f"{SMTP_VARIABLE} and that the server is up") from None
    return session


class SmtpFailure(BillingError):
    """The SMTP server cannot be used (connection, TLS, authentication, or it refused mid-batch)."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}".strip()
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# -- the template -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    subject: object  # jinja2.Template
    body: object
    source: str  # the file it came from, for messages

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        subject = " ".join(self.subject.render(values).split())  # one header line
        return subject, self.body.render(values).rstrip() + "\n"


def load_template(root: Path) -> Template:
    """WORKSPACE/email_template.txt, or the default: a `Subject:` line, a blank line, the body."""
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    path = Path(root) / TEMPLATE_FILE
    text = path.read_text(encoding="utf-8-sig") if path.exists() else DEFAULT_TEMPLATE
    where = TEMPLATE_FILE if path.exists() else "the default email template"
    head, sep, body = text.partition("\n")
    if not head.lower().startswith("subject:") or not sep:
        raise ConfigError([f"{where} line 1: must be `Subject: ...`, then a blank line, then the body"])
    if body.startswith("\r\n"):
        body = body[2:]
    elif body.startswith("\n"):
        body = body[1:]
    else:
        raise ConfigError([f"{where} line 2: must be empty (it separates the subject from the body)"])
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    parts = []
    for text_, first_line in ((head[len("subject:"):].strip(), 1), (body, 3)):
        try:
            part = env.from_string(text_)
            part.render(dict.fromkeys(VARIABLES, "x"))  # an unknown variable is an error now, not at 2 a.m.
        except TemplateError as exc:
            line = first_line + (getattr(exc, "lineno", None) or 1) - 1
            raise ConfigError([f"{where} line {line}: {exc}; the variables are: {', '.join(VARIABLES)}"]) from None
        parts.append(part)
    template = Template(parts[0], parts[1], where)
    return template


def values(doc: Document, attachments: list[str]) -> dict[str, str]:
    title = "Credit note" if doc.is_credit_note else "Invoice"
    return {"number": doc.number, "title": title, "document_type": doc.document_type, "kind": doc.kind,
            "customer_id": doc.customer_id, "customer_name": doc.buyer.name, "company_name": doc.seller.name,
            "company_email": doc.seller.email or "", "issue_date": doc.issue_date.isoformat(),
            "due_date": doc.due_date.isoformat() if doc.due_date else "",
            "period_start": doc.period_start.isoformat(), "period_end": doc.period_end.isoformat(),
            "last_day": doc.last_day.isoformat(), "currency": doc.currency, "subtotal": doc.money(doc.subtotal),
            "tax_total": doc.money(doc.tax_total), "total": doc.money(doc.total), "reference": doc.reference or "",
            "attachments": ", ".join(attachments)}


# -- messages ---------------------------------------------------------------------------------------------------

_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")


def recipients(email: str | None) -> list[str]:
    """The addresses of a customer's `email` cell (separated by ; or ,); [] when none is usable."""
    found = [a.strip() for a in re.split(r"[;,]", email or "") if a.strip()]
    return found if found and all(_ADDRESS.fullmatch(a) for a in found) else []


@dataclass
class Message:
    number: str
    customer_id: str
    to: list[str]
    subject: str
    attachments: list[tuple[str, bytes, str]]  # name, bytes, MIME type
    notes: list[str] = field(default_factory=list)  # e.g. why the UBL file is not attached

    def email(self, sender: str, template_body: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = ", ".join(self.to)
        msg["Subject"] = self.subject
        msg["Date"] = formatdate(usegmt=True)
        domain = sender.rsplit("@", 1)[-1].strip(">") or None
        msg["Message-ID"] = make_msgid(idstring=re.sub(r"[^A-Za-z0-9.-]", "_", self.number), domain=domain)
        msg.set_content(template_body)
        for name, blob, mime in self.attachments:
            maintype, subtype = mime.split("/")
            msg.add_attachment(blob, maintype=maintype, subtype=subtype, filename=name)
        return msg


def attachments_of(doc: Document, ws: Workspace) -> tuple[list[tuple[str, bytes, str]], list[str]]:
    """The PDF, and the UBL file when the customer wants one; notes on what is left out and why."""
    from .documents.pdf import render_pdf

    stem = file_names([doc.number], "")[0]
    files = [(f"{stem}.pdf", render_pdf(doc, ws), "application/pdf")]
    notes = []
    customer = ws.customers.get(doc.customer_id)
    if customer is not None and customer.send_ubl:
        from .documents.render import UBL_MAX_DIGITS, _set_workspace, _ubl

        if doc.digits > UBL_MAX_DIGITS:
            notes.append(f"{doc.number}: no UBL attached: EN 16931 allows {UBL_MAX_DIGITS} decimals and "
                         f"{doc.currency} has {doc.digits}; the PDF is the invoice")
        else:
            _set_workspace(ws)
            files.append((f"{stem}.xml", _ubl(doc), "application/xml"))
    return files, notes


# -- the send loop ----------------------------------------------------------------------------------------------

@dataclass
class Sent:
    number: str
    to: list[str]
    message_id: str
    attachments: list[str]


@dataclass
class SendResult:
    sent: list[Sent] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # sent before (not again without --resend)
    no_email: list[tuple[str, str]] = field(default_factory=list)  # (number, customer_id)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (number, reason): not sent
    unsent: list[str] = field(default_factory=list)  # not tried after the server failed: not sent
    planned: list[Message] = field(default_factory=list)  # --dry-run: what would be sent
    notes: list[str] = field(default_factory=list)
    failure: str | None = None  # why the run stopped early

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unsent and self.failure is None

    def summary(self) -> dict:
        return {"sent": [s.number for s in self.sent], "already_sent": self.already,
                "no_email": [{"number": n, "customer_id": c} for n, c in self.no_email],
                "failed": [{"number": n, "reason": r} for n, r in self.failed], "unsent": self.unsent,
                "failure": self.failure}


def sender_of(ws: Workspace) -> str:
    email = dict(ws.pricebook.company.extra).get("email")
    if not email or not recipients(email):
        raise ConfigError(["pricebook.yaml: company: email is not set (or not an address); add `email: "
                           "billing@your-company.example` under company: it is the From address of sent documents"])
    return formataddr((ws.pricebook.company.name, email.strip()))


def send_documents(workspace: Path, *, first: dt.date | None = None, stop: dt.date | None = None,
                   numbers: tuple[str, ...] = (), resend: bool = False, dry_run: bool = False,
                   ledger: Path | None = None, wait: float = 600) -> SendResult:
    """Email every issued document of the window (or the numbered ones) not sent yet; see the module doc."""
    ws = load_workspace(workspace)
    sender = sender_of(ws)
    template = load_template(ws.root)
    target = None if dry_run else smtp_from_env()
    path = ledger_path(workspace, ledger)
    result = SendResult()
    if not path.exists():
        if numbers:
            raise BillingError(f"{path}: no ledger yet, so no document numbered {', '.join(numbers)}")
        return result
    with open_ledger(path, write=not dry_run, wait=wait) as led:
        docs = load_documents(led, ws, first=first, stop=stop, numbers=numbers)
        done = set(led.fetch("sent_numbers").column("number").to_pylist()) if _has_sent(led) else set()
        todo = []
        for doc in docs:
            if doc.number in done and not resend:
                result.already.append(doc.number)
            elif not recipients(doc.buyer.email):
                result.no_email.append((doc.number, doc.customer_id))
            else:
                todo.append(doc)
        messages = []
        for doc in todo:
            files, notes = attachments_of(doc, ws)
            result.notes += notes
            subject, body = template.render(values(doc, [f[0] for f in files]))
            messages.append((Message(doc.number, doc.customer_id, recipients(doc.buyer.email), subject, files, notes),
                             body))
        if dry_run:
            result.planned = [m for m, _ in messages]
            return result
        if messages:
            _deliver(led, target, sender, messages, resend, result)
    return result


def _has_sent(led: Ledger) -> bool:
    return bool(run(led.con, sql("ledger/has_sent_documents")))


def _deliver(led: Ledger, target: Smtp, sender: str, messages: list[tuple[Message, str]], resend: bool,
             result: SendResult) -> None:
    """Send each message in turn, recording each one the server accepted; stop at a server failure."""
    try:
        session = connect(target)
    except SmtpFailure as exc:
        result.failure = str(exc)
        result.unsent = [m.number for m, _ in messages]
        return
    try:
        for i, (message, body) in enumerate(messages):
            email = message.email(sender, body)
            try:
                refused = session.send_message(email)
            except smtplib.SMTPRecipientsRefused as exc:
                reasons = "; ".join(f"{a}: {_reason_of(r)}" for a, r in exc.recipients.items())
                result.failed.append((message.number, f"recipients refused ({reasons})"))
                _reset(session)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                result.failed.append((message.number, _reason(exc)))
                result.unsent = [m.number for m, _ in messages[i + 1:]]
                result.failure = (f"{target.describe()}: the server failed while sending {message.number} "
                                  f"({_reason(exc)}); the documents not sent are sent by the next run")
                return
            accepted = [a for a in message.to if a not in refused]
            if refused:
                result.notes.append(f"{message.number}: refused by the server for "
                                    + "; ".join(f"{a}: {_reason_of(r)}" for a, r in refused.items()))
            files = [{"name": n, "sha256": hashlib.sha256(b).hexdigest()} for n, b, _ in message.attachments]
            record_sent(led, email["Message-ID"], message.number, accepted, files, resend)
            result.sent.append(Sent(message.number, accepted, email["Message-ID"], [f["name"] for f in files]))
    finally:
        try:
            session.quit()
        except (OSError, smtplib.SMTPException):
            session.close()


def _reason_of(response: tuple) -> str:
    code, text = response
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"


def _reset(session: smtplib.SMTP) -> None:
    with suppress(OSError, smtplib.SMTPException):
        session.rset()


def record_sent(led: Ledger, message_id: str, number: str, to: list[str], files: list[dict], resend: bool) -> None:
    """One accepted message, in its own transaction (the caller holds the exclusive lock)."""
    with transaction(led.con, []):
        run(led.con, sql("ledger/record_sent"), {"message_id": message_id, "number": number,
                                                 "recipients": ", ".join(to), "attachments": json.dumps(files),
                                                 "at": dt.datetime.now(dt.UTC), "resend": resend})
