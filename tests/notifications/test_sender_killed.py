"""Exactly once, with the sender killed: `logistics worker` runs in a subprocess and sends a batch of
50 messages to a slow SMTP server; it is killed with SIGKILL in the middle of a message (at a random
one of its first batch), and started again. Every message reaches the server exactly once (counted by
Message-ID at the server).

The server is slow before it accepts (its 250 reply to DATA), as a real one is, and the kill comes
while the server holds the message, so the message in flight was never accepted; it goes again once
its lease expires. The server triggers the kill itself, so that a loaded machine cannot move it into
the one window no SMTP client can close (after the server's 250 and before the `sent` mark commits),
which is documented in logistics/adapters/notifying.py."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from logistics.adapters.outbox import SENDING
from tests.api.conftest import ROOT
from tests.helpers import ADMIN, STORES, USER
from tests.notifications.conftest import Facility

MEMBERS, DEWARS = 10, 5  # 50 arrival messages
LEASE = 3.0


def _worker(facility: Facility) -> subprocess.Popen:
    smtp_url = facility.smtp.url.replace("timeout=10", "timeout=2")  # a message in flight is held 4 x 2 s
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOGISTICS_SMTP_URL": smtp_url,
           "LOGISTICS_OUTBOX_LEASE": str(LEASE), "LOGISTICS_OUTBOX_BATCH": "20"}
    url = facility.system.database.url.render_as_string(hide_password=False)
    return subprocess.Popen([sys.executable, "-m", "logistics", "--database", url, "worker", "--interval", "0.1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _fifty_messages(facility: Facility) -> set[str]:
    app = facility.app
    app.register_proposal("mx40000", "Many hands", ADMIN)
    people = [str(app.register_person(f"Member {i}", f"member{i}@lab.example", ADMIN)) for i in range(MEMBERS)]
    for person in people:
        app.add_member("mx40000", person, "member", ADMIN)
    shipment = app.create_shipment("mx40000", "Big run", USER)
    barcodes = [app.add_mail_in_dewar(shipment, 1, "i03", USER) for _ in range(DEWARS)]
    app.mark_sent(shipment, USER)
    for barcode in barcodes:
        app.scan_dewar(barcode, "loc-goods-in", STORES)
    facility.notifications.projection.catch_up()
    rows = facility.notifications.store.rows(status="pending", limit=1000)
    assert len(rows) == MEMBERS * DEWARS
    return {r["dedupe_key"] for r in rows}


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_sender_killed_mid_batch_delivers_every_message_exactly_once(facility: Facility) -> None:
    keys = _fifty_messages(facility)
    inbox = facility.inbox
    inbox.delay = 0.15  # a slow server: 50 messages take several seconds

    first = _worker(facility)
    in_flight = random.randint(5, 18)

    def kill_while_in_flight(started: int) -> bool:
        """Kill the sender while the server holds message `in_flight` of the first batch of 20 and has not
        yet said 250: the messages before it are accepted and marked sent, the ones after it claimed."""
        if started != in_flight:
            return True
        os.kill(first.pid, signal.SIGKILL)
        return False  # the client is gone: this message was never accepted

    inbox.on_data = kill_while_in_flight
    try:
        assert first.wait(90) == -signal.SIGKILL, first.stderr.read().decode() if first.stderr else ""
        killed_at = datetime.now(timezone.utc)
    finally:
        if first.poll() is None:
            first.kill()
    inbox.on_data = None
    _wait(lambda: inbox.started == len(inbox.received) + 1, 10, "the server to let go of the message in flight")
    assert len(inbox.received) == in_flight - 1
    claimed = [r for r in facility.notifications.store.rows(status=SENDING, limit=1000)]
    assert claimed, "the killed sender left claimed messages behind"

    second = _worker(facility)
    try:
        _wait(lambda: facility.notifications.store.counts().get("sent", 0) == MEMBERS * DEWARS, 120,
              "every message to be sent")
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()

    counts = inbox.message_ids()
    assert sum(counts.values()) == MEMBERS * DEWARS, "a message was sent twice or not at all"
    assert set(counts.values()) == {1}
    assert counts.keys() == {f"<{key}@facility.example>" for key in keys}
    # The claimed messages went again only once the dead sender's lease had expired.
    rows = {r["dedupe_key"]: r for r in facility.notifications.store.rows(limit=1000)}
    for row in claimed:
        assert rows[row["dedupe_key"]]["sent_at"] >= row["lease_until"] - timedelta(seconds=0.001)
        assert row["lease_until"] > killed_at - timedelta(seconds=LEASE)


def test_a_second_sender_takes_only_messages_whose_lease_expired(facility: Facility) -> None:
    _fifty_messages(facility)
    store, now = facility.notifications.store, datetime.now(timezone.utc)
    lease = timedelta(seconds=30)
    first = store.claim(now, "sender-a", lease, 20)
    assert len(first) == 20
    second = store.claim(now + timedelta(seconds=1), "sender-b", lease, 50)
    assert len(second) == 30 and not {r["id"] for r in first} & {r["id"] for r in second}
    assert store.claim(now + timedelta(seconds=29), "sender-c", lease, 50) == []  # every lease still held
    assert store.renew(first[0]["id"], "sender-a", now + timedelta(seconds=10), lease)  # still sending: extended
    taken = store.claim(now + timedelta(seconds=32), "sender-c", lease, 50)  # senders a and b died
    assert {r["id"] for r in taken} == {r["id"] for r in first[1:]} | {r["id"] for r in second}
    # A dead sender may not finish what another took over.
    assert not store.renew(first[1]["id"], "sender-a", now + timedelta(seconds=33), lease)
    assert not store.finish(first[1]["id"], "sender-a", "sent")
    assert store.finish(first[1]["id"], "sender-c", "sent")
