"""The statistics page's chart, drawn by the server as SVG (no chart library, no script).

Bars: files received and files finished per week; a line: the share of the week's
finished files decided on time (right axis, 0–100%).  Labels are in the page's
language and number format; every bar has a ``<title>`` with its figures, so a pointer
or a screen reader gets the numbers, and the page prints the same figures as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from certificates.trends import Week

WIDTH, HEIGHT = 760.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 48.0, 52.0, 20.0, 56.0


def _nice_max(value: int) -> int:
    """The axis top: four whole, round steps (1, 2, 5 × 10ⁿ) at or above ``value``."""
    need = max(value, 1) / 4
    base = 10 ** math.floor(math.log10(need))
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= need)
    return int(max(step, 1) * 4)


def weekly_chart(weeks: Sequence[Week], *, t: Callable[[str, str], str],
                 num: Callable[..., str], pct: Callable[..., str],
                 date: Callable[..., str]) -> str:
    """The SVG; empty when the period has no week."""
    if not weeks:
        return ""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max(max(w.received, w.finished) for w in weeks))
    slot = plot_w / len(weeks)
    bar = max(min(slot * 0.36, 22.0), 2.0)
    title = t("Hồ sơ tiếp nhận và giải quyết theo tuần; tỷ lệ đúng hạn",
              "Files received and finished per week; on-time share")
    out = [f'<svg class="chart" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" role="img" '
           f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
           f"<title>{escape(title)}</title>"]

    def y_of(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    out.append('<g class="axis">')
    for i in range(5):
        v = top * i / 4
        y = y_of(v)
        out.append(f'<path class="grid" d="M{LEFT:.1f} {y:.1f}H{LEFT + plot_w:.1f}"/>'
                   f'<text class="left" x="{LEFT - 6:.1f}" y="{y + 4:.1f}">'
                   f"{escape(num(v))}</text>"
                   f'<text class="right" x="{LEFT + plot_w + 6:.1f}" y="{y + 4:.1f}">'
                   f"{escape(pct(i / 4))}</text>")
    out.append("</g>")
    line: list[tuple[float, float]] = []
    for i, w in enumerate(weeks):
        cx = LEFT + slot * (i + 0.5)
        tip = (f"{t('Tuần từ', 'Week of')} {date(w.start)}: {num(w.received)} "
               f"{t('tiếp nhận', 'received')}, {num(w.finished)} {t('giải quyết', 'finished')}"
               + (f", {pct(w.on_time_share)} {t('đúng hạn', 'on time')}"
                  if w.on_time_share is not None else ""))
        for k, (cls, value) in enumerate((("received", w.received), ("finished", w.finished))):
            x = cx - bar + k * bar
            y = y_of(value)
            out.append(f'<rect class="bar-{cls}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                       f'height="{TOP + plot_h - y:.1f}"><title>{escape(tip)}</title></rect>')
        if w.on_time_share is not None:
            line.append((cx, TOP + plot_h - w.on_time_share * plot_h))
        if len(weeks) <= 12 or i % math.ceil(len(weeks) / 12) == 0:
            out.append(f'<text class="week" x="{cx:.1f}" y="{TOP + plot_h + 16:.1f}">'
                       f"{escape(date(w.start)[:5])}</text>")
    if line:
        d = "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in line)
        out.append(f'<path class="on-time" d="{d}"/>')
        out.extend(f'<circle class="on-time-dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>'
                   for x, y in line)
    ly = HEIGHT - 16
    legend = ((t("Tiếp nhận", "Received"), "received"), (t("Giải quyết", "Finished"), "finished"))
    x = LEFT
    for label, cls in legend:
        out.append(f'<rect class="bar-{cls}" x="{x:.1f}" y="{ly - 9:.1f}" width="12" '
                   f'height="12"/><text class="legend" x="{x + 16:.1f}" y="{ly + 1:.1f}">'
                   f"{escape(label)}</text>")
        x += 130
    out.append(f'<path class="on-time" d="M{x:.1f} {ly - 3:.1f}h18"/>'
               f'<text class="legend" x="{x + 24:.1f}" y="{ly + 1:.1f}">'
               f'{escape(t("Tỷ lệ đúng hạn (trục phải)", "On-time share (right axis)"))}</text>')
    out.append("</svg>")
    return "".join(out)
