"""SMTP by URL (`LOGISTICS_SMTP_URL`): STARTTLS and a login against a real server, the sender
address, refusals of a bad URL; and `logistics worker --once` sending with the configuration from
the environment."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from logistics.adapters.mailer import SmtpSettings, SmtpUrlError
from logistics.domain.errors import InvalidValue
from logistics.entrypoints.cli import cli
from logistics.adapters.notifying import Config
from tests.api.conftest import free_port
from tests.helpers import STORES
from tests.notifications.conftest import EMAILS, Facility, Inbox


def test_the_url_names_server_login_tls_and_sender() -> None:
    s = SmtpSettings.from_url("smtp://mailer%40fac:p%40ss:w@mail.facility.example:2525?starttls=true"
                              "&from=logistics@facility.example&timeout=5")
    assert (s.host, s.port, s.username, s.password) == ("mail.facility.example", 2525, "mailer@fac", "p@ss:w")
    assert s.starttls and not s.implicit_tls and s.sender == "logistics@facility.example" and s.timeout == 5
    assert "p@ss" not in s.describe()
    assert SmtpSettings.from_url("smtp://relay.example").port == 25
    assert SmtpSettings.from_url("smtp://relay.example?starttls=yes").port == 587
    tls = SmtpSettings.from_url("smtps://relay.example")
    assert tls.port == 465 and tls.implicit_tls and tls.sender == "logistics@relay.example"


@pytest.mark.parametrize("url, complaint", [
    ("http://mail.example", "expected smtp://"),
    ("smtp://", "names no host"),
    ("smtp://mail.example?colour=blue", "'colour' is not known"),
    ("smtp://mail.example?from=nobody", "not valid: expected name@domain"),
    ("smtps://mail.example?starttls=true", "TLS from the start"),
    ("smtp://u:secret@mail.example:notaport", "is not valid"),
])
def test_a_bad_url_is_refused_with_the_reason(url: str, complaint: str) -> None:
    with pytest.raises(SmtpUrlError, match=complaint) as refused:
        SmtpSettings.from_url(url)
    assert "secret" not in str(refused.value)


def test_the_configuration_comes_from_the_environment() -> None:
    config = Config.from_environment({"LOGISTICS_SMTP_URL": "smtp://relay.example", "LOGISTICS_STALE_DAYS": "7",
                                      "LOGISTICS_BASE_URL": "https://logistics.example/", "LOGISTICS_OUTBOX_LEASE": "5"})
    assert (config.smtp_url, config.stale_days, config.base_url, config.lease_seconds) == (
        "smtp://relay.example", 7, "https://logistics.example", 5.0)
    default = Config.from_environment({})
    assert (default.smtp_url, default.stale_days, default.base_url) == (None, 14, "http://127.0.0.1:8000")
    with pytest.raises(InvalidValue, match="LOGISTICS_STALE_DAYS='soon' is not a number"):
        Config.from_environment({"LOGISTICS_STALE_DAYS": "soon"})
    with pytest.raises(InvalidValue, match="is not a time zone"):
        Config.from_environment({"LOGISTICS_DIGEST_TIMEZONE": "Mars/Olympus"})


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class Login:
    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.login == b"mailer" and auth_data.password == b"s3cret:pw", handled=False)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Inbox, Login, int, Path]]:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, login, port = Inbox(), Login(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=login, auth_required=True)
    controller.start()
    try:
        yield inbox, login, port, cert
    finally:
        controller.stop()


def test_starttls_and_a_login(facility: Facility, tls_server: tuple[Inbox, Login, int, Path]) -> None:
    inbox, login, port, cert = tls_server
    facility.notifications.configure(smtp_url=f"smtp://mailer:s3cret%3Apw@127.0.0.1:{port}?starttls=true"
                                              f"&from=stores@facility.example&cafile={cert}")
    facility.app.record_unexpected_arrival("UNKNOWN-9", "loc-goods-in", "", STORES)
    facility.work()
    assert login.logins == [("mailer", "s3cret:pw")]
    assert [(r.to, r.mail_from) for r in inbox.received] == [(EMAILS["sam"], "stores@facility.example")]


def test_a_wrong_password_is_a_failure_to_retry(facility: Facility, tls_server: tuple[Inbox, Login, int, Path]) -> None:
    inbox, _login, port, cert = tls_server
    facility.notifications.configure(smtp_url=f"smtp://mailer:wrong@127.0.0.1:{port}?starttls=true&cafile={cert}")
    facility.app.record_unexpected_arrival("UNKNOWN-10", "loc-goods-in", "", STORES)
    facility.work()
    (row,) = facility.notifications.store.rows(status="retrying")
    assert "refused the login" in row["last_error"] and "wrong" not in row["last_error"]
    assert inbox.received == []


def test_an_untrusted_certificate_is_refused(facility: Facility, tls_server: tuple[Inbox, Login, int, Path]) -> None:
    _inbox, _login, port, _cert = tls_server
    facility.notifications.configure(smtp_url=f"smtp://mailer:s3cret%3Apw@127.0.0.1:{port}?starttls=true")
    facility.app.record_unexpected_arrival("UNKNOWN-11", "loc-goods-in", "", STORES)
    facility.work()
    (row,) = facility.notifications.store.rows(status="retrying")
    assert "CERTIFICATE_VERIFY_FAILED" in row["last_error"]


def test_the_worker_sends_with_the_url_from_the_environment(facility: Facility) -> None:
    facility.app.record_unexpected_arrival("UNKNOWN-12", "loc-goods-in", "", STORES)
    url = facility.system.database.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--database", url, "worker", "--once"],
                                env={"LOGISTICS_SMTP_URL": facility.smtp.url})
    assert result.exit_code == 0, result.output
    assert [r.to for r in facility.inbox.received] == [EMAILS["sam"]]
    listed = CliRunner().invoke(cli, ["--database", url, "outbox"])
    assert "sent: 1" in listed.output and "unexpected-arrival" in listed.output


def test_without_an_smtp_url_messages_wait(facility: Facility) -> None:
    facility.notifications.configure(smtp_url=None)
    facility.app.record_unexpected_arrival("UNKNOWN-13", "loc-goods-in", "", STORES)
    facility.work()
    assert [r["status"] for r in facility.notifications.store.rows()] == ["pending"]
    url = facility.system.database.url.render_as_string(hide_password=False)
    listed = CliRunner().invoke(cli, ["--database", url, "outbox"], env={"LOGISTICS_SMTP_URL": ""})
    assert "nothing is sent; messages wait" in listed.output
