"""The map products, one function each, called alike by the HTTP routes and the command line.

Each reads through :mod:`maps.sources` and renders with the pure builders; none sees a
request.  ``base_url`` is where the record lives for the extract's QR code (the service's public
address, ``CADASTRE_SERVER_PUBLIC_URL``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from config import clock
from db.audit import Actor
from maps import extract, field, offline, package, sources
from maps.sources import MapContext


def application_map(session: Session, ctx: MapContext, *, application_id: int,
                    self_contained: bool = False) -> str:
    """The field map of an application as one HTML page."""
    data = sources.application_map_input(session, ctx, application_id=application_id)
    return offline.render(field.field_map(data), self_contained=self_contained,
                          title=f"{data.title_vi} · bản đồ thực địa / field map")


def application_package(session: Session, ctx: MapContext, *, application_id: int) -> bytes:
    """The GeoPackage for QGIS/QField of an application."""
    data = sources.application_map_input(session, ctx, application_id=application_id)
    content, _ = package.package_bytes(
        data, ctx.rasters.imagery,
        margin_m=ctx.settings.neighbour_radius_m + ctx.settings.clip_margin_m)
    return content


def record_url(base_url: str, kind: str, record_id: int) -> str:
    return f"{base_url.rstrip('/')}/api/v1/{kind}/{record_id}"


def parcel_extract(session: Session, ctx: MapContext, *, parcel_id: int, base_url: str
                   ) -> bytes:
    data = sources.parcel_extract_input(
        session, ctx, parcel_id=parcel_id, record_url=record_url(base_url, "parcels", parcel_id),
        printed_on=clock.today())
    return extract.extract_pdf(data, font_dir=ctx.settings.font_dir)


def application_extract(session: Session, ctx: MapContext, *, application_id: int,
                        base_url: str) -> bytes:
    data = sources.application_extract_input(
        session, ctx, application_id=application_id,
        record_url=record_url(base_url, "applications", application_id),
        printed_on=clock.today())
    return extract.extract_pdf(data, font_dir=ctx.settings.font_dir)


def ward_overview(session: Session, ctx: MapContext) -> str:
    """The ward overview page (parcels come as vector tiles from the service)."""
    from maps.ward import ward_map

    data = sources.ward_map_input(session, ctx)
    return offline.render(ward_map(data), title=f"{data.ward_name} · tổng quan / overview")


def survey_batch(session: Session, ctx: MapContext, *, actor: Actor, batch_id: int) -> str:
    """A survey batch's map (a surveyor's own batches only)."""
    from maps.survey import survey_map

    data = sources.survey_map_input(session, ctx, actor=actor, batch_id=batch_id)
    return offline.render(survey_map(data), title=f"Lô đo đạc #{batch_id} / survey batch")


def project_map(session: Session, ctx: MapContext, *, code: str, section: str | None = None,
                self_contained: bool = False) -> str:
    """A road project's impact map (the corridor in force, parcels by share taken)."""
    from maps.impact import impact_map

    data, _ = sources.project_map_input(session, ctx, code=code, section=section)
    return offline.render(impact_map(data), self_contained=self_contained,
                          title=f"{data.name_vi} · bản đồ tác động / impact map")
