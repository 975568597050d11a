"""Rebuild generated parcels as an exact coverage: neighbours share identical vertices.

The parcels are cut by independent overlays, each rounded to the 1 mm grid on its own,
so two neighbours cut from different blocks disagree along their common edge by up to a
millimetre: T-junctions (a vertex of one lying near, not on, the other's edge) and
rounding leave tens of thousands of micro-overlaps and micro-gaps in a full ward.  A
topology audit rightly reports each one, which makes the demo ward useless as the
"clean" baseline and very slow to audit.

The fix is to node all parcel boundaries once, snap-rounded to the same grid
(``union_all(..., grid_size=GRID)``), and polygonize: every face of that arrangement is
bounded by edges that exist once, so faces share exact vertices.  Each face then goes
back to its parcel: to the one parcel containing it when there is one, otherwise (a
sliver lying in two parcels, or a micro-gap in none) to the parcel it shares the
longest boundary with.  Parcels are reassembled with ``coverage_union_all``, which
dissolves shared edges without moving a vertex.  Deterministic: same input, same output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Polygon

from data.geometry import GRID

GAP_WIDTH_M = 0.2
"""A face in no parcel thinner than this (2·area/perimeter) is rounding residue and
is given to a neighbour; a wider one is land left unparcelled on purpose and stays out."""


def clean_coverage(geoms: Sequence[Polygon]) -> list[Polygon | None]:
    """The parcels rebuilt on a common noded linework (None where nothing is left).

    Areas change by at most the millimetre slivers traded between neighbours.  A parcel
    whose faces do not form one polygon after reassembly keeps its largest part (the
    rest is never produced by the generator's cuts, but the output must stay single).
    """
    g = np.asarray(geoms, dtype=object)
    n = len(g)
    if n == 0:
        return []
    lines = shapely.union_all(shapely.boundary(g), grid_size=GRID)
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))),
                       dtype=object)
    owner = _owners(g, faces)
    out: list[Polygon | None] = [None] * n
    keep = owner >= 0
    order = np.flatnonzero(keep)[np.argsort(owner[keep], kind="stable")]
    if len(order) == 0:
        return out
    splits = np.flatnonzero(np.diff(owner[order])) + 1
    for grp in np.split(order, splits):
        p = int(owner[grp[0]])
        merged = faces[grp[0]] if len(grp) == 1 else shapely.coverage_union_all(faces[grp])
        if merged.geom_type != "Polygon":
            parts = shapely.get_parts(merged)
            merged = parts[int(np.argmax(shapely.area(parts)))]
        out[p] = merged
    return out


def _owners(g: NDArray[np.object_], faces: NDArray[np.object_]) -> NDArray[np.intp]:
    """Parcel index of each face (-1: a wide face in no parcel, left out)."""
    tree = shapely.STRtree(g)
    pts = shapely.point_on_surface(faces)
    fi, pi = tree.query(pts, predicate="intersects")
    count = np.bincount(fi, minlength=len(faces))
    owner = np.full(len(faces), -1, dtype=np.intp)
    single = count[fi] == 1
    owner[fi[single]] = pi[single]
    area, perim = shapely.area(faces), shapely.length(faces)
    thin = 2.0 * area / np.maximum(perim, 1e-12)
    containers: dict[int, set[int]] = {}
    for f, p in zip(fi[~single].tolist(), pi[~single].tolist(), strict=True):
        containers.setdefault(f, set()).add(p)
    todo = np.flatnonzero((owner < 0) & ((count > 1) | (thin < GAP_WIDTH_M)))
    if len(todo) == 0:
        return owner
    ftree = shapely.STRtree(faces)
    bounds = shapely.boundary(faces)
    # Slivers can border only other slivers: hand them out in rounds, the ones touching an
    # owned face first, until nothing changes.
    while len(todo):
        a, b = ftree.query(faces[todo], predicate="intersects")
        f, nb = todo[a], b
        ok = (owner[nb] >= 0) & (nb != f)
        f, nb = f[ok], nb[ok]
        if len(f) == 0:
            break
        shared = shapely.length(shapely.intersection(bounds[f], bounds[nb]))
        total: dict[tuple[int, int], float] = {}
        for fk, o, s in zip(f.tolist(), owner[nb].tolist(), shared.tolist(), strict=True):
            total[(fk, o)] = total.get((fk, o), 0.0) + s
        best: dict[int, tuple[int, float, int]] = {}
        for (fk, o), s in sorted(total.items()):
            rank = (int(o in containers.get(fk, ())), s, -o)  # a containing parcel first
            if s > 0 and (fk not in best or rank > best[fk]):
                best[fk] = rank
        if not best:
            break
        for fk, (_, _, neg_o) in best.items():
            owner[fk] = -neg_o
        todo = np.asarray([x for x in todo.tolist() if owner[x] < 0], dtype=np.intp)
    return owner
