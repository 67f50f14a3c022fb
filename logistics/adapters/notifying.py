"""Notifications at work: the outbox fed by its projection, the SMTP sender, the daily digest and
the still-here check. What each person chose to receive and whether a message goes (the send
policy) are the service layer's (`service_layer/subscriptions.py`); the sender asks it per message.

`logistics worker` calls `work(system)` in its loop. Each call:

1. catches the notifications projection up: new events become outbox rows, written in the same
   transaction as the projection's tracking row (`adapters/outbox.py`);
2. at most once a minute, makes the still-here reminders (`check_stale`) and the daily digests
   (`make_digests`);
3. sends what is due (`send_due`).

Exactly once
------------

A message is made once: its row's `dedupe_key` (event position, kind, person) is unique, and
the projection moves its position in the same transaction as it adds rows.

A message is sent once, also when the sender is killed and started again:

* A sender **claims** a batch of due rows in one transaction (`status = sending`, its own id in
  `claimed_by`, a lease until `lease_until`). On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several
  senders share the work; SQLite has one writer at a time.
* Just before it hands a message to SMTP it **renews** its lease on that row, and only if it
  still holds it, for at least four SMTP timeouts (connect, TLS, login, send), so nobody else can
  take the row while it is being sent.
* When the server accepted the message (its 250 reply to DATA) the sender marks the row `sent`,
  in its own transaction, before it starts the next message.
* A sender that dies leaves its rows `sending`. Another sender (or the same one restarted) takes
  them only **after the lease expires** (`LOGISTICS_OUTBOX_LEASE`, default 120 s). A message the
  server had not accepted when the sender died is sent again, once.
* Every e-mail's **Message-ID** is the row's dedupe key, so a receiving system that does see
  the same message twice can recognise it.

The window that remains, honestly: if the sender dies (or the database is unreachable) after
the SMTP server accepted a message and before the `sent` mark commits (the time of one small
UPDATE, about a millisecond), that message is sent again after the lease expires, with the same
Message-ID. The same holds when the connection breaks after the server took the message but
before its 250 reached the sender (RFC 1047's duplicate): the sender cannot tell that from a
message never taken, so it tries again. SMTP has no way to ask a server "did you already take
this?", so no sender can close these windows; it can only keep them to one message each, as here.

Time
----

Every step takes `now` (UTC), so tests and simulations can move the clock. The "day" of a
digest is the day in `LOGISTICS_DIGEST_TIMEZONE` (default UTC) on which the sender put the
message aside for the digest; `make_digests` gathers the days before today, one e-mail per
person, keyed by person and today, so a day's digest is made at most once.

Configuration (environment)
---------------------------

| variable | meaning | default |
|---|---|---|
| `LOGISTICS_SMTP_URL` | the SMTP server (see `adapters/mailer.py`); without it nothing is sent and rows wait | none |
| `LOGISTICS_BASE_URL` | where the pages are, for the links in messages | `http://127.0.0.1:8000` |
| `LOGISTICS_STALE_DAYS` | days after a dewar's last use before its users are reminded | 14 |
| `LOGISTICS_OUTBOX_LEASE` | seconds a sender holds a claimed message | 120 |
| `LOGISTICS_OUTBOX_BATCH` | messages claimed at a time | 20 |
| `LOGISTICS_DIGEST_TIMEZONE` | the time zone of a digest's day | `UTC` |
"""

from __future__ import annotations

import dataclasses
import logging
import re
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from logistics.adapters import mailer as smtp
from logistics.adapters.outbox import (DIGEST, FAILED, RETRYING, SENT, SKIPPED, Audiences, NotificationProjection,
                                       OutboxStore, dewar_facts, rows_of, still_here, utc)
from logistics.domain.dewar import Dewar
from logistics.domain.errors import InvalidValue
from logistics.service_layer import notifications as n
from logistics.service_layer.subscriptions import Decision, Subscriptions, real_now

logger = logging.getLogger("logistics.notifications")
# An SMTP server's refusal often names the recipient ("550 <ada@lab.example>: no such user"); the
# outbox and the log keep the error without it, so that neither holds an address (nor outlives an erasure).
ADDRESS = re.compile(r"<?[^\s<>@\"'(),;:]+@[^\s<>@\"'(),;:]+>?")


def redacted(error: str) -> str:
    return ADDRESS.sub("<address>", error)


