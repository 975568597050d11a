"""Survey batches in the domain: staging, matching, findings, overrides, commit and reject.

Files are built in code (tests/gis/builders.py) around the hand-drawn parcels A
(300 m²) and B (400 m²) of sheet 5; registry parcels come from tests/factories.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import text

from config.intake import IntakeSettings
from config.settings import Settings
from db.audit import Actor
from gis.intake.errors import ReadError
from parcels import registry, surveys
from parcels.registry import Amendment
from parcels.surveys import decisions
from tests.conftest import WARD, counts
from tests.factories import spec
from tests.gis.builders import A, B, dxf_file, geojson, wgs

SURVEYOR = Actor(username="surveyor", role="surveyor", ward_code=WARD)
SURVEYOR2 = Actor(username="surveyor2", role="surveyor", ward_code=WARD)
OFFICER = Actor(username="land_officer", role="land_officer", ward_code=WARD)
PROPS = [{"to": 5, "so_thua": 12, "loai_dat": "ODT", "dien_tich": 300},
         {"to": 5, "so_thua": 13, "loai_dat": "CLN", "dien_tich": 400}]


@pytest.fixture()
def intake_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test settings with upload folders under this test's tmp_path (to see them go)."""
    return settings.model_copy(update={"intake": IntakeSettings(work_dir=tmp_path / "work")})


def stage(session, settings, path: Path, *, actor: Actor = SURVEYOR, unit: str | None = "kim_long",
          **options: Any) -> surveys.Staged:
    with path.open("rb") as fh:
        return surveys.stage_upload(session, actor=actor, stream=fh, filename=path.name,
                                    options=surveys.UploadOptions(former_unit=unit, **options),
                                    settings=settings)


def findings(session, batch_id: int, rule: str | None = None) -> list[dict[str, Any]]:
    fc = surveys.batch_findings(session, actor=OFFICER, batch_id=batch_id, rule=rule)
    return [f["properties"] | {"geometry": f["geometry"]} for f in fc["features"]]


def current(session, parcel_id: int) -> Any:
    return session.execute(text(
        "SELECT version, ST_Area(geom) AS area, source_document_id, change_kind, land_use "
        "FROM parcel_version WHERE parcel_id = :p AND valid_to IS NULL"), {"p": parcel_id}).one()


def test_new_parcels_staged_validated_and_committed(session, intake_settings, tmp_path) -> None:
    """Two clean new parcels: staged (registry untouched), validated, then committed."""
    path = geojson(tmp_path / "thua.geojson", [wgs(A), wgs(B)], PROPS)
    before = counts(session)
    staged = stage(session, intake_settings, path)
    b = staged.batch
    assert staged.created and b["state"] == "validated"
    assert b["format"] == "geojson" and b["feature_count"] == 2 and b["source_crs"] == 4326
    assert b["matches"] == {"new": 2, "new_version": 0, "conflict": 0}
    assert b["findings"]["open_errors"] == 0 and b["can_commit"]
    after = counts(session)
    assert after["parcel"] == before["parcel"] and after["parcel_version"] == before[
        "parcel_version"]
    assert after["survey_batch"] == before["survey_batch"] + 1
    assert after["survey_feature"] == before["survey_feature"] + 2
    assert not list((tmp_path / "work").iterdir())  # the upload folder is gone

    done = surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"],
                                settings=intake_settings)
    assert done["state"] == "committed" and done["committed_parcels"] == 2
    ids = session.execute(text("SELECT committed_parcel_id FROM survey_feature "
                               "WHERE batch_id = :b ORDER BY idx"), {"b": b["id"]}).scalars().all()
    v = current(session, ids[0])
    assert (v.version, round(v.area, 1), v.land_use) == (1, 300.0, "ODT")
    doc = session.execute(text("SELECT kind, number FROM source_document WHERE id = :d"),
                          {"d": v.source_document_id}).one()
    assert doc == ("survey_batch", str(b["id"])) and done["source_document_id"] == \
        v.source_document_id
    actions = session.execute(text(
        "SELECT action FROM audit_event WHERE entity = 'survey_batch' AND entity_ids @> "
        "CAST(:ids AS jsonb) ORDER BY id"), {"ids": f"[{b['id']}]"}).scalars().all()
    assert actions == ["upload", "commit"]


