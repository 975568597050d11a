"""Survey-upload settings (``CADASTRE_INTAKE_*``): what one file may cost, how it is matched."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    """Survey uploads: what one file may cost, where it is unpacked, how it is matched.

    The caps guard the server against hostile files (see gis.intake.types.Limits);
    the defaults fit a ward's largest real batch with room to spare.
    """

    model_config = SettingsConfigDict(env_prefix="CADASTRE_INTAKE_", extra="ignore")

    max_file_bytes: int = 100 * 1024 * 1024
    max_archive_members: int = 200
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_compression_ratio: float = 200.0
    max_features: int = 100_000
    max_vertices: int = 1_000_000
    """A ward's largest real batch is about 10,000 parcels of 10-30 vertices; a GeoJSON at
    this cap costs the worker 220 MiB and 5 s of CPU (bench/hostile.py)."""
    worker_cpu_seconds: float = 30.0
    """Processor time one upload's read may take in its worker process (gis.intake.worker)."""
    worker_memory_mb: int = 384
    """Memory above the worker's idle size one upload's read may take: a file at every
    cap above fits (a 99,000-parcel GeoPackage 172 MiB, GeoJSON 217 MiB)."""
    worker_wall_seconds: float = 120.0
    """Clock time before the worker is killed, whatever it is waiting for."""
    work_dir: Path | None = None
    """Parent of the per-upload temporary folders (default: the system's temp folder)."""
    frame_margin_m: float = 250.0
    """Features this far outside the ward still count as "in the ward" for the CRS check."""
    validate_inline_up_to: int = 2_000
    """An uploaded batch of more features is validated by a job (``cadastre worker``): the
    upload answers 202 with the job's URL at once (10,000 parcels took ≈ 20 s to validate
    inside the request)."""
    position_match_min_iou: float = 0.9
    """An unnumbered feature takes the identity of the one current parcel it overlaps
    this much (intersection over union), e.g. a CAD drawing of re-measured parcels."""
    noise_floor_m: float = 0.001
    """A survey finding between two boundaries (overlap, gap, vertex off the neighbour's
    edge) no wider than this is the rounding of coordinates, not a discrepancy: the API
    writes 8 decimals of a degree (about 1 mm), so a parcel downloaded and uploaded again
    moves by up to half of that.  The same floor says a re-measured corner did not move.
    Project decision, 2026-12-20."""
