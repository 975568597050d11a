"""Survey batches: an upload is staged and validated, then an officer commits or rejects it.

One set of keyword-only functions serves the HTTP API and the command line:

* :func:`stage_upload` streams the file into a temporary folder made for it
  (size-capped while copying), reads it with :func:`gis.readers.read_upload`
  (framed by the ward boundary from PostGIS, limits from settings), and stores
  the batch and its features in staging, never in the registry; the same file
  again returns the batch it already made;
* :func:`validate_batch` matches every feature to the registry and runs the
  rules within the batch and against its registered neighbours
  (:mod:`parcels.survey_checks`), storing each finding with its geometry;
* :func:`commit_batch` writes every feature as a parcel version in the caller's
  one transaction, under the ward lock, with the batch as source document, and
  refuses while an error finding is neither fixed nor overridden with a reason;
* :func:`reject_batch` closes a batch with a reason.

A surveyor sees only their own batches: anyone else's answers "not found", so
that batch numbers reveal nothing about other surveyors' work.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Final

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from config import clock
from config.intake import IntakeSettings
from config.settings import Settings
from db import audit
from db.audit import Actor
from db.errors import Conflict, Forbidden, NotFound
from gis import crs as gcrs
from gis.gdal_sandbox import looks_like_path_or_url
from gis.geojson import geometries_to_geojson
from gis.read_errors import ForbiddenPathError
from gis.readers import Limits, ReadResult, copy_limited, read_upload
from gis.rules import RuleSet, load_ruleset
from parcels import survey_checks
from parcels.bulk import bulk_register
from parcels.errors import InvalidInput
from parcels.registry import Source, lock_ward, record_source
from parcels.survey_checks import IntakeFinding, StagedFeature

Progress = Callable[[str], None]
OFFICER: Final = "land_officer"
DECIDED: Final = ("committed", "rejected")
MAX_PAGE: Final = 10_000


# ------------------------------------------------------------------------- errors


class BatchNotFound(NotFound):
    code = "survey_batch_not_found"
    title = "Survey batch not found"


class FindingNotFound(NotFound):
    code = "survey_finding_not_found"
    title = "Finding not found in this batch"


class BatchClosed(Conflict):
    code = "survey_batch_closed"
    title = "The survey batch is already committed or rejected"


class CommitBlocked(Conflict):
    code = "survey_commit_blocked"
    title = "Error findings remain"


class RegistryChanged(Conflict):
    code = "survey_registry_changed"
    title = "The registry changed since the batch was validated"


class NotOverridable(Conflict):
    code = "survey_finding_not_overridable"
    title = "This finding cannot be overridden"


class DuplicateUpload(Conflict):
    code = "survey_duplicate_upload"
    title = "This file was already uploaded"


class OfficersOnly(Forbidden):
    code = "survey_officers_only"
    title = "Only a land officer may decide on a survey batch"


# ------------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class UploadOptions:
    """What the uploader may say about the file; everything else is read from it."""

    crs: str | int | None = None
    layer: str | None = None
    mapping: dict[str, str] | None = None
    former_unit: str | None = None
    """Former unit for features that do not name one (sheet numbers restart per unit)."""
    swap_axes: bool = False

    def key(self) -> str:
        """A digest of what was asked: the same bytes read another way are another batch."""
        crs = None if self.crs in (None, "") else str(self.crs).strip().upper()
        asked = {"crs": crs, "layer": self.layer or None, "mapping": self.mapping or None,
                 "former_unit": self.former_unit or None, "swap_axes": self.swap_axes}
        return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Staged:
    batch: dict[str, Any]
    created: bool
    """False when the same file had been uploaded before: ``batch`` is that batch."""


def intake_limits(settings: IntakeSettings) -> Limits:
    return Limits(max_file_bytes=settings.max_file_bytes,
                  max_archive_members=settings.max_archive_members,
                  max_uncompressed_bytes=settings.max_uncompressed_bytes,
                  max_compression_ratio=settings.max_compression_ratio,
                  max_features=settings.max_features, max_vertices=settings.max_vertices)


@lru_cache(maxsize=4)
def _ruleset(path: str) -> RuleSet:
    return load_ruleset(path)


def ruleset(settings: Settings) -> RuleSet:
    """The rule settings batches are judged with (read once per process)."""
    return _ruleset(str(settings.data.rules_file))


@contextmanager
def upload_folder(settings: IntakeSettings) -> Iterator[Path]:
    """A private temporary folder for one upload, removed with everything in it afterwards."""
    root = settings.work_dir
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="survey-upload-", dir=root))  # mode 0700
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_file_name(name: str | None) -> str:
    """The uploader's file name: stored and shown, never opened, so it must be a plain name."""
    if not name or len(name) > 255 or looks_like_path_or_url(name):
        raise ForbiddenPathError(
            f"The file name {str(name)[:120]!r} is not allowed: send the file under its own "
            "plain name (no folders, URLs or GDAL paths).",
            vi="Tên tệp không hợp lệ: chỉ dùng tên tệp đơn giản.", name=str(name)[:200])
    return name


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def _raw(session: Session) -> Any:
    """The psycopg connection under the session, for COPY (10,000 rows in a blink)."""
    return session.connection().connection.driver_connection


