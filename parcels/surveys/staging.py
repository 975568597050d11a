"""Staging an upload: the file is streamed into a folder of its own (size-capped while
copying), read with :func:`gis.intake.upload.read_upload` in a limited worker process
(:mod:`gis.intake.worker`; framed by the ward boundary, limits from settings), and stored
as a batch and its features in staging, never in the registry; the same file again returns
the batch it already made."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from config import clock
from config.intake import IntakeSettings
from config.settings import Settings
from db import audit
from db.audit import Actor
from gis.convert import to_ewkb
from gis.crs import WARD
from gis.intake.archives import copy_limited
from gis.intake.errors import ForbiddenPathError
from gis.intake.gdal_sandbox import looks_like_path_or_url
from gis.intake.types import Limits, ReadResult
from gis.intake.worker import Budget, read_isolated
from parcels.errors import InvalidInput
from parcels.surveys.batches import raw_connection
from parcels.surveys.reads import batch_summary
from parcels.surveys.validation import validate_batch
from parcels.ward import boundary

Progress = Callable[[str], None]


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


def stage_upload(session: Session, *, actor: Actor, stream: BinaryIO, filename: str | None,
                 options: UploadOptions, settings: Settings,
                 progress: Progress | None = None,
                 validate_up_to: int | None = None) -> Staged:
    """Stage an uploaded file as a validated survey batch (or return the batch it already is).

    With ``validate_up_to``, a batch of more features is staged but left ``received``:
    the caller has its validation done as a job (api/jobs.py), so that the upload of a
    large survey answers at once.  Raises a ``gis.intake.errors.ReadError`` for a file
    that cannot be read as parcels; nothing is written then.

    The file is read in a limited worker process (:func:`gis.intake.worker.read_isolated`),
    and no database connection is held meanwhile: after the two registry reads the file
    needs (its batch if it was staged before, the ward's outline), the session's
    transaction is *committed* (it has written nothing), which hands the connection back to
    the pool; the batch is then written in a new transaction that the caller commits.  So
    call it with a session that holds nothing uncommitted, outside ``session.begin()``.
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
        frame = boundary(session, actor.ward_code)
        if frame is None:
            raise InvalidInput(f"ward {actor.ward_code} is not in the registry")
        session.commit()  # nothing written yet: the connection goes back to the pool
        say("reading")
        result = read_survey_file(path, folder=folder, name=name, options=options,
                                  frame=frame, intake=intake)
    say("staging")
    batch_id = _insert_batch(session, actor, name=name, sha=sha, size=size, result=result,
                             options=options)
    if batch_id is None:  # the same file was staged concurrently and committed first
        found = _by_hash(session, actor, sha, options)
        assert found is not None
        return Staged(batch_summary(session, actor=actor, batch_id=found), created=False)
    _copy_features(session, batch_id, actor.ward_code, result.features)
    if validate_up_to is None or len(result.features) <= validate_up_to:
        validate_batch(session, actor=actor, batch_id=batch_id, settings=settings,
                       progress=say, audited=False)
    audit.record(session, actor=actor, action="upload", entity="survey_batch",
                 entity_ids=[batch_id],
                 detail={"file_name": name, "sha256": sha, "size_bytes": size,
                         "format": result.format, "features": len(result.features)})
    return Staged(batch_summary(session, actor=actor, batch_id=batch_id), created=True)


def read_survey_file(path: Path, *, folder: Path, name: str, options: UploadOptions,
                     frame: Any, intake: IntakeSettings) -> ReadResult:
    """The upload read in its limited worker process, with the limits from settings."""
    result, _cost = read_isolated(
        path, workdir=folder, budget=worker_budget(intake), filename=name,
        layer=options.layer, crs=options.crs, mapping=options.mapping,
        swap_axes=options.swap_axes, frame=frame, frame_margin=intake.frame_margin_m,
        limits=intake_limits(intake))
    return result


def worker_budget(settings: IntakeSettings) -> Budget:
    return Budget(cpu_seconds=settings.worker_cpu_seconds,
                  memory_bytes=settings.worker_memory_mb * 1024 * 1024,
                  wall_seconds=settings.worker_wall_seconds)


def _by_hash(session: Session, actor: Actor, sha: str, options: UploadOptions) -> int | None:
    """The uploader's own batch of these bytes read this way.  Each uploader has their own
    (the unique key includes ``uploaded_by``, migration 0014): whether another surveyor sent
    the same file is none of a surveyor's business, so it is never answered."""
    found = session.execute(text(
        "SELECT id FROM survey_batch WHERE ward_code = :w AND uploaded_by = :by "
        "AND sha256 = :s AND options_key = :k"),
        {"w": actor.ward_code, "by": actor.username, "s": sha,
         "k": options.key()}).scalar_one_or_none()
    return None if found is None else int(found)


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
        "CAST(:warnings AS jsonb), ST_GeomFromEWKB(:extent), :now) "
        "ON CONFLICT (ward_code, uploaded_by, sha256, options_key) DO NOTHING RETURNING id"),
        {"w": actor.ward_code, "by": actor.username, "name": name, "sha": sha, "now": clock.now(),
         "key": options.key(), "size": size,
         "fmt": result.format, "layer": result.layer, "crs": result.source_crs,
         "override": override, "swap": result.swap_axes, "unit": options.former_unit,
         "mapping": json.dumps(result.mapping), "n": len(result.features),
         "warnings": json.dumps([w.to_dict() for w in result.warnings], ensure_ascii=False),
         "extent": None if extent is None else to_ewkb(extent, WARD)},
    ).scalar_one_or_none()


def _copy_features(session: Session, batch_id: int, ward: str, gdf: gpd.GeoDataFrame) -> None:
    cols = ("batch_id, ward_code, idx, source_index, source_layer, geom, former_unit, sheet_no, "
            "parcel_no, land_use, declared_area, attributes")
    # One GEOS pass for the whole array (per row it was 0.1 ms of a 10,000-parcel upload's
    # answer, which must come within 2 s).
    wkb = to_ewkb(np.asarray(gdf.geometry, dtype=object), WARD, hex=True)
    with raw_connection(session).cursor() as cur, \
            cur.copy(f"COPY survey_feature ({cols}) FROM STDIN") as cp:
        for i, row in enumerate(zip(gdf["source_index"], gdf["source_layer"], wkb,
                                    gdf["former_unit"], gdf["sheet_no"], gdf["parcel_no"],
                                    gdf["land_use"], gdf["declared_area"], gdf["attributes"],
                                    strict=True)):
            src, layer, geom, unit, sheet, number, use, area, attrs = row
            cp.write_row((batch_id, ward, i, int(src), layer, geom, unit,
                          sheet, number, use,
                          None if area is None or not np.isfinite(area) else float(area),
                          json.dumps(attrs, ensure_ascii=False, default=str)))
