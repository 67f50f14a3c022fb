"""GraphQL for notifications: what the signed-in person receives (and changing it), and the outbox for admins.

Thin: each resolver calls the Session's notification methods (which decide who may ask) and turns a
refusal into a Problem.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Optional, Union

import strawberry

from logistics.api.errors import PROBLEMS, problem
from logistics.domain.errors import DomainError
from logistics.service_layer import notifications as n


@strawberry.enum(description="A kind of message the tracker sends.")
class NotificationKind(Enum):
    DEWAR_ARRIVED = n.ARRIVED
    UNEXPECTED_ARRIVAL = n.UNEXPECTED
    DAMAGE_REPORTED = n.DAMAGED
    CONTENTS_CHECK_FAILED = n.CHECK_FAILED
    DISPATCH_BOOKED = n.DISPATCH_BOOKED
    DISPATCHED = n.DISPATCHED
    DEWAR_STALE = n.STALE


@strawberry.enum(description="How a kind of message is received: at once, in one e-mail a day, or not at all.")
class Delivery(Enum):
    IMMEDIATE = n.IMMEDIATE
    DIGEST = n.DIGEST
    OFF = n.OFF


@strawberry.enum(description="Where a message stands in the outbox.")
class OutboxStatus(Enum):
    PENDING = "pending"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    SKIPPED = "skipped"
    DIGEST = "digest"
    DIGESTED = "digested"
    FAILED = "failed"


@strawberry.type(description="How the signed-in person receives one kind of message, for one proposal or "
                             "(proposal null) for all.")
class NotificationSetting:
    kind: NotificationKind
    proposal: Optional[str]
    delivery: Delivery
    is_default: bool = strawberry.field(description="True when this is the role's default, not a choice.")

    @classmethod
    def of(cls, entry: dict[str, Any]) -> "NotificationSetting":
        return cls(kind=NotificationKind(entry["kind"]), proposal=entry["proposal"],
                   delivery=Delivery(entry["delivery"]), is_default=entry["is_default"])


@strawberry.type(description="One message to one person. The recipient is a person id: names and addresses are "
                             "looked up only when sending, and never kept here.")
class OutboxMessage:
    id: int
    message_id: str = strawberry.field(description="The dedupe key: event position, kind and person; also the "
                                                   "e-mail's Message-ID.")
    kind: str
    status: OutboxStatus
    recipient: str
    proposal: Optional[str]
    barcode: Optional[str]
    attempts: int
    next_attempt_at: Optional[datetime]
    last_error: Optional[str]
    note: Optional[str]
    created_at: datetime
    sent_at: Optional[datetime]

    @classmethod
    def of(cls, row: dict[str, Any]) -> "OutboxMessage":
        return cls(id=row["id"], message_id=row["dedupe_key"], kind=row["kind"], status=OutboxStatus(row["status"]),
                   recipient=row["recipient"], proposal=row["proposal"], barcode=row["barcode"],
                   attempts=row["attempts"], next_attempt_at=row["next_attempt_at"], last_error=row["last_error"],
                   note=row["note"], created_at=row["created_at"], sent_at=row["sent_at"])


@strawberry.type
class OutboxPage:
    messages: list[OutboxMessage]


NotificationSettingResult = Annotated[Union[(NotificationSetting, *PROBLEMS)],
                                      strawberry.union("NotificationSettingResult")]
OutboxResult = Annotated[Union[(OutboxPage, *PROBLEMS)], strawberry.union("OutboxResult")]


async def settings(info: strawberry.Info) -> list[NotificationSetting]:
    entries = await info.context.run(info.context.session.notification_settings)
    return [NotificationSetting.of(e) for e in entries]


async def set_setting(info: strawberry.Info, kind: NotificationKind, proposal: Optional[str],
                      delivery: Delivery) -> Any:
    try:
        entry = await info.context.run(info.context.session.set_notification_setting, kind.value, delivery.value,
                                       proposal)
    except DomainError as e:
        return problem(e)
    return NotificationSetting.of(entry)


async def outbox(info: strawberry.Info, status: Optional[OutboxStatus], first: int) -> Any:
    try:
        rows = await info.context.run(info.context.session.outbox, status.value if status else None, first)
    except DomainError as e:
        return problem(e)
    return OutboxPage(messages=[OutboxMessage.of(r) for r in rows])


@strawberry.type
class Query:
    @strawberry.field(description="What the signed-in person is told, per kind of message and proposal, and how.")
    async def notification_settings(self, info: strawberry.Info) -> list[NotificationSetting]:
        return await settings(info)

    @strawberry.field(description="The e-mail outbox, newest first, by status (admin only).")
    async def outbox(self, info: strawberry.Info, status: Optional[OutboxStatus] = None,
                     first: int = 100) -> OutboxResult:
        return await outbox(info, status, first)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Choose how to receive a kind of message, for one proposal or (none) all.")
    async def set_notification_setting(self, info: strawberry.Info, kind: NotificationKind, delivery: Delivery,
                                       proposal: Optional[str] = None) -> NotificationSettingResult:
        return await set_setting(info, kind, proposal, delivery)
