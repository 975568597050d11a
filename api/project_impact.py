"""A road project's impact with the ward's open cases: the one composition the HTTP API and
the command line both call.

``projects/`` may not read certificate tables (DESIGN.md layout), so the pending
applications and open disputes inside the corridor are read here from ``certificates``
and handed to ``projects.impact.evaluate``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from certificates.corridor_cases import disputes_on, pending_in_area
from projects import impact as im
from projects.inputs import Cases
from projects.results import Impact


def project_impact(session: Session, *, ward_code: str, code: str,
                   alternative: str | None = None, version: int | None = None,
                   section: str | None = None, as_of: datetime | None = None) -> Impact:
    """The impact of a corridor version (default: the adopted alternative in force then)."""
    inputs = im.gather(session, ward_code=ward_code, code=code, alternative=alternative,
                       version=version, section=section, as_of=as_of)
    ids = [p.parcel_id for p in inputs.parcels]
    if inputs.redline.is_empty:
        return im.evaluate(inputs)
    pending = pending_in_area(session, ward_code=ward_code, area=inputs.area, parcel_ids=ids,
                              as_of=as_of)
    disputes = disputes_on(session, ward_code=ward_code, parcel_ids=ids, as_of=as_of)
    return im.evaluate(inputs, Cases(pending=pending, disputes=disputes))
