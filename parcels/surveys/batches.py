"""One survey batch row as its reader may see it, and the rules every act on a batch shares:
who may see a batch, who may decide on it, when it is closed, and which rules judge it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from config.settings import Settings
from db.audit import Actor
from gis.rules import RuleSet, load_ruleset
from parcels.errors import InvalidInput
from parcels.surveys.errors import BatchClosed, BatchNotFound, OfficersOnly

OFFICER: Final = "land_officer"
DECIDED: Final = ("committed", "rejected")


@lru_cache(maxsize=4)
def _ruleset(path: str) -> RuleSet:
    return load_ruleset(path)


def ruleset(settings: Settings) -> RuleSet:
    """The rule settings batches are judged with (read once per process)."""
    return _ruleset(str(settings.data.rules_file))


def raw_connection(session: Session) -> Any:
    """The psycopg connection under the session, for COPY (10,000 rows in a blink)."""
    return session.connection().connection.driver_connection


def visible(actor: Actor, uploaded_by: str) -> bool:
    return actor.role != "surveyor" or uploaded_by == actor.username


def require_officer(actor: Actor) -> None:
    if actor.role != OFFICER:
        raise OfficersOnly(f"role {actor.role!r} may not decide on survey batches; a land "
                           "officer commits, rejects and overrides")


def reason_given(reason: str | None) -> str:
    text_ = (reason or "").strip()
    if len(text_) < 3:
        raise InvalidInput("give a reason (at least 3 characters)")
    return text_


BATCH = text("SELECT * FROM survey_batch WHERE id = :id AND ward_code = :w")
BATCH_FOR_UPDATE = text("SELECT * FROM survey_batch WHERE id = :id AND ward_code = :w FOR UPDATE")


def batch_row(session: Session, actor: Actor, batch_id: int, *, lock: bool = False) -> Row[Any]:
    sql = BATCH_FOR_UPDATE if lock else BATCH
    row = session.execute(sql, {"id": batch_id, "w": actor.ward_code}).one_or_none()
    if row is None or not visible(actor, row.uploaded_by):
        raise BatchNotFound(f"no survey batch {batch_id}", batch_id=batch_id)
    return row


def open_batch_row(session: Session, actor: Actor, batch_id: int) -> Row[Any]:
    row = batch_row(session, actor, batch_id, lock=True)
    if row.state in DECIDED:
        raise BatchClosed(f"survey batch {batch_id} is already {row.state}",
                          batch_id=batch_id, state=row.state)
    return row
