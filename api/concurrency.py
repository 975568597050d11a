"""No lost updates over HTTP: reads answer an ``ETag``, changes send it back in ``If-Match``.

A change states the version it was based on, in ``If-Match`` (the ETag of the read) or in
the body's ``expected_version`` (what the command line sends).  The domain compares it
with the current version under the same locks as the write (parcels.registry,
certificates.applications, parcels.surveys): a stale one answers 412 with the current
version and its ETag, and nothing is written.  Without either, the change is not checked
(``If-Match: *`` says so explicitly).
"""

from __future__ import annotations

import re

from fastapi import Request

from parcels.errors import InvalidInput

_TAG = re.compile(r'\s*(?:W/)?"([^"]*)"\s*(?:,|$)')


def if_match(request: Request) -> list[str] | None:
    """The entity tags of ``If-Match`` (None when absent or ``*``)."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    tags, pos = [], 0
    while pos < len(raw):
        m = _TAG.match(raw, pos)
        if m is None or m.end() == pos:
            raise InvalidInput('If-Match must hold entity tags in double quotes, as the ETag '
                               'of a read, e.g. If-Match: "parcel-12-v3"', if_match=raw[:200])
        tags.append(m.group(1))
        pos = m.end()
    return tags


def _pick(tags: list[str] | None, prefix: str) -> str | None:
    if tags is None:
        return None
    for tag in tags:
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return ""  # a tag of another record or version scheme: matches nothing


def _agree(header: object | None, body: object | None) -> object | None:
    if header is not None and body is not None and header != body:
        raise InvalidInput("If-Match and expected_version name different versions; send one")
    return header if header is not None else body


def expected_number(request: Request, prefix: str, body: int | None = None) -> int | None:
    """The version a change is based on, from ``If-Match`` tags ``<prefix><n>`` or the body
    (-1, which no record has, for a tag that names another record)."""
    picked = _pick(if_match(request), prefix)
    header = None if picked is None else (int(picked) if picked.isdigit() else -1)
    value = _agree(header, body)
    return None if value is None else int(str(value))


def expected_parcel(request: Request, parcel_id: int, body: int | None = None) -> int | None:
    return expected_number(request, f"parcel-{parcel_id}-v", body)


def expected_parcels(request: Request, parcel_ids: list[int],
                     body: dict[int, int] | None = None) -> dict[int, int] | None:
    """For a merge: one tag per parent in ``If-Match``, or the body's map."""
    tags = if_match(request)
    if tags is None:
        return body
    found = {}
    for tag in tags:
        m = re.fullmatch(r"parcel-(\d+)-v(\d+)", tag)
        if m is None:
            raise InvalidInput(f'If-Match tag "{tag}" is not a parcel version\'s ETag')
        found[int(m.group(1))] = int(m.group(2))
    missing = [p for p in parcel_ids if p not in found]
    if missing:
        raise InvalidInput(f"If-Match names no version of parcel {missing[0]}: send the ETag "
                           "of every parcel merged", parcel_ids=missing)
    return dict(_agree(found, body) or found)  # type: ignore[call-overload]


def expected_batch(request: Request, batch_id: int, body: str | None = None) -> str | None:
    value = _agree(_pick(if_match(request), f"survey-batch-{batch_id}-"), body)
    return None if value is None else str(value)
