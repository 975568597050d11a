"""The generated demo ward loaded into databases of their own, for tests that need a whole
synthetic ward (the tiny one for speed, the small one where every former unit and sheet
must be there).

``load_demo`` needs a registry without another ward of its code (the test ward has it),
so a demo ward cannot share the test database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from config.database import DatabaseSettings
from config.settings import Settings
from data.generate import generate
from data.load import load_demo
from data.outline import FILE_NAME, SUBFOLDER, load_outline
from db.cluster import Cluster
from db.engine import database_url, make_engine
from db.migrate import upgrade
from tests.conftest import require_external


@dataclass(frozen=True)
class DemoWard:
    """A generated demo ward in a database of its own."""

    engine: Engine
    db: DatabaseSettings
    folder: Path


def demo_ward(settings: Settings, out: Path, *, size: str, seed: int,
              suffix: str) -> Iterator[DemoWard]:
    """Generate the demo ward into ``out``, load it into ``<test db>_<suffix>``, yield it,
    then drop that database."""
    name = f"{settings.db.database}_{suffix}"
    if settings.db.url:
        url = make_url(settings.db.url)
        admin = create_engine(database_url(settings.db), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        db = DatabaseSettings(url=url.set(database=name).render_as_string(False), database=name)
    else:
        cluster = Cluster(settings.db.state_dir)
        cluster.drop_database(name)
        cluster.up(name)
        db = DatabaseSettings(database=name, home=settings.db.home)
    owner = make_engine(db, as_owner=True)  # set-up runs as the owner, the audit as the service
    upgrade(owner)
    outline = load_outline(require_external(SUBFOLDER, FILE_NAME))
    generate(size=size, seed=seed, out=out, outline=outline)  # type: ignore[arg-type]
    assert load_demo(owner, out).loaded
    owner.dispose()
    eng = make_engine(db)
    yield DemoWard(engine=eng, db=db, folder=out)
    eng.dispose()
    if not settings.db.url:
        Cluster(settings.db.state_dir).drop_database(name)


@pytest.fixture(scope="module")
def demo_engine(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The tiny demo ward (seed 7)."""
    for ward in demo_ward(settings, tmp_path_factory.mktemp("demo"), size="tiny", seed=7,
                          suffix="demo"):
        yield ward.engine


@pytest.fixture(scope="module")
def small_demo(settings: Settings, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[DemoWard]:
    """The small demo ward (seed 11, as ``bench/audit.py --registry --size small``)."""
    yield from demo_ward(settings, tmp_path_factory.mktemp("small-demo"), size="small", seed=11,
                         suffix="small_demo")