def _ewkb(geom: BaseGeometry) -> str:
    return f"SRID={gcrs.WARD};{shapely.to_wkb(geom, hex=True, output_dimension=2)}"


def _visible(actor: Actor, uploaded_by: str) -> bool:
    return actor.role != "surveyor" or uploaded_by == actor.username


def _require_officer(actor: Actor) -> None:
    if actor.role != OFFICER:
        raise OfficersOnly(f"role {actor.role!r} may not decide on survey batches; a land "
                           "officer commits, rejects and overrides")


def _reason(reason: str | None) -> str:
    text_ = (reason or "").strip()
    if len(text_) < 3:
        raise InvalidInput("give a reason (at least 3 characters)")
    return text_


BATCH = text("SELECT * FROM survey_batch WHERE id = :id AND ward_code = :w")
BATCH_FOR_UPDATE = text("SELECT * FROM survey_batch WHERE id = :id AND ward_code = :w FOR UPDATE")


def _batch(session: Session, actor: Actor, batch_id: int, *, lock: bool = False) -> Row[Any]:
    sql = BATCH_FOR_UPDATE if lock else BATCH
    row = session.execute(sql, {"id": batch_id, "w": actor.ward_code}).one_or_none()
    if row is None or not _visible(actor, row.uploaded_by):
        raise BatchNotFound(f"no survey batch {batch_id}", batch_id=batch_id)
    return row


def _open_batch(session: Session, actor: Actor, batch_id: int) -> Row[Any]:
    row = _batch(session, actor, batch_id, lock=True)
    if row.state in DECIDED:
        raise BatchClosed(f"survey batch {batch_id} is already {row.state}",
                          batch_id=batch_id, state=row.state)
    return row


# ------------------------------------------------------------------------ staging


def stage_upload(session: Session, *, actor: Actor, stream: BinaryIO, filename: str | None,
                 options: UploadOptions, settings: Settings,
                 progress: Progress | None = None) -> Staged:
    """Stage an uploaded file as a validated survey batch (or return the batch it already is).

    Raises a ``gis.read_errors.ReadError`` for a file that cannot be read as
    parcels; nothing is written then.  Works in the caller's transaction.
    """
    say = progress or (lambda _m: None)
    name = check_file_name(filename)
    intake = settings.intake
    with upload_folder(intake) as folder:
        say("receiving")
        path = folder / "upload.bin"
        size = copy_limited(stream, path, intake.max_file_bytes)
        sha = _sha256(path)
        existing = _by_hash(session, actor, sha, options)
        if existing is not None:
            return Staged(batch_summary(session, actor=actor, batch_id=existing), created=False)
        frame = survey_checks.ward_frame(session, actor.ward_code)
        if frame is None:
            raise InvalidInput(f"ward {actor.ward_code} is not in the registry")
        say("reading")
        result = read_upload(path, workdir=folder, filename=name, layer=options.layer,
                             crs=options.crs, mapping=options.mapping,
                             swap_axes=options.swap_axes, frame=frame,
                             frame_margin=intake.frame_margin_m, limits=intake_limits(intake))
    say("staging")
    batch_id = _insert_batch(session, actor, name=name, sha=sha, size=size, result=result,
                             options=options)
    if batch_id is None:  # the same file was staged concurrently and committed first
        found = _by_hash(session, actor, sha, options)
        assert found is not None
        return Staged(batch_summary(session, actor=actor, batch_id=found), created=False)
    _copy_features(session, batch_id, actor.ward_code, result.features)
    validate_batch(session, actor=actor, batch_id=batch_id, settings=settings, progress=say,
                   audited=False)
    audit.record(session, actor=actor, action="upload", entity="survey_batch",
                 entity_ids=[batch_id],
                 detail={"file_name": name, "sha256": sha, "size_bytes": size,
                         "format": result.format, "features": len(result.features)})
    return Staged(batch_summary(session, actor=actor, batch_id=batch_id), created=True)


def _by_hash(session: Session, actor: Actor, sha: str, options: UploadOptions) -> int | None:
    row = session.execute(text("SELECT id, uploaded_by FROM survey_batch WHERE ward_code = :w "
                               "AND sha256 = :s AND options_key = :k"),
                          {"w": actor.ward_code, "s": sha, "k": options.key()}).one_or_none()
    if row is None:
        return None
    if not _visible(actor, row.uploaded_by):
        raise DuplicateUpload("this exact file was already uploaded by another surveyor; ask a "
                              "land officer about it")
    return int(row.id)


