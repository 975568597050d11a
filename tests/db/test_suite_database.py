"""The suite writes only into a database of its own, never into the one DATABASE_URL names.

It drops, migrates, seeds and commits into its database, so a user's ``DATABASE_URL``
(their development registry, a staging server) must never be that database: the suite
refuses to start while it is set without ``TEST_DATABASE_URL`` (tests/conftest.py,
``suite_database``), and takes it out of its own environment so that nothing it starts
reaches it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from config.settings import Settings
from db.engine import database_url, make_engine
from tests.conftest import URL_VARIABLES, suite_database

REPO = Path(__file__).resolve().parents[2]
UNUSED_PLUGINS = ("hypothesispytest", "schemathesis", "pytest_cov", "anyio")
"""Plugins the child run does not need (importing hypothesis alone costs 2 s of CPU)."""
USERS_DB = "postgresql+psycopg://registrar:s3cret-pw@db.example.invalid:5432/kimlong"


@pytest.mark.parametrize("variable", URL_VARIABLES)
def test_a_named_database_alone_is_refused_with_a_clear_message(variable: str) -> None:
    with pytest.raises(pytest.UsageError) as refused:
        suite_database({variable: USERS_DB})
    message = str(refused.value)
    assert message.startswith(f"{variable} is set (postgresql+psycopg://registrar:***@db.")
    assert "never uses the database DATABASE_URL names" in message
    assert "TEST_DATABASE_URL" in message and "s3cret-pw" not in message


def test_test_database_url_is_used_and_database_url_is_not() -> None:
    own = "postgresql+psycopg://tester:pw@127.0.0.1:5999/scratch"
    db = suite_database({"DATABASE_URL": USERS_DB, "TEST_DATABASE_URL": own})
    assert db.url == own


def test_without_either_the_suite_uses_its_own_database_on_the_embedded_cluster() -> None:
    db = suite_database({"CADASTRE_HOME": "/tmp/somewhere"})
    assert db.url is None and db.database == "cadastre_test"
    assert db.state_dir == Path("/tmp/somewhere")
    assert suite_database({"CADASTRE_TEST_DATABASE": "ci_7"}).database == "ci_7"


def test_nothing_started_by_the_tests_can_reach_database_url(settings, engine: Engine,
                                                              service_env) -> None:
    """DATABASE_URL is out of the environment; what reads the environment (the command
    line, a server process of its own) resolves to this run's test database."""
    assert os.environ.get("CADASTRE_DATABASE_URL") is None
    assert os.environ.get("DATABASE_URL") == settings.db.url  # unset on the embedded cluster
    assert database_url(Settings().db) == database_url(settings.db)
    assert engine.url.render_as_string(hide_password=False) == database_url(settings.db)


def test_a_run_with_database_url_set_refuses_and_leaves_that_database_alone(
        settings, engine: Engine) -> None:
    """A real pytest run, with DATABASE_URL naming an (empty) database of the user's on
    this server: it exits with a usage error and creates no table there."""
    named, other = f"{settings.db.database}_named", f"{settings.db.database}_other"
    owner = make_engine(settings.db, as_owner=True)
    admin = owner.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        for name in (named, other):
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{named}"'))
    users_url = owner.url.set(database=named)
    try:
        env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
        env |= {"DATABASE_URL": users_url.render_as_string(hide_password=False),
                "CADASTRE_TEST_DATABASE": other}  # should it run, not this run's database
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             *(arg for plugin in UNUSED_PLUGINS for arg in ("-p", f"no:{plugin}")),
             "tests/db/test_schema.py::test_srid_9214_row"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        out = run.stdout + run.stderr
        probe = make_engine(settings.db, url=users_url.render_as_string(False), as_owner=True)
        with probe.connect() as c:
            tables = c.execute(text("SELECT count(*) FROM pg_tables "
                                    "WHERE schemaname NOT IN ('pg_catalog', "
                                    "'information_schema')")).scalar_one()
        probe.dispose()
        assert (run.returncode, tables) == (pytest.ExitCode.USAGE_ERROR, 0), out
        assert f"DATABASE_URL is set ({users_url.render_as_string(True)})" in out
    finally:
        with admin.connect() as c:
            for name in (named, other):
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        owner.dispose()
