"""Fixtures of the page tests: the small SYNTHETIC demo ward in a database of its own, served
by a real ``cadastre serve`` (uvicorn on 127.0.0.1) with the clock started on the day after
the demo's period, and one person per role with a known password.

A database of its own because the pages write as a person would (verify, approve, upload)
and the server is another process: nothing can be rolled back under it.  ``load_demo``
also needs a registry holding no other ward of its code.  Built once per run, dropped after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.users import add_user
from bench.common import served
from config.database import DatabaseSettings
from config.settings import Settings
from data.generate import generate
from data.load import WARD_CODE, load_demo
from data.outline import FILE_NAME, SUBFOLDER, load_outline
from db.audit import Actor
from db.cluster import Cluster
from db.engine import database_url, make_engine
from db.migrate import upgrade
from tests.conftest import require_external

DEMO_SIZE, DEMO_SEED = "small", 11
"""The ward the certificate tests use (tests/certificates/conftest.py)."""
CLOCK_START = "2025-08-26T08:00:00+07:00"
"""The morning after the period the demo's intake covers (1 July – 25 August 2025)."""
LOADED_AT = datetime.fromisoformat("2025-06-30T08:00:00+07:00")
"""When the demo registry is loaded: before the period, so the site's day comes after."""
PASSWORD = "page-tests-password-1"
PEOPLE = {
    "lan": ("land_officer", "Nguyễn Thị Lan"),
    "minh": ("surveyor", "Trần Văn Minh"),
    "hoa": ("official", "Lê Thị Hoà"),
    "quan": ("admin", "Phạm Quản Trị"),
}
"""username: (role, full name) — Vietnamese names, so every page shows diacritics."""


@dataclass(frozen=True)
class Site:
    url: str
    engine: Engine
    """The service role's engine on the site's database (what the tests compare with)."""
    settings: Settings
    folder: Path
    manifest: dict[str, Any]


def _own_database(settings: Settings, name: str) -> DatabaseSettings:
    if settings.db.url:
        url = make_url(settings.db.url)
        admin = create_engine(database_url(settings.db), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return DatabaseSettings(url=url.set(database=name).render_as_string(False),
                                database=name)
    cluster = Cluster(settings.db.state_dir)
    cluster.drop_database(name)
    cluster.up(name)
    return DatabaseSettings(database=name, home=settings.db.home)


@pytest.fixture(scope="session")
def site(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    name = f"{settings.db.database}_pages"
    db = _own_database(settings, name)
    owner = make_engine(db, as_owner=True)
    upgrade(owner)
    out = tmp_path_factory.mktemp("pages_demo")
    generate(size=DEMO_SIZE, seed=DEMO_SEED, out=out,
             outline=load_outline(require_external(SUBFOLDER, FILE_NAME)))
    # The loader dates the registry's versions by the service clock: loaded "now" (the
    # host's date), an approval on the site's day would close a version before it began.
    with time_machine.travel(LOADED_AT, tick=True):
        assert load_demo(owner, out).loaded
    system = Actor(username="page-tests", role="admin", ward_code=WARD_CODE)
    with Session(owner) as s, s.begin():
        for username, (role, full_name) in PEOPLE.items():
            add_user(s, actor=system, username=username, role=role, password=PASSWORD,
                     full_name=full_name)
    owner.dispose()
    site_settings = settings.model_copy(update={"db": db})
    engine = make_engine(db)
    try:
        with served(site_settings, env={"CADASTRE_CLOCK_START": CLOCK_START,
                                        "CADASTRE_AUTH_TOKEN_MINUTES": "120"}) as url:
            yield Site(url=url, engine=engine, settings=site_settings, folder=out,
                       manifest=json.loads((out / "manifest.json").read_text("utf-8")))
    finally:
        engine.dispose()
        if not settings.db.url:
            Cluster(settings.db.state_dir).drop_database(name)
