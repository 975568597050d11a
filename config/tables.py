"""Where the dated legal and rule tables shipped with the service are.

Each table is a TOML file beside this module that cites the source of every figure:
``rules.toml`` (severities and tolerances of the geometry checks, read by
``gis.rules``) and ``certificates.toml`` (statutory processing times, the working-day
calendar's overrides, how certificate verification uses the rules).  A deployment
points at its own copy with ``CADASTRE_RULES_FILE`` or ``CADASTRE_CERTIFICATES_FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

TABLES_DIR: Final = Path(__file__).resolve().parent

RULES_TABLE: Final = TABLES_DIR / "rules.toml"
"""Default severities and tolerances of the geometry and topology rules."""

CERTIFICATES_TABLE: Final = TABLES_DIR / "certificates.toml"
"""Default deadlines, calendar overrides and verification settings of certificates."""

CALENDAR_TABLE: Final = TABLES_DIR / "calendar.toml"
"""The statutory working-day calendar: Labour Code Art. 112 rules, Tết and swap tables."""
