"""Who may call what: every route of the app, page or API, checked from the router table.

POLICY is the specification of who has business where (issue 7): one entry per
(method, path template) the app serves, API routes and web pages alike, each with
the roles allowed and how an allowed role calls it successfully on real records
(ids and bodies built by :class:`Records` in the test's rolled-back transaction).
For every entry:

- anonymous callers get 401 (a page sends them to ``/login`` instead), unless the
  entry says anyone may call it, and then they get the success status;
- every allowed role gets the operation's success status on a real record (201 for a
  registration, 200 for a read …), not merely "not 401/403";
- every other role gets 403 ``/problems/forbidden`` for the same request.

The route table and POLICY must name the same routes: a route added without an entry
fails, and so does an entry for a route that does not exist.  Adding a route means
adding one entry here (its roles, its success status, and a ``call`` that builds the
request from :class:`Records`).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import shapely
import time_machine
from fastapi.routing import iter_route_contexts
from shapely.geometry import Polygon, mapping
from sqlalchemy import text

from api.auth import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token
from certificates import applications as apps
from certificates import disputes
from config import clock
from db.audit import Actor
from gis.crs import WARD as WARD_CRS
from gis.crs import transform
from parcels import registry, surveys
from projects import corridors as projects
from projects.schemas import ProjectIn
from tests.conftest import PASSWORD, WARD
from tests.factories import geojson_wgs84, rect, spec

ANONYMOUS = "anonymous"
ROLES = ("surveyor", "land_officer", "official", "admin")
EVERYONE = (ANONYMOUS, *ROLES)
SIGNED_IN = ROLES
READERS = ("surveyor", "land_officer", "official")
OFFICER = ("land_officer",)
UPLOADERS = ("surveyor", "land_officer")
ADMIN = ("admin",)
PROJECT_READERS = ("land_officer", "official")
OVERVIEW = ("land_officer", "official")
SHEET = 900
"""Sheet of every record built here (no other test uses it)."""
DAY = date(2025, 9, 1)
"""A fixed day for the dates requests carry (no test reads the host's date)."""
RECEIVED = datetime.combine(DAY, time(9), tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@dataclass(frozen=True)
class Request:
    """The parts of one request: path parameters fill the route's template."""

    path: Mapping[str, object] = field(default_factory=dict)
    params: Mapping[str, str] | None = None
    json: Any = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    cookies: Mapping[str, str] = field(default_factory=dict)


class Records:
    """Real records in the test's transaction, a fresh one for every call.

    An allowed role's write (retire, decide, commit …) changes its record, so each call
    builds its own.  Each record sits on its own 60 m slot of the test ward, so claims,
    parcels and survey features never meet unless a call asks them to.
    """

    def __init__(self, session: Any, settings: Any) -> None:
        self.session = session
        self.settings = settings
        self.officer = Actor(username="land_officer", role="land_officer", ward_code=WARD)
        self.surveyor = Actor(username="surveyor", role="surveyor", ward_code=WARD)
        self._k = 0
        self.caller = "official"
        """Who the next call is built for (records that only their owner may act on)."""

    def slot(self) -> tuple[int, Polygon]:
        """A fresh number and a 20 × 20 m square of the test ward nobody else uses."""
        self._k += 1
        k = self._k
        return k, rect(-3_500 + 60.0 * (k % 100), -3_500 + 60.0 * (k // 100), 20, 20)

    def _done(self) -> None:
        self.session.commit()  # releases the savepoint: the app's sessions see the rows

    # ------------------------------------------------------------------ parcels

    def parcel(self) -> int:
        k, geom = self.slot()
        v = registry.register_parcel(self.session, actor=self.officer,
                                     spec=spec(SHEET, k, geom), reason="route table fixture")
        self._done()
        return v.parcel_id

    def parcel_and_halves(self) -> tuple[int, list[dict[str, Any]]]:
        """A parcel and the two halves that cover it (a split's parts)."""
        k, geom = self.slot()
        pid = registry.register_parcel(self.session, actor=self.officer,
                                       spec=spec(SHEET, k, geom), reason="route table fixture"
                                       ).parcel_id
        x0, y0, x1, y1 = geom.bounds
        road, _ = self.slot()  # a lane along the south side: each half has road access
        registry.register_parcel(self.session, actor=self.officer, reason="route table fixture",
                                 spec=spec(SHEET, road, Polygon([(x0, y0 - 6), (x1, y0 - 6),
                                                                 (x1, y0), (x0, y0)]),
                                           land_use="DGT"))
        self._done()
        xm = (x0 + x1) / 2
        halves = [Polygon([(a, y0), (b, y0), (b, y1), (a, y1)]) for a, b in ((x0, xm), (xm, x1))]
        # In the ward's CRS: lon/lat rounded to 1e-7° would leave the parts 0.01 m² off.
        parts = [{"former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": 10_000 + 2 * k + i,
                  "land_use": "ODT", "geometry": mapping(h), "srid": WARD_CRS}
                 for i, h in enumerate(halves)]
        return pid, parts

    def touching_parcels(self) -> list[int]:
        """Two parcels sharing an edge (what a merge takes)."""
        k, geom = self.slot()
        x0, y0, x1, y1 = geom.bounds
        xm = (x0 + x1) / 2
        ids = []
        for i, (a, b) in enumerate(((x0, xm), (xm, x1))):
            half = Polygon([(a, y0), (b, y0), (b, y1), (a, y1)])
            ids.append(registry.register_parcel(
                self.session, actor=self.officer, spec=spec(SHEET, 20_000 + 2 * k + i, half),
                reason="route table fixture").parcel_id)
        self._done()
        return ids

    def new_parcel_body(self) -> dict[str, Any]:
        k, geom = self.slot()
        return {"former_unit": "kim_long", "sheet_no": SHEET, "parcel_no": k, "land_use": "ODT",
                "geometry": geojson_wgs84(geom), "reason": "đăng ký mới"}

    # ------------------------------------------------------------- applications

    def claim_body(self) -> dict[str, Any]:
        k, geom = self.slot()
        return {"applicant_name": "Nguyễn Thị Hoa", "channel": "online",
                "declared_area": 400.0, "declared_land_use": "ODT",
                "geometry": geojson_wgs84(geom), "former_unit": "kim_long",
                "sheet_no": SHEET, "parcel_no": k, "received_at": RECEIVED.isoformat(),
                "received_at_reason": "hồ sơ giấy nhập sau"}

    ORDER = ("received", "verifying", "survey_extract", "field_check", "posting", "posted",
             "eligible", "financial_obligations", "obligations_met", "approved")

    def application(self, state: str = "received", *, complaint: bool = False,
                    days_ago: int = 0) -> int:
        """An application brought to ``state`` by the domain functions, as an officer would
        (the posting is closed 16 days on, on the service clock); ``days_ago``: received and
        taken there that many days before now."""
        if days_ago:
            with time_machine.travel(clock.now() - timedelta(days=days_ago), tick=False):
                return self.application(state, complaint=complaint)
        k, geom = self.slot()
        a = apps.receive(self.session, actor=self.officer, intake=apps.Intake(
            procedure="first_certificate", applicant_name=f"Trần Văn {k}", channel="counter",
            declared_area=400.0, declared_land_use="ODT", geometry=geom, srid=WARD_CRS,
            former_unit="kim_long", sheet_no=SHEET, parcel_no=k))
        o, i, act = self.officer, a.id, self.session
        if state == "waiting_applicant":
            apps.request_supplement(act, actor=o, application_id=i,
                                    reason="thiếu bản sao giấy tờ", documents=[])
        if state == "clock_stopped":
            apps.stop_clock(act, actor=o, application_id=i, kind="expert_assessment",
                            reason="trưng cầu giám định")
        reach = self.ORDER.index(state) if state in self.ORDER else 0
        if reach >= 1:
            apps.verify(act, actor=o, application_id=i)
        if state == "survey_extract":
            apps.order_survey(act, actor=o, application_id=i, surveyor="Công ty đo đạc A")
        if reach >= 3:
            apps.record_field_check(act, actor=o, application_id=i,
                                    check=apps.FieldCheck(notes="mốc ranh giới khớp"))
        if reach >= 4:
            apps.open_posting(act, actor=o, application_id=i, place="Nhà văn hóa")
            if complaint:
                apps.record_complaint(act, actor=o, application_id=i, complainant="Lê Văn B",
                                      text="lấn ranh")
        if reach >= 5:
            with time_machine.travel(clock.now() + timedelta(days=16), tick=False):
                apps.close_posting(act, actor=o, application_id=i)
                if reach >= 6:
                    apps.decide_eligibility(act, actor=o, application_id=i, eligible=True,
                                            reason="đủ điều kiện", override_warnings=True)
                if reach >= 7:
                    apps.send_tax_info(act, actor=o, application_id=i, tax_office="Thuế Huế")
                if reach >= 8:
                    apps.obligations_met(act, actor=o, application_id=i, receipt="BL-1")
        if state == "approved":
            apps.decide(act, actor=o, application_id=i,
                        decision=apps.Decision(approve=True, reason="đủ điều kiện",
                                               override_warnings=True))
        assert apps.get(act, ward_code=WARD, application_id=i).state == state
        self._done()
        return i

    def dispute(self) -> int:
        d = disputes.open_dispute(self.session, actor=self.officer, parcel_ids=[self.parcel()],
                                  claimant="Lê Văn B", description="tranh chấp ranh giới",
                                  opened_on=DAY)
        self._done()
        return d.id

    # ------------------------------------------------------------------ surveys

    def survey_file(self, *, on_a_parcel: bool = False, beside_a_parcel: bool = False,
                    outside: bool = False) -> tuple[str, bytes, str]:
        """A GeoJSON survey of one new parcel (a file of its own: its own batch); with
        ``on_a_parcel`` a registered parcel lies inside it, with ``beside_a_parcel`` one
        overlaps its eastern 2 m (an overlap to settle with the neighbour), and with
        ``outside`` it reaches 10 m beyond the ward's western edge (an error to override)."""
        k, geom = self.slot()
        if outside:
            geom = rect(-4_010.0, -3_500 + 60.0 * k, 20, 20)
        if on_a_parcel or beside_a_parcel:
            _, y0, x1, y1 = geom.bounds
            other = geom.buffer(-5) if on_a_parcel else shapely.box(x1 - 2, y0, x1 + 18, y1)
            registry.register_parcel(self.session, actor=self.officer,
                                     spec=spec(SHEET, 30_000 + k, other),
                                     reason="route table fixture")
            self._done()
        doc = {"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": mapping(transform(geom, WARD_CRS, 4326)),
            "properties": {"to": SHEET, "so_thua": 40_000 + k, "loai_dat": "ODT"}}]}
        return f"thua_{k}.geojson", json.dumps(doc).encode(), "application/geo+json"

    def batch(self, **kind: bool) -> int:
        """A survey batch the surveyor uploaded (validated, open); ``kind`` as for
        :meth:`survey_file`."""
        name, content, _ = self.survey_file(**kind)
        staged = surveys.stage_upload(self.session, actor=self.surveyor,
                                      stream=io.BytesIO(content), filename=name,
                                      options=surveys.UploadOptions(former_unit="kim_long"),
                                      settings=self.settings)
        self._done()
        assert staged.created and staged.batch["state"] == "validated", staged.batch
        return int(staged.batch["id"])

    def open_errors(self, batch_id: int) -> list[int]:
        found = surveys.batch_findings(self.session, actor=self.officer, batch_id=batch_id,
                                       severity="error", rule=None)
        ids = [f["id"] for f in found["features"] if f["properties"]["open"]]
        assert ids, "the batch has no error finding to override"
        return ids

    # -------------------------------------------------------------------- pages

    def claim_file(self) -> tuple[str, bytes, str]:
        """A boundary file (GeoJSON, WGS 84) of one fresh 20 × 20 m claim."""
        _, geom = self.slot()
        doc = {"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": mapping(transform(geom, WARD_CRS, 4326)),
            "properties": {}}]}
        return "ranh_gioi.geojson", json.dumps(doc).encode(), "application/geo+json"

    # ------------------------------------------------------------------ road projects

    def _corridor_over_a_parcel(self) -> tuple[int, dict[str, Any]]:
        """A fresh number and a 6 m wide corridor (EPSG:9214) across a parcel of its slot."""
        k, geom = self.slot()
        registry.register_parcel(self.session, actor=self.officer, spec=spec(SHEET, k, geom),
                                 reason="route table fixture")
        x0, y0, _, y1 = geom.bounds
        line = {"type": "LineString", "coordinates": [[x0 + 10, y0 - 10], [x0 + 10, y1 + 10]]}
        return k, {"srid": WARD_CRS, "elements": [
            {"centreline": line, "left_width_m": 3.0, "right_width_m": 3.0}]}

    def project_body(self) -> dict[str, Any]:
        k, corridor = self._corridor_over_a_parcel()
        self._done()
        return {"code": f"RT{k}", "name_vi": f"Đường thử {k}", "name_en": f"Test road {k}",
                "status": "approved", "reason": "route table fixture", "corridor": corridor}

    def project(self) -> str:
        """A project whose corridor takes part of a registered parcel."""
        body = self.project_body()
        projects.create_project(self.session, actor=self.officer,
                                spec=ProjectIn.model_validate(body).to_spec(),
                                reason=body["reason"])
        self._done()
        return str(body["code"])

    def corridor_body(self) -> dict[str, Any]:
        _, corridor = self._corridor_over_a_parcel()
        self._done()
        return {**corridor, "reason": "mở rộng tuyến"}

    # ------------------------------------------------------------ access tokens

    def access_token(self) -> int:
        """A live personal access token of the caller (only its owner or an admin revokes)."""
        from api.access_tokens import create_token
        from api.users import User

        row = self.session.execute(text("SELECT id, role FROM app_user WHERE username = :u"),
                                   {"u": self.caller}).one()
        owner = User(id=row.id, username=self.caller, role=row.role, ward_code=WARD)
        made = create_token(self.session, actor=self.officer, owner=owner,
                            name=f"route table {self.slot()[0]}")
        self._done()
        return made.info.id

    # -------------------------------------------------------------------- jobs

    def job(self) -> int:
        """The validation job of the surveyor's upload (officers and officials see every job
        of the ward, a surveyor their own)."""
        from api.jobs import submit

        job = submit(self.session, settings=self.settings, actor=self.surveyor,
                     kind="survey_validation", params={"batch_id": self.batch()})
        self._done()
        return job.id

    def csrf(self) -> str:
        """A CSRF token as the sign-in page hands out (cookie and form field)."""
        return new_csrf_token(self.settings.auth, session_token=None)


