"""Verification of a claimed parcel against the registry: findings, verdict, stored report.

Two halves.  :func:`evaluate` (``evaluate.py``) is pure: the claim, its neighbours (map
parcels with their certificates), other pending claims, the ward frame, zones and open
disputes in, findings out (``report.py``); the overlap, gap, width, frame and zone maths
are the gis engine's (:mod:`gis.topology`, :mod:`gis.geometry`).  :func:`gather`
(``gather.py``) fetches that context (``inputs.py``) from PostGIS with a handful of
indexed queries around the claim.

How the map's parcels are treated (every parcel of the cadastral map is a registered
parcel version; a certificate is a current use right with a certificate number):

* the **subject** parcel, the map parcel the claim is for (same former unit, sheet and
  number, or the same boundary within the scale's tolerance), is not a neighbour: the
  claim is expected to coincide with it;
* a claim that is the same parcel as a **certified** map parcel is ``already_registered``;
* a **certified** neighbour overlapped beyond the positional tolerance is
  ``overlap_registered`` (error);
* an **uncertified** neighbour of a state use (road, river, public land) is
  ``overlap_state_land`` (warning in the review band, error beyond);
* any other **uncertified** neighbour is ``overlap_uncertified`` (warning): nobody holds
  a right on paper, but the map says someone uses the land, so the field check settles
  the boundary; when that parcel is itself claimed by a pending application, the overlap
  is reported once, as ``overlap_pending`` against that application.
"""

from __future__ import annotations

from certificates.verification.evaluate import evaluate
from certificates.verification.gather import gather, run
from certificates.verification.inputs import (
    CLAIM,
    PENDING_STATES,
    Claim,
    PendingClaim,
    Surroundings,
)
from certificates.verification.report import Outcome, finding_dict
from parcels.cases import OpenDispute

__all__ = ["CLAIM", "PENDING_STATES", "Claim", "OpenDispute", "Outcome", "PendingClaim",
           "Surroundings", "evaluate", "finding_dict", "gather", "run"]