@dataclass
class Config:
    smtp_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    stale_days: int = n.DEFAULT_STALE_DAYS
    lease_seconds: float = 120.0
    batch_size: int = 20
    backoff_seconds: float = 60.0  # the first retry; then doubling
    backoff_max_seconds: float = 6 * 3600.0
    max_attempts: int = 12  # then the row is failed (about a day and a half of retries)
    timezone: str = "UTC"
    check_every_seconds: float = 60.0  # the still-here check and the digests, from the worker loop

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env

        def number(name: str, default: float, kind: type = float) -> Any:
            text = env.get(name)
            if not text:
                return default
            try:
                value = kind(text)
            except ValueError:
                raise InvalidValue(f"{name}={text!r} is not a number") from None
            if value <= 0:
                raise InvalidValue(f"{name}={text!r} must be more than 0")
            return value
        zone = env.get("LOGISTICS_DIGEST_TIMEZONE") or "UTC"
        try:
            ZoneInfo(zone)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise InvalidValue(f"LOGISTICS_DIGEST_TIMEZONE={zone!r} is not a time zone: expected e.g. "
                               f"Europe/London") from None
        return cls(smtp_url=env.get(smtp.SMTP_URL_VAR) or None,
                   base_url=(env.get("LOGISTICS_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
                   stale_days=number("LOGISTICS_STALE_DAYS", n.DEFAULT_STALE_DAYS, int),
                   lease_seconds=number("LOGISTICS_OUTBOX_LEASE", 120.0),
                   batch_size=number("LOGISTICS_OUTBOX_BATCH", 20, int),
                   timezone=zone)


class Notifications:
    """The outbox's background work for one database: the projection that makes messages, the
    still-here check, the digests and the SMTP sender. Whether a message goes, and to whom, is the
    service layer's `Subscriptions.decide` (`policy`); the store is `adapters/outbox.py`'s."""

    def __init__(self, app: Any, engine: Any, writer: Any, store: OutboxStore, policy: Subscriptions,
                 config: Config | None = None, clock: Callable[[], datetime] = real_now):
        self.app, self.store, self.policy = app, store, policy
        self.config = config or Config.from_environment()
        self.clock = clock
        self.projection = NotificationProjection(app, engine, writer)
        self.audiences = Audiences(app)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._smtp: smtp.SmtpSettings | None = None
        self._last_checks = float("-inf")

    def configure(self, **changes: Any) -> None:
        """Change the configuration (e.g. `smtp_url`, `stale_days`, `lease_seconds`)."""
        self.config = dataclasses.replace(self.config, **changes)
        self._smtp = None

    @property
    def smtp(self) -> smtp.SmtpSettings | None:
        if self._smtp is None and self.config.smtp_url:
            self._smtp = smtp.SmtpSettings.from_url(self.config.smtp_url)
        return self._smtp

    # --- the worker's loop ------------------------------------------------------------------------
    def work(self, now: datetime | None = None, until_idle: bool = False) -> int:
        """One round of background work; returns how much was done (0: idle). With `until_idle`, sends
        batch after batch until nothing more is due (for `logistics worker --once`)."""
        done = self.projection.catch_up()
        if now is not None or time.monotonic() - self._last_checks >= self.config.check_every_seconds:
            self._last_checks = time.monotonic()
            done += self.check_stale(now) + self.make_digests(now)
        while True:
            sent = self.send_due(now)
            done += sent
            if not (until_idle and sent):
                return done

    # --- the still-here reminder --------------------------------------------------------------------
    def check_stale(self, now: datetime | None = None) -> int:
        """Remind the members and stores of each dewar still here `stale_days` after its last use; once per trip."""
        now = now or self.clock()
        staff: dict[str, frozenset[str]] | None = None

        def make(conn: Any, trip: dict[str, Any]) -> list[dict[str, Any]] | None:
            nonlocal staff
            dewar = self.app.repository.get(uuid.UUID(trip["dewar_id"]))
            if not isinstance(dewar, Dewar) or not still_here(dewar):
                return None
            if staff is None:
                staff = self.audiences.staff(conn)
            last_use = utc(trip["last_use_at"])
            assert last_use is not None
            where = dewar.where.get("code") or dewar.where["kind"]
            facts = {**dewar_facts(self.app, dewar), "days": (now - last_use).days,
                     "last_use": last_use.date().isoformat(), "where": f"at {where}", "at": now.isoformat()}
            audience = self.audiences.of(conn, dewar.proposal, dewar.shipment_id, staff)
            return rows_of(n.stale_notices(audience, dewar.proposal, facts), trip["trip"], now, dewar.barcode)

        return self.store.remind_stale(now - timedelta(days=self.config.stale_days), make)

    # --- the daily digest -----------------------------------------------------------------------------
    def day_of(self, when: datetime) -> str:
        return when.astimezone(ZoneInfo(self.config.timezone)).date().isoformat()

    def make_digests(self, now: datetime | None = None) -> int:
        """One e-mail per person with the messages put aside for the digest on the days before today."""
        now = now or self.clock()
        return self.store.make_digests(self.day_of(now), now)

    # --- the sender -------------------------------------------------------------------------------
    def send_due(self, now: datetime | None = None) -> int:
        """Claim due messages, decide (send, digest, skip), send over SMTP, and mark each; returns how many rows
        were settled. Without an SMTP URL nothing is claimed: the rows wait."""
        settings = self.smtp
        if settings is None:
            return 0
        fixed = now
        clock = (lambda: fixed) if fixed is not None else self.clock
        lease = timedelta(seconds=self.config.lease_seconds)
        # Held while one message is handed over: longer than SMTP can take (connect, TLS, login, send).
        sending = max(lease, timedelta(seconds=4 * settings.timeout))
        rows = self.store.claim(clock(), self.worker_id, lease, self.config.batch_size)
        if not rows:
            return 0
        choices = self.store.settings_of(r["recipient"] for r in rows)
        settled = 0
        unreachable: tuple[str, datetime] | None = None  # the server's error, and when to try again
        with smtp.Connection(settings) as connection:
            for row in rows:
                if unreachable is not None:  # no server to talk to: the rest of the batch waits too
                    self.store.finish(row["id"], self.worker_id, RETRYING, last_error=unreachable[0],
                                      next_attempt_at=unreachable[1])
                    continue
                decision = self.decide(row, choices.get(row["recipient"], {}), clock())
                if decision.action == "skip":
                    settled += self.store.finish(row["id"], self.worker_id, SKIPPED, note=decision.reason)
                    continue
                if decision.action == "digest":
                    settled += self.store.finish(row["id"], self.worker_id, DIGEST, delivery=n.DIGEST,
                                                 digest_day=self.day_of(clock()), note=None)
                    continue
                if not self.store.renew(row["id"], self.worker_id, clock(), sending):
                    continue  # our lease ran out: another sender owns it now
                try:
                    message = self._message(settings, row, decision, clock())
                    connection.send(message, decision.address or "")
                except smtp.Unreachable as e:
                    self._failed(row, redacted(str(e)), clock(), permanent=False)
                    unreachable = (redacted(str(e)), clock() + timedelta(seconds=self.config.backoff_seconds))
                except smtp.TemporaryFailure as e:
                    settled += self._failed(row, redacted(str(e)), clock(), permanent=False)
                except smtp.PermanentFailure as e:
                    settled += self._failed(row, redacted(str(e)), clock(), permanent=True)
                else:
                    settled += self.store.finish(row["id"], self.worker_id, SENT, sent_at=clock(),
                                                 attempts=row["attempts"] + 1, delivery=n.IMMEDIATE,
                                                 last_error=None, note=None)
        return settled

    def _failed(self, row: dict[str, Any], error: str, now: datetime, permanent: bool) -> int:
        attempts = row["attempts"] + 1
        if permanent or attempts >= self.config.max_attempts:
            logger.warning("message %s failed for good after %d attempts: %s", row["dedupe_key"], attempts, error)
            return self.store.finish(row["id"], self.worker_id, FAILED, attempts=attempts, last_error=error)
        delay = min(self.config.backoff_seconds * 2 ** (attempts - 1), self.config.backoff_max_seconds)
        logger.info("message %s failed (attempt %d), next try in %.0f s: %s", row["dedupe_key"], attempts, delay, error)
        self.store.finish(row["id"], self.worker_id, RETRYING, attempts=attempts, last_error=error,
                          next_attempt_at=now + timedelta(seconds=delay))
        return 0  # not settled: it comes back

    def decide(self, row: Mapping[str, Any], choices: Mapping[tuple[str, str], str], now: datetime) -> Decision:
        """The service layer's send policy (`Subscriptions.decide`) for one claimed row."""
        return self.policy.decide(row, choices)

    def _message(self, settings: smtp.SmtpSettings, row: Mapping[str, Any], decision: Decision,
                 now: datetime) -> Any:
        if row["kind"] == n.DAILY_DIGEST:
            items = [(item["kind"], item["facts"]) for item in self._digest_items(row["id"])]
            rendered = n.render_digest(items, decision.name, row["facts"].get("day", ""), self.config.base_url)
        else:
            rendered = n.render(row["kind"], row["facts"], decision.name, self.config.base_url)
        return smtp.build_message(settings, to=decision.address or "", name=decision.name, subject=rendered.subject,
                                  text=rendered.text, html=rendered.html, message_id=row["dedupe_key"], when=now,
                                  kind=row["kind"])

    def _digest_items(self, digest_id: int) -> list[dict[str, Any]]:
        return self.store.digest_items(digest_id)


def work(system: Any, until_idle: bool = False) -> int:
    """The worker's notifications round (see the module's docstring); returns how much was done."""
    return system.notifications.work(until_idle=until_idle)