def test_same_number_becomes_a_new_version(session, intake_settings, tmp_path) -> None:
    """A re-measured parcel (same unit, sheet, number) is a new version; the old one is closed."""
    old = registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                   spec=spec(5, 12, box(559_000, 1_820_000, 559_019.9, 1_820_015),
                                             land_use="ODT"))
    path = geojson(tmp_path / "thua.geojson", [wgs(A)], PROPS[:1])
    b = stage(session, intake_settings, path).batch
    assert b["matches"]["new_version"] == 1
    feats = surveys.batch_features(session, actor=SURVEYOR, batch_id=b["id"])["features"]
    assert feats[0]["properties"]["matched_parcel_id"] == old.parcel_id
    assert feats[0]["properties"]["matched_by"] == "number"
    surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)
    v = current(session, old.parcel_id)
    assert (v.version, round(v.area, 1), v.change_kind) == (2, 300.0, "amend")
    closed = session.execute(text("SELECT valid_to FROM parcel_version WHERE parcel_id = :p "
                                  "AND version = 1"), {"p": old.parcel_id}).scalar_one()
    assert closed is not None


def test_sheet_and_former_unit_as_surveyors_name_them(session, intake_settings,
                                                      tmp_path) -> None:
    """SoTo, SoThua and DonViCu ("Phường Kim Long cũ") are read, so the file matches its
    parcel by number, not by position, with no --former-unit given."""
    old = registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                   spec=spec(5, 12, box(559_000, 1_820_000, 559_019.9, 1_820_015)))
    props = [{"SoTo": 5, "SoThua": 12, "DonViCu": "Phường Kim Long cũ", "LoaiDat": "ODT"}]
    b = stage(session, intake_settings, geojson(tmp_path / "thua.geojson", [wgs(A)], props),
              unit=None).batch
    assert b["mapping"] == {"sheet_no": "SoTo", "parcel_no": "SoThua", "land_use": "LoaiDat",
                            "former_unit": "DonViCu"}
    [f] = surveys.batch_features(session, actor=SURVEYOR, batch_id=b["id"])["features"]
    assert (f["properties"]["matched_parcel_id"], f["properties"]["matched_by"],
            f["properties"]["unit_code"]) == (old.parcel_id, "number", "kim_long")
    assert not [x for x in findings(session, b["id"]) if x["rule"] == "matched_by_position"]


def test_overlap_with_registered_parcel_is_a_conflict_until_settled(
        session, intake_settings, tmp_path) -> None:
    """A feature overlapping a registered parcel it does not match: an error with the overlap
    polygon, which no officer may override as it is (the registry would then hold it); the
    commit refuses until the officer has the commit amend the neighbour."""
    other = registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                     spec=spec(7, 1, box(559_010, 1_820_005, 559_030, 1_820_030)))
    path = geojson(tmp_path / "thua.geojson", [wgs(A)], PROPS[:1])
    b = stage(session, intake_settings, path).batch
    assert b["matches"]["conflict"] == 1 and not b["can_commit"]
    overlap = findings(session, b["id"], "overlap")
    assert len(overlap) == 1
    f = overlap[0]
    assert f["severity"] == "error" and f["parcel_ids"] == [other.parcel_id]
    assert f["features"] == [1] and not f["overridable"]
    assert f["area_m2"] == pytest.approx(100.0, abs=0.05)
    assert shapely.geometry.shape(f["geometry"]).area > 0
    with pytest.raises(surveys.CommitBlocked) as info:
        surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)
    assert info.value.extra["open_errors"] >= 1
    with pytest.raises(surveys.NotOverridable, match="amend the registered neighbour"):
        surveys.override_finding(session, actor=OFFICER, batch_id=b["id"], finding_id=f["id"],
                                 reason="kiểm tra thực địa: ranh đúng")
    with pytest.raises(surveys.OfficersOnly):
        surveys.amend_neighbour(session, actor=SURVEYOR, batch_id=b["id"], finding_id=f["id"],
                                reason="mine")
    settled = surveys.amend_neighbour(session, actor=OFFICER, batch_id=b["id"],
                                      finding_id=f["id"], reason="thửa 7/1 nhường phần chồng lấn")
    assert settled["properties"]["resolution"] == "amend_neighbour"
    assert settled["proposal"]["area_after_m2"] == pytest.approx(400.0, abs=0.01)
    done = surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"],
                                settings=intake_settings)
    assert done["state"] == "committed" and done["findings"]["neighbours_to_amend"] == 1
    after = current(session, other.parcel_id)
    assert after.version == 2 and after.area == pytest.approx(400.0, abs=0.01)


