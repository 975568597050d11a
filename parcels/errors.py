"""Errors of the registry; each says what is wrong and what to do."""

from __future__ import annotations

from db.errors import Conflict, NotFound
from gis.errors import DomainError


class InvalidGeometry(DomainError):
    code = "invalid_geometry"
    title = "Invalid parcel geometry"


class WrongCRS(DomainError):
    code = "wrong_crs"
    title = "Coordinates are not in the stated CRS"


class UnknownCRS(DomainError):
    code = "unknown_crs"
    title = "Unknown or unsupported CRS"


class DuplicateParcelNumber(Conflict):
    code = "duplicate_parcel_number"
    title = "Sheet and parcel number already in use"


class SplitMismatch(DomainError):
    code = "split_mismatch"
    title = "Split parts do not cover the parent parcel exactly"


class MergeMismatch(DomainError):
    code = "merge_mismatch"
    title = "Parcels cannot be merged"


class ParcelNotFound(NotFound):
    code = "parcel_not_found"
    title = "Parcel not found"


class ParcelRetired(Conflict):
    code = "parcel_retired"
    title = "Parcel is retired"


class InvalidInput(DomainError):
    code = "invalid_input"
    title = "Invalid input"


class UnknownLandUse(DomainError):
    code = "unknown_land_use"
    title = "Not a land-use code of the list"


class ClockBeforeVersion(Conflict):
    code = "clock_before_version"
    title = "The service clock is earlier than the version it would close"


class LotBelowMinimum(DomainError):
    code = "lot_below_minimum"
    title = "A part of the split is not a lot the rules allow"