Call = Callable[[Records], Request]


@dataclass(frozen=True)
class Route:
    """Who may call a route, and how an allowed role calls it successfully."""

    roles: tuple[str, ...]
    status: int
    """The success status of the operation (what an allowed role must get)."""
    call: Call = lambda _r: Request()
    anonymous: int = 401
    """What a caller who is not signed in gets (pages redirect to /login: 303)."""
    cookie: bool = False
    """Pages: the signed-in user comes with the cookie session, not a bearer token."""


def _form(csrf: str, **fields: str) -> Request:
    return Request(data={**fields, "csrf_token": csrf}, cookies={CSRF_COOKIE: csrf})


def _page_form(r: Records, path: Mapping[str, object] | None = None,
               files: Mapping[str, tuple[str, bytes, str]] | None = None,
               **fields: Any) -> Request:
    """A page's form: its fields, the CSRF field and cookie, maybe files."""
    csrf = r.csrf()
    return Request(path=path or {}, data={**fields, "csrf_token": csrf}, files=files,
                   cookies={CSRF_COOKIE: csrf})


def _page_receive(r: Records) -> Request:
    k, _ = r.slot()
    return _page_form(r, files={"geometry_file": r.claim_file()},
                      applicant_name="Nguyễn Thị Hoa", channel="counter",
                      procedure="first_certificate", declared_area="400",
                      declared_land_use="ODT", former_unit="kim_long", sheet_no=str(SHEET),
                      parcel_no=str(50_000 + k))


