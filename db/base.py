"""Declarative base with a naming convention, so constraint names are stable in migrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, mapped_column

from config import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def stamped() -> Any:
    """A ``timestamptz`` column stamped with the service clock on insert.

    The service's clock (``config.clock``), not the database's ``now()``, dates what is
    stored: a statutory date computed from it must agree with the one tests set.  The
    migration's server default remains for rows written outside the service.
    """
    return mapped_column(DateTime(timezone=True), default=clock.now)
