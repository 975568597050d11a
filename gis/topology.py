"""What every check between neighbouring polygons shares: the polygons, their ids and
tolerances, and the spatial index (:class:`Context`).

The checks themselves live one to a module: :mod:`gis.overlaps` (overlaps, containment,
duplicates), :mod:`gis.gaps` (narrow gaps), :mod:`gis.mismatches` (vertices near but not
on a neighbour's boundary), :mod:`gis.frame` (outside the ward, inside a zone), and
:mod:`gis.snap` (the repair they propose).  Every check takes plain arrays of shapely
polygons in one metric CRS plus their ids, and an optional ``focus`` (indices whose pairs
matter): the whole-set audit passes the polygons GEOS's coverage validator flagged, a
certificate check passes the candidate only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.rules import RuleSet, Tolerance

Geoms = NDArray[Any]


@dataclass(frozen=True)
class Context:
    """What every neighbour check needs: the polygons, their ids, labels and tolerances."""

    geoms: Geoms
    ids: Sequence[Any]
    tolerances: Sequence[Tolerance]
    rules: RuleSet
    labels: Sequence[str] | None = None
    tree: shapely.STRtree | None = None

    @classmethod
    def build(cls, geoms: Sequence[BaseGeometry] | Geoms, ids: Sequence[Any], *,
              rules: RuleSet, scales: Sequence[int | None] | int | None = None,
              agricultural: Sequence[bool] | bool = False,
              labels: Sequence[str] | None = None) -> Context:
        g = np.asarray(geoms, dtype=object)
        n = len(g)
        if len(ids) != n or (labels is not None and len(labels) != n):
            raise ValueError("geoms, ids and labels must have the same length")
        sc = [scales] * n if scales is None or isinstance(scales, int) else list(scales)
        ag = [agricultural] * n if isinstance(agricultural, bool) else list(agricultural)
        cache: dict[tuple[int | None, bool], Tolerance] = {}
        tols = []
        for s, a in zip(sc, ag, strict=True):
            if (s, a) not in cache:
                cache[(s, a)] = rules.tolerance(s, a)
            tols.append(cache[(s, a)])
        return cls(geoms=g, ids=ids, tolerances=tols, rules=rules, labels=labels,
                   tree=shapely.STRtree(g))

    def pair_tolerance(self, i: int, j: int) -> Tolerance:
        return self.tolerances[i].coarser(self.tolerances[j])

    def lab(self, *idx: int) -> tuple[str, ...]:
        if self.labels is None:
            return ()
        return tuple(self.labels[i] for i in idx)

    def id(self, i: int) -> Any:
        return self.ids[i]

    def by_id(self, idx: Iterable[int]) -> list[int]:
        """Indices in id order, so a report does not depend on the input order."""
        return sorted(idx, key=lambda i: (str(self.ids[i]), i))

    @property
    def strtree(self) -> shapely.STRtree:
        assert self.tree is not None
        return self.tree


def focus_mask(n: int, focus: Iterable[int] | None) -> NDArray[np.bool_]:
    """Which of ``n`` polygons are in ``focus`` (all of them when it is None)."""
    if focus is None:
        return np.ones(n, dtype=bool)
    m = np.zeros(n, dtype=bool)
    m[np.fromiter(focus, dtype=np.intp)] = True
    return m


RIM_EPS_M2 = 1e-9
"""Below this a piece left by an overlay is rounding: a tile edge after the neighbouring
tile's parcels, or a claim's edge along the ward outline where the frame was stitched
from its indexed pieces (a seam vertex lies nanometres off the outline's edge)."""
