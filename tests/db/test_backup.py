"""Backups: what was backed up comes back exactly; a damaged file is refused, nothing restored.

Real processes on the suite's own server: ``cadastre backup`` and ``cadastre restore`` run
as commands against scratch databases (a source with a registered, split parcel and its
audit trail; an empty target), as an operator would run them.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from config.settings import Settings
from db.backup import (
    DUMP,
    MANIFEST,
    DamagedBackup,
    connect,
    read_backup,
    registry_fingerprint,
    relation_count,
    table_states,
)
from db.engine import database_url, make_engine, transaction
from db.migrate import upgrade
from parcels import registry
from tests.factories import X0, Y0, rect, spec
from tests.scratch import cli_env, scratch_database

CLI = [sys.executable, "-m", "api.cli"]
WARD = "19774"


def _seed(settings: Settings) -> None:
    """Migrate and fill a database: a ward, a parcel split in two, one more parcel."""
    from shapely.geometry import MultiPolygon, box

    from db.audit import Actor
    from gis import crs as gcrs
    from gis.convert import to_ewkb

    owner = make_engine(settings.db, as_owner=True)
    upgrade(owner)
    with owner.begin() as c:
        c.execute(text("INSERT INTO ward (code, name, boundary, synthetic) VALUES "
                       "(:c, 'Phường Kim Long (backup test)', ST_GeomFromEWKB(:g), true)"),
                  {"c": WARD, "g": to_ewkb(MultiPolygon([box(X0 - 500, Y0 - 500, X0 + 500,
                                                             Y0 + 500)]), gcrs.WARD)})
        c.execute(text("INSERT INTO former_unit (ward_code, code, name) VALUES "
                       "(:w, 'kim_long', 'Kim Long')"), {"w": WARD})
    owner.dispose()
    officer = Actor(username="officer", role="land_officer", ward_code=WARD)
    with _service(settings) as engine, transaction(engine) as s:
        lot = registry.register_parcel(s, actor=officer, spec=spec(7, 1, rect(0, 0, 20, 10)),
                                       reason="đăng ký lần đầu")
        registry.register_parcel(s, actor=officer, reason="lối đi",  # the parts' road
                                 spec=spec(7, 90, rect(0, -6, 20, 6), land_use="DGT"))
        registry.split_parcel(s, actor=officer, parcel_id=lot.parcel_id, reason="tách thửa",
                              children=[spec(7, 2, rect(0, 0, 10, 10)),
                                        spec(7, 3, rect(10, 0, 10, 10))])
        registry.register_parcel(s, actor=officer, spec=spec(7, 4, rect(30, 0, 10, 10)),
                                 reason="đăng ký lần đầu")


class _service:
    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(settings.db)

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *_exc: object) -> None:
        self.engine.dispose()


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=cli_env(settings), capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture()
def source(settings: Settings) -> Iterator[Settings]:
    with scratch_database(settings, "cadastre_test_backup_source") as src:
        _seed(src)
        yield src


@pytest.fixture()
def target(settings: Settings) -> Iterator[Settings]:
    with scratch_database(settings, "cadastre_test_backup_target") as tgt:
        yield tgt


@pytest.fixture()
def backup_file(source: Settings, tmp_path: Path) -> Path:
    out = tmp_path / "kim-long.backup"
    r = _cli(source, "backup", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "backup written" in r.stdout
    return out


def _states(settings: Settings) -> dict[str, tuple[int, str]]:
    with connect(database_url(settings.db)) as conn:
        return {n: (s.rows, s.digest) for n, s in table_states(conn).items()}


def _current_parcels(settings: Settings) -> list[tuple[int, int]]:
    with connect(database_url(settings.db)) as conn:
        return [(int(a), int(b)) for a, b in conn.execute(
            "SELECT sheet_no, parcel_no FROM parcel_version WHERE valid_to IS NULL "
            "AND status = 'registered' ORDER BY 1, 2").fetchall()]


def test_backup_then_more_writes_then_restore_gives_back_the_backed_up_state(
        source: Settings, target: Settings, backup_file: Path, tmp_path: Path) -> None:
    """The backup's manifest describes the source as it was; after more writes to the
    source, the restore into an empty database gives back exactly that state: every table's
    rows and digest, the registry's fingerprint, the schema revision, the parcels in force
    (the split's two children, their lane and the other parcel, not the one registered
    later)."""
    before = _states(source)
    parcels_before = _current_parcels(source)
    assert parcels_before == [(7, 2), (7, 3), (7, 4), (7, 90)]
    manifest = read_backup(backup_file, tmp_path)
    assert {n: (t["rows"], t["digest"]) for n, t in manifest["tables"].items()} == before
    assert manifest["tables"]["parcel_version"]["rows"] == 6  # 1 → retired + 2 children + lane + 1
    assert manifest["schema_revision"] and manifest["srid_9214"]

    from db.audit import Actor
    with _service(source) as engine, transaction(engine) as s:
        registry.register_parcel(s, actor=Actor(username="officer", role="land_officer",
                                                ward_code=WARD),
                                 spec=spec(7, 5, rect(50, 0, 10, 10)), reason="sau sao lưu")
    assert _states(source) != before

    r = _cli(target, "restore", str(backup_file))
    assert r.returncode == 0, r.stderr
    assert "every row count and digest as in the manifest" in r.stdout
    restored = _states(target)
    assert restored == before
    assert _current_parcels(target) == parcels_before
    with connect(database_url(target.db)) as conn:
        states = table_states(conn)
        history = conn.execute("SELECT count(*) FROM parcel_lineage").fetchone()
        srid = conn.execute("SELECT count(*) FROM spatial_ref_sys WHERE srid = 9214").fetchone()
    assert registry_fingerprint(states) == manifest["registry_fingerprint"]
    assert history == (2,) and srid == (1,)


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def _member_offset(path: Path, name: str) -> tuple[int, int]:
    with tarfile.open(path) as tar:
        m = tar.getmember(name)
        return m.offset_data, m.size


def _damage(path: Path, how: str) -> str:
    """Damage the backup file in place; returns what the refusal must say."""
    data = path.read_bytes()
    if how == "truncated in the dump":
        path.write_bytes(data[: len(data) // 2])
        return "truncated"
    if how == "last bytes missing":
        start, size = _member_offset(path, DUMP)
        path.write_bytes(data[: start + size - 100])
        return "truncated"
    if how == "a byte flipped in the dump":
        start, size = _member_offset(path, DUMP)
        _flip(path, start + size // 2)
        return "does not match the SHA-256"
    if how == "a row count changed in the manifest":
        start, size = _member_offset(path, MANIFEST)
        text_ = data[start:start + size].decode()
        changed = text_.replace('"rows": 5,', '"rows": 6,', 1)
        assert changed != text_
        path.write_bytes(data[:start] + changed.encode() + data[start + size:])
        return "does not match its checksum"
    if how == "not a backup":
        path.write_bytes(b"PGDMP" + bytes(range(256)) * 40)
        return "is not a backup"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated in the dump", "last bytes missing",
                                 "a byte flipped in the dump",
                                 "a row count changed in the manifest", "not a backup"])
def test_a_damaged_backup_is_refused_and_the_target_stays_empty(
        target: Settings, backup_file: Path, tmp_path: Path, how: str) -> None:
    """Truncated, a flipped byte, an edited manifest, another file: ``restore`` exits 2 with
    a message that says what is wrong, and the target database holds no table at all."""
    message = _damage(backup_file, how)
    with pytest.raises(DamagedBackup, match=message):
        read_backup(backup_file, tmp_path)
    r = _cli(target, "restore", str(backup_file))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and "nothing was restored" in r.stderr
    assert relation_count(database_url(target.db)) == 0


def test_restore_refuses_a_database_that_is_not_empty(source: Settings,
                                                      backup_file: Path) -> None:
    """Restoring over live data would mix two registries: refused, the data unchanged."""
    before = _states(source)
    r = _cli(source, "restore", str(backup_file))
    assert r.returncode == 2
    assert "is not empty" in r.stderr
    assert _states(source) == before
