"""Working days of the Vietnamese civil service: re-exported from ``certificates.deadlines``.

The statutory calendar (``config/calendar.toml``: weekends, Labour Code Art. 112 holidays,
the official Tết and day-swap tables) lives in one place so that the demo generator counts
days exactly as the service does.
"""

from __future__ import annotations

from certificates.deadlines import (
    add_working_days,
    is_working_day,
    working_days_between,
    working_days_in,
)

__all__ = ["add_working_days", "is_working_day", "working_days_between", "working_days_in"]
