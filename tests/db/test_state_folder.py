"""The command line finds its state folder the way git finds a repository: from any folder
of the checkout, the checkout's cluster; from elsewhere, a message saying where it looked
and how to point at the right one (never an invitation to make a second cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from config.database import DatabaseSettings, find_state_dir
from db.cluster import ClusterError
from db.engine import database_url
from tests.conftest import URL_VARIABLES


def _checkout(root: Path) -> Path:
    """A folder with a state folder describing a cluster, and a folder deep inside it."""
    state = root / "checkout" / ".cadastre"
    state.mkdir(parents=True)
    (state / "cluster.json").write_text(
        '{"data_dir": "/nowhere", "socket_dir": "/nowhere/run", "port": 1, "password": "x", '
        '"bin_dir": "/nowhere/bin", "run_as": null}')
    deep = root / "checkout" / "api" / "routes"
    deep.mkdir(parents=True)
    return deep


@pytest.fixture()
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CADASTRE_HOME", *URL_VARIABLES):
        monkeypatch.delenv(name, raising=False)


def test_the_nearest_state_folder_above_is_found(tmp_path: Path, monkeypatch, unset) -> None:
    """From api/routes of a checkout the checkout's .cadastre is used."""
    deep = _checkout(tmp_path)
    assert find_state_dir(deep) == tmp_path / "checkout" / ".cadastre"
    assert find_state_dir(tmp_path) is None
    monkeypatch.chdir(deep)
    settings = DatabaseSettings()
    assert settings.state_dir == (tmp_path / "checkout" / ".cadastre").resolve()
    assert database_url(settings).endswith("@127.0.0.1:1/cadastre")


def test_elsewhere_says_where_it_looked(tmp_path: Path, monkeypatch, unset) -> None:
    """Outside any checkout: where it looked and the three ways to point at a cluster."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ClusterError) as info:
        database_url(DatabaseSettings())
    message = str(info.value)
    assert f"in {tmp_path.resolve()} and every folder above it" in message
    assert "CADASTRE_HOME" in message and "DATABASE_URL" in message


def test_cadastre_home_still_names_the_folder(tmp_path: Path, monkeypatch, unset) -> None:
    """CADASTRE_HOME wins over the walk, and a wrong one is named as such."""
    deep = _checkout(tmp_path)
    monkeypatch.chdir(deep)
    monkeypatch.setenv("CADASTRE_HOME", str(tmp_path / "other"))
    with pytest.raises(ClusterError, match=r"CADASTRE_HOME is .*other, which holds none"):
        database_url(DatabaseSettings())


def test_a_command_from_a_subfolder_uses_the_checkout(tmp_path: Path, monkeypatch,
                                                      unset) -> None:
    """`cadastre db status` run in api/routes describes the checkout's cluster, not a new
    one in api/routes; from outside, a database command exits 1 with the message."""
    deep = _checkout(tmp_path)
    monkeypatch.chdir(deep)
    r = CliRunner().invoke(app, ["db", "status"])
    assert "embedded cluster in /nowhere" in r.output, r.output
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["users", "list"])
    assert r.exit_code == 1 and "every folder above it" in r.output, r.output
