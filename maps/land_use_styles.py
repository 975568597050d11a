"""Map colours of land-use codes, generated from the code list (``config/land_use.toml``).

Each code gets its group's colour, shaded by its place in the group: the codes of a group
read as kin (all residential land pinkish) and still differ from each other (ONT lighter
than ODT).  Nothing is drawn by hand per code, so a code added to the list is styled
without touching this module.
"""

from __future__ import annotations

import colorsys

from config.land_use import LandUseList

RGB = tuple[int, int, int]
FALLBACK: RGB = (210, 210, 210)
"""A code the list does not know (or a parcel without one)."""
SPREAD = 0.22
"""Total lightness range over a group's codes (HLS lightness, 0..1)."""


def hex_rgb(colour: str) -> RGB:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def rgb_hex(colour: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def code_colours(codes: LandUseList) -> dict[str, RGB]:
    """The fill colour of every code of the list."""
    members: dict[str, list[str]] = {}
    for c in codes.codes.values():
        members.setdefault(c.map_group, []).append(c.code)
    out: dict[str, RGB] = {}
    for group, listed in members.items():
        h, lightness, s = colorsys.rgb_to_hls(*(v / 255 for v in hex_rgb(
            codes.groups[group].colour)))
        n = len(listed)
        for i, code in enumerate(listed):
            # the first code lightest, the last darkest, centred on the group's colour
            shift = 0.0 if n == 1 else SPREAD * (0.5 - i / (n - 1))
            lit = min(0.93, max(0.35, lightness + shift))
            r, g, b = colorsys.hls_to_rgb(h, lit, s)
            out[code] = (round(r * 255), round(g * 255), round(b * 255))
    return out
