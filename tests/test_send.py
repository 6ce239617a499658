"""usagebill send against a real SMTP server on loopback (aiosmtpd): what arrives, once, and what does not.

The example workspace's October, issued: HC-1 initech (period_end 2026-10-25, no email), HC-2 acme, HC-3
globex (two addresses, wants UBL), HC-4 umbrella (numbered by period_end, then contract_id).
"""
from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import SCENARIOS
from loopback import COMPANY_EMAIL, SmtpHandler, attachments, free_port, mail_workspace, start_smtp
from pypdf import PdfReader

CLI = [str(Path(sys.executable).with_name("usagebill"))]
WINDOW = ("--from", "2026-10-01", "--to", "2026-12-01")


def usagebill(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


@pytest.fixture
def smtp():
    server = start_smtp()
    yield server
    server.stop()


@pytest.fixture
def issued(tmp_path):
    ws = mail_workspace(SCENARIOS / "example" / "ws", tmp_path / "ws")
    p = usagebill({}, "issue", ws, "--from", "2026-10-01", "--to", "2026-11-01")
    assert p.returncode == 0, p.stderr
    return ws


def sent_rows(ws: Path) -> list[tuple]:
    con = duckdb.connect(str(ws / "ledger.duckdb"), read_only=True)
    try:
        return con.execute("SELECT document_number, recipients, message_id, resend FROM sent_documents "
                           "ORDER BY sent_at, document_number").fetchall()
    finally:
        con.close()


def test_each_document_goes_to_its_customer_once_with_its_pdf(issued, smtp, tmp_path):
    env = {"USAGEBILL_SMTP_URL": smtp.url}
    p = usagebill(env, "send", issued, *WINDOW)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "send: 3 documents sent, 0 already sent, 1 without email, 0 not sent"
    assert ("warning: [no_email] HC-1: customer initech has no email in customers; not sent (add its billing "
            "address, then send again)") in p.stderr.splitlines()
    got = {r.message["Subject"]: r for r in smtp.handler.received}
    assert sorted(got) == ["Invoice HC-2 from Heldout Cloud GmbH", "Invoice HC-3 from Heldout Cloud GmbH",
                           "Invoice HC-4 from Heldout Cloud GmbH"]
    acme, globex = got["Invoice HC-2 from Heldout Cloud GmbH"], got["Invoice HC-3 from Heldout Cloud GmbH"]
    assert acme.mail_from == COMPANY_EMAIL and acme.rcpt_tos == ["ap@acme.example"]
    assert acme.message["From"] == f"Heldout Cloud GmbH <{COMPANY_EMAIL}>"
    assert globex.rcpt_tos == ["invoices@globex.example", "cfo@globex.example"]
    assert "Dear Customer acme," in acme.message.get_body(("plain",)).get_content()
    # the attachments are the documents `render` writes, byte for byte
    rendered = tmp_path / "pdf"
    assert usagebill({}, "render", issued, "--format", "pdf", *WINDOW, "--out", rendered).returncode == 0
    ubl = tmp_path / "ubl"
    assert usagebill({}, "render", issued, "--format", "ubl", "--invoice", "HC-3", "--out", ubl).returncode == 0
    assert attachments(acme.message) == {"HC-2.pdf": (rendered / "HC-2.pdf").read_bytes()}
    assert attachments(globex.message) == {"HC-3.pdf": (rendered / "HC-3.pdf").read_bytes(),
                                           "HC-3.xml": (ubl / "HC-3.xml").read_bytes()}
    assert "HC-2" in PdfReader(io.BytesIO(attachments(acme.message)["HC-2.pdf"])).pages[0].extract_text()
    # recorded with the Message-ID the server received
    rows = sent_rows(issued)
    assert sorted((r[0], r[2]) for r in rows) == sorted(
        (s[len("Invoice "):len("Invoice HC-2")], m.message["Message-ID"]) for s, m in got.items())
    assert all(r[3] is False for r in rows)

    again = usagebill(env, "send", issued, *WINDOW)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "send: 0 documents sent, 3 already sent, 1 without email, 0 not sent"
    assert len(smtp.handler.received) == 3

    resent = usagebill(env, "send", issued, "--invoice", "HC-2", "--resend")
    assert resent.returncode == 0, resent.stderr
    assert len(smtp.handler.received) == 4
    assert [r[0] for r in sent_rows(issued) if r[3]] == ["HC-2"]


def test_dry_run_sends_and_records_nothing(issued, smtp):
    p = usagebill({}, "send", issued, *WINDOW, "--dry-run")  # no USAGEBILL_SMTP_URL needed
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "send --dry-run: 3 documents would be sent, 0 already sent, 1 without email",
        "  HC-2 -> ap@acme.example: 'Invoice HC-2 from Heldout Cloud GmbH' (HC-2.pdf)",
        "  HC-3 -> invoices@globex.example, cfo@globex.example: 'Invoice HC-3 from Heldout Cloud GmbH' "
        "(HC-3.pdf, HC-3.xml)",
        "  HC-4 -> ap@umbrella.example: 'Invoice HC-4 from Heldout Cloud GmbH' (HC-4.pdf)"]
    assert smtp.handler.received == []
    assert sent_rows(issued) == []


