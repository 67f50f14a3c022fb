"""Accounts, API tokens and the session secret, in SQLAlchemy tables.

Passwords are hashed with argon2 (argon2-cffi), at least 12 characters and not easy to guess
(zxcvbn); failed sign-ins are throttled (sign_in_throttle.py). API tokens are shown once and kept only as a
SHA-256 hash; they can be revoked. Scanner stations are accounts of their own kind, with a
role, and authenticate with a token: nothing is trusted by IP address.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (Boolean, Column, DateTime, Engine, ForeignKey, MetaData, String, Table, delete, insert,
                        select, update)
from sqlalchemy.exc import IntegrityError

from logistics.adapters.sign_in_throttle import SignInThrottle
from logistics.domain.errors import AlreadyExists, InvalidValue, NotFound

metadata = MetaData()
S = String(120)
accounts = Table(
    "accounts", metadata,
    Column("id", S, primary_key=True), Column("username", S, unique=True, nullable=False),
    Column("kind", S, nullable=False), Column("password_hash", String(255)), Column("person_id", S),
    Column("roles", S, nullable=False), Column("created_at", DateTime(timezone=True)),
    Column("disabled", Boolean, nullable=False, default=False),
)
tokens = Table(
    "api_tokens", metadata,
    Column("id", S, primary_key=True), Column("account_id", S, ForeignKey("accounts.id"), nullable=False),
    Column("label", S), Column("token_hash", String(64), unique=True, nullable=False),
    Column("created_at", DateTime(timezone=True)), Column("revoked_at", DateTime(timezone=True)),
)
settings = Table("settings", metadata, Column("key", S, primary_key=True), Column("value", String(255)))
web_sessions = Table(
    "web_sessions", metadata,
    Column("id", String(64), primary_key=True), Column("account_id", S, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
SESSION_HOURS = 12

ROLES = ("member", "stores", "beamline", "admin")
KINDS = ("person", "station", "script")
# OWASP's argon2id parameters (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's default (64 MiB,
# 3 passes, 4 lanes): a check took 1.6 s and 64 MiB here, now 0.3 s and 19 MiB, so the bounded
# number of checks at once (entrypoints/sign_in.py) serves more people in less memory.
HASH_MEMORY = 19 * 1024 * 1024
_hasher = PasswordHasher(time_cost=2, memory_cost=HASH_MEMORY // 1024, parallelism=1)
_DUMMY = _hasher.hash("not a password")
SHORTEST_PASSWORD = 12


def check_password(password: str, username: str = "") -> None:
    """Refuses a password shorter than 12 characters, or one that zxcvbn (Dropbox's estimator, with
    its lists of the most common passwords, words and names) finds easy to guess."""
    from zxcvbn import zxcvbn

    if len(password) < SHORTEST_PASSWORD:
        raise InvalidValue(f"the password is too short: expected at least {SHORTEST_PASSWORD} characters "
                           "(a few unrelated words are easy to remember)")
    verdict = zxcvbn(password[:72], user_inputs=[username])
    if verdict["score"] < 3:
        why = verdict["feedback"]["warning"] or "it is made of common words, names or patterns"
        raise InvalidValue(f"the password is too easy to guess: {why.rstrip('.')}. Choose another: a few unrelated "
                           "words, or a password manager's")


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    kind: str
    roles: frozenset[str]
    person_id: str | None

    @property
    def actor(self) -> str:
        return f"account:{self.id}"


def _account(row) -> Account:  # type: ignore[no-untyped-def]
    return Account(id=row.id, username=row.username, kind=row.kind,
                   roles=frozenset(r for r in row.roles.split(",") if r), person_id=row.person_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._token_cache: dict[str, tuple[float, Account]] = {}
        self._station_cache: dict[str, tuple[float, frozenset[str] | None]] = {}
        metadata.create_all(engine)
        self.throttle = SignInThrottle(engine)

    def add(self, username: str, roles: list[str], password: str | None = None, person_id: str | None = None,
            kind: str = "person") -> Account:
        username = username.strip().lower()
        if not username or len(username) > 100 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise InvalidValue(f"username {username!r} is not valid: expected letters, digits, '-', '_' or '.'")
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            raise InvalidValue(f"role {', '.join(unknown) or '(none)'!r} is not valid: expected some of {', '.join(ROLES)}")
        if kind not in KINDS:
            raise InvalidValue(f"account kind {kind!r} is not valid: expected one of {', '.join(KINDS)}")
        if password is not None:
            check_password(password, username)
        row = dict(id=str(uuid4()), username=username, kind=kind, roles=",".join(sorted(set(roles))),
                   password_hash=_hasher.hash(password) if password else None, person_id=person_id,
                   created_at=datetime.now(timezone.utc), disabled=False)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(accounts).values(**row))
        except IntegrityError:
            raise AlreadyExists(f"username {username!r} is already taken") from None
        return self.get(row["id"])

    def get(self, account_id: str) -> Account:
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.id == account_id, accounts.c.disabled.is_(False))).first()
        if row is None:
            raise NotFound(f"account {account_id!r} does not exist")
        return _account(row)

    def by_username(self, username: str) -> Account:
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.username == username.strip().lower())).first()
        if row is None:
            raise NotFound(f"there is no account {username!r}")
        return _account(row)

    def names(self, account_ids: list[str]) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(accounts.c.id, accounts.c.username).where(accounts.c.id.in_(account_ids)))
            return {r.id: r.username for r in rows}

    def people(self, account_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Who each account is, for telling a history: username, kind, roles and person (if any)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(accounts).where(accounts.c.id.in_(account_ids)))
            return {r.id: {"username": r.username, "kind": r.kind, "person_id": r.person_id,
                           "roles": frozenset(x for x in r.roles.split(",") if x)} for r in rows}

    def verify_password(self, username: str, password: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.username == username.strip().lower(),
                                                      accounts.c.disabled.is_(False))).first()
        try:
            _hasher.verify(row.password_hash if row is not None and row.password_hash else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.password_hash:
            return None
        if _hasher.check_needs_rehash(row.password_hash):  # made with older parameters: now is the one chance
            with self.engine.begin() as conn:
                conn.execute(update(accounts).where(accounts.c.id == row.id).values(password_hash=_hasher.hash(password)))
        return _account(row)

    def create_token(self, username: str, label: str = "") -> tuple[str, str]:
        """A new API token for an account: (token id, the token). The token is shown only now."""
        account = self.by_username(username)
        token_id = secrets.token_hex(4)
        token = f"lgx_{token_id}_{secrets.token_urlsafe(32)}"
        with self.engine.begin() as conn:
            conn.execute(insert(tokens).values(id=token_id, account_id=account.id, label=label,
                                               token_hash=_digest(token), created_at=datetime.now(timezone.utc)))
        return token_id, token

    TOKEN_CACHE_SECONDS = 10.0  # a token revoked in another process stops working within this time

    def known_token(self, token: str) -> Account | None:
        """The account of a token this process checked within TOKEN_CACHE_SECONDS, without touching
        the database (so an event loop may ask); None when it must be looked up."""
        return self._known(_digest(token.strip()))

    def _known(self, digest: str) -> Account | None:
        cached = self._token_cache.get(digest)
        return cached[1] if cached is not None and cached[0] > time.monotonic() else None

    def authenticate_token(self, token: str) -> Account | None:
        digest = _digest(token.strip())
        known = self._known(digest)
        if known is not None:
            return known
        account = self._authenticate_token(digest)
        if account is not None:
            self._token_cache[digest] = (time.monotonic() + self.TOKEN_CACHE_SECONDS, account)
        return account

    def _authenticate_token(self, digest: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(accounts).join(tokens, tokens.c.account_id == accounts.c.id)
                .where(tokens.c.token_hash == digest, tokens.c.revoked_at.is_(None),
                       accounts.c.disabled.is_(False))).first()
        return _account(row) if row is not None else None

    def station_roles(self, name: str) -> frozenset[str] | None:
        """The roles of a registered scanner station (a station account an admin added), None if there
        is none of that name; remembered for TOKEN_CACHE_SECONDS, like tokens."""
        name = name.strip().lower()
        cached = self._station_cache.get(name)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts.c.roles).where(accounts.c.username == name, accounts.c.kind == "station",
                                                              accounts.c.disabled.is_(False))).first()
        roles = frozenset(r for r in row.roles.split(",") if r) if row is not None else None
        self._station_cache[name] = (time.monotonic() + self.TOKEN_CACHE_SECONDS, roles)
        return roles

    def known_station_roles(self, name: str) -> tuple[bool, frozenset[str] | None]:
        """(known, roles) from memory alone, for the event loop: known is False when it must be looked up."""
        cached = self._station_cache.get(name.strip().lower())
        return (True, cached[1]) if cached is not None and cached[0] > time.monotonic() else (False, None)

    def revoke_token(self, token_id: str) -> None:
        token_id = token_id.strip()
        if token_id.startswith("lgx_"):
            token_id = token_id.split("_")[1]
        with self.engine.begin() as conn:
            done = conn.execute(update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                                .values(revoked_at=datetime.now(timezone.utc))).rowcount
        if not done:
            raise NotFound(f"there is no active token {token_id!r}")
        self._token_cache.clear()

    def disable_person(self, person_id: str) -> int:
        """For an erasure: every account linked to the person can no longer sign in or use a token
        (disabled, password and sessions gone, tokens revoked), and is no longer named after them
        (a username may be a name or an e-mail address). Returns how many accounts."""
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            ids = list(conn.execute(select(accounts.c.id).where(accounts.c.person_id == person_id)).scalars())
            for account_id in ids:
                conn.execute(update(accounts).where(accounts.c.id == account_id)
                             .values(disabled=True, password_hash=None, username=f"erased-{account_id}"))
            if ids:
                conn.execute(update(tokens).where(tokens.c.account_id.in_(ids), tokens.c.revoked_at.is_(None))
                             .values(revoked_at=now))
                conn.execute(update(tokens).where(tokens.c.account_id.in_(ids)).values(label=""))
                conn.execute(delete(web_sessions).where(web_sessions.c.account_id.in_(ids)))
        self._token_cache.clear()
        return len(ids)

    def start_session(self, account: Account) -> str:
        """A signed-in browser's session: its id goes in the cookie; signing out deletes it here."""
        session_id = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(web_sessions).values(id=session_id, account_id=account.id,
                                                     created_at=datetime.now(timezone.utc)))
        return session_id

    def session_account(self, session_id: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(web_sessions.c.account_id, web_sessions.c.created_at)
                               .where(web_sessions.c.id == session_id)).first()
        if row is None:
            return None
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
        if (datetime.now(timezone.utc) - created).total_seconds() > SESSION_HOURS * 3600:
            self.end_session(session_id)
            return None
        try:
            return self.get(row.account_id)
        except NotFound:
            return None

    def end_session(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.id == session_id))

    def secret_key(self) -> str:
        """The key that signs session cookies: made once, kept in the database."""
        with self.engine.connect() as conn:
            value = conn.execute(select(settings.c.value).where(settings.c.key == "session_secret")).scalar()
        if value:
            return value
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(settings).values(key="session_secret", value=secrets.token_urlsafe(48)))
        except IntegrityError:
            pass
        return self.secret_key()
