"""Errors of survey batches; each says what is wrong and what to do."""

from __future__ import annotations

from db.errors import Conflict, Forbidden, NotFound


class BatchNotFound(NotFound):
    code = "survey_batch_not_found"
    title = "Survey batch not found"


class FindingNotFound(NotFound):
    code = "survey_finding_not_found"
    title = "Finding not found in this batch"


class BatchClosed(Conflict):
    code = "survey_batch_closed"
    title = "The survey batch is already committed or rejected"


class CommitBlocked(Conflict):
    code = "survey_commit_blocked"
    title = "Error findings remain"


class RegistryChanged(Conflict):
    code = "survey_registry_changed"
    title = "The registry changed since the batch was validated"


class NotOverridable(Conflict):
    code = "survey_finding_not_overridable"
    title = "This finding cannot be overridden"


class OfficersOnly(Forbidden):
    code = "survey_officers_only"
    title = "Only a land officer may decide on a survey batch"


class NotResolvable(Conflict):
    code = "survey_finding_not_resolvable"
    title = "This finding cannot be settled that way"


class CoverageBroken(Conflict):
    code = "survey_commit_overlaps"
    title = "The commit would leave overlapping parcels in the registry"
