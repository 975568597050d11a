"""A re-measured parcel whose corner moved into its neighbours: the registry stays a clean
coverage, and the surveyor sees what changed before any finding.

Parcel 165 of sheet 7300 (10 × 8 m, with a vertex where its two eastern neighbours 214 and
215 meet) is re-measured with that corner 1.00 m further east, into both neighbours.  The
commit is refused while the overlaps stand (an override cannot accept them); it goes
through when the officer has the commit amend both neighbours, and the current registry
then has no overlap, as plain shapely sees it.  A dispute makes the batch wait.
"""

from __future__ import annotations

import io
import itertools
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import Polygon, box
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app as cli_app
from certificates import disputes
from config.intake import IntakeSettings
from config.settings import Settings
from db.audit import Actor
from gis.geojson import geometry_to_geojson
from parcels import registry, surveys
from tests.conftest import WARD
from tests.factories import X0, Y0, spec

SURVEYOR = Actor(username="surveyor", role="surveyor", ward_code=WARD)
OFFICER = Actor(username="land_officer", role="land_officer", ward_code=WARD)
SHEET = 7300
X, Y = X0 - 2_500.0, Y0 - 4_500.0


def at(*xy: tuple[float, float]) -> Polygon:
    return Polygon([(X + x, Y + y) for x, y in xy])


P = at((0, 0), (10, 0), (10, 4), (10, 8), (0, 8))  # 80 m², a vertex at the neighbours' corner
N214 = box(X + 10, Y, X + 20, Y + 4)
N215 = box(X + 10, Y + 4, X + 20, Y + 8)
MOVED = at((0, 0), (10, 0), (11, 4), (10, 8), (0, 8))  # that corner 1.00 m east: 84 m²


@pytest.fixture()
def intake_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"intake": IntakeSettings(work_dir=tmp_path / "work")})


@pytest.fixture()
def ward(session) -> dict[str, int]:
    """Parcels 165, 214 and 215 of sheet 7300, registered."""
    ids = {}
    for number, geom in ((165, P), (214, N214), (215, N215)):
        ids[str(number)] = registry.register_parcel(
            session, actor=OFFICER, reason="fixture", spec=spec(SHEET, number, geom)).parcel_id
    return ids


def survey(session, settings: Settings, geom: Any, *, number: int = 165) -> dict[str, Any]:
    """The surveyor uploads one parcel as GeoJSON (WGS 84, as the API writes it)."""
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": geometry_to_geojson(geom),
        "properties": {"SoTo": SHEET, "SoThua": number, "LoaiDat": "ODT"}}]}
    staged = surveys.stage_upload(
        session, actor=SURVEYOR, stream=io.BytesIO(json.dumps(doc).encode()),
        filename=f"do_lai_{number}.geojson", settings=settings,
        options=surveys.UploadOptions(former_unit="kim_long"))
    return staged.batch


def errors(session, batch_id: int) -> list[dict[str, Any]]:
    fc = surveys.batch_findings(session, actor=OFFICER, batch_id=batch_id, severity="error")
    return [f["properties"] | {"id": f["id"]} for f in fc["features"]]


def current(session) -> dict[int, Any]:
    rows = session.execute(text(
        "SELECT parcel_id, version, ST_AsBinary(geom) AS wkb FROM parcel_version "
        "WHERE valid_to IS NULL AND status = 'registered' AND sheet_no = :s"), {"s": SHEET})
    return {r.parcel_id: (r.version, shapely.from_wkb(bytes(r.wkb))) for r in rows}


def overlaps_beyond(parcels: dict[int, Any], tolerance_m: float) -> list[tuple[int, int, float]]:
    """Pairs of parcels whose interiors overlap by more than a sliver ``tolerance_m`` wide
    (plain shapely: intersection area and its largest inscribed circle)."""
    out = []
    for (a, (_, ga)), (b, (_, gb)) in itertools.combinations(sorted(parcels.items()), 2):
        inter = ga.intersection(gb)
        if inter.area <= 0:
            continue
        width = 2 * shapely.maximum_inscribed_circle(inter, 1e-6).length
        if width > tolerance_m:
            out.append((a, b, inter.area))
    return out


