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


def batch_version(session: Session, *, batch_id: int) -> str:
    """A digest of what an officer decides on: the batch's state and validation, and every
    override of its findings.  Validating again, an override, a commit or a rejection
    changes it."""
    import hashlib

    row = session.execute(text(
        "SELECT b.state, b.validated_at, b.decided_at, b.registry_stamp, "
        "(SELECT count(*) FROM survey_finding f WHERE f.batch_id = b.id), "
        "(SELECT count(*) FROM survey_finding f WHERE f.batch_id = b.id "
        "AND f.override_by IS NOT NULL), "
        "(SELECT max(override_at) FROM survey_finding f WHERE f.batch_id = b.id) "
        "FROM survey_batch b WHERE b.id = :b"), {"b": batch_id}).one()
    return hashlib.sha256("|".join(map(str, row)).encode()).hexdigest()[:16]


def batch_etag(batch_id: int, version: str) -> str:
    """The entity tag of a batch's version (HTTP ETag / If-Match)."""
    return f'"survey-batch-{batch_id}-{version}"'


def require_batch_version(session: Session, *, actor: Actor, batch_id: int,
                          expected: str | None) -> None:
    """Refuse a decision based on another version of the batch than the current one.
    Takes the ward's lock and the batch's row (the commit's order) until the transaction
    ends, so the decision that follows works on the version checked here."""
    if expected is None:
        return
    from db.errors import StaleVersion
    from parcels.registry import lock_ward

    lock_ward(session, actor.ward_code)
    batch_row(session, actor, batch_id, lock=True)
    current = batch_version(session, batch_id=batch_id)
    if current != expected:
        raise StaleVersion(
            f"survey batch {batch_id} changed since you read it (validated again, a finding "
            "overridden, or decided); read it again", batch_id=batch_id,
            current_version=current, expected_version=expected,
            etag=batch_etag(batch_id, current))


def open_batch_row(session: Session, actor: Actor, batch_id: int) -> Row[Any]:
    row = batch_row(session, actor, batch_id, lock=True)
    if row.state in DECIDED:
        raise BatchClosed(f"survey batch {batch_id} is already {row.state}",
                          batch_id=batch_id, state=row.state)
    return row
