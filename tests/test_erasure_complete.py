"""Erasing a person on request removes them everywhere the system wrote them, not only from the
events: their accounts stop working, the outbox and its digests and the log files no longer
name them; the erasure says who did it and when, and the history still verifies.
On SQLite and PostgreSQL; the database and log files are read as anyone with a copy would."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

from logistics.adapters.erasure_purge import LOG_FILE_VAR, configure_log_file
from logistics.adapters.outbox import DIGEST, FAILED, PENDING, SENT, outbox
from logistics.bootstrap import bootstrap, register_reference_data
from logistics.domain.by import By
from logistics.service_layer.audit import verify_history
from tests.helpers import ADMIN, USER
from tests.test_cli import logistics
from tests.test_personal_data import _as_text, _query, _tables

NAME, EMAIL, PHONE = "Ada Lovelace", "ada.lovelace@example.ac.uk", "+44 1865 000001"
STREET, TOWN = "South Parks Road", "Oxford OX1 3QU"
CLEAR = [NAME, "Lovelace", EMAIL, PHONE, STREET, TOWN]
GRACE = "grace@example.edu"
USERNAME = "ada.lovelace"  # named after her: a username is personal data too


@pytest.fixture
def logged(database_url, tmp_path, monkeypatch):
    """A system writing its log to a file, as `LOGISTICS_LOG_FILE` makes every process do."""
    log = tmp_path / "logistics.log"
    monkeypatch.setenv(LOG_FILE_VAR, str(log))
    handler_count, level = len(logging.getLogger().handlers), logging.getLogger().level
    configure_log_file()
    system = bootstrap(database_url)
    register_reference_data(system.app)
    try:
        yield system, log
    finally:
        system.close()
        for handler in logging.getLogger().handlers[handler_count:]:
            logging.getLogger().removeHandler(handler)
            handler.close()
        # configure_log_file raised the root logger to INFO; left so, every later test in this
        # process captured other libraries' INFO lines (a test SMTP server's 'recip: <address>'
        # then failed test_failures' check that our log holds no address)
        logging.getLogger().setLevel(level)


def _ada_everywhere(system, log) -> str:
    """Ada: a PI with a lab-contact address, an account named after her with a token,
    messages in the outbox (one refused by her mail server, quoting her address; one for her digest),
    a message to Grace whose refusal also quoted Ada, and log lines, current and rotated, naming her."""
    app = system.app
    app.register_proposal("mx23694", "Efflux pumps", ADMIN)
    ada = str(app.register_person(NAME, EMAIL, ADMIN, phone=PHONE))
    grace = str(app.register_person("Grace Hopper", GRACE, ADMIN))
    app.add_member("mx23694", ada, "pi", ADMIN)
    app.add_member("mx23694", grace, "member", ADMIN)
    contact = app.add_lab_contact("mx23694", ada, {"lines": [STREET, TOWN], "country": "UK"}, ADMIN)
    app.create_shipment("mx23694", "Run 1", USER, sending_contact=contact)
    system.accounts.add(USERNAME, ["member"], password="correct horse battery", person_id=ada)
    system.accounts.create_token(USERNAME, f"{NAME}'s laptop")
    now = datetime.now(timezone.utc)

    def row(key: str, recipient: str, status: str, **values) -> dict:
        return dict(dedupe_key=key, position=1, kind="dewar_arrived", recipient=recipient, audience="member",
                    proposal="mx23694", barcode=None, facts=json.dumps({"barcode": "DLS-MX-0001"}), status=status,
                    attempts=1, created_at=now, **{"last_error": None, "note": None, "digest_day": None, **values})
    with system.accounts.engine.begin() as conn:
        conn.execute(insert(outbox), [
            row("1.a.ada", ada, FAILED, last_error=f"550 5.1.1 <{EMAIL}>: Recipient address rejected"),
            row("2.a.ada", ada, DIGEST, digest_day="2026-12-02"),
            row("3.a.ada", ada, PENDING),
            row("4.a.grace", grace, SENT, note=f"also copied to {NAME} <{EMAIL}>"),
        ])
    logging.getLogger("logistics.notifications").warning(
        "message 1.a.ada failed for good after 1 attempts: 550 5.1.1 <%s>: Recipient address rejected", EMAIL)
    logging.getLogger("logistics.notifications").info("message 4.a.grace sent to %s", GRACE)
    (log.parent / (log.name + ".1")).write_text(f"2026-12-01 INFO sent to {NAME} <{EMAIL}>, phone {PHONE}\n")
    with gzip.open(log.parent / (log.name + ".2.gz"), "wt") as f:
        f.write(f"2026-11-30 INFO label for {STREET}, {TOWN}\n")
    return ada


def _everything_in_clear(system, log) -> list[tuple[str, str]]:
    found = []
    for table in _tables(system):
        for row in _query(system, f"SELECT * FROM {table}"):
            text = " ".join(_as_text(v) for v in row if v is not None).lower()
            found += [(table, clear) for clear in CLEAR if clear.lower() in text]
    for file in sorted(log.parent.glob(log.name + "*")):
        text = (gzip.open(file, "rt").read() if file.suffix == ".gz" else file.read_text()).lower()
        found += [(file.name, clear) for clear in CLEAR if clear.lower() in text]
    return found


def test_after_erasure_no_table_and_no_log_file_holds_anything_of_the_person_in_clear(logged):
    system, log = logged
    ada = _ada_everywhere(system, log)
    before = _everything_in_clear(system, log)
    assert {where for where, _ in before} >= {"nt_outbox", "accounts", "api_tokens", log.name, log.name + ".1",
                                               log.name + ".2.gz"}

    report = system.app.erase_person(ada, By("admin:dpo", "dpo-desk"))

    assert _everything_in_clear(system, log) == []
    assert report.purged == {"accounts disabled": 1, "outbox messages purged": 4, "log lines purged": 3}
    assert report.sentence() == (f"erased person {ada}: key destroyed; accounts disabled: 1, outbox messages "
                                 "purged: 4, log lines purged: 3; recorded as erased by admin:dpo")
    # Grace's message is still there, and still says whom it was sent to (by id) and that it went
    grace_row = [r for r in system.notifications.store.rows() if r["dedupe_key"] == "4.a.grace"][0]
    assert grace_row["status"] == SENT and grace_row["note"] == "also copied to [erased] <[erased]>"
    assert "message 4.a.grace sent to " + GRACE in log.read_text()


def test_an_erased_persons_accounts_cannot_sign_in_or_use_a_token(logged):
    system, log = logged
    ada = _ada_everywhere(system, log)
    token_id, token = system.accounts.create_token(USERNAME, "script")
    assert system.accounts.authenticate_token(token) is not None

    system.app.erase_person(ada, ADMIN)

    assert system.accounts.verify_password(USERNAME, "correct horse battery") is None
    assert system.accounts.authenticate_token(token) is None


def test_messages_still_to_go_to_an_erased_person_are_never_sent(logged):
    system, log = logged
    ada = _ada_everywhere(system, log)

    system.app.erase_person(ada, ADMIN)

    theirs = {r["dedupe_key"]: (r["status"], r["note"]) for r in system.notifications.store.rows(recipient=ada)}
    assert theirs["2.a.ada"] == ("skipped", "not sent: the recipient was erased")  # was waiting for her digest
    assert theirs["3.a.ada"] == ("skipped", "not sent: the recipient was erased")
    assert theirs["1.a.ada"][0] == FAILED


def test_the_erasure_is_recorded_with_who_and_when_and_the_history_still_verifies(logged):
    system, log = logged
    ada = _ada_everywhere(system, log)
    anchor = verify_history(system.app).head

    system.app.erase_person(ada, By("admin:dpo", "dpo-desk"))

    erased = system.app.history(ada)[-1]
    assert (erased["event"], erased["actor"], erased["station"]) == ("Erased", "admin:dpo", "dpo-desk")
    assert erased["time"].tzinfo is not None
    report = verify_history(system.app, anchor=anchor)
    assert report.ok, report.sentences()


def test_person_erase_at_the_terminal_asks_first_then_says_what_it_removed(logged, database_url, tmp_path):
    system, log = logged
    ada = _ada_everywhere(system, log)

    kept = logistics(tmp_path, "person", "erase", USERNAME, database=database_url)  # no answer to the question: no
    assert kept.returncode == 2 and "Erase person " + ada in kept.stderr
    assert "error: nothing erased: answer yes, or pass --yes" in kept.stderr
    assert system.app.person_details(ada)["email"] == EMAIL

    done = logistics(tmp_path, "person", "erase", USERNAME, "--yes", "--json", database=database_url)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["person_id"] == ada and data["accounts disabled"] == 1 and data["erased_by"].startswith("cli:")
    assert system.app.person_details(ada) == {"erased": True}

    unknown = logistics(tmp_path, "person", "erase", "nobody", "--yes", database=database_url)
    assert unknown.returncode == 2 and "error: there is no account 'nobody'" in unknown.stderr


def test_an_admin_erasing_through_the_api_removes_as_much_as_the_terminal_does(logged):
    """The erasePerson mutation is the same erasure: nothing of her in any table or log file."""
    from starlette.testclient import TestClient

    from logistics.entrypoints.web import create_app

    system, log = logged
    ada = _ada_everywhere(system, log)
    system.accounts.add("dpo", ["admin"], password="a long passphrase for the dpo")
    token = system.accounts.create_token("dpo")[1]
    client = TestClient(create_app(system), base_url="http://tracker")

    answer = client.post("/graphql", headers={"Authorization": f"Bearer {token}"},
                         json={"query": "mutation($p: ID!) { erasePerson(personId: $p) { __typename ... on Done { ok } "
                                        "... on Problem { message } } }", "variables": {"p": ada}})

    assert answer.json()["data"]["erasePerson"] == {"__typename": "Done", "ok": True}
    assert _everything_in_clear(system, log) == []
    erased = [e for e in system.app.history(ada) if e["event"] == "Erased"]
    assert erased and erased[-1]["actor"].startswith("account:")
