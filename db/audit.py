"""The audit trail: who did what, to which records, from where, in the same transaction.

Rows are insert-only: a trigger refuses UPDATE and DELETE on ``audit_event``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, Text, column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from db import testhooks
from db.base import Base, stamped


@dataclass(frozen=True)
class Actor:
    """Who acts, carried into every write so the audit row names them.

    ``ward_code`` has no default: every write is scoped to the ward its actor names (the
    signed-in user's row, or the settings for the command line), never to one by default.
    """

    username: str
    ward_code: str
    role: str | None = None
    address: str | None = None
    request_id: str | None = None
    """The id the server gave the request (never one a client chose)."""
    client_request_id: str | None = None
    """The ``X-Request-ID`` the client sent, if any: recorded, never trusted as ours."""
    credential: str | None = None
    """What the actor signed in with, when it is not a session: ``token:<id>`` (a personal
    access token) or ``basic`` (a password sent as HTTP Basic)."""


def system_actor(ward_code: str) -> Actor:
    """The service itself acting in a ward: an audit run or set-up with no user behind it."""
    return Actor(username="system", role="admin", ward_code=ward_code)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ward_code: Mapped[str] = mapped_column(String)
    at: Mapped[datetime] = stamped()
    actor: Mapped[str] = mapped_column(String)
    role: Mapped[str | None] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    entity: Mapped[str] = mapped_column(String)
    entity_ids: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    address: Mapped[str | None] = mapped_column(String)
    request_id: Mapped[str | None] = mapped_column(String)
    credential: Mapped[str | None] = mapped_column(String)
    client_request_id: Mapped[str | None] = mapped_column(String)


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_ids: list[Any] | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session's transaction (it commits or rolls back with it)."""
    event = AuditEvent(
        ward_code=actor.ward_code,
        actor=actor.username,
        role=actor.role,
        action=action,
        entity=entity,
        entity_ids=list(entity_ids or []),
        reason=reason,
        detail=dict(detail or {}),
        address=actor.address,
        request_id=actor.request_id,
        client_request_id=actor.client_request_id,
        credential=actor.credential,
    )
    session.add(event)
    if testhooks.PAUSE_AT is not None:  # the crash tests' pause (db/testhooks.py)
        testhooks.pause_point(session, f"{entity}:{action}")
    return event


def find(
    session: Session,
    *,
    ward_code: str,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    before: int | None = None,
    through: int | None = None,
) -> tuple[list[tuple[AuditEvent, int]], bool, int]:
    """Audit events newest first (by their place in the ward's chain), filtered.

    ``before`` is a keyset cursor (events before that place in the chain); ``through``
    pins the newest event a paging started from, so events written meanwhile do not push
    older ones onto the next page.  Returns the events with their places, whether more
    follow, and the place it was pinned at (the chain's newest committed event when not
    given).
    """
    from sqlalchemy import func, select

    if through is None:
        through = int(session.execute(select(func.coalesce(func.max(event_seq), 0)).where(
            AuditEvent.ward_code == ward_code)).scalar_one())
    q = select(AuditEvent, event_seq).where(AuditEvent.ward_code == ward_code,
                                            event_seq <= through)
    if before is not None:
        q = q.where(event_seq < before)
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if action:
        q = q.where(AuditEvent.action == action)
    if entity:
        q = q.where(AuditEvent.entity == entity)
    if entity_id is not None:
        value = int(entity_id) if str(entity_id).isdigit() else str(entity_id)
        q = q.where(AuditEvent.entity_ids.contains([value]))
    if since:
        q = q.where(AuditEvent.at >= since)
    if until:
        q = q.where(AuditEvent.at < until)
    q = q.order_by(event_seq.desc()).limit(limit + 1).offset(offset)
    rows = session.execute(q).all()
    return [(row[0], int(row[1])) for row in rows[:limit]], len(rows) > limit, through


event_seq = column("seq", BigInteger)
"""The event's place in its ward's chain, written by the database (migration
0015_audit_chain); not mapped, so that inserts leave it to the trigger."""
