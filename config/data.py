"""The ward served and the material the service reads but does not own.

``CADASTRE_WARD_CODE`` names the ward (its administrative code): every
query and every write of the service is scoped to it, and nothing else in the code
names a ward.  ``CADASTRE_RULES_FILE`` names the rule table in force;
``CADASTRE_EXTERNAL_DATA`` the reference material that is not ours to commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.tables import RULES_TABLE

REPO_ROOT: Final = Path(__file__).resolve().parent.parent


class DataSettings(BaseSettings):
    """The ward served, the rule table in force, and reference material not ours to commit."""

    model_config = SettingsConfigDict(env_prefix="CADASTRE_", extra="ignore",
                                      populate_by_name=True)

    external_data: Path = Field(
        default=REPO_ROOT.parent / "shared" / "data" / "external",
        validation_alias=AliasChoices("CADASTRE_EXTERNAL_DATA", "CADASTRE_DATA_EXTERNAL"),
    )
    rules_file: Path = RULES_TABLE
    ward_code: str = "19774"
    """The ward served: Phường Kim Long's administrative code since 1 July 2025 (Resolution
    1675/NQ-UBTVQH15; the old Kim Long code 19918 now names another commune: DOMAIN.md)."""