def _page_override_one(r: Records) -> Request:
    b = r.batch(outside=True)  # an error that may be accepted (an overlap may not)
    return _page_form(r, {"batch_id": b, "finding_id": r.open_errors(b)[0]},
                      reason="ranh giới đã đo lại")


def _page_override_many(r: Records) -> Request:
    b = r.batch(outside=True)
    return _page_form(r, {"batch_id": b}, reason="ranh giới đã đo lại",
                      finding=[str(i) for i in r.open_errors(b)])


def _page_amend_neighbour(r: Records) -> Request:
    b = r.batch(beside_a_parcel=True)
    return _page_form(r, {"batch_id": b, "finding_id": r.open_errors(b)[0]},
                      reason="thửa bên cạnh nhường phần chồng lấn")


def _page_dispute(r: Records) -> Request:
    b = r.batch(beside_a_parcel=True)
    return _page_form(r, {"batch_id": b, "finding_id": r.open_errors(b)[0]},
                      claimant="Hộ ông Lê Văn B", description="chưa thống nhất ranh")


def _upload(r: Records) -> Request:
    return Request(data={"former_unit": "kim_long"}, files={"file": r.survey_file()})


def _split(r: Records) -> Request:
    pid, parts = r.parcel_and_halves()
    return Request(path={"parcel_id": pid}, json={"parts": parts, "reason": "tách thửa"})