def test_missing_identity_cannot_be_overridden(session, intake_settings, tmp_path) -> None:
    """A new feature without a land use cannot be registered: the error is not overridable."""
    path = geojson(tmp_path / "thua.geojson", [wgs(A)], [{"to": 5, "so_thua": 12}])
    b = stage(session, intake_settings, path).batch
    [f] = findings(session, b["id"], "missing_identity")
    assert f["severity"] == "error" and not f["overridable"] and "land use" in f["message_en"]
    with pytest.raises(surveys.NotOverridable):
        surveys.override_finding(session, actor=OFFICER, batch_id=b["id"], finding_id=f["id"],
                                 reason="looks fine")
    with pytest.raises(surveys.CommitBlocked):
        surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)


def test_findings_within_the_batch(session, intake_settings, tmp_path) -> None:
    """Two features of one file overlapping by 2 m, and a number used twice: both reported."""
    shifted = box(559_018, 1_820_000, 559_043, 1_820_016)
    props = [PROPS[0], PROPS[0] | {"loai_dat": "CLN"}]
    path = geojson(tmp_path / "thua.geojson", [wgs(A), wgs(shifted)], props)
    b = stage(session, intake_settings, path).batch
    [ov] = findings(session, b["id"], "overlap")
    assert ov["features"] == [1, 2] and ov["parcel_ids"] == [] and ov["width_m"] == \
        pytest.approx(2.0, abs=0.01)
    [dup] = findings(session, b["id"], "duplicate_number")
    assert dup["features"] == [1, 2] and not dup["overridable"]


def test_same_file_twice_is_the_same_batch(session, intake_settings, tmp_path) -> None:
    """The same bytes again return the existing batch; another surveyor's upload of them is
    a batch of their own (nothing tells them someone sent the file before)."""
    path = geojson(tmp_path / "thua.geojson", [wgs(A), wgs(B)], PROPS)
    first = stage(session, intake_settings, path)
    before = counts(session)
    again = stage(session, intake_settings, path)
    assert not again.created and again.batch["id"] == first.batch["id"]
    assert counts(session) == before
    theirs = stage(session, intake_settings, path, actor=SURVEYOR2)
    assert theirs.created and theirs.batch["id"] != first.batch["id"]


def test_the_same_file_read_another_way_is_another_batch(session, intake_settings,
                                                          tmp_path) -> None:
    """A surveyor re-uploads after the first batch was read with the wrong option (here the
    former unit): a new batch read the new way; asking the second way again returns it."""
    path = geojson(tmp_path / "thua.geojson", [wgs(A), wgs(B)], PROPS)
    first = stage(session, intake_settings, path)
    second = stage(session, intake_settings, path, unit="huong_long")
    assert second.created and second.batch["id"] != first.batch["id"]
    assert second.batch["former_unit"] == "huong_long"
    assert first.batch["former_unit"] == "kim_long"
    again = stage(session, intake_settings, path, unit="huong_long")
    assert not again.created and again.batch["id"] == second.batch["id"]
    assert surveys.UploadOptions(crs="epsg:9214").key() == \
        surveys.UploadOptions(crs=" EPSG:9214").key() != surveys.UploadOptions().key()


def test_surveyors_see_only_their_own_batches(session, intake_settings, tmp_path) -> None:
    """surveyor2 gets "not found" for surveyor's batch, and an empty list."""
    b = stage(session, intake_settings,
              geojson(tmp_path / "thua.geojson", [wgs(A), wgs(B)], PROPS)).batch
    with pytest.raises(surveys.BatchNotFound):
        surveys.batch_summary(session, actor=SURVEYOR2, batch_id=b["id"])
    with pytest.raises(surveys.BatchNotFound):
        surveys.batch_findings(session, actor=SURVEYOR2, batch_id=b["id"])
    assert all(x["id"] != b["id"] for x in surveys.list_batches(session, actor=SURVEYOR2))
    assert any(x["id"] == b["id"] for x in surveys.list_batches(session, actor=SURVEYOR))


def test_failure_mid_commit_writes_nothing(session, intake_settings, tmp_path,
                                           monkeypatch) -> None:
    """New parcels are written, then the versions step fails: everything is rolled back."""
    old = registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                   spec=spec(5, 13, B, land_use="CLN"))
    b = stage(session, intake_settings,
              geojson(tmp_path / "thua.geojson", [wgs(A), wgs(B)], PROPS)).batch
    assert b["matches"] == {"new": 1, "new_version": 1, "conflict": 0}
    before = counts(session)
    session.commit()
    reached: list[int] = []

    def boom(*args: Any, **kwargs: Any) -> list[int]:
        reached.append(session.execute(text("SELECT count(*) FROM parcel")).scalar_one())
        raise RuntimeError("disk full")

    monkeypatch.setattr(decisions, "_write_versions", boom)
    with pytest.raises(RuntimeError), session.begin():
        surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)
    assert reached == [before["parcel"] + 1]  # the new parcel had been written …
    assert counts(session) == before  # … and is gone, with everything else
    assert surveys.batch_summary(session, actor=OFFICER, batch_id=b["id"])["state"] == \
        "validated"
    assert current(session, old.parcel_id).version == 1


