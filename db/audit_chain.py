"""Checking the audit trail's hash chain (migration 0015_audit_chain writes it).

Every audit event of a ward carries its place ``seq`` in the ward's chain, the hash of
the event before it and its own hash, SHA-256(``prev_hash`` ‖ canonical text).  The
database writes the links; this module re-computes them here, in Python, from the stored
columns, so that a replaced database function cannot vouch for itself.  The canonical
text is rendered by PostgreSQL's built-in ``jsonb`` output from the stored columns (the
expression below is the migration's, letter for letter: the tests check that an untouched
chain verifies).

What the chain shows, even to the database owner who can disable the triggers: an edited
event (its hash no longer matches), a deleted one (a gap in ``seq``, or the head ahead of
the last event), events reordered or inserted (a ``prev_hash`` that is not the hash of the
event before).  What it cannot show by itself is a rewrite of the whole chain from the
edited event onwards: for that, compare with a head kept elsewhere (the ``audit_heads`` of
a backup's manifest: :func:`check_anchor`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

GENESIS = bytes(32)
"""The ``prev_hash`` of a ward's first event."""
CONTENT = ("jsonb_build_array(e.ward_code, e.seq, "
           "(extract(epoch FROM e.at) * 1000000)::bigint, e.actor, e.role, e.action, "
           "e.entity, e.entity_ids, e.reason, e.detail, e.address, e.request_id)::text")
BATCH = 5000


@dataclass(frozen=True)
class BrokenLink:
    """The first place where the chain does not hold, and what is wrong there."""

    seq: int
    event_id: int | None
    problem: str

    def message(self, ward_code: str) -> str:
        at = f"event {self.seq}" + (f" (id {self.event_id})" if self.event_id else "")
        return f"ward {ward_code}: the audit chain is broken at {at}: {self.problem}"


@dataclass
class ChainReport:
    ward_code: str
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS.hex()
    broken: BrokenLink | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.broken is None


def link_hash(prev_hash: bytes, content: str) -> bytes:
    return hashlib.sha256(prev_hash + content.encode()).digest()


def wards(session: Session) -> list[str]:
    """Every ward that has an audit chain (or events)."""
    return sorted({r[0] for r in session.execute(text(
        "SELECT ward_code FROM audit_chain_head UNION SELECT DISTINCT ward_code "
        "FROM audit_event"))})


def _events(session: Session, ward_code: str) -> Iterator[Any]:
    after = -1
    while True:
        rows = session.execute(text(
            f"SELECT e.id, e.seq, e.prev_hash, e.hash, {CONTENT} AS content "  # noqa: S608
            "FROM audit_event e WHERE e.ward_code = :w AND e.seq > :after "
            "ORDER BY e.seq, e.id LIMIT :n"), {"w": ward_code, "after": after, "n": BATCH}).all()
        yield from rows
        if len(rows) < BATCH:
            return
        after = rows[-1].seq


def verify(session: Session, *, ward_code: str) -> ChainReport:
    """Walk the ward's chain from its first event; stop at the first broken link."""
    report = ChainReport(ward_code=ward_code)
    expected_seq, prev = 1, GENESIS
    last_id: int | None = None
    for row in _events(session, ward_code):
        report.events += 1
        if row.seq != expected_seq:
            problem = (f"events {expected_seq}–{row.seq - 1} are missing (deleted)"
                       if row.seq > expected_seq else
                       f"two events claim place {row.seq} (one was inserted or copied)")
            report.broken = BrokenLink(expected_seq if row.seq > expected_seq else row.seq,
                                       row.id, problem)
            return report
        if bytes(row.prev_hash) != prev:
            report.broken = BrokenLink(row.seq, row.id, (
                "it does not follow the event before it (events were reordered, or one "
                "before it was removed or replaced)"))
            return report
        if link_hash(prev, row.content) != bytes(row.hash):
            report.broken = BrokenLink(row.seq, row.id, (
                "its content no longer matches its hash (the event was changed after it "
                "was written)"))
            return report
        prev, last_id = bytes(row.hash), row.id
        expected_seq += 1
    report.head_seq, report.head_hash = expected_seq - 1, prev.hex()
    head = session.execute(text("SELECT seq, hash FROM audit_chain_head WHERE ward_code = :w"),
                           {"w": ward_code}).one_or_none()
    if head is None:
        if report.events:
            report.broken = BrokenLink(report.head_seq, last_id,
                                       "the chain has events but no head")
        return report
    if head.seq != report.head_seq or bytes(head.hash) != prev:
        report.broken = BrokenLink(report.head_seq + 1, None, (
            f"the chain's head is event {head.seq} but the last event found is "
            f"{report.head_seq}: events were removed from the end"
            if head.seq > report.head_seq else
            "the chain's head does not match its last event"))
    return report


def check_anchor(session: Session, *, ward_code: str, seq: int, hash_hex: str) -> str | None:
    """Whether event ``seq`` still has the hash recorded elsewhere (a backup's manifest);
    None when it does, else what differs.  Catches a chain rewritten after that point."""
    row = session.execute(text("SELECT hash FROM audit_event WHERE ward_code = :w AND seq = :s"),
                          {"w": ward_code, "s": seq}).one_or_none()
    if row is None:
        return f"ward {ward_code}: event {seq}, recorded in the anchor, is gone"
    if bytes(row.hash).hex() != hash_hex:
        return (f"ward {ward_code}: event {seq} has another hash than the anchor recorded: "
                "the chain was rewritten since")
    return None