def _tile(r: Records) -> dict[str, int]:
    """The zoom-17 tile over a fresh parcel (the parcel-tile and raster-tile calls)."""
    wkb = r.session.execute(text(
        "SELECT ST_AsBinary(ST_PointOnSurface(geom)) FROM parcel_version "
        "WHERE parcel_id = :p AND valid_to IS NULL"), {"p": r.parcel()}).scalar_one()
    lon, lat = transform(shapely.from_wkb(bytes(wkb)), WARD_CRS, 4326).coords[0]
    n = 2**17
    return {"z": 17, "x": int((lon + 180) / 360 * n),
            "y": int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)}


def _override_one(r: Records) -> Request:
    b = r.batch(outside=True)
    return Request(path={"batch_id": b, "finding_id": r.open_errors(b)[0]},
                   json={"reason": "ranh giới đã đo lại"})


def _override_many(r: Records) -> Request:
    b = r.batch(outside=True)
    return Request(path={"batch_id": b},
                   json={"finding_ids": r.open_errors(b), "reason": "ranh giới đã đo lại"})


def _amend_neighbour(r: Records) -> Request:
    b = r.batch(beside_a_parcel=True)
    return Request(path={"batch_id": b, "finding_id": r.open_errors(b)[0]},
                   json={"reason": "thửa bên cạnh nhường phần chồng lấn"})


def _dispute_finding(r: Records) -> Request:
    b = r.batch(beside_a_parcel=True)
    return Request(path={"batch_id": b, "finding_id": r.open_errors(b)[0]},
                   json={"claimant": "Hộ ông Lê Văn B", "description": "chưa thống nhất ranh"})


