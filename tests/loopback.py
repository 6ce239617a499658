"""Real servers on 127.0.0.1 for the tests: an S3 API (moto's server mode) and an SMTP server (aiosmtpd).

Each listens on a free port of the loopback interface only; nothing here reaches another address
(botocore's instance-metadata lookup is turned off, and no shared AWS configuration is read).
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- S3 ------------------------------------------------------------------------------------------------------

ACCESS_KEY = "AKIAUSAGEBILLTEST01"
SECRET_KEY = "usagebill-test-secret-never-printed-7f3a"


@dataclass
class S3Server:
    endpoint: str
    server: object

    def env(self, tmp: Path, **extra: str) -> dict[str, str]:
        """The standard variables pointing at this server, and nothing of the machine's AWS setup."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "eu-west-1",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"), **extra}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="eu-west-1")

    def upload_folder(self, folder: Path, bucket: str, prefix: str) -> dict[str, bytes]:
        """Every file under folder as bucket/prefix/REL; returns REL -> bytes."""
        s3 = self.client()
        out = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            s3.put_object(Bucket=bucket, Key=prefix + rel, Body=path.read_bytes())
            out[rel] = path.read_bytes()
        return out

    def require_signatures(self, on: bool) -> None:
        """moto checks each request's access key and signature against its IAM users from now on (or not)."""
        requests.post(f"{self.endpoint}/moto-api/reset-auth", data=b"0" if on else b"1000000000", timeout=30)


def start_s3() -> S3Server:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return S3Server(f"http://127.0.0.1:{port}", server)


# -- SMTP ----------------------------------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpHandler:
    """Keeps every message; `refuse_from` (the n-th DATA, 1-based, and every one after it) answers 451."""

    received: list[Received] = field(default_factory=list)
    refuse_from: int | None = None
    refuse_recipients: set[str] = field(default_factory=set)
    data_commands: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_commands += 1
            if self.refuse_from is not None and self.data_commands >= self.refuse_from:
                return "451 4.3.0 try again later"
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: SmtpHandler
    controller: object

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def stop(self) -> None:
        self.controller.stop()


def start_smtp(handler: SmtpHandler | None = None) -> SmtpServer:
    from aiosmtpd.controller import Controller

    handler = handler or SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return SmtpServer("127.0.0.1", port, handler, controller)


# -- a workspace whose documents can be mailed -------------------------------------------------------------------

COMPANY_EMAIL = "billing@heldout.example"
EMAILS = {"acme": "ap@acme.example", "globex": "invoices@globex.example; cfo@globex.example",
          "initech": "", "umbrella": "ap@umbrella.example"}


def mail_workspace(source: Path, target: Path, emails: dict[str, str] | None = None,
                   send_ubl: tuple[str, ...] = ("globex",)) -> Path:
    """A copy of `source` (the example workspace) with the company's email, the customers' emails (an
    empty one: no email) and send_ubl for some of them."""
    import csv
    import shutil

    emails = EMAILS if emails is None else emails
    shutil.copytree(source, target)
    book = target / "pricebook.yaml"
    book.write_text(book.read_text().replace("  invoice_prefix: HC", f"  invoice_prefix: HC\n  email: {COMPANY_EMAIL}"))
    path = target / "customers.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["email"] = emails.get(r["customer_id"], "")
        r["send_ubl"] = "true" if r["customer_id"] in send_ubl else ""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return target


def attachments(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}
