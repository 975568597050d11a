"""Migrations on real data: a registry kept at the previous release's schema upgrades intact.

The suite's own database is migrated from nothing; a deployed registry is not.  Here a
scratch database is migrated only to the previous release (``PREVIOUS_RELEASE``), filled
with the small synthetic demo ward and its applications by the same loader ``cadastre
demo`` runs, given some history (an amendment, a split, a verification), and then
upgraded to head.  Every row count, the registry's content, a parcel's history and the
verification of every pending application must come out the same, and the events written
before the upgrade must form an intact audit chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shapely.geometry import box
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from certificates import applications as apps
from config.settings import Settings
from data.frame import ANCHOR
from data.generate import generate
from data.load import WARD_CODE, load_demo
from db.audit import Actor
from db.audit_chain import verify as verify_chain
from db.backup import REGISTRY_TABLES, connect, table_states
from db.engine import database_url, make_engine, transaction
from db.migrate import current_revisions, head_revisions, upgrade
from parcels import registry
from parcels.registry import Amendment, ParcelSpec
from tests.scratch import scratch_database

PREVIOUS_RELEASE = "0018_access_tokens"
"""The schema the last deployed release ran (main's head before this release's migrations):
move it forward when a release ships.  It cannot be older than the newest column the demo
loader of today writes: the ORM names every audit_event column in its INSERT, and 0017 added
``credential`` (an upgrade from 0016 with data is then not exercised here)."""
OFFICER = Actor(username="officer", role="land_officer", ward_code=WARD_CODE)
PENDING = ("received", "verifying", "field_check", "waiting_applicant")


def _history(engine: Engine) -> int:
    """An amendment and a split on the loaded ward, and a verification of one claim;
    returns the split parcel's id."""
    with transaction(engine) as s:
        first, second = s.execute(text(
            "SELECT parcel_id FROM parcel_version WHERE ward_code = :w AND valid_to IS NULL "
            "AND status = 'registered' AND land_use = 'ODT' ORDER BY parcel_id LIMIT 2"),
            {"w": WARD_CODE}).scalars().all()
        registry.amend_parcel(s, actor=OFFICER, parcel_id=first, reason="sửa địa chỉ",
                              amendment=Amendment(address="12 Kim Long"))
        v = registry.current_version(s, second)
        from gis.convert import from_db
        geom = from_db(v.geom)
        minx, miny, maxx, maxy = geom.bounds
        mid = (minx + maxx) / 2
        parts = [geom.intersection(box(minx - 1, miny - 1, mid, maxy + 1)),
                 geom.intersection(box(mid, miny - 1, maxx + 1, maxy + 1))]
        top = s.execute(text("SELECT max(parcel_no) FROM parcel_version WHERE ward_code = :w "
                             "AND former_unit = :u AND sheet_no = :n"),
                        {"w": WARD_CODE, "u": v.former_unit, "n": v.sheet_no}).scalar_one()
        registry.split_parcel(s, actor=OFFICER, parcel_id=second, reason="tách thửa",
                              children=[ParcelSpec(former_unit=v.former_unit,
                                                   sheet_no=v.sheet_no, parcel_no=top + k + 1,
                                                   land_use=v.land_use, geometry=p)
                                        for k, p in enumerate(parts)])
        app_id = s.execute(text("SELECT id FROM application WHERE ward_code = :w AND state = "
                                "'received' AND geom IS NOT NULL ORDER BY id LIMIT 1"),
                           {"w": WARD_CODE}).scalar_one()
        apps.verify(s, actor=OFFICER, application_id=app_id)
    return int(second)


def _snapshot(settings: Settings, engine: Engine, split: int) -> dict[str, Any]:
    with connect(database_url(settings.db)) as conn:
        states = table_states(conn)
    with Session(engine) as s:
        history = s.execute(text(
            "SELECT version, change_kind, status, valid_from, valid_to, reason, "
            "ST_AsBinary(geom) FROM parcel_version WHERE parcel_id = :p ORDER BY version"),
            {"p": split}).all()
        lineage = s.execute(text("SELECT parent_parcel_id, child_parcel_id, kind FROM "
                                 "parcel_lineage ORDER BY 1, 2")).all()
        pending = s.execute(text("SELECT id FROM application WHERE ward_code = :w AND "
                                 "state = ANY(:p) AND geom IS NOT NULL ORDER BY id"),
                            {"w": WARD_CODE, "p": list(PENDING)}).scalars().all()
        verdicts = {}
        for app_id in pending:  # verified and rolled back: the verdict, nothing stored
            report = apps.verify(s, actor=OFFICER, application_id=app_id)
            verdicts[app_id] = (report.verdict, dict(report.counts), report.subject_parcel_id)
            s.rollback()
    return {"rows": {n: st.rows for n, st in states.items()},
            "registry": {n: states[n].digest for n in REGISTRY_TABLES},
            "reports": states["verification_report"].digest,
            "applications": states["application"].digest,
            "history": [tuple(r) for r in history], "lineage": [tuple(r) for r in lineage],
            "verdicts": verdicts}


def test_the_previous_release_upgrades_with_its_data_intact(settings: Settings,
                                                            tmp_path: Path) -> None:
    """At the previous release's schema: the demo ward loaded, an amendment, a split and a
    verification written.  Upgraded to head: the same rows in every table that existed,
    the same registry content, the split parcel's history and lineage, the same verdicts
    for every pending claim, and the old events chained intact in the order written."""
    x, y = ANCHOR
    folder = tmp_path / "tiny"
    generate(size="tiny", seed=7, out=folder, outline=box(x - 1500, y - 1500, x + 1500, y + 1500))
    with scratch_database(settings, "cadastre_test_migrate") as old:
        owner = make_engine(old.db, as_owner=True)
        try:
            upgrade(owner, PREVIOUS_RELEASE)
            assert current_revisions(owner) == (PREVIOUS_RELEASE,)
            loaded = load_demo(owner, folder)
            assert loaded.loaded and loaded.parcels == 404
        finally:
            owner.dispose()
        engine = make_engine(old.db)
        try:
            split = _history(engine)
            before = _snapshot(old, engine, split)
            assert before["rows"]["application"] == 52 and before["rows"]["parcel"] == 406
            assert before["verdicts"], "no pending claim to verify: the check would be empty"

            owner = make_engine(old.db, as_owner=True)
            try:
                upgrade(owner)
                assert set(current_revisions(owner)) == set(head_revisions())
            finally:
                owner.dispose()
            engine.dispose()
            engine = make_engine(old.db)
            after = _snapshot(old, engine, split)
            with Session(engine) as s:
                chain = verify_chain(s, ward_code=WARD_CODE)
        finally:
            engine.dispose()
    assert {n: r for n, r in after["rows"].items() if n in before["rows"]} == before["rows"]
    for key in ("registry", "reports", "applications", "history", "lineage", "verdicts"):
        assert after[key] == before[key], key
    assert chain.intact, chain.broken
    assert chain.events == before["rows"]["audit_event"] == chain.head_seq
