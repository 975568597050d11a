"""Origin and stable use: which Land Law 2024 period a file's earliest evidence puts it in.

The ward confirms, for a file without land-use papers, since when the land has been used
stably; the earliest dated evidence wins (DOMAIN.md).  The periods that decide the case
(Land Law 2024 Art. 138: before 18 December 1980, to 15 October 1993, to 1 July 2014; none
after) are dated settings (``[[origin.periods]]`` of ``config/certificates.toml``) with
their source and whether they are uncertain.  A file with papers (Art. 137) is decided by
its papers.  Pure: the evidence in, the assessment out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from certificates.deadlines import read_settings


@dataclass(frozen=True)
class Period:
    since: date | None
    until: date | None
    article: str
    label_vi: str
    label_en: str
    source: str
    uncertain: bool
    refuse: bool

    def holds(self, day: date) -> bool:
        return (self.since is None or day >= self.since) and (self.until is None
                                                              or day < self.until)


@dataclass(frozen=True)
class Assessment:
    """The earliest evidence and the period it falls in (None without evidence)."""

    earliest: date | None
    earliest_title: str | None
    has_papers: bool
    period: Period | None

    def as_dict(self) -> dict[str, Any]:
        p = self.period
        return {"earliest_evidence_on": self.earliest.isoformat() if self.earliest else None,
                "earliest_evidence": self.earliest_title, "has_papers": self.has_papers,
                "case": "papers (Land Law 2024 Art. 137)" if self.has_papers else
                (p.article if p else None),
                "period_vi": p.label_vi if p else None, "period_en": p.label_en if p else None,
                "source": p.source if p else None, "uncertain": p.uncertain if p else None,
                "recognised": None if p is None else not p.refuse}


def periods(data: Mapping[str, Any] | None = None) -> list[Period]:
    """The dated periods of the settings, in order."""
    rows = (data if data is not None else read_settings()).get("origin", {}).get("periods", [])
    return [Period(r.get("since"), r.get("until"), str(r["article"]), str(r["label_vi"]),
                   str(r["label_en"]), str(r["source"]), bool(r.get("uncertain", False)),
                   bool(r.get("refuse", False))) for r in rows]


def assess(evidence: Iterable[Mapping[str, Any]],
           rows: list[Period] | None = None) -> Assessment:
    """Assess the recorded evidence (``{kind, dated, title}`` each, as the events hold it)."""
    rows = periods() if rows is None else rows
    items = [(date.fromisoformat(str(e["dated"])), str(e.get("title") or ""), str(e["kind"]))
             for e in evidence]
    papers = any(k == "papers" for _, _, k in items)
    use = sorted((d, t) for d, t, k in items if k == "use")
    if not use:
        return Assessment(None, None, papers, None)
    first, title = use[0]
    return Assessment(first, title, papers, next((p for p in rows if p.holds(first)), None))