def test_an_overlap_with_the_neighbours_is_never_overridden(session, intake_settings,
                                                            ward) -> None:
    """Two overlap errors (with 214 and 215), neither of which an officer may override;
    the commit is refused and the registry keeps its versions."""
    b = survey(session, intake_settings, MOVED)
    assert b["matches"] == {"new": 0, "new_version": 0, "conflict": 1}
    found = errors(session, b["id"])
    assert sorted(f["parcel_ids"][0] for f in found) == [ward["214"], ward["215"]]
    assert {f["rule"] for f in found} == {"overlap"} and not any(f["overridable"] for f in found)
    for f in found:
        with pytest.raises(surveys.NotOverridable):
            surveys.override_finding(session, actor=OFFICER, batch_id=b["id"],
                                     finding_id=f["id"], reason="đã kiểm tra thực địa")
    with pytest.raises(surveys.NotOverridable):
        surveys.override_findings(session, actor=OFFICER, batch_id=b["id"],
                                  overrides=[(f["id"], "đã kiểm tra thực địa") for f in found])
    with pytest.raises(surveys.CommitBlocked, match="2 overlaps to settle"):
        surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)
    assert {v for v, _ in current(session).values()} == {1}


def test_amending_the_neighbours_keeps_the_coverage_clean(session, intake_settings,
                                                          ward) -> None:
    """The officer has the commit amend 214 and 215: one act writes 165's new version and
    theirs, and plain shapely finds no overlap among the current parcels."""
    b = survey(session, intake_settings, MOVED)
    for f in errors(session, b["id"]):
        surveys.amend_neighbour(session, actor=OFFICER, batch_id=b["id"], finding_id=f["id"],
                                reason="hai hộ liền kề đã ký xác nhận ranh giới mới")
    done = surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"],
                                settings=intake_settings)
    assert done["state"] == "committed"
    now = current(session)
    assert {pid: v for pid, (v, _) in now.items()} == {ward["165"]: 2, ward["214"]: 2,
                                                       ward["215"]: 2}
    # (the surveyed corner came as WGS 84 with 8 decimals: within a millimetre)
    assert now[ward["165"]][1].area == pytest.approx(84.0, abs=0.01)
    assert now[ward["214"]][1].area == pytest.approx(38.0, abs=0.01)
    assert now[ward["215"]][1].area == pytest.approx(38.0, abs=0.01)
    assert overlaps_beyond(now, 0.0) == []
    assert sum(g.area for _, g in now.values()) == pytest.approx(160.0, abs=0.02)
    why = session.execute(text("SELECT reason, source_document_id FROM parcel_version "
                               "WHERE parcel_id = :p AND valid_to IS NULL"),
                          {"p": ward["214"]}).one()
    assert f"survey batch {b['id']}" in why.reason and why.source_document_id is not None


def test_an_overlap_overridden_before_the_rule_is_refused_at_commit(session, intake_settings,
                                                                    ward) -> None:
    """An override recorded when overlaps could still be overridden (an older batch): the
    commit checks the registry it would leave, refuses, and writes nothing."""
    b = survey(session, intake_settings, MOVED)
    session.execute(text(
        "UPDATE survey_finding SET overridable = true, resolution = 'override', "
        "override_by = 'land_officer', override_reason = 'trước đây', override_at = now() "
        "WHERE batch_id = :b AND severity = 'error'"), {"b": b["id"]})
    with pytest.raises(surveys.CoverageBroken) as info, session.begin_nested():
        surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)
    assert len(info.value.extra["overlaps"]) == 2
    assert "thửa đất số 165" in info.value.extra["overlaps"][0]["message_vi"].lower()
    assert {v for v, _ in current(session).values()} == {1}
    assert overlaps_beyond(current(session), 0.0) == []


def test_a_disputed_overlap_makes_the_batch_wait(session, intake_settings, ward) -> None:
    """The officer cannot decide about 214: a dispute on 165 and 214, and the commit waits;
    once the dispute is resolved, amending the neighbours lets it through."""
    b = survey(session, intake_settings, MOVED)
    found = {f["parcel_ids"][0]: f for f in errors(session, b["id"])}
    d, f214 = disputes.dispute_survey_finding(
        session, actor=OFFICER, batch_id=b["id"], finding_id=found[ward["214"]]["id"],
        claimant="Hộ ông Trần Văn Bình (thửa 214)", description="không đồng ý mốc góc đông",
        opened_on=date(2025, 8, 20))
    assert sorted(d.parcel_ids) == sorted([ward["165"], ward["214"]])
    assert f214["properties"]["resolution"] == "dispute"
    assert f214["properties"]["dispute_id"] == d.id and f214["properties"]["open"]
    surveys.amend_neighbour(session, actor=OFFICER, batch_id=b["id"],
                            finding_id=found[ward["215"]]["id"], reason="đã thống nhất")
    summary = surveys.batch_summary(session, actor=OFFICER, batch_id=b["id"])
    assert summary["findings"]["disputed"] == 1 and not summary["can_commit"]
    with pytest.raises(surveys.CommitBlocked, match=f"waiting for disputes \\[{d.id}\\]"):
        surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)
    assert [x.id for x in disputes.list_disputes(session, ward_code=WARD,
                                                 parcel_id=ward["214"])] == [d.id]
    disputes.set_state(session, actor=OFFICER, dispute_id=d.id, state="resolved",
                       on=date(2025, 9, 5), reason="hòa giải thành")
    surveys.amend_neighbour(session, actor=OFFICER, batch_id=b["id"],
                            finding_id=found[ward["214"]]["id"], reason="hòa giải thành")
    done = surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"],
                                settings=intake_settings)
    assert done["state"] == "committed" and overlaps_beyond(current(session), 0.0) == []