def test_the_workspace_template_gives_subject_and_body(issued, smtp):
    (issued / "email_template.txt").write_text(
        "Subject: {{ company_name }}: {{ title | lower }} {{ number }} ({{ total }} {{ currency }})\n"
        "\n"
        "Hello {{ customer_name }},\n"
        "{{ number }} covers {{ period_start }} to {{ last_day }} and is due on {{ due_date }}.\n"
        "Attached: {{ attachments }}\n", encoding="utf-8")
    p = usagebill({"USAGEBILL_SMTP_URL": smtp.url}, "send", issued, "--invoice", "HC-2")
    assert p.returncode == 0, p.stderr
    (msg,) = [r.message for r in smtp.handler.received]
    # HC-2 is acme's October: 49.00 + 6.55 + 51.65 + 55.79 = 162.99 USD, no tax (expected.json); due 30 days after Nov 1
    assert msg["Subject"] == "Heldout Cloud GmbH: invoice HC-2 (162.99 USD)"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == (  # SMTP carries CRLF
        "Hello Customer acme,\nHC-2 covers 2026-10-01 to 2026-10-31 and is due on 2026-12-01.\nAttached: HC-2.pdf\n")


def test_a_template_with_an_unknown_variable_stops_before_anything_is_sent(issued, smtp):
    (issued / "email_template.txt").write_text("Subject: Invoice {{ number }}\n\nDear {{ customer }},\n",
                                               encoding="utf-8")
    p = usagebill({"USAGEBILL_SMTP_URL": smtp.url}, "send", issued, *WINDOW)
    assert p.returncode == 1
    assert p.stderr.startswith("error: email_template.txt line 3: 'customer' is undefined; the variables are: number,")
    assert smtp.handler.received == [] and sent_rows(issued) == []


def test_a_refused_recipient_fails_only_its_document(issued, smtp):
    smtp.handler.refuse_recipients = {"ap@acme.example"}
    env = {"USAGEBILL_SMTP_URL": smtp.url}
    p = usagebill(env, "send", issued, *WINDOW)
    assert p.returncode == 1
    assert p.stdout.splitlines()[0] == "send: 2 documents sent, 0 already sent, 1 without email, 1 not sent"
    assert ("not sent: HC-2: recipients refused (ap@acme.example: 550 5.1.1 mailbox unavailable)"
            in p.stderr.splitlines())
    assert sorted(r[0] for r in sent_rows(issued)) == ["HC-3", "HC-4"]
    smtp.handler.refuse_recipients = set()
    again = usagebill(env, "send", issued, *WINDOW)
    assert again.returncode == 0, again.stderr
    assert sorted(r[0] for r in sent_rows(issued)) == ["HC-2", "HC-3", "HC-4"]
    assert [r.rcpt_tos for r in smtp.handler.received].count(["ap@acme.example"]) == 1


