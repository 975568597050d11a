"""Numbered boundary points and edge lengths, as a surveyor marks them on an extract.

Convention (the habit of Vietnamese survey extracts; no statute found): points are
numbered from 1 at the corner nearest the parcel's north-west, going clockwise, so the
same parcel always gets the same numbers on the field map, the GeoPackage and the PDF.
A polygon that is not valid (a claim whose boundary crosses itself) keeps the order in
which it was drawn: there is no clockwise to speak of.  Coordinates are in the metric
CRS (EPSG:9214): X is the northing and Y the easting, as Vietnamese documents label them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient


@dataclass(frozen=True)
class Vertex:
    number: int
    easting: float
    northing: float

    @property
    def x(self) -> float:
        """X in Vietnamese usage: the northing."""
        return self.northing

    @property
    def y(self) -> float:
        """Y in Vietnamese usage: the easting."""
        return self.easting


@dataclass(frozen=True)
class Edge:
    start: int
    end: int
    length_m: float
    mid_easting: float
    mid_northing: float

    @property
    def label(self) -> str:
        return f"{self.start}-{self.end}"


def _rings(geom: BaseGeometry) -> list[np.ndarray]:
    """Each ring's coordinates (closing point dropped), clockwise from the NW corner."""
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon)]
    out = []
    for poly in polys:
        valid = poly.is_valid
        p = orient(poly, sign=-1.0) if valid else poly
        for ring in [p.exterior, *p.interiors]:
            xy = np.asarray(ring.coords)[:-1, :2]
            if len(xy) == 0:
                continue
            if valid:
                minx, _, _, maxy = ring.bounds
                start = int(np.argmin((xy[:, 0] - minx) ** 2 + (xy[:, 1] - maxy) ** 2))
                xy = np.roll(xy, -start, axis=0)
            out.append(xy)
    return out


def vertices(geom: BaseGeometry) -> list[Vertex]:
    """The boundary points, numbered 1… over the exterior ring(s) and then any holes."""
    out: list[Vertex] = []
    for ring in _rings(geom):
        for e, n in ring:
            out.append(Vertex(len(out) + 1, float(e), float(n)))
    return out


def edges(geom: BaseGeometry) -> list[Edge]:
    """Each side with its length in metres (measured in the metric CRS)."""
    out: list[Edge] = []
    first = 1
    for ring in _rings(geom):
        n = len(ring)
        for i in range(n):
            (e0, n0), (e1, n1) = ring[i], ring[(i + 1) % n]
            out.append(Edge(first + i, first + (i + 1) % n, math.hypot(e1 - e0, n1 - n0),
                            (e0 + e1) / 2, (n0 + n1) / 2))
        first += n
    return out