def test_a_neighbour_swallowed_cannot_be_amended(session, intake_settings, ward) -> None:
    """A surveyed parcel covering all of 214 leaves nothing to amend it to: refused, and
    the officer is told to record a dispute or have the file corrected."""
    b = survey(session, intake_settings, box(X + 10, Y, X + 20, Y + 4).buffer(0.5, join_style=2),
               number=901)
    [f] = [f for f in errors(session, b["id"]) if f["parcel_ids"] == [ward["214"]]]
    assert f["rule"] == "contained"
    with pytest.raises(surveys.NotResolvable, match="covers the whole neighbour"):
        surveys.amend_neighbour(session, actor=OFFICER, batch_id=b["id"], finding_id=f["id"],
                                reason="thử")


def test_the_change_is_said_first(session, intake_settings, ward) -> None:
    """The batch says what the re-measurement changes: corner 3 moved 1.00 m, area 80.00 →
    84.00 m², two edges, touching 214 and 215."""
    b = survey(session, intake_settings, MOVED)
    [c] = b["changes"]["parcels"]
    assert b["changes"]["remeasured"] == 1 and b["changes"]["unchanged"] == 0
    assert (c["corner"], c["displacement_m"]) == (3, pytest.approx(1.0, abs=1e-3))
    assert c["area_before_m2"] == pytest.approx(80.0) and c["area_after_m2"] == \
        pytest.approx(84.0, abs=0.01)
    assert c["edges_changed"] == 2 and sorted(c["touched"]) == sorted(
        [ward["214"], ward["215"]])
    assert c["message_vi"] == (
        "Thửa đất số 165, tờ bản đồ số 7300 (Kim Long cũ) đo lại: góc 3 dịch 1.00 m; "
        "diện tích 80.00 → 84.00 m² (lớn hơn 4.00 m²); 2 cạnh thay đổi (5 → 5 đỉnh); "
        "giáp thửa đất số 214 và 215, tờ bản đồ số 7300 (Kim Long cũ).")
    assert c["message_en"].startswith("Parcel 165, map sheet 7300 (former Kim Long) "
                                      "re-measured: corner 3 moved 1.00 m; area 80.00 → "
                                      "84.00 m² (4.00 m² larger)")


def test_a_parcel_uploaded_as_the_api_wrote_it_changes_nothing(session, intake_settings,
                                                              ward) -> None:
    """Parcel 165 sent back as the API writes it (WGS 84, 8 decimals): the millimetre of
    rounding is no change and no finding against its neighbours."""
    b = survey(session, intake_settings, P)
    [c] = b["changes"]["parcels"]
    assert c["unchanged"] and c["displacement_m"] == 0.0 and c["edges_changed"] == 0
    assert "ranh giới không đổi" in c["message_vi"]
    fc = surveys.batch_findings(session, actor=OFFICER, batch_id=b["id"])
    assert [f["properties"]["rule"] for f in fc["features"]] == []


def test_cadastre_import_prints_the_change_then_the_findings(engine, service_env, tmp_path,
                                                             ) -> None:
    """`cadastre import` says what changed first, then each finding with its neighbour and
    its size, not just counts."""
    from sqlalchemy.orm import Session

    with Session(engine) as s, s.begin():
        for number, geom in ((165, P), (214, N214), (215, N215)):
            registry.register_parcel(s, actor=OFFICER, reason="cli fixture",
                                     spec=spec(SHEET + 1, number, geom))
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": geometry_to_geojson(MOVED),
        "properties": {"SoTo": SHEET + 1, "SoThua": 165, "LoaiDat": "ODT",
                       "DonViCu": "Kim Long"}}]}
    path = tmp_path / "do_lai.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    r = CliRunner().invoke(cli_app, ["import", str(path)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    change = next(k for k, x in enumerate(lines) if "góc 3 dịch 1.00 m" in x)
    first = next(k for k, x in enumerate(lines) if "chồng lấn" in x)
    assert change < first
    assert any("thửa đất số 214" in x.lower() and "m²" in x for x in lines[first:])