def test_registry_change_after_validation_asks_for_validation_again(
        session, intake_settings, tmp_path) -> None:
    """A neighbour amended between validation and commit: refused; re-validation keeps the
    officer's decisions for the findings that are still there."""
    nb = registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                  spec=spec(7, 2, box(559_010, 1_820_005, 559_030, 1_820_030)))
    b = stage(session, intake_settings,
              geojson(tmp_path / "thua.geojson", [wgs(A)], PROPS[:1])).batch
    [ov] = findings(session, b["id"], "overlap")
    surveys.amend_neighbour(session, actor=OFFICER, batch_id=b["id"], finding_id=ov["id"],
                            reason="ranh giới đã thống nhất")
    registry.amend_parcel(session, actor=OFFICER, parcel_id=nb.parcel_id,
                          amendment=Amendment(land_use="CLN"), reason="changed")
    with pytest.raises(surveys.RegistryChanged):
        surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)
    again = surveys.validate_batch(session, actor=OFFICER, batch_id=b["id"],
                                   settings=intake_settings)
    assert again["findings"]["neighbours_to_amend"] == 1 and again["can_commit"]
    assert surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"],
                                settings=intake_settings)["state"] == "committed"


def test_reject_closes_the_batch(session, intake_settings, tmp_path) -> None:
    """A rejected batch keeps its reason, and cannot be committed or rejected again."""
    b = stage(session, intake_settings,
              geojson(tmp_path / "thua.geojson", [wgs(A), wgs(B)], PROPS)).batch
    before = counts(session)
    with pytest.raises(surveys.OfficersOnly):
        surveys.reject_batch(session, actor=SURVEYOR, batch_id=b["id"], reason="nope")
    done = surveys.reject_batch(session, actor=OFFICER, batch_id=b["id"],
                                reason="sai hệ tọa độ")
    assert done["state"] == "rejected" and done["decision_reason"] == "sai hệ tọa độ"
    for act in (lambda: surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"],
                                             settings=intake_settings),
                lambda: surveys.reject_batch(session, actor=OFFICER, batch_id=b["id"],
                                             reason="again")):
        with pytest.raises(surveys.BatchClosed):
            act()
    after = counts(session)
    assert after["parcel"] == before["parcel"] and after["audit_event"] == \
        before["audit_event"] + 1


def test_unnumbered_cad_drawing_matches_by_position(session, intake_settings, tmp_path) -> None:
    """A DXF has no parcel numbers: each polygon covering a registered parcel re-measures it."""
    a = registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                 spec=spec(5, 12, box(559_000, 1_820_000, 559_020, 1_820_015.2)))
    bb = registry.register_parcel(session, actor=OFFICER, reason="fixture",
                                  spec=spec(5, 13, B, land_use="CLN"))
    b = stage(session, intake_settings, dxf_file(tmp_path / "ban_ve.dxf"), unit=None).batch
    assert b["matches"]["new_version"] == 2, b
    assert len(findings(session, b["id"], "matched_by_position")) == 2
    surveys.commit_batch(session, actor=OFFICER, batch_id=b["id"], settings=intake_settings)
    assert current(session, a.parcel_id).version == 2
    assert round(current(session, a.parcel_id).area, 1) == 300.0
    assert current(session, bb.parcel_id).version == 2


def test_read_errors_write_nothing(session, intake_settings, tmp_path) -> None:
    """A file the reader refuses raises its ReadError; staging and the registry are unchanged."""
    before = counts(session)
    with pytest.raises(ReadError) as info:
        surveys.stage_upload(session, actor=SURVEYOR, stream=io.BytesIO(b""),
                             filename="thua.geojson", options=surveys.UploadOptions(),
                             settings=intake_settings)
    assert info.value.code == "empty_file"
    with pytest.raises(ReadError) as info:
        surveys.stage_upload(session, actor=SURVEYOR, stream=io.BytesIO(b"{}"),
                             filename="/vsicurl/http://example.org/x.geojson",
                             options=surveys.UploadOptions(), settings=intake_settings)
    assert info.value.code == "forbidden_path"
    assert counts(session) == before
    assert not list((tmp_path / "work").iterdir())