def test_a_server_that_refuses_mid_batch_leaves_the_rest_unsent(issued):
    handler = SmtpHandler(refuse_from=2)  # the first message is accepted, then 451 for every DATA
    server = start_smtp(handler)
    try:
        env = {"USAGEBILL_SMTP_URL": server.url}
        p = usagebill(env, "send", issued, *WINDOW)
        assert p.returncode == 1
        assert p.stdout.splitlines()[0] == "send: 1 document sent, 0 already sent, 1 without email, 2 not sent"
        assert "not sent: HC-3: 451 4.3.0 try again later" in p.stderr.splitlines()
        assert "not sent: HC-4 (not tried after the failure)" in p.stderr.splitlines()
        assert p.stderr.splitlines()[-1] == (
            f"error: smtp://127.0.0.1:{server.port}: the server failed while sending HC-3 (451 4.3.0 try again "
            "later); the documents not sent are sent by the next run")
        assert [r[0] for r in sent_rows(issued)] == ["HC-2"]  # only what the server accepted
        handler.refuse_from = None
        again = usagebill(env, "send", issued, *WINDOW)
        assert again.returncode == 0, again.stderr
        assert sorted(r[0] for r in sent_rows(issued)) == ["HC-2", "HC-3", "HC-4"]
        assert len(handler.received) == 3
    finally:
        server.stop()


def test_no_server_no_url_or_no_company_email_is_one_line_and_sends_nothing(issued):
    unset = usagebill({"USAGEBILL_SMTP_URL": ""}, "send", issued, *WINDOW)
    assert unset.returncode == 1 and unset.stderr.startswith("error: USAGEBILL_SMTP_URL is not set;")
    secret = "s3cr3t-pa55"
    bad = usagebill({"USAGEBILL_SMTP_URL": f"smtp://user:{secret}@127.0.0.1:25"}, "send", issued, *WINDOW)
    assert bad.returncode == 1 and "smtp:// sends without TLS" in bad.stderr and secret not in bad.stderr
    port = free_port()  # nothing listens there
    down = usagebill({"USAGEBILL_SMTP_URL": f"smtp://127.0.0.1:{port}"}, "send", issued, *WINDOW)
    assert down.returncode == 1
    assert f"error: smtp://127.0.0.1:{port}: cannot open an SMTP session (" in down.stderr
    assert sent_rows(issued) == []
    book = issued / "pricebook.yaml"
    book.write_text(book.read_text().replace(f"  email: {COMPANY_EMAIL}\n", ""))
    nofrom = usagebill({"USAGEBILL_SMTP_URL": f"smtp://127.0.0.1:{port}"}, "send", issued, *WINDOW)
    assert nofrom.returncode == 1 and nofrom.stderr.startswith("error: pricebook.yaml: company: email is not set")


def _tls_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it through SSL_CERT_FILE)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_starttls_with_login(issued, tmp_path):
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = _tls_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"mailer" and auth_data.password == b"p@ss:word", handled=False)

    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        env = {"USAGEBILL_SMTP_URL": f"smtp+starttls://mailer:p%40ss%3Aword@127.0.0.1:{port}",
               "SSL_CERT_FILE": str(cert)}
        p = usagebill(env, "send", issued, "--invoice", "HC-4")
        assert p.returncode == 0, p.stderr
        assert [r.rcpt_tos for r in handler.received] == [["ap@umbrella.example"]]
        assert logins == [(b"mailer", b"p@ss:word")]
        wrong = usagebill({**env, "USAGEBILL_SMTP_URL": f"smtp+starttls://mailer:nope@127.0.0.1:{port}"},
                          "send", issued, "--invoice", "HC-2")
        assert wrong.returncode == 1
        assert (f"error: smtp+starttls://127.0.0.1:{port}: authentication failed (535); check the user and "
                "password in USAGEBILL_SMTP_URL") in wrong.stderr
        assert "nope" not in wrong.stdout + wrong.stderr
    finally:
        controller.stop()
