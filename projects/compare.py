"""Two corridors side by side: two alternatives, or two versions of one.

Officials choose between alignments by what each takes: how many parcels and holders,
how much land, how many lots become unusable, and roughly what it costs.  Both impacts
must be judged on the same day against the same registry, so the caller computes them
with the same ``as_of``.
"""

from __future__ import annotations

from typing import Any

from projects.results import Impact
from projects.schemas import impact_header


def _side(i: Impact) -> dict[str, Any]:
    t = i.totals
    return {**impact_header(i), "parcels_affected": t.parcels_affected,
            "holders_affected": t.holders_affected, "full_takes": t.full_takes,
            "partial_takes": t.partial_takes,
            "proposed_full_acquisition": t.proposed_full_acquisition,
            "taken_m2": round(t.taken_m2, 1), "proposed_m2": round(t.proposed_m2, 1),
            "cost_taken": round(t.cost_taken), "cost_proposed": round(t.cost_proposed),
            "safety_only_parcels": t.safety_only_parcels}


def compare(a: Impact, b: Impact) -> dict[str, Any]:
    """Both sides' totals, the parcels only one of them affects, and B minus A."""
    in_a = {p.parcel_id: p for p in a.affected}
    in_b = {p.parcel_id: p for p in b.affected}

    def listed(ids: set[int], side: dict[int, Any]) -> list[dict[str, Any]]:
        return [{"parcel_id": i, "label": side[i].label, "land_use": side[i].land_use,
                 "taken_m2": round(side[i].taken_m2, 2), "proposal": side[i].proposal}
                for i in sorted(ids)]

    both = set(in_a) & set(in_b)
    changed = [{"parcel_id": i, "label": in_a[i].label,
                "taken_m2_a": round(in_a[i].taken_m2, 2), "taken_m2_b": round(in_b[i].taken_m2, 2),
                "proposal_a": in_a[i].proposal, "proposal_b": in_b[i].proposal}
               for i in sorted(both)
               if abs(in_a[i].taken_m2 - in_b[i].taken_m2) >= 0.01
               or in_a[i].proposal != in_b[i].proposal]
    sa, sb = _side(a), _side(b)
    keys = ("parcels_affected", "holders_affected", "full_takes", "proposed_full_acquisition",
            "taken_m2", "proposed_m2", "cost_taken", "cost_proposed")
    return {
        "a": sa, "b": sb,
        "only_a": listed(set(in_a) - set(in_b), in_a),
        "only_b": listed(set(in_b) - set(in_a), in_b),
        "in_both": len(both), "changed_in_both": changed,
        "difference_b_minus_a": {k: round(sb[k] - sa[k], 1) for k in keys},
    }
