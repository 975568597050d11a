"""Per-user page preferences (``user_preference``, migration 0011): the pages' language."""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from db import audit
from db.audit import Actor
from db.engine import sql
from gis.errors import DomainError

LANGUAGES: Final = ("vi", "en")
DEFAULT_LANGUAGE: Final = "vi"


class InvalidPreference(DomainError):
    code = "invalid_preference"
    title = "Invalid preference"


def language_of(session: Session, *, user_id: int) -> str:
    """The user's page language (Vietnamese unless they chose English)."""
    found = session.execute(sql("SELECT language FROM user_preference WHERE user_id = :u"),
                            {"u": user_id}).scalar_one_or_none()
    return found if found in LANGUAGES else DEFAULT_LANGUAGE


def set_language(session: Session, *, actor: Actor, user_id: int, language: str) -> None:
    """Remember the user's page language (audited like every write)."""
    if language not in LANGUAGES:
        raise InvalidPreference(f"language must be one of {', '.join(LANGUAGES)}, "
                                f"not {language!r}", field="language")
    session.execute(sql(
        "INSERT INTO user_preference (user_id, language) VALUES (:u, :l) "
        "ON CONFLICT (user_id) DO UPDATE SET language = EXCLUDED.language, "
        "updated_at = clock_timestamp()"), {"u": user_id, "l": language})
    audit.record(session, actor=actor, action="set_language", entity="user_preference",
                 entity_ids=[user_id], detail={"language": language})