POLICY: dict[tuple[str, str], Route] = {
    # ---- long work as jobs (202 and the job's URL; the job's page)
    ("GET", "/api/v1/jobs/{job_id}"): Route(
        READERS, 200, lambda r: Request(path={"job_id": r.job()})),
    ("POST", "/api/v1/jobs/ward-audit"): Route(OFFICER, 202, lambda r: Request(json={})),
    ("POST", "/api/v1/jobs/verify-backlog"): Route(OFFICER, 202),
    ("POST", "/api/v1/jobs/impact"): Route(
        PROJECT_READERS, 202, lambda r: Request(json={"code": r.project()})),
    # ---- public: the documentation, health and signing in and out
    ("GET", "/openapi.json"): Route(EVERYONE, 200),
    ("GET", "/docs"): Route(EVERYONE, 200),
    ("GET", "/docs/swagger-ui-bundle.js"): Route(EVERYONE, 200),
    ("GET", "/docs/swagger-ui.css"): Route(EVERYONE, 200),
    ("GET", "/docs/init.js"): Route(EVERYONE, 200),
    ("GET", "/health"): Route(EVERYONE, 200),
    ("POST", "/api/v1/auth/token"): Route(
        EVERYONE, 200, lambda r: Request(data={"username": "official", "password": PASSWORD})),
    ("GET", "/login"): Route(EVERYONE, 200),
    ("POST", "/login"): Route(
        EVERYONE, 303, lambda r: _form(r.csrf(), username="official", password=PASSWORD)),
    # Ending a session needs none (a form with the CSRF token; nothing to refuse).
    ("POST", "/logout"): Route(EVERYONE, 303, lambda r: _form(r.csrf())),
    # Signing out by token: every signed-in user may end their own sessions.
    ("POST", "/api/v1/auth/logout"): Route(SIGNED_IN, 204),
    # ---- pages (cookie session); their files are public (the sign-in page's style)
    ("GET", "/"): Route(SIGNED_IN, 200, anonymous=303, cookie=True),
    ("GET", "/static/{name}"): Route(EVERYONE, 200, lambda r: Request(path={"name": "site.css"})),
    ("POST", "/language"): Route(SIGNED_IN, 303, lambda r: _page_form(r, language="en"),
                                 anonymous=303, cookie=True),
    ("GET", "/applications"): Route(OFFICER, 200, lambda r: Request(params={"overdue": "1"}),
                                    anonymous=303, cookie=True),
    ("GET", "/applications/new"): Route(OFFICER, 200, anonymous=303, cookie=True),
    ("POST", "/applications/new"): Route(OFFICER, 303, _page_receive, anonymous=303,
                                         cookie=True),
    ("GET", "/applications/{application_id}"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("verifying")}),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/verify"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"application_id": r.application()}),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/request-supplement"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"application_id": r.application()},
                                           reason="thiếu bản sao giấy tờ"),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/supplement-received"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"application_id":
                                               r.application("waiting_applicant")},
                                           note="đã bổ sung"), anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/field-check"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"application_id": r.application("verifying")},
                                           notes="mốc ranh giới khớp thực địa"),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/decision"): Route(
        OFFICER, 303, lambda r: _page_form(
            r, {"application_id": r.application("obligations_met")}, decision="approve",
            reason="đủ điều kiện", override_warnings="1"), anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/posting"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"application_id": r.application("field_check")},
                                           place="Nhà văn hóa tổ 5"),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/posting/close"): Route(
        OFFICER, 303, lambda r: _page_form(
            r, {"application_id": r.application("posting", days_ago=17)}),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/eligibility"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"application_id": r.application("posted")},
                                           eligible="yes", reason="đủ điều kiện",
                                           override_warnings="1"),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/tax-info"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"application_id": r.application("eligible")},
                                           tax_office="Chi cục Thuế khu vực Huế"),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/obligations-met"): Route(
        OFFICER, 303, lambda r: _page_form(
            r, {"application_id": r.application("financial_obligations")}, receipt="BL-0001"),
        anonymous=303, cookie=True),
    ("POST", "/applications/{application_id}/issue"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"application_id": r.application("approved")},
                                           note="đã trao"), anonymous=303, cookie=True),
    ("GET", "/surveys"): Route(UPLOADERS, 200, anonymous=303, cookie=True),
    ("GET", "/surveys/new"): Route(UPLOADERS, 200, anonymous=303, cookie=True),
    ("POST", "/surveys/new"): Route(
        UPLOADERS, 303, lambda r: _page_form(r, files={"file": r.survey_file()},
                                             former_unit="kim_long"), anonymous=303,
        cookie=True),
    ("GET", "/surveys/{batch_id}"): Route(
        UPLOADERS, 200, lambda r: Request(path={"batch_id": r.batch()}), anonymous=303,
        cookie=True),
    ("POST", "/surveys/{batch_id}/findings/{finding_id}/override"): Route(
        OFFICER, 303, _page_override_one, anonymous=303, cookie=True),
    ("POST", "/surveys/{batch_id}/override"): Route(OFFICER, 303, _page_override_many,
                                                    anonymous=303, cookie=True),
    ("POST", "/surveys/{batch_id}/findings/{finding_id}/amend-neighbour"): Route(
        OFFICER, 303, _page_amend_neighbour, anonymous=303, cookie=True),
    ("POST", "/surveys/{batch_id}/findings/{finding_id}/dispute"): Route(
        OFFICER, 303, _page_dispute, anonymous=303, cookie=True),
    ("POST", "/surveys/{batch_id}/commit"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"batch_id": r.batch()}, reason="đo bổ sung"),
        anonymous=303, cookie=True),
    ("POST", "/surveys/{batch_id}/reject"): Route(
        OFFICER, 303, lambda r: _page_form(r, {"batch_id": r.batch()}, reason="thiếu chữ ký"),
        anonymous=303, cookie=True),
    ("GET", "/parcels"): Route(READERS, 200, lambda r: Request(params={"q": f"{SHEET}/1"}),
                               anonymous=303, cookie=True),
    ("GET", "/parcels/{parcel_id}"): Route(
        READERS, 200, lambda r: Request(path={"parcel_id": r.parcel()}), anonymous=303,
        cookie=True),
    ("GET", "/projects"): Route(PROJECT_READERS, 200, anonymous=303, cookie=True),
    ("GET", "/projects/{code}"): Route(
        PROJECT_READERS, 200, lambda r: Request(path={"code": r.project()}), anonymous=303,
        cookie=True),
    ("GET", "/stats"): Route(
        PROJECT_READERS, 200, lambda r: Request(params={"from": "2025-07-01", "to": "2025-08-25"}),
        anonymous=303, cookie=True),
    # ---- who am I
    ("GET", "/api/v1/auth/me"): Route(SIGNED_IN, 200),
    # ---- personal access tokens: everyone their own, administrators see and revoke all
    ("POST", "/api/v1/auth/access-tokens"): Route(
        SIGNED_IN, 201, lambda r: Request(json={"name": f"QGIS {r.slot()[0]}"})),
    ("GET", "/api/v1/auth/access-tokens"): Route(SIGNED_IN, 200),
    ("POST", "/api/v1/auth/access-tokens/{token_id}/revoke"): Route(
        SIGNED_IN, 200, lambda r: Request(path={"token_id": r.access_token()})),
    ("GET", "/api/v1/admin/access-tokens"): Route(ADMIN, 200),
    ("GET", "/tokens"): Route(SIGNED_IN, 200, anonymous=303, cookie=True),
    ("POST", "/tokens"): Route(
        SIGNED_IN, 201, lambda r: _page_form(r, name=f"QGIS page {r.slot()[0]}"),
        anonymous=303, cookie=True),
    ("POST", "/tokens/{token_id}/revoke"): Route(
        SIGNED_IN, 303, lambda r: _page_form(r, {"token_id": r.access_token()}),
        anonymous=303, cookie=True),
    # ---- parcels: read by land readers, written by land officers
    ("GET", "/api/v1/parcels"): Route(
        READERS, 200, lambda r: Request(params={"sheet_no": str(SHEET)})),
    ("GET", "/api/v1/parcels/{parcel_id}"): Route(
        READERS, 200, lambda r: Request(path={"parcel_id": r.parcel()})),
    ("GET", "/api/v1/parcels/{parcel_id}/history"): Route(
        READERS, 200, lambda r: Request(path={"parcel_id": r.parcel()})),
    ("GET", "/api/v1/parcels/{parcel_id}/lineage"): Route(
        READERS, 200, lambda r: Request(path={"parcel_id": r.parcel()})),
    ("POST", "/api/v1/parcels"): Route(
        OFFICER, 201, lambda r: Request(json=r.new_parcel_body())),
    ("POST", "/api/v1/parcels/{parcel_id}/versions"): Route(
        OFFICER, 201, lambda r: Request(path={"parcel_id": r.parcel()},
                                        json={"land_use": "CLN", "reason": "đổi mục đích"})),
    ("POST", "/api/v1/parcels/{parcel_id}/split"): Route(OFFICER, 201, _split),
    ("POST", "/api/v1/parcels/merge"): Route(
        OFFICER, 201, lambda r: Request(json={"parcel_ids": r.touching_parcels(),
                                              "reason": "hợp thửa"})),
    ("POST", "/api/v1/parcels/{parcel_id}/retire"): Route(
        OFFICER, 200, lambda r: Request(path={"parcel_id": r.parcel()},
                                        json={"reason": "thu hồi đất"})),
    # ---- the audit trail: administrators only
    ("GET", "/api/v1/audit"): Route(ADMIN, 200),
    # ---- surveys: surveyors upload and read their own, land officers decide
    ("POST", "/api/v1/surveys"): Route(UPLOADERS, 201, _upload),
    ("GET", "/api/v1/surveys"): Route(UPLOADERS, 200),
    ("GET", "/api/v1/surveys/{batch_id}"): Route(
        UPLOADERS, 200, lambda r: Request(path={"batch_id": r.batch()})),
    ("GET", "/api/v1/surveys/{batch_id}/features"): Route(
        UPLOADERS, 200, lambda r: Request(path={"batch_id": r.batch()})),
    ("GET", "/api/v1/surveys/{batch_id}/findings"): Route(
        UPLOADERS, 200, lambda r: Request(path={"batch_id": r.batch()})),
    ("POST", "/api/v1/surveys/{batch_id}/validate"): Route(
        OFFICER, 200, lambda r: Request(path={"batch_id": r.batch()})),
    ("POST", "/api/v1/surveys/{batch_id}/findings/{finding_id}/override"): Route(
        OFFICER, 200, _override_one),
    ("POST", "/api/v1/surveys/{batch_id}/findings/override"): Route(OFFICER, 200, _override_many),
    ("POST", "/api/v1/surveys/{batch_id}/findings/{finding_id}/amend-neighbour"): Route(
        OFFICER, 200, _amend_neighbour),
    ("POST", "/api/v1/surveys/{batch_id}/findings/{finding_id}/dispute"): Route(
        OFFICER, 200, _dispute_finding),
    ("POST", "/api/v1/surveys/{batch_id}/commit"): Route(
        OFFICER, 200, lambda r: Request(path={"batch_id": r.batch()},
                                        json={"reason": "đo đạc bổ sung"})),
    ("POST", "/api/v1/surveys/{batch_id}/reject"): Route(
        OFFICER, 200, lambda r: Request(path={"batch_id": r.batch()},
                                        json={"reason": "thiếu chữ ký"})),
    # ---- first-time certificate applications: land officers
    ("POST", "/api/v1/applications"): Route(
        OFFICER, 201, lambda r: Request(json=r.claim_body())),
    ("GET", "/api/v1/applications"): Route(OFFICER, 200),
    ("GET", "/api/v1/applications/{application_id}"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application()})),
    ("POST", "/api/v1/applications/{application_id}/verify"): Route(
        OFFICER, 201, lambda r: Request(path={"application_id": r.application()})),
    ("GET", "/api/v1/applications/{application_id}/reports"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("verifying")})),
    ("POST", "/api/v1/applications/{application_id}/field-check"): Route(
        OFFICER, 201, lambda r: Request(path={"application_id": r.application("verifying")},
                                        json={"notes": "mốc ranh giới khớp thực địa"})),
    ("POST", "/api/v1/applications/{application_id}/decision"): Route(
        OFFICER, 200, lambda r: Request(
            path={"application_id": r.application("obligations_met")},
            json={"decision": "approve", "reason": "đủ điều kiện", "override_warnings": True})),
    ("POST", "/api/v1/applications/{application_id}/request-supplement"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application()},
                                        json={"reason": "thiếu bản sao giấy tờ"})),
    ("POST", "/api/v1/applications/{application_id}/supplement-received"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("waiting_applicant")},
                                        json={"note": "đã bổ sung"})),
    ("POST", "/api/v1/applications/{application_id}/issue"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("approved")},
                                        json={"note": "đã trao"})),
    ("GET", "/api/v1/applications/triage"): Route(OFFICER, 200),
    ("POST", "/api/v1/applications/{application_id}/survey/order"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("verifying")},
                                        json={"surveyor": "Công ty đo đạc A"})),
    ("POST", "/api/v1/applications/{application_id}/survey/received"): Route(
        OFFICER, 201, lambda r: Request(
            path={"application_id": r.application("survey_extract")},
            json={"surveyor": "Công ty đo đạc A", "extract_no": "TĐ-01"})),
    ("POST", "/api/v1/applications/{application_id}/evidence"): Route(
        OFFICER, 201, lambda r: Request(path={"application_id": r.application()}, json={
            "kind": "use", "dated": "1990-05-01", "title": "sổ hộ khẩu"})),
    ("POST", "/api/v1/applications/{application_id}/posting"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("field_check")},
                                        json={"place": "Nhà văn hóa tổ 5"})),
    ("POST", "/api/v1/applications/{application_id}/posting/close"): Route(
        OFFICER, 200, lambda r: Request(
            path={"application_id": r.application("posting", days_ago=17)}, json={})),
    ("POST", "/api/v1/applications/{application_id}/complaints"): Route(
        OFFICER, 201, lambda r: Request(path={"application_id": r.application("posting")},
                                        json={"complainant": "Lê Văn B", "text": "lấn ranh"})),
    ("POST", "/api/v1/applications/{application_id}/complaints/{complaint_no}/settle"): Route(
        OFFICER, 200, lambda r: Request(
            path={"application_id": r.application("posting", complaint=True),
                  "complaint_no": 1}, json={"outcome": "đã hòa giải", "upheld": False})),
    ("POST", "/api/v1/applications/{application_id}/eligibility"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("posted")},
                                        json={"eligible": True, "reason": "đủ điều kiện",
                                              "override_warnings": True})),
    ("POST", "/api/v1/applications/{application_id}/tax-info"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("eligible")},
                                        json={"tax_office": "Thuế cơ sở Huế"})),
    ("POST", "/api/v1/applications/{application_id}/obligations-met"): Route(
        OFFICER, 200, lambda r: Request(
            path={"application_id": r.application("financial_obligations")},
            json={"receipt": "BL-0001"})),
    ("POST", "/api/v1/applications/{application_id}/clock/stop"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application()},
                                        json={"kind": "expert_assessment",
                                              "reason": "trưng cầu giám định"})),
    ("POST", "/api/v1/applications/{application_id}/clock/resume"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application("clock_stopped")},
                                        json={})),
    ("GET", "/api/v1/stats/applications"): Route(
        ("land_officer", "official"), 200,
        lambda r: Request(params={"from": "2025-07-01", "to": "2025-08-25"})),
    # ---- the dispute register: land officers
    ("POST", "/api/v1/disputes"): Route(
        OFFICER, 201, lambda r: Request(json={
            "parcel_ids": [r.parcel()], "claimant": "Lê Văn B",
            "description": "tranh chấp ranh giới", "opened_on": DAY.isoformat()})),
    ("GET", "/api/v1/disputes"): Route(OFFICER, 200),
    ("POST", "/api/v1/disputes/{dispute_id}/state"): Route(
        OFFICER, 200, lambda r: Request(path={"dispute_id": r.dispute()}, json={
            "state": "mediation", "on": "2025-09-05", "reason": "hoà giải ở phường"})),
    # ---- road projects: land officers write, officials read too
    ("GET", "/api/v1/projects"): Route(PROJECT_READERS, 200),
    ("POST", "/api/v1/projects"): Route(OFFICER, 201, lambda r: Request(json=r.project_body())),
    ("GET", "/api/v1/projects/{code}"): Route(
        PROJECT_READERS, 200, lambda r: Request(path={"code": r.project()})),
    ("POST", "/api/v1/projects/{code}/status"): Route(
        OFFICER, 200, lambda r: Request(path={"code": r.project()}, json={
            "status": "under_construction", "reason": "khởi công"})),
    ("POST", "/api/v1/projects/{code}/sections"): Route(
        OFFICER, 201, lambda r: Request(path={"code": r.project()}, json={
            "code": "S2", "name_vi": "Đoạn 2", "reason": "thêm đoạn"})),
    ("GET", "/api/v1/projects/{code}/corridors"): Route(
        PROJECT_READERS, 200, lambda r: Request(path={"code": r.project()})),
    ("POST", "/api/v1/projects/{code}/corridors"): Route(
        OFFICER, 201, lambda r: Request(path={"code": r.project()}, json=r.corridor_body())),
    ("GET", "/api/v1/projects/{code}/impact"): Route(
        PROJECT_READERS, 200, lambda r: Request(path={"code": r.project()})),
    ("GET", "/api/v1/projects/{code}/impact/export"): Route(
        PROJECT_READERS, 200, lambda r: Request(path={"code": r.project()},
                                                params={"format": "xlsx"})),
    ("GET", "/api/v1/projects/{code}/compare"): Route(
        PROJECT_READERS, 200, lambda r: Request(path={"code": r.project()},
                                                params={"a": "A", "b": "A@1"})),
    # ---- the ready QGIS project: land readers (it opens the OGC layers)
    ("GET", "/api/v1/qgis/project.qgz"): Route(READERS, 200),
    # ---- OGC API Features: land readers
    ("GET", "/ogc"): Route(READERS, 200),
    ("GET", "/ogc/conformance"): Route(READERS, 200),
    ("GET", "/ogc/collections"): Route(READERS, 200),
    ("GET", "/ogc/collections/{collection_id}"): Route(
        READERS, 200, lambda r: Request(path={"collection_id": "parcels"})),
    ("GET", "/ogc/collections/{collection_id}/items"): Route(
        READERS, 200, lambda r: Request(path={"collection_id": "parcels"})),
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): Route(
        READERS, 200, lambda r: Request(path={"collection_id": "parcels",
                                              "feature_id": r.parcel()})),
    # ---- maps: the Leaflet assets for every land reader; application maps, field
    # packages and extracts for land officers; the ward overview, its tiles and parcel
    # popups for officials and land officers; a survey batch's map for its surveyor
    ("GET", "/maps/assets/{path:path}"): Route(
        READERS, 200, lambda r: Request(path={"path": "vendor/leaflet/1.9.4/dist/leaflet.js"})),
    ("GET", "/maps/applications/{application_id}"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application()})),
    ("GET", "/maps/applications/{application_id}/field.gpkg"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application()})),
    ("GET", "/api/v1/parcels/{parcel_id}/extract.pdf"): Route(
        OFFICER, 200, lambda r: Request(path={"parcel_id": r.parcel()})),
    ("GET", "/api/v1/applications/{application_id}/extract.pdf"): Route(
        OFFICER, 200, lambda r: Request(path={"application_id": r.application()})),
    ("GET", "/maps/ward"): Route(OVERVIEW, 200),
    ("GET", "/maps/tiles/parcels/{z}/{x}/{y}.mvt"): Route(
        OVERVIEW, 200, lambda r: Request(path=_tile(r))),
    ("GET", "/maps/tiles/{layer}/{z}/{x}/{y}.png"): Route(
        OVERVIEW, 200, lambda r: Request(path={"layer": "hillshade", **_tile(r)})),
    ("GET", "/maps/parcels/{parcel_id}"): Route(
        OVERVIEW, 200, lambda r: Request(path={"parcel_id": r.parcel()})),
    ("GET", "/maps/projects/{code}"): Route(
        OVERVIEW, 200, lambda r: Request(path={"code": r.project()})),
    ("GET", "/maps/surveys/{batch_id}"): Route(
        UPLOADERS, 200, lambda r: Request(path={"batch_id": r.batch()})),
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path template) of everything the app serves, from its router table (pages
    and documentation included, not only the OpenAPI document).  HEAD rides on GET;
    a mount (static files, a sub-application) is one route of method ``*``."""
    found = set()
    for route in iter_route_contexts(app.routes):
        methods = set(route.methods or ()) - {"HEAD"} or {"*"}
        found |= {(m, str(route.path)) for m in methods}
    return found


def _url(template: str, path: Mapping[str, object]) -> str:
    names = set(re.findall(r"\{(\w+)(?::\w+)?\}", template))
    assert names == set(path), f"{template}: the call gives {sorted(path)}, needs {sorted(names)}"
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(path[m.group(1)]), template)


@pytest.fixture()
def records(session: Any, settings: Any) -> Records:
    return Records(session, settings)


def _send(client: Any, tokens: dict[str, str], method: str, template: str, route: Route,
          req: Request, who: str) -> Any:
    client.cookies.clear()
    cookies, data = dict(req.cookies), req.data
    headers = {}
    if who != ANONYMOUS:
        if route.cookie:
            cookies[SESSION_COOKIE] = tokens[who]
            if data and "csrf_token" in data:  # a page form's token is bound to the session
                csrf = new_csrf_token(client.app.state.settings.auth, session_token=tokens[who])
                data, cookies[CSRF_COOKIE] = {**data, "csrf_token": csrf}, csrf
        else:
            headers["Authorization"] = f"Bearer {tokens[who]}"
    for name, value in cookies.items():
        client.cookies.set(name, value)
    return client.request(method, _url(template, req.path), params=req.params, json=req.json,
                          data=data, files=req.files, headers=headers,
                          follow_redirects=False)


def test_policy_names_exactly_the_routes_the_app_serves(app) -> None:
    """A route without an entry, or an entry without a route, fails here."""
    served = app_routes(app)
    unlisted = sorted(served - set(POLICY))
    stale = sorted(set(POLICY) - served)
    assert not unlisted, f"routes with no POLICY entry (declare who may call them): {unlisted}"
    assert not stale, f"POLICY entries for routes the app does not serve: {stale}"
    for key, route in POLICY.items():
        assert route.roles and set(route.roles) <= set(EVERYONE), key


@pytest.mark.parametrize(("method", "template"), sorted(POLICY), ids=lambda v: v)
def test_route(method: str, template: str, client, tokens, records) -> None:
    """Anonymous callers are refused (or served, on public routes), each allowed role gets
    the operation's success status on real records, every other role gets 403."""
    route = POLICY[(method, template)]
    probe = route.call(records)  # real ids: a refusal is about the caller, not a missing record
    if ANONYMOUS not in route.roles:
        r = _send(client, tokens, method, template, route, probe, ANONYMOUS)
        assert r.status_code == route.anonymous, \
            f"anonymous got {r.status_code} on {method} {template}: {r.text[:300]}"
        if route.anonymous == 401:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["type"] == "/problems/unauthorized"
        else:
            assert r.headers["location"] == "/login"
    for who in EVERYONE:
        if who == ANONYMOUS and who not in route.roles:
            continue
        if who in route.roles:
            records.caller = who  # records only their owner may act on are the caller's
            req = probe if who == ANONYMOUS else route.call(records)  # a fresh record each
            r = _send(client, tokens, method, template, route, req, who)
            assert r.status_code == route.status, \
                f"{who} got {r.status_code} on {method} {template}: {r.text[:500]}"
        else:
            r = _send(client, tokens, method, template, route, probe, who)
            assert r.status_code == 403, \
                f"{who} got {r.status_code} on {method} {template}: {r.text[:300]}"
            if not route.cookie:  # a page may answer its refusal as a page
                assert r.json()["type"] == "/problems/forbidden"
