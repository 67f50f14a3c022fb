"""A real SMTP server (aiosmtpd) on a free loopback port, and a small facility around the `system`
fixture (SQLite and PostgreSQL): two proposals with members and lab contacts, stores and beamline
staff with persons, a scanner station and an admin."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any, Callable, Iterator

import pytest
from aiosmtpd.controller import Controller

from logistics.api.export import operations
from logistics.bootstrap import System
from tests.api.conftest import free_port
from tests.helpers import ADMIN, USER

SENDER = "logistics@facility.example"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def kind(self) -> str:
        return str(self.message["X-Logistics-Kind"])

    @property
    def to(self) -> str:
        assert len(self.rcpt_tos) == 1, self.rcpt_tos
        return self.rcpt_tos[0]

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return body.get_content()


class Inbox:
    """The aiosmtpd handler: keeps what it accepted. `delay` makes the server slow to accept (the
    message counts only once the server replied 250); `reply` makes it refuse, e.g. `451 ...`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.started = 0  # DATA commands begun (accepted or not)
        self.delay = 0.0
        self.reply: str | None = None
        self.on_data: Callable[[int], bool] | None = None  # called with `started`; False: do not accept it
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.started += 1
            started = self.started
        accept = self.on_data(started) if self.on_data else True
        if self.delay:
            await asyncio.sleep(self.delay)  # cancelled if the client goes away: then nothing was accepted
        if not accept:
            return "421 4.3.0 The client went away before the message was accepted"
        if self.reply:
            return self.reply
        message = BytesParser(policy=default_policy).parsebytes(envelope.original_content or envelope.content)
        with self._lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def pairs(self) -> Counter:
        """(kind, address) of every accepted message."""
        return Counter((r.kind, r.to) for r in self.received)

    def message_ids(self) -> Counter:
        return Counter(r.message_id for r in self.received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if r.to == address]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from={SENDER}&timeout=10"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


EMAILS = {
    "ada": "ada@lab.example", "rosalind": "rosalind@lab.example", "dorothy": "dorothy@other.example",
    "sam": "sam@facility.example", "bea": "bea@facility.example", "al": "al@facility.example",
}
NAMES = {"ada": "Ada Lovelace", "rosalind": "Rosalind Franklin", "dorothy": "Dorothy Hodgkin",
         "sam": "Sam Stores", "bea": "Bea Beamline", "al": "Al Admin"}


@dataclass
class Facility:
    system: System
    smtp: SmtpServer
    persons: dict[str, str] = field(default_factory=dict)  # username -> person id
    shipments: dict[str, Any] = field(default_factory=dict)  # proposal -> shipment id
    dewars: dict[str, str] = field(default_factory=dict)  # proposal -> dewar barcode

    @property
    def app(self) -> Any:
        return self.system.app

    @property
    def notifications(self) -> Any:
        return self.system.notifications

    @property
    def inbox(self) -> Inbox:
        return self.smtp.inbox

    def work(self, now: Any = None) -> int:
        return self.notifications.work(now=now, until_idle=True)

    def gql(self, username: str, operation: str, **variables: Any) -> dict[str, Any]:
        """Run a named operation of graphql/*.graphql as this account, through the real schema."""
        from logistics.api.schema import schema
        from logistics.api.types import Context, Loaders
        from logistics.entrypoints.web import principal_of

        account = self.system.accounts.by_username(username)
        session = self.system.session(principal_of(self.system, account, "web"))
        context = Context(session=session, loaders=Loaders(session), feed=self.system.feed,
                          accounts=self.system.accounts)
        query = operations()[operation].text
        with ThreadPoolExecutor(1) as pool:  # a loop of its own: another test's loop may run in this thread
            result = pool.submit(asyncio.run, schema.execute(query, variable_values=variables,
                                                             context_value=context)).result()
        assert result.errors is None, result.errors
        return result.data  # type: ignore[return-value]


def _register(system: System, username: str, roles: list[str], proposals: dict[str, str] | None = None) -> str:
    app = system.app
    person = str(app.register_person(NAMES[username], EMAILS[username], ADMIN))
    for code, role in (proposals or {}).items():
        app.add_member(code, person, role, ADMIN)
    system.accounts.add(username, roles, person_id=person)  # no password: tests sign in directly
    return person


def ship(facility: Facility, proposal: str, name: str = "Run 1", contact_of: str | None = None,
         visit: int = 1) -> tuple[Any, str]:
    """A sent shipment of one mail-in dewar, whose sending lab contact is `contact_of`'s."""
    app = facility.app
    contact = None
    if contact_of:
        contact = app.add_lab_contact(proposal, facility.persons[contact_of],
                                      {"lines": ["1 Lab Road"], "country": "UK"}, ADMIN)
    shipment = app.create_shipment(proposal, name, USER, sending_contact=contact)
    barcode = app.add_mail_in_dewar(shipment, visit, "i03", USER)
    app.set_courier(shipment, "dhl", "1234567891", USER)
    app.mark_sent(shipment, USER)
    return shipment, barcode


@pytest.fixture
def facility(system: System, smtp_server: SmtpServer) -> Facility:
    app = system.app
    app.register_proposal("mx23694", "Efflux pumps", ADMIN)
    app.register_proposal("mx31020", "Viral proteases", ADMIN)
    f = Facility(system=system, smtp=smtp_server)
    f.persons["ada"] = _register(system, "ada", ["member"], {"mx23694": "pi"})
    f.persons["rosalind"] = _register(system, "rosalind", ["member"], {"mx23694": "member"})
    f.persons["dorothy"] = _register(system, "dorothy", ["member"], {"mx31020": "pi"})
    f.persons["sam"] = _register(system, "sam", ["stores"])
    f.persons["bea"] = _register(system, "bea", ["beamline"])
    f.persons["al"] = _register(system, "al", ["admin"])
    system.accounts.add("desk-1", ["stores"], kind="station")  # no person: never told
    system.notifications.configure(smtp_url=smtp_server.url)
    return f
