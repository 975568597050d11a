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
    before: Annotated[int | None, Query(ge=1, description="events before this place in the "
                                        "ward's chain (the next link sets it)")] = None,
    through: Annotated[int | None, Query(ge=0, description="the newest place the paging "
                                         "started from (the next link pins it)")] = None,
) -> dict[str, Any]:
    """Who did what, when, from where: newest first, by place in the ward's audit chain.
    Events cannot be changed or deleted.  The ``next`` link pages by place and pins the
    newest event of the first page: events written meanwhile do not shift the pages."""
    rows, more, pinned = audit.find(
        session, ward_code=user.ward_code, actor=actor, action=action, entity=entity,
        entity_id=entity_id, since=since, until=until, limit=limit, offset=offset,
        before=before, through=through)
    links = []
    if more and rows:
        nxt = request.url.remove_query_params("offset").include_query_params(
            before=rows[-1][1], through=pinned)
        links.append({"rel": "next", "href": str(nxt)})
    return {
        "events": [
            {"id": e.id, "seq": seq, "at": e.at.isoformat(), "actor": e.actor, "role": e.role,
             "action": e.action, "entity": e.entity, "entity_ids": e.entity_ids,
             "reason": e.reason, "detail": e.detail, "address": e.address,
             "request_id": e.request_id, "client_request_id": e.client_request_id,
             "credential": e.credential}
            for e, seq in rows
        ],
        "links": links,
    }
