"""The audit trail, read-only, for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import Admin, DbSession
from db import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("")
def list_events(
    request: Request, user: Admin, session: DbSession,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    entity: Annotated[str | None, Query(max_length=100)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Who did what, when, from where: newest first. Events cannot be changed or deleted."""
    rows, more = audit.find(session, ward_code=user.ward_code, actor=actor, action=action,
                            entity=entity, entity_id=entity_id, since=since, until=until,
                            limit=limit, offset=offset)
    links = []
    if more:
        links.append({"rel": "next",
                      "href": str(request.url.include_query_params(offset=offset + limit))})
    return {
        "events": [
            {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "role": e.role,
             "action": e.action, "entity": e.entity, "entity_ids": e.entity_ids,
             "reason": e.reason, "detail": e.detail, "address": e.address,
             "request_id": e.request_id, "client_request_id": e.client_request_id}
            for e in rows
        ],
        "links": links,
    }
