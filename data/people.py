"""Holders, use rights and certificates: invented people from common name parts.

Names are drawn from the commonest Vietnamese surnames, middle names and given
names, so no record points at a real person; identity numbers carry a ``SYN``
prefix no real citizen identity card has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

SURNAMES = (("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 6), ("Hoàng", 4), ("Huỳnh", 3),
            ("Phan", 5), ("Võ", 4), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 3), ("Ngô", 2),
            ("Dương", 1), ("Lý", 1))
MIDDLE = {"m": ("Văn", "Đức", "Hữu", "Minh", "Quang", "Thanh", "Công", "Ngọc"),
          "f": ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Minh", "Thanh", "Kim")}
GIVEN = {"m": ("An", "Bình", "Cường", "Dũng", "Hải", "Hiếu", "Hoà", "Hùng", "Huy", "Khoa", "Long",
               "Nam", "Nhân", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thành", "Tiến", "Trung",
               "Tuấn", "Việt", "Vinh"),
         "f": ("Anh", "Châu", "Diệu", "Dung", "Hà", "Hằng", "Hạnh", "Hoa", "Hương", "Lan", "Liên",
               "Linh", "Loan", "Mai", "My", "Nga", "Nhung", "Phương", "Quỳnh", "Thảo", "Thủy",
               "Trang", "Tuyết", "Vân", "Yến")}
UNIT_NAMES = {"kim_long": "Kim Long", "huong_long": "Hương Long", "huong_ho": "Hương Hồ",
              "huong_tho": "Hương Thọ"}


@dataclass(frozen=True)
class Party:
    party_key: str
    full_name: str
    id_number: str
    address: str


@dataclass(frozen=True)
class Right:
    parcel_key: str
    party_key: str
    right_type: str
    certificate_no: str
    issued_on: date


def full_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` invented full names (surname, middle name, given name)."""
    sur, w = zip(*SURNAMES, strict=True)
    p = np.asarray(w, dtype=float) / sum(w)
    out = []
    for _ in range(n):
        sex = "m" if rng.random() < 0.5 else "f"
        s = sur[int(rng.choice(len(sur), p=p))]
        m = MIDDLE[sex][int(rng.integers(len(MIDDLE[sex])))]
        g = GIVEN[sex][int(rng.integers(len(GIVEN[sex])))]
        out.append(f"{s} {m} {g}")
    return out


def build_people(
    rng: np.random.Generator, parcel_keys: list[str], parcel_units: list[str]
) -> tuple[list[Party], list[Right]]:
    """Parties and use rights for the registered parcels given (in their order)."""
    n = len(parcel_keys)
    n_holders = max(1, int(n * 0.8))
    holder = np.concatenate([np.arange(n_holders), rng.integers(0, n_holders, n - n_holders)])
    holder = holder[rng.permutation(n)][:n]
    spouse = rng.random(n) < 0.12
    names = full_names(rng, n_holders + int(spouse.sum()))
    # A holder lives near the first parcel they hold; a spouse beside them.
    home: dict[int, str] = {}
    for i in range(n):
        home.setdefault(int(holder[i]), parcel_units[i])
    parties = [
        Party(f"H{i + 1:06d}", name, f"SYN-046-{i + 1:07d}",
              f"Tổ {int(rng.integers(1, 25))}, khu vực {UNIT_NAMES[home.get(i, 'kim_long')]},"
              " phường Kim Long, TP Huế")
        for i, name in enumerate(names)
    ]
    issued = _issue_dates(rng, n)
    certs = _certificate_numbers(rng, issued)
    rights: list[Right] = []
    next_spouse = n_holders
    for i in range(n):
        rights.append(Right(parcel_keys[i], parties[int(holder[i])].party_key, "use_right",
                            certs[i], issued[i]))
        if spouse[i]:
            rights.append(Right(parcel_keys[i], parties[next_spouse].party_key, "use_right",
                                certs[i], issued[i]))
            next_spouse += 1
    return parties, rights


def _issue_dates(rng: np.random.Generator, n: int) -> list[date]:
    start, end = date(1996, 1, 1), date(2025, 6, 30)
    span = (end - start).days
    days = (rng.beta(2.2, 1.6, n) * span).astype(int)
    return [start + timedelta(days=int(d)) for d in days]


def _certificate_numbers(rng: np.random.Generator, issued: list[date]) -> list[str]:
    """Series letters by period, as the certificate blanks changed, and a 6-digit serial."""
    counters: dict[str, int] = {}
    out = []
    for d in issued:
        prefix = "A" if d.year < 2010 else "B" if d.year < 2015 else "C" if d.year < 2020 else "D"
        series = prefix + "ABCDEGHKLMNPS"[int(rng.integers(13))]
        counters.setdefault(series, int(rng.integers(100_000, 500_000)))
        counters[series] += int(rng.integers(1, 40))
        out.append(f"{series} {counters[series]:06d}")
    return out
