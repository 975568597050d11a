"""The statistics page: a period's figures by procedure and the weekly chart, drawn as SVG."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession, SettingsDep
from api.users import User
from api.web.access import page_user
from api.web.charts import weekly_chart
from api.web.errors import PageRoute
from api.web.render import (
    fmt_date,
    fmt_number,
    fmt_percent,
    frame,
    parse_day,
    render,
    svg,
    translator,
)
from certificates import stats, trends
from certificates.errors import InvalidApplication
from config import clock

router = APIRouter(include_in_schema=False, route_class=PageRoute)
StatsReader = Annotated[User, Depends(page_user("land_officer", "official"))]
DEFAULT_WEEKS = 8


def _day(value: str | None, name: str, default: date) -> date:
    try:
        return parse_day(value) or default
    except ValueError as exc:
        raise InvalidApplication(f"{name}: {value!r} is not a date (dd/mm/yyyy)", field=name,
                                 vi=f"Ngày không hợp lệ: {value} (nhập dd/mm/yyyy)") from exc


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, user: StatsReader, session: DbSession, settings: SettingsDep,
               date_from: Annotated[str | None, Query(alias="from", max_length=20)] = None,
               date_to: Annotated[str | None, Query(alias="to", max_length=20)] = None
               ) -> Response:
    """Received, online share, on time and late, pending, overdue, median working days, by
    procedure; received and finished per week with the on-time trend (default: 8 weeks)."""
    today = clock.today()
    last = _day(date_to, "to", today)
    first = _day(date_from, "from", last - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1))
    figures = stats.application_stats(session, ward_code=user.ward_code, date_from=first,
                                      date_to=last)
    weeks = trends.weekly(session, ward_code=user.ward_code, date_from=first, date_to=last)
    fr = frame(session, settings, user)
    lang = fr.lang
    chart = weekly_chart(weeks, t=translator(lang),
                         num=lambda v, digits=0: fmt_number(v, lang, digits),
                         pct=lambda v, digits=0: fmt_percent(v, lang, digits), date=fmt_date)
    return render(request, "stats.html", frame=fr, figures=figures, weeks=weeks,
                  chart=svg(chart), first=first, last=last)
