"""The short summary an officer starts an audit from: how many defects per 1,000 parcels,
which rules and which sheets have the most, and the first findings to work on.

Pure: it reads a ranked :class:`~gis.findings.Report` (errors first, then the biggest),
whose findings carry the identity of the parcels they are about where the caller set it
(``Finding.parcels``: ``former_unit``, ``unit_name``, ``sheet_no``, ``parcel_no``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gis.catalogue import RULES
from gis.findings import Finding, Report, Severity

ACT_ON = (Severity.ERROR, Severity.WARNING)
"""Severities an officer must act on (information is not counted as a defect)."""


@dataclass(frozen=True)
class RuleCount:
    rule: str
    title: str
    error: int
    warning: int
    info: int


@dataclass(frozen=True)
class SheetCount:
    former_unit: str | None
    unit_name: str | None
    sheet_no: int | None
    error: int
    warning: int

    @property
    def label_vi(self) -> str:
        unit = f" ({self.unit_name or self.former_unit} cũ)" if self.former_unit else ""
        return f"tờ bản đồ số {self.sheet_no}{unit}"


@dataclass(frozen=True)
class Summary:
    parcels: int
    severities: dict[str, int]
    rules: tuple[RuleCount, ...]
    sheets: tuple[SheetCount, ...]
    first: tuple[Finding, ...]

    @property
    def defects(self) -> int:
        """Errors and warnings: what an officer must act on."""
        return self.severities.get("error", 0) + self.severities.get("warning", 0)

    @property
    def per_thousand(self) -> float:
        """Errors and warnings per 1,000 parcels audited."""
        return 1000.0 * self.defects / self.parcels if self.parcels else 0.0


def summarise(report: Report, *, top: int = 10) -> Summary:
    """Counts per rule (defects first), the ``top`` sheets with the most errors and
    warnings, and the ``top`` first findings to act on, in rank order."""
    by_rule: dict[str, dict[str, int]] = {}
    by_sheet: dict[tuple[str | None, int | None], list[int]] = {}
    names: dict[str | None, str | None] = {}
    for f in report.findings:
        row = by_rule.setdefault(f.code, {"error": 0, "warning": 0, "info": 0})
        row[str(f.severity)] = row.get(str(f.severity), 0) + 1
        if f.severity not in ACT_ON:
            continue
        for key in _sheets(f):
            counts = by_sheet.setdefault(key, [0, 0])
            counts[0 if f.severity is Severity.ERROR else 1] += 1
        for p in f.parcels:
            names.setdefault(p.get("former_unit"), p.get("unit_name"))
    rules = sorted((RuleCount(code, RULES[code].title_en if code in RULES else code,
                              r["error"], r["warning"], r["info"])
                    for code, r in by_rule.items()),
                   key=lambda r: (-r.error, -r.warning, -r.info, r.rule))
    sheets = sorted((SheetCount(unit, names.get(unit), sheet, e, w)
                     for (unit, sheet), (e, w) in by_sheet.items()),
                    key=lambda s: (-s.error, -s.warning, s.former_unit or "", s.sheet_no or 0))
    first = tuple(f for f in report.findings if f.severity in ACT_ON)[:top]
    return Summary(parcels=report.feature_count, severities=report.severities(),
                   rules=tuple(rules), sheets=tuple(sheets[:top]), first=first)


def _sheets(f: Finding) -> Sequence[tuple[str | None, int | None]]:
    """The sheets a finding is on (one per distinct sheet of its parcels)."""
    seen: list[tuple[str | None, int | None]] = []
    for p in f.parcels:
        key = (p.get("former_unit"), p.get("sheet_no"))
        if key not in seen:
            seen.append(key)
    return seen


def lines(summary: Summary, *, scope: str) -> list[str]:
    """The summary as the command line prints it (Vietnamese with English)."""
    sev = summary.severities
    out = [f"{summary.parcels:,} thửa / parcels ({scope}): {sev.get('error', 0)} lỗi / errors, "
           f"{sev.get('warning', 0)} cảnh báo / warnings, {sev.get('info', 0)} thông tin / "
           f"notes; {summary.per_thousand:.1f} lỗi và cảnh báo trên 1.000 thửa / errors and "
           "warnings per 1,000 parcels"]
    if not summary.rules:
        return [*out, "không có phát hiện nào / no findings"]
    out.append(f"{'rule':22} {'error':>7} {'warning':>8} {'info':>7}")
    out += [f"{r.rule:22} {r.error:7d} {r.warning:8d} {r.info:7d}" for r in summary.rules]
    out.append(f"{'total':22} {sev.get('error', 0):7d} {sev.get('warning', 0):8d} "
               f"{sev.get('info', 0):7d}")
    if summary.sheets:
        out.append("Tờ bản đồ cần xem trước / sheets to start with:")
        out += [f"  {s.label_vi}: {s.error} lỗi / errors, {s.warning} cảnh báo / warnings"
                for s in summary.sheets]
    if summary.first:
        out.append("Việc cần làm trước / first to act on:")
        for k, f in enumerate(summary.first, start=1):
            out.append(f"  {k}. [{f.severity}] {f.message_vi}")
            out.append(f"     {f.message_en}")
    return out
