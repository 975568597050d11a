"""The registry never loses a version: registration, amendment, split, merge, retirement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from shapely.geometry import Polygon
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from config import clock
from gis import crs as gcrs
from gis.errors import OutsideWard
from parcels import queries, registry
from parcels.errors import (
    DuplicateParcelNumber,
    InvalidGeometry,
    MergeMismatch,
    ParcelNotFound,
    ParcelRetired,
    SplitMismatch,
    UnknownCRS,
    WrongCRS,
)
from parcels.registry import Amendment, Source
from parcels.rights import PartyDetails, grant_use_right
from tests.conftest import WARD, counts
from tests.factories import X0, Y0, rect, spec


def test_register_measures_area_from_geometry(session, actor) -> None:
    """A 5 m × 20 m house lot reads back as 100.00 m², whatever area the papers state."""
    v = registry.register_parcel(session, actor=actor, spec=spec(1, 1, rect(0, 0, 5, 20),
                                 legal_area=103.4), reason="first registration")
    rec = queries.get_parcel(session, ward_code=WARD, parcel_id=v.parcel_id)
    assert rec.measured_area == pytest.approx(100.0, abs=1e-6)
    assert float(rec.legal_area or 0) == 103.4
    assert rec.version == 1 and rec.status == "registered"
    assert rec.geohash is not None and len(rec.geohash) == 12
    assert rec.geohash.startswith("w6")  # Hue lies in geohash cell w6…


def test_register_accepts_wgs84_and_stores_metric(session, actor) -> None:
    """A parcel given in WGS 84 is stored in EPSG:9214 with the same area (to 1 cm²)."""
    ward_geom = rect(10, 10, 10, 10)
    wgs = gcrs.to_wgs84(ward_geom)
    v = registry.register_parcel(session, actor=actor, spec=spec(1, 2, wgs, srid=gcrs.WGS84),
                                 reason="registration from a GPS survey")
    rec = queries.get_parcel(session, ward_code=WARD, parcel_id=v.parcel_id)
    assert rec.measured_area == pytest.approx(100.0, abs=0.01)
    assert rec.geometry.bounds[0] == pytest.approx(X0 + 10, abs=0.005)


def test_amend_keeps_history_and_as_of(session, actor) -> None:
    """After an amendment the old version stays readable, by history and by date."""
    v1 = registry.register_parcel(session, actor=actor, spec=spec(1, 3, rect(0, 30, 10, 10)),
                                  reason="registration")
    pid = v1.parcel_id
    before = clock.now()
    registry.amend_parcel(session, actor=actor, parcel_id=pid,
                          amendment=Amendment(geometry=rect(0, 30, 10, 12), land_use="CLN"),
                          reason="re-measured on site", source=Source(kind="field_check"))
    now = queries.get_parcel(session, ward_code=WARD, parcel_id=pid)
    assert (now.version, now.land_use, round(now.measured_area, 6)) == (2, "CLN", 120.0)
    then = queries.get_parcel(session, ward_code=WARD, parcel_id=pid, as_of=before)
    assert (then.version, then.land_use, round(then.measured_area, 6)) == (1, "ODT", 100.0)
    hist = queries.history(session, ward_code=WARD, parcel_id=pid)
    assert [h.version for h in hist] == [1, 2]
    assert hist[0].valid_to == hist[1].valid_from
    with pytest.raises(ParcelNotFound):
        queries.get_parcel(session, ward_code=WARD, parcel_id=pid,
                           as_of=v1.valid_from - timedelta(seconds=1))


def test_versions_and_audit_are_immutable(session, actor) -> None:
    """The database itself refuses to rewrite a version or delete an audit event."""
    v = registry.register_parcel(session, actor=actor, spec=spec(1, 4, rect(0, 50, 10, 10)),
                                 reason="registration")
    session.flush()
    for sql in (
        "UPDATE parcel_version SET land_use = 'CLN' WHERE parcel_id = :p",
        "DELETE FROM parcel_version WHERE parcel_id = :p",
        "DELETE FROM audit_event WHERE entity_ids @> to_jsonb(CAST(:p AS bigint))",
        "UPDATE audit_event SET actor = 'someone else' "
        "WHERE entity_ids @> to_jsonb(CAST(:p AS bigint))",
    ):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match=r"never changed|immutable|permission denied"):
            session.execute(text(sql), {"p": v.parcel_id})
        nested.rollback()


def test_a_version_may_only_be_closed(session, actor) -> None:
    """Closing a current version is allowed; closing it while moving its boundary, changing
    its land use or reopening it is refused by the database."""
    v = registry.register_parcel(session, actor=actor, spec=spec(1, 6, rect(0, 90, 10, 10)),
                                 reason="registration")
    session.flush()
    for sql in (
        "UPDATE parcel_version SET valid_to = :t, "
        "geom = ST_Translate(geom, 0.001, 0) WHERE parcel_id = :p",
        "UPDATE parcel_version SET valid_to = :t, land_use = 'CLN' "
        "WHERE parcel_id = :p",
        "UPDATE parcel_version SET reason = 'rewritten' WHERE parcel_id = :p",
    ):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match=r"immutable|permission denied"):
            session.execute(text(sql), {"p": v.parcel_id, "t": clock.now()})
        nested.rollback()
    session.execute(text("UPDATE parcel_version SET valid_to = :t WHERE parcel_id = :p"),
                    {"p": v.parcel_id, "t": clock.now()})
    nested = session.begin_nested()
    with pytest.raises(DBAPIError, match=r"immutable"):
        session.execute(text("UPDATE parcel_version SET valid_to = NULL WHERE parcel_id = :p"),
                        {"p": v.parcel_id})
    nested.rollback()


def test_every_write_is_audited(session, actor) -> None:
    """Register, amend and retire each leave an audit row naming who, what and why."""
    v = registry.register_parcel(session, actor=actor, spec=spec(1, 5, rect(0, 70, 10, 10)),
                                 reason="registration")
    registry.amend_parcel(session, actor=actor, parcel_id=v.parcel_id,
                          amendment=Amendment(address="12 Kim Long"), reason="address fixed")
    registry.retire_parcel(session, actor=actor, parcel_id=v.parcel_id, reason="land recovered")
    rows = session.execute(text(
        "SELECT action, actor, reason FROM audit_event "
        "WHERE entity = 'parcel' AND entity_ids @> to_jsonb(CAST(:p AS bigint)) ORDER BY id"),
        {"p": v.parcel_id}).all()
    assert [(r.action, r.actor) for r in rows] == [
        ("register", "land_officer"), ("amend", "land_officer"), ("retire", "land_officer")]
    assert rows[2].reason == "land recovered"


def test_split_conserves_area_and_records_lineage(session, actor) -> None:
    """A 20 × 10 m parcel split into two 10 × 10 m halves: 100 + 100 = 200 m², parent retired."""
    registry.register_parcel(session, actor=actor, reason="lane",  # road access for both
                             spec=spec(2, 99, rect(100, -6, 20, 6), land_use="DGT"))
    parent = registry.register_parcel(session, actor=actor,
                                      spec=spec(2, 1, rect(100, 0, 20, 10)), reason="registration")
    kids = registry.split_parcel(
        session, actor=actor, parcel_id=parent.parcel_id,
        children=[spec(2, 2, rect(100, 0, 10, 10)), spec(2, 3, rect(110, 0, 10, 10))],
        reason="split for inheritance", source=Source(kind="decision", number="123/QĐ-UBND"))
    areas = [queries.get_parcel(session, ward_code=WARD, parcel_id=k.parcel_id).measured_area
             for k in kids]
    assert sum(areas) == pytest.approx(200.0, abs=0.01)
    assert queries.get_parcel(session, ward_code=WARD, parcel_id=parent.parcel_id).status == \
        "retired"
    lin = queries.lineage(session, ward_code=WARD, parcel_id=kids[0].parcel_id)
    assert [a.parcel_id for a in lin.ancestors] == [parent.parcel_id]
    down = queries.lineage(session, ward_code=WARD, parcel_id=parent.parcel_id)
    assert sorted(d.parcel_id for d in down.descendants) == sorted(k.parcel_id for k in kids)


@pytest.mark.parametrize(("parts", "message"), [
    ((rect(200, 0, 10, 10), rect(210, 0, 9.5, 10)), "uncovered"),        # 5 m² missing
    ((rect(200, 0, 10.5, 10), rect(210, 0, 10, 10)), "overlap"),         # 5 m² doubled
    ((rect(200, 0, 10, 10), rect(210, 0, 10.2, 10)), "outside"),         # 2 m² beyond parent
])
def test_split_refuses_parts_that_do_not_cover(session, actor, parts, message) -> None:
    """Parts leaving a gap, overlapping or sticking out are refused; nothing is written."""
    parent = registry.register_parcel(session, actor=actor,
                                      spec=spec(3, 1, rect(200, 0, 20, 10)), reason="registration")
    session.flush()
    before = counts(session)
    nested = session.begin_nested()
    with pytest.raises(SplitMismatch, match=message):
        registry.split_parcel(session, actor=actor, parcel_id=parent.parcel_id,
                              children=[spec(3, 2, parts[0]), spec(3, 3, parts[1])],
                              reason="bad split")
    nested.rollback()
    assert counts(session) == before


def test_merge_unions_touching_parcels(session, actor) -> None:
    """Two touching 10 × 10 m parcels merge into one 200 m² parcel with both as ancestors."""
    a = registry.register_parcel(session, actor=actor, spec=spec(4, 1, rect(300, 0, 10, 10)),
                                 reason="r")
    b = registry.register_parcel(session, actor=actor, spec=spec(4, 2, rect(310, 0, 10, 10)),
                                 reason="r")
    m = registry.merge_parcels(session, actor=actor, parcel_ids=[a.parcel_id, b.parcel_id],
                               parcel_no=3, reason="merge requested by holder")
    rec = queries.get_parcel(session, ward_code=WARD, parcel_id=m.parcel_id)
    assert rec.measured_area == pytest.approx(200.0, abs=1e-6)
    assert isinstance(rec.geometry, Polygon) and len(rec.geometry.exterior.coords) >= 5
    lin = queries.lineage(session, ward_code=WARD, parcel_id=m.parcel_id)
    assert sorted(x.parcel_id for x in lin.ancestors) == sorted([a.parcel_id, b.parcel_id])
    with pytest.raises(ParcelRetired):
        registry.amend_parcel(session, actor=actor, parcel_id=a.parcel_id,
                              amendment=Amendment(address="x"), reason="late edit")


def test_merge_refuses_parcels_apart(session, actor) -> None:
    a = registry.register_parcel(session, actor=actor, spec=spec(4, 4, rect(400, 0, 10, 10)),
                                 reason="r")
    b = registry.register_parcel(session, actor=actor, spec=spec(4, 5, rect(420, 0, 10, 10)),
                                 reason="r")
    with pytest.raises(MergeMismatch, match="do not touch"):
        registry.merge_parcels(session, actor=actor, parcel_ids=[a.parcel_id, b.parcel_id],
                               reason="merge")


def test_sheet_and_number_unique_per_former_unit(session, actor) -> None:
    """Sheet 5 parcel 1 exists once in Kim Long and once in Hương Thọ, never twice in one."""
    registry.register_parcel(session, actor=actor, spec=spec(5, 1, rect(500, 0, 10, 10)),
                             reason="r")
    registry.register_parcel(session, actor=actor,
                             spec=spec(5, 1, rect(520, 0, 10, 10), unit="huong_tho"), reason="r")
    with pytest.raises(DuplicateParcelNumber, match="sheet 5 parcel 1"):
        registry.register_parcel(session, actor=actor, spec=spec(5, 1, rect(540, 0, 10, 10)),
                                 reason="r")


def test_unique_index_holds_without_the_application_check(session, actor) -> None:
    """Even a raw insert cannot put two current versions on one sheet/number."""
    v = registry.register_parcel(session, actor=actor, spec=spec(6, 1, rect(600, 0, 10, 10)),
                                 reason="r")
    session.flush()
    nested = session.begin_nested()
    with pytest.raises(DBAPIError, match="uq_parcel_version_identity"):
        session.execute(text(
            "INSERT INTO parcel (ward_code) VALUES (:w) RETURNING id"), {"w": WARD})
        session.execute(text(
            "INSERT INTO parcel_version (parcel_id, ward_code, version, former_unit, sheet_no, "
            "parcel_no, land_use, geom, status, change_kind, valid_from, recorded_by, reason) "
            "SELECT currval('parcel_id_seq'), ward_code, 1, former_unit, sheet_no, parcel_no, "
            "land_use, geom, status, change_kind, now(), 'x', 'x' FROM parcel_version "
            "WHERE parcel_id = :p"), {"p": v.parcel_id})
    nested.rollback()


BOWTIE = Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10), (X0, Y0)])


@pytest.mark.parametrize(("geom", "srid", "error", "message"), [
    (BOWTIE, gcrs.WARD, InvalidGeometry, "Self-intersection"),
    (Polygon([(X0, Y0), (X0 + 1, Y0), (X0, Y0)]), gcrs.WARD, InvalidGeometry, "at least 4"),
    (rect(0, 0, 10, 10).centroid, gcrs.WARD, InvalidGeometry, "one polygon"),
    (Polygon([(107.55, 16.45), (107.551, 16.45), (107.551, 16.451)]), gcrs.WARD, WrongCRS,
     "longitude/latitude"),
    (rect(0, 0, 10, 10), 4269, UnknownCRS, "not accepted"),
    (gcrs.to_wgs84(rect(0, 0, 10, 10)), gcrs.VN2000_UTM48, WrongCRS, "another CRS"),
    (rect(3990, 0, 20, 20), gcrs.WARD, OutsideWard, "200.0 m"),
])
def test_bad_input_is_refused_and_writes_nothing(session, actor, geom, srid, error,
                                                 message) -> None:
    """Each bad geometry gets its own error; the registry row counts do not move."""
    before = counts(session)
    nested = session.begin_nested()
    with pytest.raises(error, match=message):
        registry.register_parcel(session, actor=actor, spec=spec(9, 1, geom, srid=srid),
                                 reason="bad")
    nested.rollback()
    assert counts(session) == before


def test_unknown_parcel_is_not_found(session, actor) -> None:
    with pytest.raises(ParcelNotFound):
        registry.amend_parcel(session, actor=actor, parcel_id=987654321,
                              amendment=Amendment(address="x"), reason="r")


def test_bulk_registration_orients_and_audits(session, actor) -> None:
    """A clockwise lot loaded in bulk is stored counter-clockwise; one audit event for the load."""
    import geopandas as gpd
    from shapely.geometry.polygon import orient

    from parcels.bulk import bulk_register

    cw = orient(rect(700, 0, 10, 10), sign=-1.0)
    frame = gpd.GeoDataFrame({"former_unit": ["kim_long", "kim_long"], "sheet_no": [7, 7],
                              "parcel_no": [1, 2], "land_use": ["ODT", "CLN"]},
                             geometry=[cw, rect(710, 0, 10, 10)], crs=gcrs.WARD)
    before = counts(session)
    ids = bulk_register(session, actor=actor, parcels=frame, reason="bulk test")
    rec = queries.get_parcel(session, ward_code=WARD, parcel_id=ids[0])
    assert rec.geometry.exterior.is_ccw and rec.measured_area == pytest.approx(100.0)
    after = counts(session)
    assert after["parcel"] - before["parcel"] == 2 and after["audit_event"] - before[
        "audit_event"] == 1


@pytest.mark.parametrize(("geoms", "numbers", "error"), [
    ([rect(800, 0, 10, 10), rect(810, 0, 10, 10)], [1, 1], DuplicateParcelNumber),
    ([rect(800, 0, 10, 10), BOWTIE], [1, 2], InvalidGeometry),
    ([rect(800, 0, 10, 10), rect(3995, 0, 10, 10)], [1, 2], OutsideWard),
])
def test_bulk_registration_refuses_bad_rows_and_writes_nothing(session, actor, geoms, numbers,
                                                                error) -> None:
    import geopandas as gpd

    from parcels.bulk import bulk_register

    frame = gpd.GeoDataFrame({"former_unit": ["kim_long"] * 2, "sheet_no": [8, 8],
                              "parcel_no": numbers, "land_use": ["ODT", "ODT"]},
                             geometry=geoms, crs=gcrs.WARD)
    before = counts(session)
    nested = session.begin_nested()
    with pytest.raises(error):
        bulk_register(session, actor=actor, parcels=frame, reason="bad bulk")
    nested.rollback()
    assert counts(session) == before


def test_parcel_reads_with_its_holders_now_and_then(session, actor) -> None:
    """A holder's use right shows on the parcel; before the right existed, no holder shows."""
    v = registry.register_parcel(session, actor=actor, spec=spec(14, 1, rect(900, 0, 10, 10)),
                                 reason="r")
    before = clock.now()
    grant_use_right(session, ward_code=WARD, parcel_id=v.parcel_id,
                    holder=PartyDetails(full_name="Nguyễn Văn An"), party_id=None,
                    certificate_no="CS 000123", issued_on=date(2024, 5, 6), source_id=None,
                    recorded_by="test")
    session.flush()
    rec = queries.get_parcel(session, ward_code=WARD, parcel_id=v.parcel_id)
    assert [(h.full_name, h.certificate_no, str(h.issued_on)) for h in rec.holders] == [
        ("Nguyễn Văn An", "CS 000123", "2024-05-06")]
    assert queries.get_parcel(session, ward_code=WARD, parcel_id=v.parcel_id,
                              as_of=before).holders == []
