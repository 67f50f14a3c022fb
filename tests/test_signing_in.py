"""Signing in with a password, as someone guessing would: failed sign-ins make the next try wait,
longer each time, with 429 and Retry-After, in every process and server on the database; a flood
of sign-ins runs a bounded number of password checks at once; passwords are long and not common,
and never typed on a command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from logistics.adapters import sign_in_throttle
from logistics.bootstrap import System, bootstrap
from logistics.domain.errors import InvalidValue
from logistics.entrypoints.guard import Settings
from logistics.entrypoints.sign_in import HASH_MEMORY, SignInGate, Wait, hash_slots
from logistics.entrypoints.web import create_app

PASSWORD = "correct horse battery staple"
WAIT = ("Too many failed sign-ins for this account or from your address: try again in {} s. Ask the facility's "
        "user office if you forgot your password.")


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def sign_in(client: TestClient, password: str, username: str = "sam"):  # noqa: ANN201
    return client.post("/login", json={"username": username, "password": password})


@pytest.fixture
def clock(system: System) -> Clock:
    system.accounts.add("sam", ["stores"], password=PASSWORD)
    clock = Clock()
    system.accounts.throttle.now = clock
    return clock


def test_after_five_wrong_passwords_even_the_right_one_waits_longer_after_each_failure(system: System,
                                                                                     clock: Clock) -> None:
    client = TestClient(create_app(system, Settings()), base_url="http://tracker")
    for _ in range(6):
        assert sign_in(client, "not the password at all").status_code == 401
    refused = sign_in(client, PASSWORD)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "2")
    assert refused.json() == {"ok": False, "error": WAIT.format(2)}
    clock.advance(2)
    assert sign_in(client, "still not the password").status_code == 401
    assert sign_in(client, PASSWORD).headers["retry-after"] == "4"  # twice as long as the last
    clock.advance(4)
    assert sign_in(client, PASSWORD).status_code == 200
    assert sign_in(client, "wrong again, but the count was cleared").status_code == 401
    assert sign_in(client, PASSWORD).status_code == 200
    assert [(e.event, e.username, e.client) for e in system.accounts.throttle.audit()] == [
        ("locked", "sam", "testclient"), ("unlocked", "sam", "testclient")]
    assert system.accounts.throttle.audit()[0].detail == "6 failed sign-ins; next try in 2 s, each failure doubling it"


def test_the_login_page_says_when_to_try_again(system: System, clock: Clock) -> None:
    client = TestClient(create_app(system, Settings()), base_url="http://tracker")
    for _ in range(6):
        client.post("/login", data={"username": "sam", "password": "nope nope nope"}, headers={"origin": "http://tracker"})
    page = client.post("/login", data={"username": "sam", "password": PASSWORD}, headers={"origin": "http://tracker"})
    assert page.status_code == 429 and page.headers["retry-after"] == "2"
    assert "Too many failed sign-ins for this account or from your address: try again in 2 s." in page.text


def test_two_servers_on_one_database_count_the_same_failures(system: System, clock: Clock, database_url: str) -> None:
    other = bootstrap(database_url)
    try:
        other.accounts.throttle.now = clock
        first = TestClient(create_app(system, Settings()), base_url="http://tracker")
        second = TestClient(create_app(other, Settings()), base_url="http://tracker")
        for client in (first, second, first, second, first, second):
            assert sign_in(client, "a wrong guess here").status_code == 401
        assert sign_in(first, PASSWORD).status_code == 429
        assert sign_in(second, PASSWORD).status_code == 429
    finally:
        other.close()


def test_an_address_guessing_across_accounts_waits_even_for_an_account_it_did_not_try(
        system: System, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sign_in_throttle.FREE, "client", 3)  # 30 in earnest: three keep the test short
    client = TestClient(create_app(system, Settings()), base_url="http://tracker")
    for name in ("ada", "bob", "cy", "di"):
        assert sign_in(client, "guess guess guess", username=name).status_code == 401
    assert sign_in(client, PASSWORD).status_code == 429
    assert system.accounts.throttle.audit() == []  # no account was locked: the address was


def test_an_admin_unlocks_an_account_and_that_is_audited(system: System, clock: Clock) -> None:
    client = TestClient(create_app(system, Settings()), base_url="http://tracker")
    for _ in range(6):
        sign_in(client, "wrong wrong wrong")
    assert system.accounts.throttle.unlock("sam", None, "unlocked by an admin (logistics user unlock)")
    assert sign_in(client, PASSWORD).status_code == 200
    assert [(e.event, e.detail) for e in system.accounts.throttle.audit("sam")] == [
        ("locked", "6 failed sign-ins; next try in 2 s, each failure doubling it"),
        ("unlocked", "unlocked by an admin (logistics user unlock)")]


def test_a_flood_of_sign_ins_runs_only_so_many_password_checks_at_once(system: System,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    running, most, lock = 0, 0, threading.Lock()

    def slow_check(username: str, password: str) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.3)
        with lock:
            running -= 1

    monkeypatch.setattr(system.accounts, "verify_password", slow_check)
    monkeypatch.setitem(sign_in_throttle.FREE, "client", 10_000)
    monkeypatch.setitem(sign_in_throttle.FREE, "account", 10_000)

    async def flood() -> list[object]:
        gate = SignInGate(system.accounts, slots=2)
        return await asyncio.gather(*(gate.sign_in(f"user{n}", "x", "203.0.113.9") for n in range(20)))

    answers = asyncio.run(flood())
    assert most == 2
    assert [a.status for a in answers if isinstance(a, Wait)] == [503] * 4  # past 8 waiting per slot: busy
    assert hash_slots(memory=8 * HASH_MEMORY * 3, cpus=8) == 3  # an eighth of the memory: three checks
    assert hash_slots(memory=1 << 40, cpus=2) == 2  # never more than the cores
    assert hash_slots(memory=HASH_MEMORY, cpus=2) == 1


@pytest.mark.parametrize("password, message", [
    ("demo-ada", "the password is too short: expected at least 12 characters (a few unrelated words are easy to "
                 "remember)"),
    ("password1234", "the password is too easy to guess: This is a very common password. Choose another: a few "
                     "unrelated words, or a password manager's"),
    ("qwertyuiopasdf", "the password is too easy to guess: This is similar to a commonly used password. Choose "
                       "another: a few unrelated words, or a password manager's"),
])
def test_a_short_or_common_password_is_refused_and_no_account_is_made(system: System, password: str,
                                                                      message: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        system.accounts.add("sam", ["stores"], password=password)
    assert refused.value.message == message
    system.accounts.add("sam", ["stores"], password=PASSWORD)  # the name is still free


def test_a_password_comes_from_standard_input_never_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("LOGISTICS_DATABASE_URL", None)

    def logistics(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "logistics", "--database", "sqlite:///l.db", *args], cwd=tmp_path,
                              env=env, input=stdin, capture_output=True, text=True, timeout=120)

    on_the_line = logistics("user", "add", "sam", "--role", "stores", "--password", PASSWORD)
    assert on_the_line.returncode == 2 and "No such option" in on_the_line.stderr and "--password" in on_the_line.stderr
    common = logistics("user", "add", "sam", "--role", "stores", "--password-stdin", stdin="password1234\n")
    assert common.returncode != 0 and "the password is too easy to guess: This is a very common password" in common.stderr
    added = logistics("user", "add", "sam", "--role", "stores", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "added person account sam (stores)" in added.stdout
    system = bootstrap(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        assert system.accounts.verify_password("sam", PASSWORD).username == "sam"
    finally:
        system.close()