def _insert_batch(session: Session, actor: Actor, *, name: str, sha: str, size: int,
                  result: ReadResult, options: UploadOptions) -> int | None:
    override = None if options.crs in (None, "") else result.source_crs
    bounds = result.features.total_bounds
    extent = shapely.box(*bounds) if np.isfinite(bounds).all() else None
    return session.execute(text(
        "INSERT INTO survey_batch (ward_code, uploaded_by, file_name, sha256, options_key, "
        "size_bytes, format, layer, source_crs, crs_override, swap_axes, former_unit, mapping, "
        "feature_count, warnings, extent, uploaded_at) VALUES (:w, :by, :name, :sha, :key, "
        ":size, :fmt, :layer, :crs, :override, :swap, :unit, CAST(:mapping AS jsonb), :n, "
        "CAST(:warnings AS jsonb), ST_GeomFromWKB(:extent, 9214), :now) "
        "ON CONFLICT (ward_code, sha256, options_key) DO NOTHING RETURNING id"),
        {"w": actor.ward_code, "by": actor.username, "name": name, "sha": sha, "now": clock.now(),
         "key": options.key(), "size": size,
         "fmt": result.format, "layer": result.layer, "crs": result.source_crs,
         "override": override, "swap": result.swap_axes, "unit": options.former_unit,
         "mapping": json.dumps(result.mapping), "n": len(result.features),
         "warnings": json.dumps([w.to_dict() for w in result.warnings], ensure_ascii=False),
         "extent": None if extent is None else shapely.to_wkb(extent)},
    ).scalar_one_or_none()


def _copy_features(session: Session, batch_id: int, ward: str, gdf: gpd.GeoDataFrame) -> None:
    cols = ("batch_id, ward_code, idx, source_index, source_layer, geom, former_unit, sheet_no, "
            "parcel_no, land_use, declared_area, attributes")
    with _raw(session).cursor() as cur, \
            cur.copy(f"COPY survey_feature ({cols}) FROM STDIN") as cp:
        for i, row in enumerate(zip(gdf["source_index"], gdf["source_layer"], gdf.geometry,
                                    gdf["former_unit"], gdf["sheet_no"], gdf["parcel_no"],
                                    gdf["land_use"], gdf["declared_area"], gdf["attributes"],
                                    strict=True)):
            src, layer, geom, unit, sheet, number, use, area, attrs = row
            cp.write_row((batch_id, ward, i, int(src), layer, _ewkb(geom), unit, sheet, number,
                          use, None if area is None or not np.isfinite(area) else float(area),
                          json.dumps(attrs, ensure_ascii=False, default=str)))


# --------------------------------------------------------------------- validation


def validate_batch(session: Session, *, actor: Actor, batch_id: int, settings: Settings,
                   progress: Progress | None = None, audited: bool = True) -> dict[str, Any]:
    """(Re)match and (re)validate an open batch against the registry as it is now.

    Findings are replaced; an officer's override carries over to the same finding
    (same rule, features and parcels) so that re-validating after a registry change
    only asks about what is new.
    """
    row = _open_batch(session, actor, batch_id)
    rules = ruleset(settings)
    feats = session.execute(text(
        "SELECT idx, ST_AsBinary(geom) AS wkb, former_unit, sheet_no, parcel_no, land_use "
        "FROM survey_feature WHERE batch_id = :b ORDER BY idx"), {"b": batch_id}).all()
    geoms = shapely.from_wkb([bytes(r.wkb) for r in feats])
    features = [StagedFeature(idx=r.idx, geom=g, former_unit=r.former_unit, sheet_no=r.sheet_no,
                              parcel_no=r.parcel_no, land_use=r.land_use)
                for r, g in zip(feats, geoms, strict=True)]
    overrides = {(r.rule, tuple(sorted(r.feature_idx)), tuple(sorted(r.parcel_ids))): r
                 for r in session.execute(text(
                     "SELECT rule, feature_idx, parcel_ids, override_reason, override_by, "
                     "override_at FROM survey_finding WHERE batch_id = :b "
                     "AND override_by IS NOT NULL"), {"b": batch_id})}
    v = survey_checks.validate(session, ward_code=actor.ward_code, batch_id=batch_id,
                               features=features, default_unit=row.former_unit, rules=rules,
                               min_iou=settings.intake.position_match_min_iou,
                               progress=progress)
    (progress or (lambda _m: None))("storing findings")
    session.execute(text("DELETE FROM survey_finding WHERE batch_id = :b"), {"b": batch_id})
    _copy_findings(session, batch_id, actor.ward_code, v.findings, overrides)
    _store_matches(session, batch_id, v)
    session.execute(text(
        "UPDATE survey_batch SET state = 'validated', validated_at = :now, "
        "ruleset_version = :rv, registry_stamp = :stamp WHERE id = :b"),
        {"b": batch_id, "rv": v.ruleset_version, "stamp": v.stamp, "now": clock.now()})
    if audited:
        audit.record(session, actor=actor, action="validate", entity="survey_batch",
                     entity_ids=[batch_id], detail={"findings": len(v.findings)})
    return batch_summary(session, actor=actor, batch_id=batch_id)


