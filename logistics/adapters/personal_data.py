"""Personal data sealed with one key per person (Fernet, from `cryptography`).

Events carry only `sealed:v1:<subject>:<token>`. Erasing a person deletes their key: every
history stays whole and every event stays as recorded, and the data reads as erased.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, DateTime, Engine, LargeBinary, MetaData, String, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

metadata = MetaData()
keys = Table(
    "personal_data_keys", metadata,
    Column("subject", String(64), primary_key=True),
    Column("key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
ERASED = {"erased": True}


class Vault:
    def __init__(self, engine: Engine):
        self.engine = engine
        metadata.create_all(engine)

    def _key(self, subject: str) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(select(keys.c.key).where(keys.c.subject == subject)).scalar()

    def seal(self, subject: str, data: dict[str, Any]) -> str:
        key = self._key(subject)
        if key is None:
            key = Fernet.generate_key()
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(keys).values(subject=subject, key=key, created_at=datetime.now(timezone.utc)))
            except IntegrityError:  # another process made it first
                key = self._key(subject)
                assert key is not None
        token = Fernet(key).encrypt(json.dumps(data, sort_keys=True).encode()).decode()
        return f"sealed:v1:{subject}:{token}"

    def open(self, sealed: str) -> dict[str, Any]:
        """The data, or {"erased": True} once the subject was erased."""
        _, _, subject, token = sealed.split(":", 3)
        key = self._key(subject)
        if key is None:
            return dict(ERASED)
        try:
            return json.loads(Fernet(key).decrypt(token.encode()))
        except InvalidToken:
            return dict(ERASED)

    def erase(self, subject: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(keys).where(keys.c.subject == subject))
