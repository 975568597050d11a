"""Vietnamese land-use codes: which are agricultural (a looser positional tolerance)."""

from __future__ import annotations

from typing import Final

AGRICULTURAL_USES: Final = frozenset({"LUC", "LUK", "LUN", "HNK", "BHK", "NHK", "CLN", "RSX",
                                      "RPH", "RDD", "NTS", "LMU", "NKH"})
"""Agricultural land-use codes (Circular 08/2024/TT-BTNMT classification): rice, annual
and perennial crops, forest, aquaculture, salt, other agricultural land.  Parcels of these
uses are judged with the agricultural factor of the rules settings (Circular 26/2024/TT-BTNMT
Art. 8)."""


def is_agricultural(land_use: str | None) -> bool:
    """Agricultural when the main (first) use of a possibly mixed code like ``CLN+ODT`` is."""
    return bool(land_use) and str(land_use).split("+", 1)[0].upper() in AGRICULTURAL_USES


LINEAR_USES: Final = frozenset({"DGT", "DTL", "SON"})
"""Land uses that are long and thin by nature: transport (roads, lanes, railways),
irrigation canals and rivers or streams (Circular 08/2024/TT-BTNMT classification).  The
shape rules do not call such a parcel a sliver: its thinness is what it is for."""


def is_linear(land_use: str | None) -> bool:
    """A road, canal or river parcel (the main use of a mixed code decides)."""
    return bool(land_use) and str(land_use).split("+", 1)[0].upper() in LINEAR_USES
