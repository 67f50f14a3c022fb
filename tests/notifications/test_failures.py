"""A failing SMTP server: the message is retried with exponential backoff, the failure is visible to
admins (GraphQL `outbox(status:)` and `logistics outbox`), and once the server recovers the message
goes exactly once. A permanent refusal is not retried."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from logistics.entrypoints.cli import cli
from tests.api.conftest import free_port
from tests.helpers import STORES
from tests.notifications.conftest import EMAILS, Facility


def outbox(facility: Facility, who: str = "al", **variables: object) -> dict:
    return facility.gql(who, "Outbox", **variables)["outbox"]


def test_a_failing_server_leads_to_retries_with_backoff_visible_to_admins(facility: Facility) -> None:
    inbox = facility.inbox
    inbox.reply = "451 4.3.0 Mailbox temporarily unavailable"
    facility.app.record_unexpected_arrival("UNKNOWN-5", "loc-goods-in", "", STORES)  # one message, to Sam
    t0 = datetime.now(timezone.utc)

    facility.work(now=t0)
    assert inbox.started == 1 and inbox.received == []
    (row,) = outbox(facility, status="RETRYING")["messages"]
    assert row["attempts"] == 1 and row["kind"] == "unexpected-arrival"
    assert "451" in row["lastError"] and "temporarily unavailable" in row["lastError"]
    assert datetime.fromisoformat(row["nextAttemptAt"]) == t0 + timedelta(seconds=60)
    assert row["recipient"] == facility.persons["sam"]  # a person id, never an address

    facility.work(now=t0 + timedelta(seconds=59))  # not due yet: nothing is tried
    assert inbox.started == 1
    t1 = t0 + timedelta(seconds=60)
    facility.work(now=t1)
    assert inbox.started == 2
    (row,) = outbox(facility, status="RETRYING")["messages"]
    assert row["attempts"] == 2
    assert datetime.fromisoformat(row["nextAttemptAt"]) == t1 + timedelta(seconds=120)  # doubled
    t2 = t1 + timedelta(seconds=120)
    facility.work(now=t2)
    (row,) = outbox(facility, status="RETRYING")["messages"]
    assert row["attempts"] == 3
    assert datetime.fromisoformat(row["nextAttemptAt"]) == t2 + timedelta(seconds=240)

    # Only admins may look.
    denied = outbox(facility, who="sam", status="RETRYING")
    assert denied["__typename"] == "AccessDeniedError"
    assert outbox(facility, who="ada")["__typename"] == "AccessDeniedError"

    # The command line shows it too.
    url = facility.system.database.url.render_as_string(hide_password=False)
    listed = CliRunner().invoke(cli, ["--database", url, "outbox", "--status", "retrying"])
    assert listed.exit_code == 0, listed.output
    assert "retrying" in listed.output and "unexpected-arrival" in listed.output and "451" in listed.output
    as_json = CliRunner().invoke(cli, ["--database", url, "outbox", "--json"])
    assert [r["status"] for r in json.loads(as_json.output)] == ["retrying"]

    inbox.reply = None  # the server recovers
    facility.work(now=t2 + timedelta(seconds=240))
    assert [r.to for r in inbox.received] == [EMAILS["sam"]]
    assert outbox(facility, status="RETRYING")["messages"] == []
    (sent,) = outbox(facility, status="SENT")["messages"]
    assert sent["attempts"] == 4 and sent["lastError"] is None
    facility.work(now=t2 + timedelta(days=1))
    assert len(inbox.received) == 1


def test_a_server_that_does_not_answer_is_retried(facility: Facility) -> None:
    facility.notifications.configure(smtp_url=f"smtp://127.0.0.1:{free_port()}?timeout=2")  # nobody listens
    facility.app.record_unexpected_arrival("UNKNOWN-6", "loc-goods-in", "", STORES)
    facility.app.record_unexpected_arrival("UNKNOWN-66", "loc-goods-in", "", STORES)
    t0 = datetime.now(timezone.utc)
    facility.work(now=t0)
    rows = outbox(facility, status="RETRYING")["messages"]
    assert len(rows) == 2  # one try to connect; the rest of the batch waits with it
    assert all("cannot talk to the SMTP server" in row["lastError"] for row in rows)
    assert {datetime.fromisoformat(row["nextAttemptAt"]) for row in rows} == {t0 + timedelta(seconds=60)}
    facility.notifications.configure(smtp_url=facility.smtp.url)
    facility.work(now=t0 + timedelta(minutes=1))
    assert [r.to for r in facility.inbox.received] == [EMAILS["sam"]] * 2


def test_a_permanent_refusal_fails_without_retries(facility: Facility) -> None:
    facility.inbox.reply = "550 5.1.1 No such user"
    facility.app.record_unexpected_arrival("UNKNOWN-7", "loc-goods-in", "", STORES)
    t0 = datetime.now(timezone.utc)
    facility.work(now=t0)
    (row,) = outbox(facility, status="FAILED")["messages"]
    assert row["attempts"] == 1 and "550" in row["lastError"]
    facility.work(now=t0 + timedelta(days=2))
    assert facility.inbox.started == 1


def test_after_too_many_attempts_a_message_fails(facility: Facility) -> None:
    facility.notifications.configure(max_attempts=3)
    facility.inbox.reply = "421 4.7.0 Try again later"
    facility.app.record_unexpected_arrival("UNKNOWN-8", "loc-goods-in", "", STORES)
    t = datetime.now(timezone.utc)
    for _ in range(5):
        facility.work(now=t)
        t += timedelta(hours=1)
    assert facility.inbox.started == 3
    (row,) = outbox(facility, status="FAILED")["messages"]
    assert row["attempts"] == 3 and "421" in row["lastError"]


def test_a_refusal_naming_the_recipient_is_kept_and_logged_without_the_address(facility: Facility, caplog) -> None:
    facility.inbox.reply = f"550 5.1.1 <{EMAILS['sam']}>: Recipient address rejected: User unknown"
    facility.app.record_unexpected_arrival("UNKNOWN-8", "loc-goods-in", "", STORES)
    with caplog.at_level("INFO", logger="logistics.notifications"):
        facility.work(now=datetime.now(timezone.utc))
    (row,) = outbox(facility, status="FAILED")["messages"]
    assert row["lastError"].endswith("550 5.1.1 <address>: Recipient address rejected: User unknown")
    assert EMAILS["sam"] not in row["lastError"] and EMAILS["sam"] not in caplog.text
    assert "<address>: Recipient address rejected" in caplog.text
