"""Survey batches: an upload is staged and validated, then an officer commits or rejects it.

One set of keyword-only functions serves the HTTP API and the command line:

* :func:`stage_upload` streams the file into a temporary folder made for it
  (size-capped while copying), reads it with :func:`gis.intake.upload.read_upload`
  (framed by the ward boundary from PostGIS, limits from settings), and stores
  the batch and its features in staging, never in the registry; the same file
  again returns the batch it already made;
* :func:`validate_batch` matches every feature to the registry and runs the
  rules within the batch and against its registered neighbours
  (:mod:`parcels.surveys.checks`), storing each finding with its geometry;
* :func:`commit_batch` writes every feature as a parcel version in the caller's
  one transaction, under the ward lock, with the batch as source document, and
  refuses while an error finding is neither fixed nor overridden with a reason;
* :func:`reject_batch` closes a batch with a reason;
* an overlap with a registered neighbour is never overridden as it is: the officer has
  the commit amend the neighbour (:func:`amend_neighbour`) or records a dispute
  (:func:`record_dispute`, the batch waits); the commit checks the registry it leaves
  (:mod:`parcels.surveys.neighbours`).

A surveyor sees only their own batches: anyone else's answers "not found", so
that batch numbers reveal nothing about other surveyors' work.
"""

from __future__ import annotations

from parcels.surveys.batches import (
    batch_etag,
    batch_version,
    require_batch_version,
    ruleset,
)
from parcels.surveys.decisions import (
    commit_batch,
    override_finding,
    override_findings,
    reject_batch,
)
from parcels.surveys.errors import (
    BatchClosed,
    BatchNotFound,
    CommitBlocked,
    CoverageBroken,
    FindingNotFound,
    NotOverridable,
    NotResolvable,
    OfficersOnly,
    RegistryChanged,
)
from parcels.surveys.neighbours import amend_neighbour, disputed_parcels, record_dispute
from parcels.surveys.reads import (
    MAX_PAGE,
    batch_features,
    batch_findings,
    batch_summary,
    finding,
    list_batches,
)
from parcels.surveys.staging import (
    Staged,
    UploadOptions,
    check_file_name,
    intake_limits,
    stage_upload,
    upload_folder,
)
from parcels.surveys.validation import validate_batch

__all__ = [
    "MAX_PAGE", "BatchClosed", "BatchNotFound", "CommitBlocked", "CoverageBroken",
    "FindingNotFound", "NotOverridable", "NotResolvable", "OfficersOnly",
    "RegistryChanged", "Staged", "UploadOptions", "amend_neighbour", "batch_etag",
    "batch_features", "batch_findings", "batch_summary", "batch_version", "check_file_name",
    "commit_batch", "disputed_parcels", "finding", "intake_limits", "list_batches",
    "override_finding", "override_findings", "record_dispute", "reject_batch",
    "require_batch_version", "ruleset", "stage_upload", "upload_folder", "validate_batch",
]