def _copy_findings(session: Session, batch_id: int, ward: str, findings: list[IntakeFinding],
                   overrides: dict[tuple[str, tuple[int, ...], tuple[int, ...]], Any]) -> None:
    cols = ("batch_id, ward_code, rule, rule_version, severity, band, feature_idx, parcel_ids, "
            "figures, tolerance, message_vi, message_en, geom, fix, overridable, "
            "override_reason, override_by, override_at")
    with _raw(session).cursor() as cur, \
            cur.copy(f"COPY survey_finding ({cols}) FROM STDIN") as cp:
        for f in findings:
            kept = overrides.get(f.key) if f.overridable else None
            geom = None if f.geometry is None or f.geometry.is_empty else _ewkb(f.geometry)
            cp.write_row((batch_id, ward, f.rule, f.version, f.severity, f.band,
                          f.feature_idx, f.parcel_ids,
                          json.dumps(f.figures, ensure_ascii=False),
                          json.dumps(f.tolerance), f.message_vi, f.message_en, geom,
                          None if f.fix is None else json.dumps(f.fix), f.overridable,
                          kept.override_reason if kept else None,
                          kept.override_by if kept else None,
                          kept.override_at if kept else None))


def _store_matches(session: Session, batch_id: int, v: survey_checks.Validation) -> None:
    fs = v.features
    kind = ["conflict" if f.idx in v.conflicts else
            "new_version" if f.matched_parcel_id is not None else "new" for f in fs]
    session.execute(text(
        "UPDATE survey_feature f SET match = t.kind, matched_parcel_id = t.pid, "
        "matched_by = t.mby, unit_code = t.unit, sheet = t.sheet, number = t.num, "
        "conflict_parcel_ids = COALESCE(CAST(t.conf AS bigint[]), '{}') "
        "FROM unnest(CAST(:idx AS int[]), CAST(:kind AS text[]), CAST(:pid AS bigint[]), "
        "CAST(:mby AS text[]), CAST(:unit AS text[]), CAST(:sheet AS int[]), "
        "CAST(:num AS int[]), CAST(:conf AS text[])) "
        "AS t(idx, kind, pid, mby, unit, sheet, num, conf) "
        "WHERE f.batch_id = :b AND f.idx = t.idx"),
        {"b": batch_id, "idx": [f.idx for f in fs], "kind": kind,
         "pid": [f.matched_parcel_id for f in fs], "mby": [f.matched_by for f in fs],
         "unit": [f.unit for f in fs], "sheet": [f.sheet for f in fs],
         "num": [f.number for f in fs],
         "conf": ["{" + ",".join(str(p) for p in sorted(set(v.conflicts[f.idx]))) + "}"
                  if f.idx in v.conflicts else None for f in fs]})


# ------------------------------------------------------------------------ decisions


def override_finding(session: Session, *, actor: Actor, batch_id: int, finding_id: int,
                     reason: str) -> dict[str, Any]:
    """An officer accepts one error finding, with a reason; the commit may then go ahead."""
    _require_officer(actor)
    why = _reason(reason)
    _open_batch(session, actor, batch_id)
    f = session.execute(text(
        "SELECT id, rule, severity, overridable, override_by FROM survey_finding "
        "WHERE id = :f AND batch_id = :b FOR UPDATE"), {"f": finding_id, "b": batch_id}
    ).one_or_none()
    if f is None:
        raise FindingNotFound(f"batch {batch_id} has no finding {finding_id}",
                              finding_id=finding_id)
    if f.severity != "error":
        raise NotOverridable(f"finding {finding_id} is a {f.severity}: only errors block a "
                             "commit, so there is nothing to override")
    if not f.overridable:
        raise NotOverridable(f"finding {finding_id} ({f.rule}) describes a feature the registry "
                             "cannot store; the surveyor must correct the file and upload it "
                             "again", rule=f.rule)
    if f.override_by is not None:
        raise NotOverridable(f"finding {finding_id} was already overridden by {f.override_by}")
    session.execute(text(
        "UPDATE survey_finding SET override_reason = :r, override_by = :by, "
        "override_at = :now WHERE id = :f"),
        {"r": why, "by": actor.username, "f": finding_id, "now": clock.now()})
    audit.record(session, actor=actor, action="override_finding", entity="survey_batch",
                 entity_ids=[batch_id], reason=why,
                 detail={"finding_id": finding_id, "rule": f.rule})
    return finding(session, actor=actor, batch_id=batch_id, finding_id=finding_id)


