"""Sending e-mail over SMTP (smtplib), configured by one URL.

`LOGISTICS_SMTP_URL`, for example::

    smtp://user:pass@mail.facility.example:587?starttls=true&from=logistics@facility.example
    smtps://user:pass@mail.facility.example?from=logistics@facility.example      (TLS from the start, port 465)
    smtp://127.0.0.1:1025                                                         (a local relay, no login)

Query parameters: `starttls` (true/false), `from` (the sender address; default
`logistics@` and the server's host), `timeout` (seconds, default 30), `cafile` (a CA bundle to
trust, e.g. a facility's own CA), `helo` (the name to greet with). The user name and password
may be percent-encoded.

A refusal with a 5xx code is permanent (`PermanentFailure`); everything else that goes wrong
(a 4xx code, a dropped connection, a timeout) is temporary (`TemporaryFailure`) and worth
another try later.
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import parse_qs, unquote, urlsplit

SMTP_URL_VAR = "LOGISTICS_SMTP_URL"
_TRUE = ("1", "true", "yes", "on")


class SmtpUrlError(ValueError):
    pass


class TemporaryFailure(Exception):
    """Worth trying again later."""


class PermanentFailure(Exception):
    """The server refused the message for good."""


class Unreachable(TemporaryFailure):
    """No session with the server at all (refused, timed out, TLS or login failed): the rest of a batch
    would fail the same way."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    implicit_tls: bool = False
    sender: str = "logistics@localhost"
    timeout: float = 30.0
    cafile: str | None = None
    helo: str | None = None

    @classmethod
    def from_url(cls, url: str) -> "SmtpSettings":
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise SmtpUrlError(f"SMTP URL {_hide(url)!r} is not valid: expected smtp://[user:pass@]host[:port]"
                               f"[?starttls=true&from=address] or smtps://...")
        if not parts.hostname:
            raise SmtpUrlError(f"SMTP URL {_hide(url)!r} names no host")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"starttls", "from", "timeout", "cafile", "helo"}
        if unknown:
            raise SmtpUrlError(f"SMTP URL parameter {sorted(unknown)[0]!r} is not known: expected starttls, from, "
                               f"timeout, cafile or helo")
        implicit = parts.scheme == "smtps"
        starttls = query.get("starttls", "false").lower() in _TRUE
        if implicit and starttls:
            raise SmtpUrlError("an smtps:// URL is TLS from the start: starttls=true makes no sense with it")
        sender = query.get("from") or f"logistics@{parts.hostname}"
        if "@" not in sender:
            raise SmtpUrlError(f"sender address {sender!r} is not valid: expected name@domain")
        try:
            port = parts.port or (465 if implicit else 587 if starttls else 25)
            timeout = float(query.get("timeout", 30))
        except ValueError as e:
            raise SmtpUrlError(f"SMTP URL {_hide(url)!r} is not valid: {e}") from None
        return cls(host=parts.hostname, port=port, username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None, starttls=starttls,
                   implicit_tls=implicit, sender=sender, timeout=timeout, cafile=query.get("cafile"),
                   helo=query.get("helo"))

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2]

    def describe(self) -> str:
        login = f"{self.username}@" if self.username else ""
        tls = " (TLS)" if self.implicit_tls else " (STARTTLS)" if self.starttls else ""
        return f"smtp://{login}{self.host}:{self.port}{tls} from {self.sender}"


def _hide(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


# Headers are not folded below the RFC 5322 limit (a folded Message-ID trips some systems); anything
# beyond 7-bit ASCII is encoded, so no server needs 8BITMIME.
POLICY = email.policy.default.clone(max_line_length=998, cte_type="7bit")


def build_message(settings: SmtpSettings, *, to: str, name: str | None, subject: str, text: str, html: str,
                  message_id: str, when: datetime, kind: str) -> EmailMessage:
    """Plain text with an HTML alternative; the Message-ID is the outbox row's dedupe key."""
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = formataddr(("Sample logistics", settings.sender))
    message["To"] = Address(display_name=name or "", addr_spec=to)
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{message_id}@{settings.domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message["X-Logistics-Kind"] = kind
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


class Connection:
    """One SMTP connection, opened on the first message and again after it drops."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.implicit_tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, local_hostname=s.helo, timeout=s.timeout,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.helo, timeout=s.timeout)
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as e:
            raise Unreachable(f"the SMTP server refused the login: {e.smtp_code} {_text(e.smtp_error)}") from None
        except smtplib.SMTPResponseException as e:
            raise Unreachable(f"the SMTP server said {e.smtp_code} {_text(e.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as e:
            raise Unreachable(f"cannot talk to the SMTP server {s.host}:{s.port}: {e}") from None
        return smtp

    def send(self, message: EmailMessage, to: str) -> None:
        """Returns when the server accepted the message (its 250 after DATA)."""
        if self._smtp is None:
            self._smtp = self._open()
        try:
            refused = self._smtp.send_message(message, from_addr=self.settings.sender, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as e:
            code, reply = next(iter(e.recipients.values()))
            self._reset()
            raise (PermanentFailure if 500 <= code < 600 else TemporaryFailure)(
                f"the SMTP server refused the recipient: {code} {_text(reply)}") from None
        except smtplib.SMTPResponseException as e:
            self._reset()
            raise (PermanentFailure if 500 <= e.smtp_code < 600 else TemporaryFailure)(
                f"the SMTP server said {e.smtp_code} {_text(e.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as e:
            self._drop()
            raise TemporaryFailure(f"sending to the SMTP server failed: {e.__class__.__name__}: {e}") from None
        if refused:
            code, reply = next(iter(refused.values()))
            raise (PermanentFailure if 500 <= code < 600 else TemporaryFailure)(
                f"the SMTP server refused the recipient: {code} {_text(reply)}")

    def _reset(self) -> None:
        """After a refusal the connection stays usable, once the transaction is reset."""
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            finally:
                self._drop()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