def override_findings(session: Session, *, actor: Actor, batch_id: int,
                      overrides: list[tuple[int, str]]) -> dict[str, Any]:
    """An officer accepts many error findings at once, each with its reason; all or none.

    The same checks as :func:`override_finding` for every finding; if any fails, nothing
    is overridden and the error names every finding that failed.  One statement writes
    them and one audit event lists them (finding, rule, reason): a batch of ten thousand
    parcels can carry a thousand overridable findings, one request each took 14 s.
    """
    _require_officer(actor)
    if not overrides:
        raise InvalidInput("name at least one finding to override")
    reasons: dict[int, str] = {}
    for fid, reason in overrides:
        if fid in reasons:
            raise InvalidInput(f"finding {fid} is named twice", finding_id=fid)
        reasons[fid] = _reason(reason)
    _open_batch(session, actor, batch_id)
    ids = sorted(reasons)
    rows = {r.id: r for r in session.execute(text(
        "SELECT id, rule, severity, overridable, override_by FROM survey_finding "
        "WHERE batch_id = :b AND id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"b": batch_id, "ids": ids})}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise FindingNotFound(f"batch {batch_id} has no finding {missing[0]}"
                              + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else ""),
                              finding_ids=missing[:100])
    refused = {i: ("not an error" if r.severity != "error" else
                   "needs a corrected file" if not r.overridable else
                   f"already overridden by {r.override_by}")
               for i, r in rows.items()
               if r.severity != "error" or not r.overridable or r.override_by is not None}
    if refused:
        first = next(iter(refused))
        raise NotOverridable(
            f"{len(refused)} of the {len(ids)} findings cannot be overridden (finding {first}: "
            f"{refused[first]}); nothing was overridden",
            findings=[{"id": i, "rule": rows[i].rule, "why": w}
                      for i, w in list(refused.items())[:100]])
    session.execute(text(
        "UPDATE survey_finding f SET override_reason = t.reason, override_by = :by, "
        "override_at = :now FROM unnest(CAST(:ids AS bigint[]), "
        "CAST(:reasons AS text[])) AS t(id, reason) WHERE f.id = t.id AND f.batch_id = :b"),
        {"by": actor.username, "b": batch_id, "ids": ids, "reasons": [reasons[i] for i in ids],
         "now": clock.now()})
    distinct = sorted(set(reasons.values()))
    audit.record(session, actor=actor, action="override_findings", entity="survey_batch",
                 entity_ids=[batch_id], reason=distinct[0] if len(distinct) == 1 else None,
                 detail={"findings": [{"id": i, "rule": rows[i].rule, "reason": reasons[i]}
                                      for i in ids]})
    return batch_summary(session, actor=actor, batch_id=batch_id)


def reject_batch(session: Session, *, actor: Actor, batch_id: int,
                 reason: str) -> dict[str, Any]:
    """Close a batch without touching the registry; the reason is shown to the surveyor."""
    _require_officer(actor)
    why = _reason(reason)
    _open_batch(session, actor, batch_id)
    session.execute(text(
        "UPDATE survey_batch SET state = 'rejected', decided_by = :by, "
        "decided_at = :now, decision_reason = :r WHERE id = :b"),
        {"by": actor.username, "r": why, "b": batch_id, "now": clock.now()})
    audit.record(session, actor=actor, action="reject", entity="survey_batch",
                 entity_ids=[batch_id], reason=why)
    return batch_summary(session, actor=actor, batch_id=batch_id)


def commit_batch(session: Session, *, actor: Actor, batch_id: int, settings: Settings,
                 reason: str | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Write every feature of a validated batch as a parcel version, all or nothing.

    Runs in the caller's transaction under the ward's registry lock, so the
    registry it checks is the registry it writes to: if any parcel near the batch
    changed since validation the commit is refused (validate again).  New parcels
    go in with ``bulk_register``; matched parcels get a new version (the old one
    is closed, never changed).  Any failure leaves nothing written.
    """
    say = progress or (lambda _m: None)
    _require_officer(actor)
    lock_ward(session, actor.ward_code)
    row = _open_batch(session, actor, batch_id)
    if row.state != "validated":
        raise CommitBlocked(f"survey batch {batch_id} is {row.state}: validate it first")
    rules = ruleset(settings)
    stamp = survey_checks.current_stamp(session, ward_code=actor.ward_code, batch_id=batch_id,
                                        distance=survey_checks.search_distance(rules))
    if stamp != row.registry_stamp:
        raise RegistryChanged(
            f"registered parcels around survey batch {batch_id} changed since it was "
            "validated; validate it again and review the findings", batch_id=batch_id)
    _require_no_open_errors(session, batch_id)
    why = (reason or "").strip() or f"survey batch {batch_id} ({row.file_name})"
    source = Source(kind="survey_batch", number=str(batch_id),
                    description=f"{row.file_name} (SHA-256 {row.sha256}), uploaded by "
                                f"{row.uploaded_by}")
    now = clock.now()
    say("registering new parcels")
    source_id = _register_new(session, actor, batch_id, source=source, reason=why, now=now)
    if source_id is None:
        source_id = record_source(session, actor, source)
        assert source_id is not None
    say("writing new versions")
    amended = _write_versions(session, actor, batch_id, source_id=source_id, reason=why, now=now)
    session.execute(text(
        "UPDATE survey_batch SET state = 'committed', decided_by = :by, decided_at = :t, "
        "decision_reason = :r, source_document_id = :s WHERE id = :b"),
        {"by": actor.username, "t": now, "r": why, "s": source_id, "b": batch_id})
    audit.record(session, actor=actor, action="commit", entity="survey_batch",
                 entity_ids=[batch_id], reason=why,
                 detail={"source_document_id": source_id, "new_versions": len(amended),
                         "features": row.feature_count})
    return batch_summary(session, actor=actor, batch_id=batch_id)


def _require_no_open_errors(session: Session, batch_id: int) -> None:
    rows = session.execute(text(
        "SELECT id, rule, feature_idx, overridable, message_en FROM survey_finding "
        "WHERE batch_id = :b AND severity = 'error' AND override_by IS NULL "
        "ORDER BY overridable, id"), {"b": batch_id}).all()
    if rows:
        fixable = sum(1 for r in rows if r.overridable)
        raise CommitBlocked(
            f"{len(rows)} error findings remain ({len(rows) - fixable} need a corrected file, "
            f"{fixable} may be overridden by a land officer with a reason)",
            open_errors=len(rows),
            findings=[{"id": r.id, "rule": r.rule, "features": [i + 1 for i in r.feature_idx],
                       "overridable": r.overridable, "message": r.message_en}
                      for r in rows[:50]])


def _register_new(session: Session, actor: Actor, batch_id: int, *, source: Source, reason: str,
                  now: datetime) -> int | None:
    """Register the unmatched features with COPY; returns the source document it made."""
    rows = session.execute(text(
        "SELECT idx, ST_AsBinary(geom) AS wkb, unit_code, sheet, number, land_use, "
        "declared_area FROM survey_feature WHERE batch_id = :b AND matched_parcel_id IS NULL "
        "ORDER BY idx"), {"b": batch_id}).all()
    if not rows:
        return None
    geoms = [_polygon(shapely.from_wkb(bytes(r.wkb))) for r in rows]
    gdf = gpd.GeoDataFrame({
        "former_unit": [r.unit_code for r in rows], "sheet_no": [r.sheet for r in rows],
        "parcel_no": [r.number for r in rows], "land_use": [r.land_use for r in rows],
        "legal_area": [r.declared_area if r.declared_area and r.declared_area > 0 else None
                       for r in rows],
    }, geometry=geoms, crs=f"EPSG:{gcrs.WARD}")
    ids = bulk_register(session, actor=actor, parcels=gdf, reason=reason, source=source,
                        valid_from=now)
    session.execute(text(
        "UPDATE survey_feature f SET committed_parcel_id = t.pid FROM unnest("
        "CAST(:idx AS int[]), CAST(:pid AS bigint[])) AS t(idx, pid) "
        "WHERE f.batch_id = :b AND f.idx = t.idx"),
        {"b": batch_id, "idx": [r.idx for r in rows], "pid": ids})
    source_id: int = session.execute(text(
        "SELECT source_document_id FROM parcel_version WHERE parcel_id = :p AND version = 1"),
        {"p": ids[0]}).scalar_one()
    return source_id


def _polygon(geom: BaseGeometry) -> BaseGeometry:
    """One counter-clockwise polygon, as the registry stores it (validation made sure)."""
    if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    return orient(geom, sign=1.0) if geom.geom_type == "Polygon" else geom


def _write_versions(session: Session, actor: Actor, batch_id: int, *, source_id: int,
                    reason: str, now: datetime) -> list[int]:
    """Close the current version of each matched parcel and write the surveyed one after it.

    Set-based (three statements for any number of parcels); the surveyed geometry
    and land use replace the old ones, the legal area and address stay: they
    change by decision, not by measurement.
    """
    # Two steps, so the plan never depends on statistics of the just-staged rows (a join
    # planned before autovacuum had analysed them ran past the statement timeout at 10k).
    matched = [r[0] for r in session.execute(text(
        "SELECT matched_parcel_id FROM survey_feature WHERE batch_id = :b "
        "AND matched_parcel_id IS NOT NULL"), {"b": batch_id})]
    old = session.execute(text(
        "SELECT id, parcel_id FROM parcel_version WHERE parcel_id = ANY(:ids) "
        "AND valid_to IS NULL AND status = 'registered' FOR UPDATE"),
        {"ids": matched}).all() if matched else []
    if not old:
        return []
    old_ids = [r.id for r in old]
    session.execute(text("UPDATE parcel_version SET valid_to = :t WHERE id = ANY(:ids) "
                         "AND valid_to IS NULL"), {"t": now, "ids": old_ids})
    session.execute(text(
        "INSERT INTO parcel_version (parcel_id, ward_code, version, former_unit, sheet_no, "
        "parcel_no, land_use, geom, legal_area, address, status, change_kind, valid_from, "
        "recorded_by, reason, source_document_id) "
        "SELECT o.parcel_id, o.ward_code, o.version + 1, o.former_unit, o.sheet_no, o.parcel_no, "
        "COALESCE(f.land_use, o.land_use), ST_ForcePolygonCCW(CASE WHEN "
        "GeometryType(f.geom) = 'MULTIPOLYGON' THEN ST_GeometryN(f.geom, 1) ELSE f.geom END), "
        "o.legal_area, o.address, 'registered', 'amend', :t, :by, :r, :s "
        "FROM parcel_version o JOIN survey_feature f ON f.batch_id = :b "
        "AND f.matched_parcel_id = o.parcel_id WHERE o.id = ANY(:ids)"),
        {"t": now, "by": actor.username, "r": reason, "s": source_id, "b": batch_id,
         "ids": old_ids})
    session.execute(text("UPDATE survey_feature SET committed_parcel_id = matched_parcel_id "
                         "WHERE batch_id = :b AND matched_parcel_id IS NOT NULL"),
                    {"b": batch_id})
    parcels = sorted(int(r.parcel_id) for r in old)
    audit.record(session, actor=actor, action="amend", entity="parcel", entity_ids=parcels,
                 reason=reason, detail={"survey_batch": batch_id, "source_document_id": source_id,
                                        "fields": ["geometry", "land_use"]})
    return parcels


# --------------------------------------------------------------------------- reads


def batch_summary(session: Session, *, actor: Actor, batch_id: int) -> dict[str, Any]:
    """State, file facts, match counts and a findings summary of one batch."""
    row = _batch(session, actor, batch_id)
    matches: dict[str, int] = dict(session.execute(text(
        "SELECT COALESCE(match, 'unmatched'), count(*) FROM survey_feature WHERE batch_id = :b "
        "GROUP BY 1"), {"b": batch_id}).all())
    by_rule: dict[str, dict[str, int]] = {}
    severities = {"error": 0, "warning": 0, "info": 0}
    open_errors = not_overridable = overridden = 0
    for r in session.execute(text(
            "SELECT rule, severity, overridable, override_by IS NOT NULL AS done, count(*) AS n "
            "FROM survey_finding WHERE batch_id = :b GROUP BY 1, 2, 3, 4"), {"b": batch_id}):
        by_rule.setdefault(r.rule, {}).setdefault(r.severity, 0)
        by_rule[r.rule][r.severity] += r.n
        severities[r.severity] += r.n
        if r.severity == "error":
            overridden += r.n if r.done else 0
            open_errors += 0 if r.done else r.n
            not_overridable += 0 if r.overridable else r.n
    committed = session.execute(text(
        "SELECT count(*) FROM survey_feature WHERE batch_id = :b "
        "AND committed_parcel_id IS NOT NULL"), {"b": batch_id}).scalar_one()
    return {
        "id": row.id, "ward_code": row.ward_code, "state": row.state,
        "file_name": row.file_name, "sha256": row.sha256, "size_bytes": row.size_bytes,
        "format": row.format, "layer": row.layer, "source_crs": row.source_crs,
        "crs_override": row.crs_override, "swap_axes": row.swap_axes,
        "former_unit": row.former_unit, "mapping": row.mapping,
        "feature_count": row.feature_count, "uploaded_by": row.uploaded_by,
        "uploaded_at": row.uploaded_at, "warnings": row.warnings,
        "validated_at": row.validated_at, "ruleset_version": row.ruleset_version,
        "matches": {k: matches.get(k, 0) for k in ("new", "new_version", "conflict")},
        "findings": {**severities, "open_errors": open_errors, "overridden": overridden,
                     "not_overridable": not_overridable, "by_rule": by_rule},
        "can_commit": row.state == "validated" and open_errors == 0,
        "decided_by": row.decided_by, "decided_at": row.decided_at,
        "decision_reason": row.decision_reason,
        "source_document_id": row.source_document_id, "committed_parcels": committed,
    }


def list_batches(session: Session, *, actor: Actor, state: str | None = None,
                 limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Batches newest first: a surveyor's own, everyone's for officers and officials."""
    rows = session.execute(text(
        "SELECT b.id, b.state, b.file_name, b.format, b.feature_count, b.uploaded_by, "
        "b.uploaded_at, b.decided_by, b.decided_at, "
        "(SELECT count(*) FROM survey_finding f WHERE f.batch_id = b.id "
        " AND f.severity = 'error' AND f.override_by IS NULL) AS open_errors "
        "FROM survey_batch b WHERE b.ward_code = :w "
        "AND (CAST(:me AS text) IS NULL OR b.uploaded_by = :me) "
        "AND (CAST(:state AS text) IS NULL OR b.state = :state) "
        "ORDER BY b.uploaded_at DESC, b.id DESC LIMIT :lim OFFSET :off"),
        {"w": actor.ward_code, "me": actor.username if actor.role == "surveyor" else None,
         "state": state, "lim": min(limit, 1000), "off": offset}).all()
    return [dict(r._mapping) for r in rows]


def _wgs84(wkbs: list[bytes | None]) -> list[dict[str, Any] | None]:
    """GeoJSON geometries in WGS 84 for many EPSG:9214 WKBs at once (None stays None)."""
    present = [k for k, w in enumerate(wkbs) if w is not None]
    out: list[dict[str, Any] | None] = [None] * len(wkbs)
    written = geometries_to_geojson(list(shapely.from_wkb([wkbs[k] for k in present])))
    for k, geometry in zip(present, written, strict=True):
        out[k] = geometry
    return out


def batch_features(session: Session, *, actor: Actor, batch_id: int, match: str | None = None,
                   limit: int = MAX_PAGE, offset: int = 0) -> dict[str, Any]:
    """The staged features as a GeoJSON FeatureCollection in WGS 84, with their match."""
    _batch(session, actor, batch_id)
    rows = session.execute(text(
        "SELECT idx, source_index, source_layer, ST_AsBinary(geom) AS wkb, ST_Area(geom) AS area, "
        "former_unit, sheet_no, parcel_no, land_use, declared_area, attributes, unit_code, sheet, "
        "number, match, matched_parcel_id, matched_by, conflict_parcel_ids, committed_parcel_id, "
        "(SELECT count(*) FROM survey_finding s WHERE s.batch_id = f.batch_id "
        " AND f.idx = ANY(s.feature_idx) AND s.severity = 'error' "
        " AND s.override_by IS NULL) AS open_errors "
        "FROM survey_feature f WHERE batch_id = :b "
        "AND (CAST(:m AS text) IS NULL OR match = :m) ORDER BY idx LIMIT :lim OFFSET :off"),
        {"b": batch_id, "m": match, "lim": min(limit, MAX_PAGE), "off": offset}).all()
    geoms = _wgs84([bytes(r.wkb) for r in rows])
    feats = []
    for r, g in zip(rows, geoms, strict=True):
        props = {k: v for k, v in r._mapping.items() if k not in ("wkb", "area", "idx")}
        props["feature"] = r.idx + 1
        props["measured_area_m2"] = round(float(r.area), 2)
        feats.append({"type": "Feature", "id": r.idx + 1, "geometry": g, "properties": props})
    return {"type": "FeatureCollection", "features": feats}


FINDING_COLUMNS = ("id, rule, rule_version, severity, band, feature_idx, parcel_ids, figures, "
                   "tolerance, message_vi, message_en, ST_AsBinary(geom) AS wkb, fix, overridable, "
                   "override_reason, override_by, override_at")


def _finding_feature(r: Any, geom: dict[str, Any] | None) -> dict[str, Any]:
    props = {k: v for k, v in r._mapping.items() if k not in ("wkb", "feature_idx")}
    props["features"] = [i + 1 for i in r.feature_idx]
    props["open"] = r.severity == "error" and r.override_by is None
    props.update({k: v for k, v in (r.figures or {}).items() if k not in props})
    return {"type": "Feature", "id": r.id, "geometry": geom, "properties": props}


def batch_findings(session: Session, *, actor: Actor, batch_id: int,
                   severity: str | None = None, rule: str | None = None) -> dict[str, Any]:
    """Findings as a GeoJSON FeatureCollection in WGS 84: errors first, then by rule."""
    _batch(session, actor, batch_id)
    rows = session.execute(text(
        f"SELECT {FINDING_COLUMNS} FROM survey_finding WHERE batch_id = :b "  # noqa: S608
        "AND (CAST(:s AS text) IS NULL OR severity = :s) "
        "AND (CAST(:r AS text) IS NULL OR rule = :r) "
        "ORDER BY array_position(ARRAY['error', 'warning', 'info'], severity), rule, id"),
        {"b": batch_id, "s": severity, "r": rule}).all()
    geoms = _wgs84([None if r.wkb is None else bytes(r.wkb) for r in rows])
    return {"type": "FeatureCollection",
            "features": [_finding_feature(r, g) for r, g in zip(rows, geoms, strict=True)]}


def finding(session: Session, *, actor: Actor, batch_id: int, finding_id: int) -> dict[str, Any]:
    """One finding as a GeoJSON Feature in WGS 84."""
    _batch(session, actor, batch_id)
    sql = f"SELECT {FINDING_COLUMNS} FROM survey_finding WHERE id = :f AND batch_id = :b"  # noqa: S608
    r = session.execute(text(sql),
                        {"f": finding_id, "b": batch_id}).one_or_none()
    if r is None:
        raise FindingNotFound(f"batch {batch_id} has no finding {finding_id}",
                              finding_id=finding_id)
    return _finding_feature(r, _wgs84([None if r.wkb is None else bytes(r.wkb)])[0])
